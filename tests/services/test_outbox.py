"""The outbox is written with the change and delivered to a real (in-process) SMTP server."""

from __future__ import annotations

import socket
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select

from aap.extensions import db
from aap.models import Notification
from aap.services import notifications


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_submission_queues_the_acknowledgement_in_the_same_transaction(world):
    app = world.fire(world.application(), "submit")
    rows = db.session.scalars(select(Notification).where(
        Notification.application_id == app.id)).all()
    recipients = {r.recipient_email for r in rows}
    assert world.users["applicant"].email in recipients
    assert world.users["instructor"].email in recipients
    receipt = next(r for r in rows if r.recipient_email == world.users["applicant"].email)
    assert app.reference in receipt.subject
    assert "heure de Paris" in receipt.body


def test_pending_notifications_are_delivered_by_smtp(app, world, smtp_server):
    controller, inbox = smtp_server
    world.fire(world.application(), "submit")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        sent, failed = notifications.send_pending()
    finally:
        app.config["SMTP_URL"] = None
    assert (sent, failed) == (2, 0)
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        [world.users["applicant"].email, world.users["instructor"].email])
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]
    assert any(s.startswith("Accusé de réception") for s in subjects)
    statuses = set(db.session.scalars(select(Notification.status)))
    assert statuses == {"sent"}
    assert notifications.send_pending() == (0, 0)  # nothing is sent twice


def test_a_refused_transition_queues_nothing(world):
    app = world.application(title="")
    with pytest.raises(Exception):  # noqa: B017 - the guard's error is tested elsewhere
        world.fire(app, "submit")
    db.session.rollback()
    assert db.session.scalars(select(Notification)).all() == []
