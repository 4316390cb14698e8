"""PostgreSQL restarted under load: while it is down the API answers 503 with
Retry-After (never a 500), and once it is back the app serves again by itself, with no
restart of its own (SPEC 8: a database that cannot be reached is never a 500).

The server stopped and started is one of the test's own (``initdb`` into a temporary
folder, run as the ``postgres`` user on a free port), never the shared one; gunicorn (2
workers of 4 threads) serves the app on it while eight clients keep reading and writing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from flask_migrate import upgrade

from aap import create_app
from aap.extensions import db
from aap.services import accounts
from tests import factories
from tests.faults.conftest import ROOT, start_gunicorn
from tests.serving import free_port

pytestmark = pytest.mark.faults

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class OwnPostgres:
    """A throw-away PostgreSQL cluster owned by the ``postgres`` OS user."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="aap-faults-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.dir / "data", "-A", "trust",
                          "-U", "postgres", "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-w", "-l",
                          self.dir / "log", "-o",
                          f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off", "start")

    def stop(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-w", "-m", "fast",
                          "stop")

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                        str(self.dir / "data"), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_postgres():
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip("needs root, runuser and PostgreSQL 15's initdb")
    server = OwnPostgres()
    server.start()
    yield server
    server.remove()


def _prepare(url: str) -> tuple[dict, dict, int, int]:
    """Migrations and a world; the applicant's header, its draft body and a draft's id."""
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url,
                     UPLOAD_DIR=str(Path(tempfile.mkdtemp()) / "uploads"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        world = factories.World.build()
        token = accounts.issue_token(world.users["applicant"], timedelta(hours=1))
        draft = world.application()
        body = {"call_id": world.call.id, "organisation_id": world.org.id,
                "title": "Projet écrit pendant le redémarrage"}
        out = {"Authorization": f"Bearer {token}"}, body, draft.id, world.call.id
        db.session.remove()
        db.engine.dispose()
    return out


class Clients:
    """Eight clients reading and writing in a loop; what each answer was, and when."""

    def __init__(self, base: str, headers: dict, body: dict, draft_id: int) -> None:
        self.base, self.headers, self.body, self.draft_id = base, headers, body, draft_id
        self.seen: list[tuple[float, str, int, str | None, bool]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(k,)) for k in range(8)]

    def _loop(self, k: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as client:
            while not self.stop.is_set():
                kind = ("list", "create", "patch", "health")[k % 4]
                try:
                    response = self._request(client, kind)
                except httpx.TransportError:
                    continue  # a worker busy restarting its connection: not an answer
                json_error = response.headers.get("content-type", "").startswith(
                    "application/json")
                self.seen.append((time.monotonic(), kind, response.status_code,
                                  response.headers.get("Retry-After"), json_error))
                time.sleep(0.05)

    def _request(self, client: httpx.Client, kind: str) -> httpx.Response:
        if kind == "list":
            return client.get("/api/v1/applications")
        if kind == "create":
            return client.post("/api/v1/applications", json=self.body)
        if kind == "patch":
            return client.patch(f"/api/v1/applications/{self.draft_id}",
                                json={"summary": f"Relu à {time.time()}"})
        return client.get("/health")

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_a_postgres_restart_gives_503_then_the_app_recovers(own_postgres, tmp_path):
    url = own_postgres.url
    headers, body, draft_id, _ = _prepare(url.replace("postgresql://", "postgresql+psycopg://"))
    server = start_gunicorn(url, tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        with Clients(server.base, headers, body, draft_id) as clients:
            time.sleep(1.5)
            down_at = time.monotonic()
            own_postgres.stop()
            time.sleep(2.0)
            up_at = time.monotonic()
            own_postgres.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not _recovered(clients.seen, up_at):
                time.sleep(0.2)
            time.sleep(0.5)
    finally:
        server.stop()

    seen = clients.seen
    statuses = Counter(status for _, _, status, _, _ in seen)
    assert 500 not in statuses and all(s in (200, 201, 503) for s in statuses), statuses
    before = [s for at, _, s, _, _ in seen if at < down_at]
    during = [(k, s, retry, js) for at, k, s, retry, js in seen if down_at + 0.5 < at < up_at]
    assert before and set(before) <= {200, 201}
    assert during and all(s == 503 and retry and js for _, s, retry, js in during), during
    assert _recovered(seen, up_at), "no request succeeded after PostgreSQL came back"
    kinds_back = {kind for at, kind, s, _, _ in seen if at > up_at and s in (200, 201)}
    assert kinds_back == {"list", "create", "patch", "health"}


def _recovered(seen: list, up_at: float) -> bool:
    """Every kind of request has succeeded again since PostgreSQL was started."""
    return {kind for at, kind, s, _, _ in list(seen) if at > up_at and s in (200, 201)} == {
        "list", "create", "patch", "health"}
