"""The outbox is written with the change and delivered to a real (in-process) SMTP server.

"No notification lost" (SPEC 10): a server that is down or refuses the login touches no
row; a refused recipient is retried with backoff (1, 5, 30 minutes, 2 hours, counted from
the row's creation) and is ``failed`` after its fifth attempt; a row is never sent twice,
even by two senders at once; STARTTLS verifies the server's certificate before the
password is sent; ``aap outbox send`` reports what happened.
"""

from __future__ import annotations

import ssl
import threading
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from aap.extensions import db
from aap.models import Notification
from aap.services import notifications
from tests.services.conftest import Inbox
from tests.serving import free_port
from workflows import GuardFailed

T0 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
REFUSED = "absent@example.org"


def _row(email: str, created_at: datetime = T0, subject: str = "Votre dossier") -> Notification:
    row = Notification(recipient_email=email, subject=subject, body="Bonjour,\n",
                       created_at=created_at)
    db.session.add(row)
    db.session.commit()
    return row


def _reload(row: Notification) -> Notification:
    db.session.rollback()
    return db.session.get(Notification, row.id, populate_existing=True)


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


def test_pending_notifications_are_delivered_by_smtp(app, world, smtp_server, smtp_url):
    controller, inbox = smtp_server
    world.fire(world.application(), "submit")
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    assert notifications.send_pending() == (2, 0)
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        [world.users["applicant"].email, world.users["instructor"].email])
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]
    assert any(s.startswith("Accusé de réception") for s in subjects)
    rows = db.session.scalars(select(Notification)).all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(
        f"<notification-{r.id}@aap.localhost>" for r in rows)
    assert notifications.send_pending() == (0, 0)  # nothing is sent twice
    assert len(inbox.messages) == 2


def test_a_refused_transition_queues_nothing(world):
    app = world.application(title="")
    with pytest.raises(GuardFailed) as refused:
        world.fire(app, "submit")
    assert refused.value.code == "invalid_application"
    db.session.rollback()
    assert db.session.scalars(select(Notification)).all() == []


def test_a_server_that_is_down_loses_nothing(db, smtp_factory, smtp_url):
    row = _row("awa@example.org")
    port = free_port()  # nothing listens there
    smtp_url(f"smtp://127.0.0.1:{port}")
    with pytest.raises(notifications.SmtpUnavailable):
        notifications.send_pending(at=T0)
    row = _reload(row)
    assert (row.status, row.attempts) == ("pending", 0)  # not an attempt of the message
    # The server comes back: the same row is delivered, once.
    controller, inbox = smtp_factory()
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    assert notifications.send_pending(at=T0) == (1, 0)
    assert [m["To"] for m in inbox.messages] == ["awa@example.org"]
    assert (_reload(row).status, _reload(row).attempts) == ("sent", 1)


def test_a_refused_recipient_is_retried_with_backoff_then_failed(db, smtp_factory, smtp_url):
    controller, inbox = smtp_factory(Inbox(refused={REFUSED}))
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    refused, other = _row(REFUSED), _row("awa@example.org")

    assert notifications.send_pending(at=T0) == (1, 1)
    row = _reload(refused)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
    assert _reload(other).status == "sent"
    assert [m["To"] for m in inbox.messages] == ["awa@example.org"]

    # Attempt n+1 is due 1, 1+5, 1+5+30 and 1+5+30+120 minutes after the creation.
    due = [T0 + timedelta(minutes=m) for m in (1, 6, 36, 156)]
    for attempt, at in enumerate(due, start=2):
        assert notifications.send_pending(at=at - timedelta(seconds=1)) == (0, 0)
        assert _reload(refused).attempts == attempt - 1  # not yet: backing off
        assert notifications.send_pending(at=at) == (0, 1)
        row = _reload(refused)
        assert row.attempts == attempt
        assert row.status == ("failed" if attempt == 5 else "pending")
    assert inbox.refusals == [REFUSED] * 5  # five real attempts reached the server

    # Failed is final: a day later, even with the recipient accepted, nothing is sent.
    inbox.refused.clear()
    assert notifications.send_pending(at=T0 + timedelta(days=1)) == (0, 0)
    assert (_reload(refused).status, _reload(refused).attempts) == ("failed", 5)
    assert [m["To"] for m in inbox.messages] == ["awa@example.org"]


