"""A database of its own at an older migration revision, for the tests of an upgrade: a
SQLite file, or a PostgreSQL schema of its own beside the test run's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from aap.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")


@contextmanager
def database_at(revision: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database upgraded to ``revision``, inside its app context."""
    from aap import create_app
    from tests.conftest import _database_url

    base = _database_url(tmp_path)
    schema, url = None, f"sqlite:///{tmp_path / f'at_{revision}.sqlite3'}"
    if base.startswith("postgresql"):
        schema = f"aap_test_{os.getpid()}_at_{revision}"
        _run_admin(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in base else "?"
        url = f"{base}{separator}options=-csearch_path%3D{schema}"
    old = create_app("test", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp_path))
    try:
        with old.app_context():
            upgrade(directory=MIGRATIONS, revision=revision)
            yield old
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            _run_admin(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _run_admin(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
