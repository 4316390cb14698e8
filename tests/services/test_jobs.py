"""The jobs service: exports run in the background, in a thread of the process or on RQ
(the real Redis at 127.0.0.1:6379, a queue of the test's own), with their whole state
in the export_job table. The oracles are the files' contents, known in advance, and the
rows as read back from the database (through another connection, or another app)."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from aap.errors import Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Call, ExportJob
from aap.services import jobs, policies
from aap.timeutil import now
from tests import factories
from tests.job_kinds import (
    NAME,
    expected_lines,
    join_export_threads,
    numbers_kind,
    private_queue,
    wait_for_job,
)


@pytest.fixture
def export_dir(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(folder))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    yield folder
    join_export_threads()


@pytest.fixture
def finance(world):
    return world.users["finance"]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- in-process --------------------------------------------------------------------------

def test_in_process_a_thread_runs_the_job_to_a_file_with_progress(export_dir, finance):
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 3}, finance)
        assert job.status == "queued" and job.requested_by_id == finance.id
        done = wait_for_job(job.id)
        path, name = jobs.file_for(finance, job.id)
    assert done.status == "done", done.error
    assert (done.progress_done, done.progress_total, done.percent) == (3, 3, 100)
    assert done.error is None and done.filename == "lignes-3.txt"
    assert done.created_at <= done.started_at <= done.finished_at <= now()
    assert done.finished_at.utcoffset() == timedelta(0)
    assert _files(export_dir) == [done.file_path]
    assert (export_dir / done.file_path).read_text() == expected_lines(3)
    assert path == export_dir / done.file_path and name == "lignes-3.txt"


def test_the_request_returns_while_the_job_still_runs(export_dir, finance):
    gate = threading.Event()
    with jobs.registered(numbers_kind(gate=gate)):
        job = jobs.start(NAME, {"count": 2}, finance)
        running = wait_for_job(job.id, statuses=("running",), timeout=10)
        assert running.status == "running", "start() returned before the job ran"
        gate.set()
        assert wait_for_job(job.id).status == "done"


def test_while_it_runs_only_a_temporary_file_exists(export_dir, finance):
    """The file is written under a temporary name and renamed at the end: no reader ever
    finds half an export under a name the service serves."""
    gate = threading.Event()
    try:
        with jobs.registered(numbers_kind(gate=gate)):
            job = jobs.start(NAME, {"count": 2}, finance)
            wait_for_job(job.id, until=lambda j: j.progress_done == 1)
            during = _files(export_dir)
            gate.set()
            done = wait_for_job(job.id)
    finally:
        gate.set()
    assert len(during) == 1 and during[0].startswith(f".{job.id}-") \
        and during[0].endswith(".part")
    assert _files(export_dir) == [done.file_path] and not done.file_path.startswith(".")


def test_no_job_state_in_memory_another_app_sees_the_progress(app, export_dir, finance):
    """Two app objects on one database: the second one sees the first one's job run,
    its progress and its end, through the table only."""
    from aap import create_app
    from aap.extensions import limiter

    saved = limiter.enabled, limiter.initialized
    other = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       UPLOAD_DIR=app.config["UPLOAD_DIR"], EXPORT_DIR=str(export_dir))
    limiter.enabled, limiter.initialized = saved
    gate = threading.Event()
    user_id = finance.id
    try:
        with jobs.registered(numbers_kind(gate=gate)):
            job_id = jobs.start(NAME, {"count": 4}, finance).id
            with other.app_context():
                seen = _poll(lambda: db.session.get(ExportJob, job_id),
                             lambda j: j.status == "running" and j.progress_done == 1)
                assert (seen.status, seen.progress_done, seen.progress_total) == \
                    ("running", 1, 4)
                db.session.remove()
            gate.set()
            wait_for_job(job_id)
            with other.app_context():
                from aap.models import User

                owner = db.session.get(User, user_id)
                path, name = jobs.file_for(owner, job_id)
                assert path.read_text() == expected_lines(4) and name == "lignes-4.txt"
                db.session.remove()
    finally:
        gate.set()
        join_export_threads()
        with other.app_context():
            db.engine.dispose()


def _poll(read, ok, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        db.session.expire_all()
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# -- failures ----------------------------------------------------------------------------

def test_a_failing_kind_leaves_a_french_message_and_no_file(export_dir, finance, caplog,
                                                           monkeypatch):
    # Alembic's logging set-up (the migrations of the session fixture) disables the
    # loggers that existed then; the service's log is what this test reads.
    monkeypatch.setattr(logging.getLogger("aap.services.jobs"), "disabled", False)
    caplog.set_level(logging.ERROR, logger="aap.services.jobs")
    with jobs.registered(numbers_kind(fail_after=2)):
        job = jobs.start(NAME, {"count": 5}, finance)
        failed = wait_for_job(job.id)
    assert failed.status == "failed"
    assert failed.error == "L'export a échoué ; l'erreur a été signalée. Vous pouvez le relancer."
    assert "disque plein" not in failed.error, "the details are for the log only"
    assert "disque plein" in caplog.text
    assert failed.file_path is None and failed.filename is None
    assert _files(export_dir) == [], "neither the half-written file nor its temporary"
    with pytest.raises(NotFound):
        jobs.file_for(finance, job.id)


def test_a_refusal_inside_the_kind_is_shown_as_it_says(export_dir, finance):
    refusal = ValidationFailed("Aucun dossier accordé sur cet exercice.")
    with jobs.registered(numbers_kind(fail_after=1, error=refusal)):
        failed = wait_for_job(jobs.start(NAME, {"count": 2}, finance).id)
    assert (failed.status, failed.error) == ("failed", "Aucun dossier accordé sur cet exercice.")
    assert _files(export_dir) == []


def test_an_unreachable_queue_fails_the_job_at_once(app, export_dir, finance, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 1}, finance)
    db.session.expire_all()
    row = db.session.get(ExportJob, job.id)
    assert row.status == "failed"
    assert row.error == "Le service des exports est indisponible : réessayez dans un instant."


# -- permissions -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["applicant", "juror", "admin"])
def test_a_role_without_export_rights_is_refused_at_start(export_dir, world, role):
    with jobs.registered(numbers_kind()), pytest.raises(Forbidden):
        jobs.start(NAME, {"count": 1}, world.users[role])
    with pytest.raises(Forbidden):
        jobs.start("jury_call", {"call_id": world.call.id}, world.users[role])
    assert db.session.scalars(select(ExportJob)).all() == []


def test_a_call_the_policy_does_not_export_is_refused_at_start(export_dir, world,
                                                               monkeypatch):
    """Narrowing the policy narrows the jobs: the call is then not shown to exist."""
    hidden = world.call.id
    narrowed = policies.exportable_calls
    monkeypatch.setattr(policies, "exportable_calls",
                        lambda user: narrowed(user).where(Call.id != hidden))
    with pytest.raises(NotFound):
        jobs.start("jury_call", {"call_id": hidden}, world.users["instructor"])
    with pytest.raises(NotFound):
        jobs.start("jury_call", {"call_id": hidden + 1000}, world.users["instructor"])
    assert db.session.scalars(select(ExportJob)).all() == []


def test_the_jury_report_is_for_instructors_only(export_dir, world):
    with pytest.raises(Forbidden):
        jobs.start("jury_call", {"call_id": world.call.id}, world.users["finance"])


@pytest.mark.parametrize("kind", ["nope", "", None, 3, "JURY_CALL"])
def test_unknown_kinds_are_refused(export_dir, finance, kind):
    with pytest.raises(NotFound):
        jobs.start(kind, {}, finance)


@pytest.mark.parametrize("value", [None, "", "abc", "1.5", -1, 0, True, 2**31, "9" * 40,
                                   [1], {"a": 1}, "١٢"])
def test_malformed_parameters_are_refused(export_dir, world, value):
    with pytest.raises(ValidationFailed):
        jobs.start("jury_call", {"call_id": value}, world.users["instructor"])


def test_rights_lost_before_the_run_fail_the_job(export_dir, world, monkeypatch):
    """The policy is checked again when the job runs, for its requester."""
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)  # run it by hand below
    instructor = world.users["instructor"]
    job = jobs.start("jury_call", {"call_id": world.call.id}, instructor)
    instructor.set_roles(["applicant"])
    db.session.commit()
    jobs.run(job.id)
    db.session.expire_all()
    row = db.session.get(ExportJob, job.id)
    assert (row.status, row.error) == ("failed", "Vous n'avez plus accès à cet export.")
    assert _files(export_dir) == []


def test_the_policy_is_checked_again_on_the_object_when_the_job_runs(export_dir, world,
                                                                     monkeypatch):
    """Still an exporter, but the call left the requester's scope before the run."""
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
    job = jobs.start("balance_call", {"call_id": world.call.id}, world.users["finance"])
    hidden = world.call.id
    narrowed = policies.exportable_calls
    monkeypatch.setattr(policies, "exportable_calls",
                        lambda user: narrowed(user).where(Call.id != hidden))
    jobs.run(job.id)
    db.session.expire_all()
    row = db.session.get(ExportJob, job.id)
    assert (row.status, row.error) == ("failed", "Appel introuvable.")
    assert _files(export_dir) == []


