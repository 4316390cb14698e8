"""Fixtures: the app on SQLite (default) or PostgreSQL (``TEST_DATABASE_URL``), a fresh
schema per run built by the migrations, emptied tables between tests, and users per role."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from aap import create_app
from aap.config import normalise_database_url
from aap.extensions import db as _db
from aap.logs import StderrHandler, configure_logging
from tests import factories

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "sqlite")
    if url == "sqlite":
        return f"sqlite:///{tmp / 'test.sqlite3'}"
    if url == "postgresql":
        url = PG_DEFAULT
    return normalise_database_url(url)


def _admin_engine(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def _fresh_postgres_schema(url: str) -> tuple[str, str]:
    """A schema of this run's own, so concurrent runs on one database never collide."""
    schema = f"aap_test_{os.getpid()}"
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    # Durability is pointless for test data: no fsync per commit makes PostgreSQL runs
    # several times faster, and changes nothing about locking or isolation.
    options = f"-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    return schema, f"{url}{separator}options={options}"


def _drop_postgres_schema(url: str, schema: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def app():
    tmp = Path(tempfile.mkdtemp(prefix="aap-test-"))
    base_url = _database_url(tmp)
    schema = None
    url = base_url
    if base_url.startswith("postgresql"):
        schema, url = _fresh_postgres_schema(base_url)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp / "uploads"))
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    yield app
    with app.app_context():
        _db.engine.dispose()
    if schema:
        _drop_postgres_schema(base_url, schema)


@pytest.fixture
def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def _empty_tables() -> None:
    """DELETE children before parents (cheaper than TRUNCATE for these small tables).
    Authorities reference each other: their tree is cut first."""
    _db.session.execute(text("UPDATE authority SET parent_id = NULL"))
    for table in reversed(_db.metadata.sorted_tables):
        _db.session.execute(text(f"DELETE FROM {table.name}"))
    _db.session.commit()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.rollback()
        _empty_tables()
        _db.session.remove()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def world(db):
    """A fund, an open call with a jury, an organisation and one user per role."""
    return factories.World.build()


@pytest.fixture
def throttled_app(app, db):
    """A second app on the same database, with failed logins throttled.

    Flask-Limiter's ``Limiter`` is a module-level singleton: ``init_app`` on this app
    switches it on (with a fresh in-memory storage) for *every* app of the process, the
    session app included. So the storage is emptied and the limiter switched back off
    afterwards, or later logins of other tests would be counted and refused."""
    from aap import create_app
    from aap.extensions import db as _db
    from aap.extensions import limiter

    saved = limiter.enabled, limiter.initialized
    throttled = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                           UPLOAD_DIR=app.config["UPLOAD_DIR"], RATELIMIT_ENABLED=True)
    limiter.reset()
    try:
        yield throttled
    finally:
        limiter.reset()
        limiter.enabled, limiter.initialized = saved
        with throttled.app_context():
            _db.engine.dispose()


# -- Hypothesis: deadlines and profiles, set once for the whole suite --------------------
from hypothesis import settings as hypothesis_settings  # noqa: E402

# No per-example deadline. The suite runs on shared machines (two cores, other test runs,
# a PostgreSQL server, a browser) where one example can take ten times its usual time:
# Hypothesis' default 200 ms deadline then fails correct tests at random (the money
# property did). Speed is measured by the benchmarks in bench/, not by timed tests
# (SPEC 9); every property is bounded by its max_examples and step counts instead.
# Tests set max_examples and health checks as they need, never their own deadline.
hypothesis_settings.register_profile("aap", deadline=None)
# CI: the same examples on every run, no example database kept between runs, and the
# blob that replays a failure printed (HYPOTHESIS_PROFILE=ci, or CI set in the env).
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, database=None,
                                     print_blob=True)
# A deliberate hunt: many more examples (HYPOTHESIS_PROFILE=thorough).
hypothesis_settings.register_profile("thorough", deadline=None, max_examples=2_000)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "aap"))


@pytest.fixture
def logs(capsys):
    """The process's log output during the test, as only the app's JSON handler writes
    it (Alembic's fileConfig, run by the fixtures, leaves a plain handler on the root):
    ``read()`` gives the raw output and the JSON lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO")
    root.handlers = [h for h in root.handlers if isinstance(h, StderrHandler)]
    capsys.readouterr()

    def read() -> tuple[str, list[dict]]:
        captured = capsys.readouterr()
        raw = captured.out + captured.err
        lines = [json.loads(line) for line in captured.err.splitlines() if line.strip()]
        return raw, lines

    yield read
    root.handlers, level = saved
    root.setLevel(level)
