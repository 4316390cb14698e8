"""``aap jobs``: the RQ worker runs the exports queued on Redis; the purge deletes the
old ones. The rows and files are read back as the oracle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from aap.extensions import db
from aap.models import ExportJob
from aap.services import jobs
from aap.timeutil import now
from tests.job_kinds import (
    NAME,
    expected_lines,
    join_export_threads,
    numbers_kind,
    private_queue,
    wait_for_job,
)


@pytest.fixture
def export_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    yield tmp_path / "exports"
    join_export_threads()


def test_the_worker_needs_redis(app, db, export_dir):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_the_worker_runs_the_queued_exports(app, world, export_dir, monkeypatch):
    with private_queue(app, monkeypatch) as queue, jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 2}, world.users["finance"])
        assert queue.count == 1
        result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
        assert f"worker on queue {queue.name}" in result.output
        done = wait_for_job(job.id, timeout=5)
    assert done.status == "done", done.error
    assert (export_dir / done.file_path).read_text() == expected_lines(2)
    assert queue.count == 0


def test_purge_deletes_the_exports_past_their_retention(app, world, export_dir):
    with jobs.registered(numbers_kind()):
        old = wait_for_job(jobs.start(NAME, {"count": 1}, world.users["finance"]).id)
        kept = wait_for_job(jobs.start(NAME, {"count": 1}, world.users["finance"]).id)
    db.session.execute(update(ExportJob).where(ExportJob.id == old.id)
                       .values(created_at=now() - timedelta(hours=49)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 export(s) deleted" in result.output
    db.session.expire_all()
    assert db.session.get(ExportJob, old.id) is None
    assert db.session.get(ExportJob, kept.id) is not None
    assert sorted(p.name for p in export_dir.iterdir()) == [kept.file_path]
