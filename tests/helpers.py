"""Helpers shared by the test packages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from aap.extensions import db


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block (to prove lists have no N+1)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
