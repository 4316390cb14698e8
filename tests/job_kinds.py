"""Export kinds made for the tests of the jobs service: a file of numbered lines whose
content the test knows in advance, written with progress, that can wait at a gate, look
at its own row while it runs, or fail half-way."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import ExportJob
from aap.services.jobs import Kind

NAME = "test_numbers"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def expected_lines(count: int) -> str:
    return "".join(f"ligne {i}\n" for i in range(1, count + 1))


def numbers_kind(*, gate: threading.Event | None = None, observe: bool = False,
                 fail_after: int | None = None, error: Exception | None = None,
                 runs: list | None = None) -> Kind:
    """``count`` lines "ligne i"; progress (i, count) after each one. ``observe``: after
    the first line, the row as another connection sees it ("vu: status done/total").
    ``gate``: wait for it after the first line. ``fail_after``: raise ``error`` (a
    RuntimeError by default) after that line. ``runs`` collects one entry per run."""

    def authorize(user, params) -> dict:
        count = params.get("count") if isinstance(params, dict) else None
        if not isinstance(count, int) or not 1 <= count <= 1000:
            raise ValidationFailed("Nombre de lignes invalide.", fields={"count": ["1 à 1000"]})
        return {"count": count}

    def write(target, params, user, progress) -> None:
        if runs is not None:
            runs.append(params)
        count = params["count"]
        for i in range(1, count + 1):
            target.write(f"ligne {i}\n".encode())
            progress(i, count)
            if i == 1 and observe:
                status, done, total = _row_seen_elsewhere()
                target.write(f"vu: {status} {done}/{total}\n".encode())
            if i == 1 and gate is not None and not gate.wait(20):
                raise RuntimeError("the test never opened the gate")
            if fail_after == i:
                raise error or RuntimeError("panne technique : disque plein (détail interne)")

    return Kind(name=NAME, extension="txt", authorize=authorize, write=write,
                filename=lambda p: f"lignes-{p['count']}.txt",
                describe=lambda p, calls: f"{p['count']} lignes")


def _row_seen_elsewhere() -> tuple[str, int, int]:
    """The running job's row read on a connection of its own (committed data only)."""
    with db.engine.connect() as connection:
        row = connection.execute(
            select(ExportJob.status, ExportJob.progress_done, ExportJob.progress_total)
            .where(ExportJob.status == "running").order_by(ExportJob.id.desc())).first()
    return tuple(row) if row else ("absent", 0, 0)


def wait_for_job(job_id: int, timeout: float = 30, statuses=("done", "failed"),
                 until=None) -> ExportJob:
    """Poll the table (never the runner) until the job reaches one of ``statuses`` (or
    ``until(job)`` holds)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        job = db.session.execute(select(ExportJob).where(ExportJob.id == job_id)
                                 .execution_options(populate_existing=True)).scalar_one()
        reached = until(job) if until else job.status in statuses
        if reached or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def join_export_threads(timeout: float = 30) -> None:
    """Wait for this process's export threads (so a test never ends with one running)."""
    for thread in threading.enumerate():
        if thread.name.startswith("export-job-"):
            thread.join(timeout)



@contextmanager
def private_queue(app, monkeypatch) -> Iterator:
    """An RQ queue of the test's own on the real Redis (the app enqueues there); its
    keys are deleted afterwards. Skipped without Redis, except in CI."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    name = f"aap-exports-test-{uuid.uuid4().hex}"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "EXPORT_QUEUE", name)
    queue = Queue(name, connection=connection)
    try:
        yield queue
    finally:
        ids = set(queue.job_ids) | set(queue.failed_job_registry.get_job_ids()) \
            | set(queue.finished_job_registry.get_job_ids())
        queue.delete(delete_jobs=True)
        for key in connection.scan_iter(match=f"*{name}*"):
            connection.delete(key)
        for job_id in ids:
            for key in connection.scan_iter(match=f"rq:*{job_id}*"):
                connection.delete(key)
        for key in connection.scan_iter(match="rq:worker:*"):  # the burst workers' traces
            if name.encode() in (connection.hget(key, "queues") or b""):
                connection.delete(key)
        connection.close()
