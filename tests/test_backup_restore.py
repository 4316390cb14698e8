"""The backup and restore of docs/deploy.md, for real (PostgreSQL only): a database built
by the migrations and filled through the app is dumped with ``pg_dump --format=custom``,
restored with ``pg_restore`` into a new database, and the applications, the audit trail,
the payments and every other table are identical, row for row."""

from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from aap.extensions import db as _db
from tests.conftest import PG_DEFAULT

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres(app, db):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("backup and restore are PostgreSQL's (pg_dump, pg_restore)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed")
    url = os.environ.get("TEST_DATABASE_URL", "postgresql")
    return PG_DEFAULT if url == "postgresql" else url.replace("postgresql+psycopg", "postgresql")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name, query=""))


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _filled(world) -> None:
    """Applications over the workflow, with payments and their audit trail."""
    for state in ("submitted", "eligible", "rejected", "granted", "in_progress", "closed"):
        world.bring_to(world.application(), state)


def _snapshot(connection, schema: str) -> dict[str, list[tuple]]:
    """Every table of ``schema``, rows ordered by all their columns."""
    tables = connection.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
        "AND table_type = 'BASE TABLE' ORDER BY table_name"), {"s": schema}).scalars().all()
    return {table: [tuple(row) for row in connection.execute(
        text(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1'))] for table in tables}


def test_pg_dump_then_pg_restore_gives_the_same_applications_audit_and_amounts(
        postgres, world, db):
    _filled(world)
    schema = db.session.execute(text("SELECT current_schema()")).scalar_one()
    db.session.commit()
    admin_url = postgres
    restored = f"aap_restore_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{restored}"'))
        conn.execute(text(f'CREATE DATABASE "{restored}"'))
    dump = f"/tmp/aap-backup-{os.getpid()}.dump"
    try:
        # the commands of docs/deploy.md, limited to this run's schema
        _run("pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", admin_url)
        _run("pg_restore", "--no-owner", "--exit-on-error",
             f"--dbname={_with_database(admin_url, restored)}", dump)

        copy = create_engine(_with_database(admin_url, restored))
        with _db.engine.connect() as original, copy.connect() as restored_conn:
            before = _snapshot(original, schema)
            after = _snapshot(restored_conn, schema)
            totals = ("SELECT (SELECT count(*) FROM application), "
                      "(SELECT count(*) FROM audit_event), "
                      "(SELECT coalesce(sum(amount_cents), 0) FROM payment)")
            restored_conn.execute(text(f'SET search_path TO "{schema}"'))
            assert restored_conn.execute(text(totals)).one() == \
                original.execute(text(totals)).one()
        copy.dispose()
        assert {"application", "audit_event", "payment", "alembic_version"} <= before.keys()
        assert len(before["application"]) == 6 and len(before["payment"]) >= 2
        assert len(before["audit_event"]) >= 20
        assert after == before
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'))
        admin.dispose()
        if os.path.exists(dump):
            os.remove(dump)