def test_a_row_is_never_sent_twice_by_two_senders_at_once(app, db, smtp_factory, smtp_url):
    controller, inbox = smtp_factory()
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    rows = [_row(f"p{i}@example.org") for i in range(12)]
    barrier = threading.Barrier(2)
    results: list[tuple[int, int]] = []

    def sender() -> None:
        with app.app_context():
            barrier.wait()
            try:
                results.append(notifications.send_pending(at=T0))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(sent for sent, _ in results) == 12
    assert sorted(m["To"] for m in inbox.messages) == sorted(r.recipient_email for r in rows)
    db.session.rollback()
    assert {(r.status, r.attempts) for r in db.session.scalars(select(Notification))} == {
        ("sent", 1)}


# --- STARTTLS and authentication --------------------------------------------------------

USER, PASSWORD = "aap-mailer", "s3cret-relais"


@pytest.fixture
def tls_server(smtp_factory, tmp_path, monkeypatch):
    """A server that requires STARTTLS, then a login, with a certificate from a CA of the
    test's own, which the client is made to trust (``SSL_CERT_FILE``)."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    logins: list[tuple[str, bool, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    controller, inbox = smtp_factory(tls_context=server_context, require_starttls=True,
                                     authenticator=authenticator, auth_required=True,
                                     auth_require_tls=True, auth_exclude_mechanism=["LOGIN"])
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return controller, inbox, logins, ca_file, monkeypatch


def test_starttls_and_login_deliver(db, tls_server, smtp_url):
    controller, inbox, logins, ca_file, monkeypatch = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    row = _row("awa@example.org")
    smtp_url(f"smtp+starttls://{USER}:{PASSWORD}@127.0.0.1:{controller.port}")
    assert notifications.send_pending(at=T0) == (1, 0)
    assert [m["To"] for m in inbox.messages] == ["awa@example.org"]
    assert [(ok, over_tls) for _, ok, over_tls in logins] == [(True, True)]
    assert _reload(row).status == "sent"


def test_a_wrong_password_sends_nothing_and_burns_no_attempt(db, tls_server, smtp_url):
    controller, inbox, logins, ca_file, monkeypatch = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    row = _row("awa@example.org")
    smtp_url(f"smtp+starttls://{USER}:mauvais@127.0.0.1:{controller.port}")
    with pytest.raises(notifications.SmtpUnavailable):
        notifications.send_pending(at=T0)
    assert [ok for _, ok, _ in logins] == [False]
    assert inbox.messages == []
    assert (_reload(row).status, _reload(row).attempts) == ("pending", 0)


def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(db, tls_server,
                                                                          smtp_url):
    controller, inbox, logins, _ca_file, monkeypatch = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the test CA is not trusted
    row = _row("awa@example.org")
    smtp_url(f"smtp+starttls://{USER}:{PASSWORD}@127.0.0.1:{controller.port}")
    with pytest.raises(notifications.SmtpUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        notifications.send_pending(at=T0)
    assert logins == []  # the password never left the client
    assert inbox.messages == []
    assert _reload(row).attempts == 0


# --- the command ------------------------------------------------------------------------


def test_aap_outbox_send_delivers_and_reports(app, db, smtp_factory, smtp_url):
    controller, inbox = smtp_factory(Inbox(refused={REFUSED}))
    _row("awa@example.org", created_at=datetime.now(UTC))
    _row(REFUSED, created_at=datetime.now(UTC))
    runner = app.test_cli_runner()
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "sent 1, failed 1"
    assert [m["To"] for m in inbox.messages] == ["awa@example.org"]
    again = runner.invoke(args=["outbox", "send"])  # the refused one is backing off
    assert (again.exit_code, again.stdout.strip()) == (0, "sent 0, failed 0")


def test_aap_outbox_send_says_when_the_server_is_down(app, db, smtp_url):
    row = _row("awa@example.org", created_at=datetime.now(UTC))
    smtp_url(f"smtp://127.0.0.1:{free_port()}")
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 1
    assert "Nothing was sent; the outbox is kept." in result.output
    assert (_reload(row).status, _reload(row).attempts) == ("pending", 0)


def test_aap_outbox_send_without_smtp_url_is_an_error(app, db):
    _row("awa@example.org")
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 1
    assert "SMTP_URL is not set" in result.output


@pytest.mark.parametrize("name", ["Les Amis\r\nBcc: espion@example.org",
                                  "Les Amis\u2028du quartier", "Les Amis\x85du quartier"])
def test_a_line_break_in_a_name_never_reaches_a_header(world, smtp_server, smtp_url, name):
    """An organisation's name goes into the subject of the membership mails: its line
    breaks (CR LF, U+2028, U+0085) become spaces, so the mail goes out with one subject
    line and no header of the applicant's making, and the others go out too."""
    controller, inbox = smtp_server
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    world.org.name = name
    notifications.queue_email("awa@example.org", "mail/join_request_accepted.txt",
                              recipient=world.users["applicant"], organisation=world.org)
    db.session.commit()
    _row("bea@example.org")

    assert notifications.send_pending() == (2, 0)
    by_recipient = {m["To"]: m for m in inbox.messages}
    subject = str(make_header(decode_header(by_recipient["awa@example.org"]["Subject"])))
    assert subject == "Vous êtes membre de " + " ".join(name.split()) + " sur AAP"
    assert "\r" not in subject and "\u2028" not in subject and "\x85" not in subject
    assert by_recipient["awa@example.org"]["Bcc"] is None


