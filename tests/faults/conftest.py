"""Fault tests: a worker killed mid-transition, an SMTP server going down mid-batch, a
PostgreSQL server restarted under load. Select them with ``-m faults``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services.conftest import smtp_factory, smtp_url  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    """gunicorn serving ``wsgi:app`` on loopback: 2 workers of 4 threads (gthread)."""

    process: subprocess.Popen
    base: str

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the master)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def kill_workers(self) -> list[int]:
        killed = self.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn did not answer /health in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(database_url: str, log: Path) -> Gunicorn:
    """The app of ``AAP_ENV=test`` (no throttling, cheap hashing) on ``database_url``."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "AAP_ENV": "test",
           "LOG_LEVEL": "warning"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--worker-class", "gthread", "--threads", "4", "--graceful-timeout", "2",
             "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=out)
    return Gunicorn(process, f"http://127.0.0.1:{port}")


@pytest.fixture
def gunicorn(app, db, is_postgres, tmp_path) -> Iterator[Gunicorn]:
    """gunicorn on the tests' PostgreSQL schema (its data made by the test through ``db``)."""
    if not is_postgres:
        pytest.skip("gunicorn and row locks: PostgreSQL (TEST_DATABASE_URL)")
    server = start_gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
