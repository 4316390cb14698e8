"""The outbox: notifications are rows written with the change they announce, then sent
by SMTP (``SMTP_URL``) by ``aap outbox send``; in development they are read in the UI."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import unquote, urlparse

from flask import current_app
from jinja2 import TemplateNotFound
from sqlalchemy import and_, or_, select, update

from aap.database import write_transaction
from aap.extensions import db
from aap.models import Application, Membership, Notification, Review, User, UserRole
from aap.services import policies
from aap.textutil import one_line
from aap.timeutil import now


def _render(template: str, **context) -> tuple[str, str]:
    """The subject and body of a mail template, whose first line is ``Subject: …``. The
    two are split in the template's source, before rendering: a line break in a value
    (an organisation's name) never moves text from the subject to the body."""
    subject_part, body_part = _compiled(template)
    current_app.update_template_context(context)
    subject, text = (part.render(context) for part in (subject_part, body_part))
    return one_line(subject.removeprefix("Subject:")), text.strip() + "\n"


def _compiled(template: str):
    """The template's subject line and body, compiled once per process (a notification
    per recipient would otherwise compile them each time); compiled again when the file
    changes and the environment reloads templates (development)."""
    env = current_app.jinja_env
    cache = current_app.extensions.setdefault("aap_mail_templates", {})
    hit = cache.get(template)
    if hit is not None and (not env.auto_reload or hit[2]()):
        return hit[0], hit[1]
    source, _filename, uptodate = env.loader.get_source(env, template)
    first, _, body = source.partition("\n")
    subject_part, body_part = (
        env.from_string("{% autoescape false %}" + part + "{% endautoescape %}")
        for part in (first, body))
    cache[template] = (subject_part, body_part, uptodate or (lambda: True))
    return subject_part, body_part


def queue_email(email: str, template: str, *, recipient: User | None = None,
                application: Application | None = None, **context) -> Notification:
    """One outbox row to an address (a user's, or someone without an account yet)."""
    subject, body = _render(template, user=recipient, application=application, **context)
    row = Notification(recipient_email=email, recipient_id=getattr(recipient, "id", None),
                       application_id=getattr(application, "id", None),
                       subject=subject, body=body)
    db.session.add(row)
    return row


def queue(recipients: Iterable[User], template: str, *, application: Application | None = None,
          **context) -> list[Notification]:
    return [
        queue_email(user.email, template, recipient=user, application=application, **context)
        for user in {u.id: u for u in recipients if u.active}.values()
    ]


def audience(name: str, application: Application) -> list[User]:
    if name == "applicant":
        query = select(User).join(Membership).where(
            Membership.organisation_id == application.organisation_id)
    elif name == "jurors":
        query = select(User).join(Review, Review.juror_id == User.id).where(
            Review.application_id == application.id, Review.conflict.is_(False))
    elif name in {"instructors", "finance"}:
        role = "instructor" if name == "instructors" else "finance"
        query = staff_of(role, policies.application_authority(application))
    else:
        raise ValueError(f"unknown audience {name!r}")
    return list(db.session.scalars(query).unique())


def staff_of(role: str, authority_id: int | None):
    """The users holding ``role`` for an authority's work: in that authority, or
    platform-wide (SPEC 2: mail "to the instructors" reaches that authority's only)."""
    held_here = UserRole.authority_id.is_(None)
    if authority_id is not None:
        held_here = held_here | (UserRole.authority_id == authority_id)
    return select(User).join(UserRole).where(UserRole.role == role, held_here)


def notify_transition(application: Application, trigger: str, audiences: Iterable[str],
                      **context) -> None:
    for name in audiences:
        template = f"mail/{trigger}.{name}.txt"
        try:
            current_app.jinja_env.get_template(template)
        except TemplateNotFound:
            template = f"mail/{trigger}.txt"
        queue(audience(name, application), template, application=application,
              audience=name, **context)


class SmtpUnavailable(Exception):
    """The SMTP server could not be reached, or refused the connection, TLS or login:
    nothing was attempted and every row stays pending as it was."""


# Retries back off: after a failed attempt, the next one waits this long (counted from
# the row's creation, the outbox keeping no other time: attempt n+1 is due once the first
# n delays have passed). After the last attempt the row is ``failed``.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
def next_attempt_at(row: Notification) -> datetime:
    return row.created_at + sum(RETRY_DELAYS[:row.attempts], timedelta(0))


def _smtp(url: str) -> smtplib.SMTP:
    """A logged-in client. TLS (``smtps`` or ``smtp+starttls``) verifies the server's
    certificate and name against the system's trusted authorities (``SSL_CERT_FILE``)."""
    parsed = urlparse(url)
    port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
    host = parsed.hostname or "localhost"
    context = ssl.create_default_context()
    if parsed.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=30)
    try:
        if parsed.scheme == "smtp+starttls":
            client.starttls(context=context)
        if parsed.username:
            client.login(unquote(parsed.username), unquote(parsed.password or ""))
    except BaseException:
        client.close()
        raise
    return client