def test_a_row_that_cannot_be_a_message_is_failed_and_the_others_go(db, smtp_server,
                                                                      smtp_url):
    """A row written before the subjects were put on one line (or an address that
    cannot be a header) fails alone, at once; the run sends the rest."""
    controller, inbox = smtp_server
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    broken = _row("awa@example.org\r\nBcc: espion@example.org")
    old = _row("bea@example.org", subject="Dossier\r\nd'avant")
    fine = _row("cyr@example.org")

    assert notifications.send_pending(at=T0) == (2, 0)
    assert sorted(m["To"] for m in inbox.messages) == ["bea@example.org", "cyr@example.org"]
    assert _reload(broken).status == "failed" and "ValueError" in _reload(broken).last_error
    assert (_reload(old).status, _reload(fine).status) == ("sent", "sent")


@pytest.mark.parametrize("auto_reload", [True, False])
def test_a_mail_template_is_compiled_once_and_again_when_edited_in_development(
        app, tmp_path, monkeypatch, auto_reload):
    """Compiled once per process; a development server (templates reloaded) sees the
    edited file at the next message."""
    import os

    from jinja2 import FileSystemLoader

    monkeypatch.setattr(app.jinja_env, "loader", FileSystemLoader(str(tmp_path)))
    monkeypatch.setattr(app.jinja_env, "auto_reload", auto_reload)
    app.extensions.pop("aap_mail_templates", None)
    mail = tmp_path / "essai.txt"
    mail.write_text("Subject: Dossier {{ ref }}\nPremière version.\n", encoding="utf-8")
    with app.test_request_context():
        assert notifications._render("essai.txt", ref="A-1") == (
            "Dossier A-1", "Première version.\n")
        mail.write_text("Subject: Votre dossier {{ ref }}\nSeconde version.\n",
                        encoding="utf-8")
        later = mail.stat().st_mtime + 10
        os.utime(mail, (later, later))
        expected = (("Votre dossier A-2", "Seconde version.\n") if auto_reload
                    else ("Dossier A-2", "Première version.\n"))
        assert notifications._render("essai.txt", ref="A-2") == expected
    app.extensions.pop("aap_mail_templates", None)
