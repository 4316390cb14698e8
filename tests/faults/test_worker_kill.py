"""A gunicorn worker killed with SIGKILL in the middle of a transition, or of an
allocation run's commit, leaves nothing half done: no state without its audit event, no
run without its transitions, no transitions without their run (SPEC 9: "no state change
without its audit event"). The master starts a new worker and the same request then
succeeds.

The kill lands inside the transaction for certain: the test holds a row lock that the
request needs after it has already written (the outbox table, which a submission writes
to after its new state and its audit event are flushed; the run in force that a commit
supersedes, after every transition of the run is flushed), waits until PostgreSQL shows
the worker's backend blocked by it, and kills every worker. The dead worker can never
send COMMIT, so PostgreSQL must roll the transaction back; the SQL checks afterwards
read the committed truth.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import psycopg
import pytest

from aap.extensions import db
from aap.services import accounts, allocation
from tests.faults.conftest import Gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

ALLOCATION_TRIGGERS = ("propose", "waitlist", "reject")


def _libpq(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")


def _bearer(user) -> dict:
    return {"Authorization": "Bearer " + accounts.issue_token(user, timedelta(hours=1))}


def _fire_in_background(url: str, headers: dict, body: dict) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(httpx.post(url, headers=headers, json=body, timeout=30))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _blocked_by(locker: psycopg.Connection, seconds: float = 15) -> int:
    """The backend waiting for a lock that ``locker`` holds."""
    mine = locker.info.backend_pid
    deadline = time.monotonic() + seconds
    with psycopg.connect(locker.info.dsn, autocommit=True) as probe:
        while time.monotonic() < deadline:
            row = probe.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY("
                                "pg_blocking_pids(pid))", (mine,)).fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("no request came to wait for the lock")


def _gone(dsn: str, pid: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as probe:
        while time.monotonic() < deadline:
            if not probe.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                 (pid,)).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


def _kill_inside(server: Gunicorn, dsn: str, lock_sql: str, url: str, headers: dict,
                 body: dict) -> object:
    """Hold ``lock_sql``'s lock, send the request, kill the workers once it waits for
    the lock, then let go; returns what the client got."""
    with psycopg.connect(dsn) as locker:
        locker.execute(lock_sql)
        thread, outcome = _fire_in_background(url, headers, body)
        backend = _blocked_by(locker)
        assert server.kill_workers()
        thread.join(30)
        locker.rollback()
    _gone(dsn, backend)
    return outcome[0]


def _states_match_their_trail(dsn: str) -> list[tuple]:
    """Applications whose state is not the ``to`` of their last transition event."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT a.id, a.state, last.to_state FROM application a LEFT JOIN LATERAL ("
            " SELECT e.to_state FROM audit_event e WHERE e.application_id = a.id"
            " AND e.trigger IS NOT NULL ORDER BY e.at DESC, e.id DESC LIMIT 1) last ON true"
            " WHERE a.state <> coalesce(last.to_state, 'draft')").fetchall()


def test_a_worker_killed_inside_a_submission_leaves_no_trace(app, world, gunicorn):
    dsn = _libpq(app)
    world.fire(world.application(), "submit")  # the year's reference counter exists
    draft = world.application()
    draft_id = db.session.get(type(draft), draft.id).id
    headers = _bearer(world.users["applicant"])
    url = f"{gunicorn.base}/api/v1/applications/{draft_id}/transitions/submit"
    with psycopg.connect(dsn) as conn:
        counter = conn.execute("SELECT last_value FROM reference_counter").fetchone()[0]

    got = _kill_inside(gunicorn, dsn, "LOCK TABLE notification IN SHARE MODE", url,
                       headers, {})
    assert isinstance(got, httpx.HTTPError)  # the connection died with the worker

    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT state, reference FROM application WHERE id = %s",
                            (draft_id,)).fetchone() == ("draft", None)
        assert conn.execute("SELECT count(*) FROM audit_event WHERE application_id = %s "
                            "AND trigger = 'submit'", (draft_id,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM notification WHERE application_id = %s",
                            (draft_id,)).fetchone()[0] == 0
        assert conn.execute("SELECT last_value FROM reference_counter").fetchone()[0] == counter
    assert _states_match_their_trail(dsn) == []

    gunicorn.wait_ready()  # the master started new workers
    again = httpx.post(url, headers=headers, json={}, timeout=30)
    assert again.status_code == 200, again.text
    assert again.json()["state"] == "submitted"
    assert _states_match_their_trail(dsn) == []


def test_a_worker_killed_inside_an_allocation_commit_leaves_it_all_undone(app, world,
                                                                          gunicorn):
    dsn = _libpq(app)
    instructor = world.users["instructor"]
    for _ in range(3):
        world.bring_to(world.application(), "reviewed")
    first = allocation.commit(world.call, instructor, {}, seed="premier").id
    waiting = [world.bring_to(world.application(), "reviewed").id for _ in range(4)]
    call_id = world.call.id
    url = f"{gunicorn.base}/api/v1/calls/{call_id}/allocations"

    got = _kill_inside(gunicorn, dsn, f"SELECT * FROM allocation_run WHERE id = {first} "
                       "FOR UPDATE", url, _bearer(instructor), {"seed": "second", "commit": True})
    assert isinstance(got, httpx.HTTPError)

    with psycopg.connect(dsn) as conn:
        states = dict(conn.execute("SELECT id, state FROM application WHERE id = ANY(%s)",
                                   (waiting,)).fetchall())
        assert states == dict.fromkeys(waiting, "reviewed")
        assert conn.execute(
            "SELECT count(*) FROM audit_event WHERE application_id = ANY(%s) "
            "AND trigger = ANY(%s)", (waiting, list(ALLOCATION_TRIGGERS))).fetchone()[0] == 0
        assert conn.execute("SELECT id, superseded_at FROM allocation_run WHERE committed"
                            ).fetchall() == [(first, None)]
    assert _states_match_their_trail(dsn) == []

    gunicorn.wait_ready()
    again = httpx.post(url, headers=_bearer(instructor), json={"seed": "second", "commit": True},
                       timeout=30)
    assert again.status_code == 201, again.text
    with psycopg.connect(dsn) as conn:
        states = dict(conn.execute("SELECT id, state FROM application WHERE id = ANY(%s)",
                                   (waiting,)).fetchall())
        assert set(states.values()) <= {"proposed", "waitlisted", "rejected"}
        runs = conn.execute("SELECT id, superseded_at IS NULL FROM allocation_run "
                            "WHERE committed ORDER BY id").fetchall()
        assert runs == [(first, False), (again.json()["id"], True)]
    assert _states_match_their_trail(dsn) == []
