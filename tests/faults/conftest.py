"""Fault tests: a worker killed mid-transition, an SMTP server going down mid-batch, a
PostgreSQL server restarted under load. Select them with ``-m faults``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services.conftest import smtp_factory, smtp_url  # noqa: F401 (fixtures)
from tests.serving import free_port, stop_server, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


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
        wait_until_serving(self.base, self.process, seconds)

    def stop(self) -> None:
        stop_server(self.process)


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
