"""The end of a request survives a database connection lost after the answer was built
(PostgreSQL restarted in between): the client gets that answer, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from aap import create_app
from aap.extensions import db as _db
from aap.models import Call


@pytest.fixture
def own_app(app, db, is_postgres):
    if not is_postgres:
        pytest.skip("a connection ended by the server: PostgreSQL's pg_terminate_backend")
    fresh = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       UPLOAD_DIR=app.config["UPLOAD_DIR"])
    yield fresh
    with fresh.app_context():
        _db.engine.dispose()


def _terminate(url: str, pid: int) -> None:
    """End backend ``pid`` from another connection, as a server restart would."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as other:
            assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        engine.dispose()


def test_a_connection_ended_after_the_answer_still_gives_the_answer(own_app):
    url = own_app.config["SQLALCHEMY_DATABASE_URI"]

    @own_app.get("/essai-coupure")
    def cut_after_reading():
        count = _db.session.query(Call).count()  # the request's transaction is open
        _terminate(url, _db.session.scalar(text("SELECT pg_backend_pid()")))
        return {"calls": count}

    client = own_app.test_client()
    response = client.get("/essai-coupure")
    assert response.status_code == 200 and response.get_json() == {"calls": 0}
    # the pool dropped the dead connection: the next request is served normally
    assert client.get("/health").status_code == 200
