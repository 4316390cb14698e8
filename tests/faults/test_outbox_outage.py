"""The outbox survives an SMTP server that goes down in the middle of a batch and comes
back on the same port: every message is delivered once, none lost, none sent twice, and
the ones whose attempt failed wait for the backoff schedule (1 minute after their
creation for a second attempt, SPEC 10 and ``notifications.RETRY_DELAYS``).

What ``tests/services/test_outbox.py`` already proves is left to it: a server down
before the run (no row touched), a refused recipient's whole schedule, two senders at
once. Here the outage hits while messages are being sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from aap.extensions import db
from aap.models import Notification
from aap.services import notifications
from tests.services.conftest import Inbox
from tests.serving import free_port

pytestmark = pytest.mark.faults

T0 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
RECIPIENTS = [f"membre{k}@example.org" for k in range(8)]


class DyingInbox(Inbox):
    """Accepts ``lives`` messages, then answers the next one 421 (the server is
    shutting down) and stops the server from another thread, as an outage would."""

    def __init__(self, lives: int) -> None:
        super().__init__()
        self.lives = lives
        self.controller: Controller | None = None
        self.stopped = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if len(self.messages) >= self.lives:
            threading.Thread(target=self._stop, daemon=True).start()
            return "421 4.3.2 Service shutting down"
        return await super().handle_DATA(server, session, envelope)

    def _stop(self) -> None:
        self.controller.stop()
        self.stopped.set()


def _rows() -> dict[str, Notification]:
    db.session.rollback()
    rows = db.session.query(Notification).populate_existing().all()
    return {row.recipient_email: row for row in rows}


def test_an_outage_mid_batch_loses_nothing_and_sends_nothing_twice(db, smtp_url):
    for email in RECIPIENTS:
        db.session.add(Notification(recipient_email=email, subject="Votre dossier",
                                    body="Bonjour,\n", created_at=T0))
    db.session.commit()
    port = free_port()
    dying = DyingInbox(lives=3)
    dying.controller = Controller(dying, hostname="127.0.0.1", port=port)
    dying.controller.start()
    smtp_url(f"smtp://127.0.0.1:{port}")

    sent, failed = notifications.send_pending(at=T0)
    assert dying.stopped.wait(10), "the server should have stopped"
    assert sent == 3 and failed >= 1
    rows = _rows()
    first = [m["To"] for m in dying.messages]
    assert first == RECIPIENTS[:3]
    assert all(rows[e].status == "sent" and rows[e].attempts == 1 for e in first)
    tried = [e for e in RECIPIENTS[3:] if rows[e].attempts == 1]
    untried = [e for e in RECIPIENTS[3:] if rows[e].attempts == 0]
    assert tried and RECIPIENTS[3] in tried  # the refused one, maybe the next
    assert all(rows[e].status == "pending" and rows[e].last_error for e in tried)
    assert sorted(tried + untried) == sorted(RECIPIENTS[3:])

    # Still down: nothing is touched, nothing is lost.
    with pytest.raises(notifications.SmtpUnavailable):
        notifications.send_pending(at=T0 + timedelta(seconds=30))
    assert {e: (r.status, r.attempts) for e, r in _rows().items()} == \
        {e: (r.status, r.attempts) for e, r in rows.items()}

    # Back on the same port. The rows never tried go at once; the tried ones back off.
    back = Inbox()
    controller = Controller(back, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert notifications.send_pending(at=T0 + timedelta(seconds=59)) == (len(untried), 0)
        assert sorted(m["To"] for m in back.messages) == sorted(untried)
        assert all(_rows()[e].status == "pending" for e in tried)  # 1 min not yet passed
        assert notifications.send_pending(at=T0 + timedelta(minutes=1)) == (len(tried), 0)
    finally:
        controller.stop()

    delivered = Counter(m["To"] for m in [*dying.messages, *back.messages])
    assert delivered == Counter(RECIPIENTS)  # each once: none lost, none twice
    rows = _rows()
    assert all(r.status == "sent" for r in rows.values())
    assert {e: rows[e].attempts for e in tried} == dict.fromkeys(tried, 2)
    assert {e: rows[e].attempts for e in untried} == dict.fromkeys(untried, 1)