def test_only_the_requester_gets_the_file(export_dir, world, finance):
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 1}, finance)
        wait_for_job(job.id)
        other = factories.make_user(["finance"])
        for user in (other, world.users["instructor"], world.users["admin"]):
            with pytest.raises(NotFound):
                jobs.job_for(user, job.id)
            with pytest.raises(NotFound):
                jobs.file_for(user, job.id)
        assert jobs.file_for(finance, job.id)[0].read_text() == expected_lines(1)


def test_the_file_is_refused_once_the_rights_are_lost(export_dir, world):
    """The download checks the policy again on the object, not only the requester."""
    instructor = world.users["instructor"]
    job = wait_for_job(jobs.start("jury_call", {"call_id": world.call.id}, instructor).id)
    assert jobs.file_for(instructor, job.id)[1] == f"jury-appel-{world.call.id}.xlsx"
    instructor.set_roles(["finance"])  # may export, but not the jury report
    db.session.commit()
    with pytest.raises(NotFound):
        jobs.file_for(instructor, job.id)


def test_a_stored_name_outside_the_folder_is_never_served(export_dir, finance):
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 1}, finance)
        wait_for_job(job.id)
        secret = export_dir.parent / "secret.txt"
        secret.write_text("not an export")
        db.session.execute(update(ExportJob).where(ExportJob.id == job.id)
                           .values(file_path="../secret.txt"))
        db.session.commit()
        with pytest.raises(NotFound):
            jobs.file_for(finance, job.id)


