"""Helpers shared by the test packages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from aap.extensions import db
from workflows import WorkflowError


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


def race(app, jobs: list[Callable[[], object]]) -> list[str]:
    """Run jobs at the same instant in threads, each with its own app context and
    session (its own database connection); return each job's outcome (``ok`` or the
    error code)."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                job()
                outcomes[index] = "ok"
            except WorkflowError as exc:
                outcomes[index] = exc.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
