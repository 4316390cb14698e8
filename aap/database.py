"""Database helpers: SQLite pragmas and the write lock used by money-critical changes.

On PostgreSQL a money-critical change locks the rows it checks (``SELECT ... FOR UPDATE``).
On SQLite there are no row locks, so the same change starts its transaction with
``BEGIN IMMEDIATE``: the write lock is taken before anything is read, and a second writer
waits (busy timeout) instead of failing on a stale snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from aap.extensions import db

_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)
SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC, on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: money and deadlines need a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def install_sqlite_hooks(engine: Engine) -> None:
    """Take over SQLite's transaction handling so BEGIN IMMEDIATE can be issued."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver hook
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - driver hook
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


_in_write: ContextVar[bool] = ContextVar("in_write_transaction", default=False)


class PendingWrites(RuntimeError):
    """A write transaction was opened over changes nobody committed: a programming error
    (they would have been committed silently with the new transaction's work)."""


#: ``session.info`` key of answers remembered from reads (``policies``); forgotten when a
#: write transaction begins, so that the checks under its locks read the database.
READ_MEMO = "read_memo"


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run a block in a transaction that may lock what it reads, then commit it.

    Nesting is explicit: a ``write_transaction`` inside another joins it, and only the
    outermost commits (so a batch of changes is all or nothing). At the outermost level,
    on SQLite a read-only transaction left open by the request is ended first, so that
    the new one begins with the write lock held. PostgreSQL (read committed: each
    statement sees what is committed, and what is checked is locked ``FOR UPDATE`` and
    reloaded) goes on in the request's transaction: ending it would expire every object
    the request loaded, and reading them again cost a third of a review's queries.
    Pending writes raise PendingWrites.
    """
    if _in_write.get():
        yield
        return
    session = db.session()
    if session.new or session.dirty or session.deleted or session.info.get("flushed"):
        raise PendingWrites("write_transaction() opened over uncommitted changes")
    if session.in_transaction() and is_sqlite():
        session.commit()
    session.info.pop(READ_MEMO, None)  # what the reads remembered is asked again under locks
    tokens = _immediate.set(is_sqlite()), _in_write.set(True)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _in_write.reset(tokens[1])
        _immediate.reset(tokens[0])


@event.listens_for(Session, "after_flush")
def _remember_flushed_writes(session, _context) -> None:
    session.info["flushed"] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_flushed_writes(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("flushed", None)


def lock(query, *of):
    """Add ``FOR UPDATE OF`` the given entities to a select (a no-op on SQLite, which holds
    the database lock). Naming them keeps eager outer joins out of the lock, which
    PostgreSQL refuses."""
    return query if is_sqlite() else query.with_for_update(of=of or None)