# -- running -----------------------------------------------------------------------------

def test_a_job_runs_once_whoever_takes_it(export_dir, finance, monkeypatch):
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
    runs: list = []
    with jobs.registered(numbers_kind(runs=runs)):
        job = jobs.start(NAME, {"count": 2}, finance)
        jobs.run(job.id)
        jobs.run(job.id)
    assert len(runs) == 1
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == "done"


def test_the_jury_workbook_as_a_job(export_dir, world):
    app = world.bring_to(world.application(), "in_review")
    instructor = world.users["instructor"]
    job = wait_for_job(jobs.start("jury_call", {"call_id": world.call.id}, instructor).id)
    assert job.status == "done", job.error
    assert job.filename == f"jury-appel-{world.call.id}.xlsx"
    path, _ = jobs.file_for(instructor, job.id)
    book = load_workbook(io.BytesIO(path.read_bytes()))
    references = [row[0].value for row in book["Dossiers"].iter_rows(min_row=2)]
    assert references == [app.reference]


def test_the_year_indicators_as_a_job(export_dir, world):
    world.bring_to(world.application(), "granted")
    finance = world.users["finance"]
    job = wait_for_job(jobs.start("indicators_year", {"fiscal_year": 2026}, finance).id)
    assert job.status == "done", job.error
    path, name = jobs.file_for(finance, job.id)
    assert name == "indicateurs-2026.xlsx"
    book = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    assert book.sheetnames[0] == "Indicateurs"
    with pytest.raises(NotFound):
        jobs.start("indicators_year", {"fiscal_year": 2031}, finance)  # no call that year


class FakeClock:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def _progress_row(job_id: int) -> tuple[int, int | None]:
    with db.engine.connect() as connection:
        return tuple(connection.execute(
            select(ExportJob.progress_done, ExportJob.progress_total)
            .where(ExportJob.id == job_id)).one())


def test_progress_is_written_at_most_twice_a_second_and_always_at_the_end(
        export_dir, finance, monkeypatch):
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 10}, finance)
    clock = FakeClock()
    progress = jobs.ProgressWriter(job.id, clock=clock)
    steps = [(0.0, 1, 10, (1, 10)),     # the first call is written
             (0.3, 2, 10, (1, 10)),     # 0.3 s later: skipped
             (0.49, 3, 10, (1, 10)),    # still under 0.5 s: skipped
             (0.5, 4, 10, (4, 10)),     # 0.5 s after the last write
             (0.6, 10, 10, (10, 10)),   # the end: always written
             (0.6, 12, 10, (10, 10))]   # beyond the total: capped
    for at, done, total, expected in steps:
        clock.at = 100.0 + at
        progress(done, total)
        assert _progress_row(job.id) == expected, (at, done)


# -- retention ---------------------------------------------------------------------------

def _age(job_id: int, hours: float) -> None:
    db.session.execute(update(ExportJob).where(ExportJob.id == job_id)
                       .values(created_at=now() - timedelta(hours=hours)))
    db.session.commit()


