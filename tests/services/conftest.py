"""Service-test fixtures: an in-process SMTP server (aiosmtpd) that the outbox delivers
to, for the outbox tests and the mail tests of other modules."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from tests.serving import free_port


class Inbox(Message):
    """Keeps what it receives; refuses RCPT for the addresses in ``refused`` (550) and
    counts those refusals, as a real server would log them."""

    def __init__(self, refused: set[str] = frozenset()) -> None:
        super().__init__()
        self.messages = []
        self.refused = set(refused)
        self.refusals: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            self.refusals.append(address)
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def handle_message(self, message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_factory():
    """Start in-process SMTP servers (plain, or STARTTLS with a login) for one test."""
    controllers = []

    def start(inbox: Inbox | None = None, **options) -> tuple[Controller, Inbox]:
        inbox = inbox or Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return controller, inbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_factory):
    return smtp_factory()


@pytest.fixture
def smtp_url(app):
    """Point the app at an SMTP URL for one test."""

    def set_url(url: str) -> None:
        app.config["SMTP_URL"] = url

    yield set_url
    app.config["SMTP_URL"] = None
