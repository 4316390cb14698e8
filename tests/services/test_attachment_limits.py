"""The limits of an application's attachments (ASVS 12.1.3): at most
MAX_ATTACHMENTS_PER_APPLICATION files and MAX_APPLICATION_UPLOAD_BYTES in all, checked
under the application's row lock, with no file left on disk when an upload is refused."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Attachment, User
from aap.services import attachments
from aap.services.attachments import Upload
from tests.helpers import race
from workflows import WorkflowError

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(size: int) -> bytes:
    """A PDF (recognised by its magic bytes) of exactly ``size`` bytes."""
    assert size >= len(PDF)
    return PDF + b"0" * (size - len(PDF))


@pytest.fixture
def limits(app, monkeypatch, tmp_path):
    """Set the two limits for one test, with an upload folder of its own."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))

    def set_limits(files: int, total: int) -> Path:
        monkeypatch.setitem(app.config, "MAX_ATTACHMENTS_PER_APPLICATION", files)
        monkeypatch.setitem(app.config, "MAX_APPLICATION_UPLOAD_BYTES", total)
        return tmp_path

    return set_limits


def add(world, application_id: int, size: int, name: str = "piece.pdf") -> Attachment:
    return attachments.add_attachment(world.users["applicant"], application_id, "statutes",
                                      Upload(name, io.BytesIO(pdf(size))))


def outcome(job: Callable[[], object]) -> str:
    try:
        job()
    except WorkflowError as exc:
        db.session.rollback()
        return exc.code
    return "ok"


def stored(application_id: int) -> tuple[int, int]:
    db.session.rollback()
    return tuple(db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
        .where(Attachment.application_id == application_id)).one())


# Limits of 3 files and 1 000 bytes; the sizes already held, the size added, the outcome.
CASES = [
    ((), 1000, "ok"),                                    # one file filling the whole room
    ((), 1001, "attachment_quota_exceeded"),             # one byte over, alone
    ((400, 400), 200, "ok"),                             # the third file, exactly at 1 000
    ((400, 400), 201, "attachment_quota_exceeded"),      # one byte over the total
    ((100, 100, 100), 50, "too_many_attachments"),       # a fourth file, room to spare
    ((400, 300, 300), 60, "too_many_attachments"),       # both reached: the count is said
    ((500, 500), 50, "attachment_quota_exceeded"),       # a free place but no room left
]


@pytest.mark.parametrize(("held", "size", "expected"), CASES)
def test_the_count_and_the_total_are_capped(world, limits, held, size, expected):
    folder = limits(files=3, total=1000)
    application = world.application()
    for existing in held:
        add(world, application.id, existing)
    assert outcome(lambda: add(world, application.id, size)) == expected
    if expected == "ok":
        held = (*held, size)
    assert stored(application.id) == (len(held), sum(held))
    assert len(list(folder.iterdir())) == len(held)  # a refused file is not on disk


def test_a_limit_refusal_carries_what_is_left(world, limits):
    limits(files=3, total=1000)
    application = world.application()
    add(world, application.id, 700)
    with pytest.raises(attachments.AttachmentQuotaExceeded) as refused:
        add(world, application.id, 301)
    assert refused.value.status == 422
    assert (refused.value.usage.count, refused.value.usage.used_bytes) == (1, 700)
    assert refused.value.usage.bytes_left == 300
    assert refused.value.size == 301
    assert "file" in refused.value.fields


def test_removing_a_file_frees_its_place_and_its_room(world, limits):
    limits(files=2, total=1000)
    application = world.application()
    first = add(world, application.id, 600)
    add(world, application.id, 300)
    assert outcome(lambda: add(world, application.id, 60)) == "too_many_attachments"
    attachments.remove_attachment(world.users["applicant"], application.id, first.id)
    assert outcome(lambda: add(world, application.id, 700)) == "ok"
    assert stored(application.id) == (2, 1000)


def test_limits_are_per_application(world, limits):
    limits(files=1, total=1000)
    first, second = world.application(), world.application()
    add(world, first.id, 900)
    assert outcome(lambda: add(world, second.id, 900)) == "ok"
    assert stored(first.id) == stored(second.id) == (1, 900)


def test_a_failure_after_the_file_is_written_removes_it(world, limits, monkeypatch):
    folder = limits(files=3, total=1000)
    application = world.application()

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(attachments.audit, "record_action", broken_audit)
    with pytest.raises(RuntimeError):
        add(world, application.id, 100)
    assert stored(application.id) == (0, 0)
    assert list(folder.iterdir()) == []


def test_the_defaults_are_thirty_files_and_ten_times_the_file_limit(app):
    assert app.config["MAX_ATTACHMENTS_PER_APPLICATION"] == 30
    assert app.config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
    assert app.config["MAX_APPLICATION_UPLOAD_BYTES"] == 100 * 1024 * 1024


# -- at the same instant ------------------------------------------------------------------

HOLD_SECONDS = 0.3

@pytest.fixture
def slow_check(monkeypatch):
    """Each upload waits a moment between its check and its insert: without the lock,
    every racer would check before any of them inserts, and all would pass."""
    check = attachments.check_room

    def check_then_wait(current, size):
        check(current, size)
        if size:  # the check under the lock, not the early one
            time.sleep(HOLD_SECONDS)

    monkeypatch.setattr(attachments, "check_room", check_then_wait)


def _upload_job(application_id: int, actor_id: int, size: int) -> Callable[[], object]:
    def job():
        actor = db.session.get(User, actor_id)
        db.session.get(Application, application_id)
        return attachments.add_attachment(actor, application_id, "rib",
                                          Upload("rib.pdf", io.BytesIO(pdf(size))))

    return job


def test_concurrent_uploads_never_pass_the_count(app, world, limits, slow_check):
    """Two files held of three: four uploads at once, one takes the last place."""
    folder = limits(files=3, total=10_000)
    application = world.application()
    add(world, application.id, 100)
    add(world, application.id, 100)
    applicant_id = world.users["applicant"].id
    db.session.commit()
    outcomes = race(app, [_upload_job(application.id, applicant_id, 100)] * 4)
    assert Counter(outcomes) == {"ok": 1, "too_many_attachments": 3}
    assert stored(application.id) == (3, 300)
    assert len(list(folder.iterdir())) == 3


def test_concurrent_uploads_never_pass_the_total(app, world, limits, slow_check):
    """1 000 bytes of room: four uploads of 400 bytes at once, two fit."""
    folder = limits(files=30, total=1000)
    application = world.application()
    applicant_id = world.users["applicant"].id
    db.session.commit()
    outcomes = race(app, [_upload_job(application.id, applicant_id, 400)] * 4)
    assert Counter(outcomes) == {"ok": 2, "attachment_quota_exceeded": 2}
    assert stored(application.id) == (2, 800)
    assert len(list(folder.iterdir())) == 2