def test_purge_deletes_old_jobs_and_files_and_marks_lost_ones(app, export_dir, finance,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_RETENTION_HOURS", 48)
    monkeypatch.setitem(app.config, "EXPORT_JOB_TIMEOUT", 3600)
    with jobs.registered(numbers_kind()):
        old = wait_for_job(jobs.start(NAME, {"count": 1}, finance).id)
        recent = wait_for_job(jobs.start(NAME, {"count": 2}, finance).id)
        monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
        lost = jobs.start(NAME, {"count": 3}, finance)  # its process stopped: never ran
    old_file, recent_file = old.file_path, recent.file_path
    _age(old.id, 49)
    _age(lost.id, 2)
    leftover = export_dir / ".99-abcd.part"
    leftover.write_text("half")
    ancient = time.time() - 49 * 3600
    os.utime(leftover, (ancient, ancient))
    fresh_leftover = export_dir / ".98-abcd.part"  # a writer may be busy with it
    fresh_leftover.write_text("half")

    assert jobs.purge() == 1
    db.session.expire_all()
    assert db.session.get(ExportJob, old.id) is None
    assert db.session.get(ExportJob, recent.id).status == "done"
    lost_row = db.session.get(ExportJob, lost.id)
    assert (lost_row.status, lost_row.error) == (
        "failed", "L'export a été interrompu avant la fin : relancez-le.")
    assert _files(export_dir) == sorted([".98-abcd.part", recent_file])
    assert not (export_dir / old_file).exists()


def test_a_lost_job_shows_as_interrupted_on_its_page(app, export_dir, finance, monkeypatch):
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
    with jobs.registered(numbers_kind()):
        job = jobs.start(NAME, {"count": 1}, finance)
        assert jobs.job_for(finance, job.id).status == "queued"
        _age(job.id, 2)
        assert jobs.job_for(finance, job.id).status == "failed"


# -- RQ on the real Redis ----------------------------------------------------------------

@pytest.fixture
def rq_queue(app, export_dir, monkeypatch):
    with private_queue(app, monkeypatch) as queue:
        yield queue


def test_through_rq_a_worker_runs_the_job_queued_running_done(rq_queue, export_dir, finance):
    from rq import Worker

    with jobs.registered(numbers_kind(observe=True)):
        job = jobs.start(NAME, {"count": 3}, finance)
        assert rq_queue.count == 1, "the job waits in Redis for a worker"
        time.sleep(0.2)
        db.session.expire_all()
        assert db.session.get(ExportJob, job.id).status == "queued", "no thread ran it"
        assert Worker([rq_queue], connection=rq_queue.connection).work(burst=True)
        done = wait_for_job(job.id, timeout=5)
        assert jobs.file_for(finance, job.id)[1] == "lignes-3.txt"
    assert done.status == "done", done.error
    assert (done.progress_done, done.progress_total) == (3, 3)
    content = (export_dir / done.file_path).read_text()
    # While it ran, another connection saw it running at 1 of 3.
    assert content == "ligne 1\nvu: running 1/3\nligne 2\nligne 3\n"
    assert rq_queue.count == 0


def test_through_rq_a_failing_job_is_failed_with_no_file(rq_queue, export_dir, finance):
    from rq import Worker

    with jobs.registered(numbers_kind(fail_after=1)):
        job = jobs.start(NAME, {"count": 3}, finance)
        Worker([rq_queue], connection=rq_queue.connection).work(burst=True)
    failed = wait_for_job(job.id, timeout=5)
    assert failed.status == "failed" and "échoué" in failed.error
    assert _files(export_dir) == []


def test_a_job_the_queue_lost_is_failed_by_the_failure_callback(export_dir, finance,
                                                                monkeypatch):
    """RQ calls it when the job's process was killed (memory, timeout outside Python)."""
    from types import SimpleNamespace

    monkeypatch.setattr(jobs, "dispatch", lambda job_id: None)
    with jobs.registered(numbers_kind()):
        lost = jobs.start(NAME, {"count": 1}, finance)
        finished = jobs.start(NAME, {"count": 1}, finance)
        jobs.run(finished.id)
    for job in (lost, finished):
        jobs.on_queue_failure(SimpleNamespace(args=(job.id,)), None, SystemExit,
                              SystemExit("work horse killed"), None)
    db.session.expire_all()
    assert (db.session.get(ExportJob, lost.id).status,
            db.session.get(ExportJob, lost.id).error) == (
        "failed", "L'export a échoué ; l'erreur a été signalée. Vous pouvez le relancer.")
    assert db.session.get(ExportJob, finished.id).status == "done", "a finished job stays"

