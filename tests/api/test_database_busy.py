"""A locked database answers 503 with Retry-After through HTTP, never a 500 (SPEC 7.1),
and the change can be made once the lock is gone.

The lock is real and held by another connection: on SQLite a ``BEGIN IMMEDIATE`` (the
write lock), on PostgreSQL a ``SELECT ... FOR UPDATE`` of the call's row, as another
officer's transaction would. The app under test waits only briefly for it: a busy
timeout of 200 ms on SQLite, a ``lock_timeout`` of 200 ms on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import select

import aap.database
from aap import create_app
from aap.extensions import db
from aap.models import Application, AuditEvent
from tests.api.helpers import ApiClient, assert_error, ok


@pytest.fixture
def impatient_app(app, db, monkeypatch, is_postgres):
    """A second app on the same database that waits 200 ms for a lock, not 30 s."""
    from aap.extensions import limiter

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if is_postgres:
        url += "%20-clock_timeout%3D200"  # appended to the run's options=-c... parameter
    else:
        monkeypatch.setattr(aap.database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    saved = limiter.enabled, limiter.initialized
    other = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=app.config["UPLOAD_DIR"])
    try:
        yield other
    finally:
        limiter.enabled, limiter.initialized = saved
        with other.app_context():
            db.engine.dispose()


class Blocker:
    """Another connection that holds the lock until released."""

    def __init__(self, app, is_postgres: bool, call_id: int) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if is_postgres:
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            self.connection = psycopg.connect(dsn)
            self.connection.execute("SELECT id FROM call WHERE id = %s FOR UPDATE", (call_id,))
        else:
            self.connection = sqlite3.connect(urlsplit(url).path[1:] if url.startswith(
                "sqlite:////") else url.removeprefix("sqlite:///"), isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def test_a_locked_database_is_a_503_with_retry_after(impatient_app, world, is_postgres):
    api = ApiClient(impatient_app.test_client())
    application = world.application()
    applicant = world.users["applicant"]
    api.token(applicant)  # logged in before the lock is taken
    blocker = Blocker(impatient_app, is_postgres, world.call.id)
    try:
        response = api.fire(application.id, "submit", applicant)
        assert_error(response, 503, "unavailable")
        assert response.headers["Retry-After"] == "2"
    finally:
        blocker.release()
    db.session.rollback()
    assert db.session.get(Application, application.id, populate_existing=True).state == "draft"
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == application.id)).all() == []

    body = ok(api.fire(application.id, "submit", applicant))  # the lock is gone: retry
    assert body["state"] == "submitted"