def _due(at: datetime):
    """Pending rows whose next attempt is due at ``at`` (see RETRY_DELAYS)."""
    conditions = [
        and_(Notification.attempts == attempts,
             Notification.created_at <= at - sum(RETRY_DELAYS[:attempts], timedelta(0)))
        for attempts in range(MAX_ATTEMPTS)
    ]
    return and_(Notification.status == "pending", or_(*conditions))


def _claim(row_id: int, seen_attempts: int) -> bool:
    """Count the attempt before making it, only if no other sender counted one since the
    row was selected: two ``aap outbox send`` at once never send the same row twice."""
    with write_transaction():
        claimed = db.session.execute(
            update(Notification)
            .where(Notification.id == row_id, Notification.status == "pending",
                   Notification.attempts == seen_attempts)
            .values(attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    return bool(claimed)


def _record(row_id: int, **values) -> None:
    with write_transaction():
        db.session.execute(update(Notification).where(Notification.id == row_id)
                           .values(**values).execution_options(synchronize_session=False))


def _connection_lost(exc: BaseException) -> bool:
    """A dropped connection or a socket error (``SMTPException`` is an ``OSError`` too, but
    a refusal by the server leaves the connection usable)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or (
        isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException))


def _message(row: Notification) -> EmailMessage:
    sender = current_app.config["MAIL_FROM"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient_email
    message["Subject"] = one_line(row.subject)
    # One Message-ID per row, the same on every attempt: a copy sent again after a crash
    # between the server's acceptance and our commit is recognisable as the same mail.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "aap.localhost"
    message["Message-ID"] = f"<notification-{row.id}@{domain}>"
    message.set_content(row.body)
    return message


def send_pending(limit: int = 100, *, at: datetime | None = None) -> tuple[int, int]:
    """Send the notifications that are due; returns (sent, failed attempts).

    Each attempt is counted (and committed) before it is made, and its outcome committed
    after, row by row, so a failure never loses or duplicates the others. A refused
    message stays pending until its last attempt, then is ``failed``; a lost connection
    ends the run. Raises ``SmtpUnavailable`` when the server cannot be reached or refuses
    the TLS handshake or the login (no row is touched)."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0, 0
    at = at or now()
    rows = db.session.scalars(
        select(Notification).where(_due(at)).order_by(Notification.id).limit(limit)
    ).all()
    if not rows:
        return 0, 0
    work, unsendable = [], []
    for row in rows:  # one message that cannot be built never holds up the others
        try:
            work.append((row.id, row.attempts, _message(row)))
        except ValueError as exc:
            unsendable.append((row.id, f"{type(exc).__name__}: {exc}"[:2000]))
    db.session.commit()  # end the read: each row is then claimed in its own transaction
    for row_id, error in unsendable:
        _record(row_id, status="failed", last_error=error)
    try:
        client = _smtp(url)
    except (smtplib.SMTPException, OSError) as exc:
        raise SmtpUnavailable(f"SMTP server {urlparse(url).hostname}: {exc}") from exc
    sent = failed = 0
    with client:
        for row_id, attempts, message in work:
            if not _claim(row_id, attempts):
                continue
            try:
                client.send_message(message)
            except (smtplib.SMTPException, OSError) as exc:
                failed += 1
                _record(row_id, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                        status="failed" if attempts + 1 >= MAX_ATTEMPTS else "pending")
                if _connection_lost(exc):
                    break
            else:
                sent += 1
                _record(row_id, status="sent", sent_at=now(), last_error=None)
    return sent, failed
