"""The outbox: notifications are rows written with the change they announce, then sent
by SMTP (``SMTP_URL``) by ``aap outbox send``; in development they are read in the UI."""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, Membership, Notification, Review, User, UserRole
from aap.timeutil import now

MAX_ATTEMPTS = 5


def _render(template: str, **context) -> tuple[str, str]:
    text = render_template(template, **context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return subject, body.strip() + "\n"


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
        query = select(User).join(UserRole).where(UserRole.role == role)
    else:
        raise ValueError(f"unknown audience {name!r}")
    return list(db.session.scalars(query).unique())


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


def _smtp(url: str) -> smtplib.SMTP:
    parsed = urlparse(url)
    port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
    client_class = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    client = client_class(parsed.hostname or "localhost", port, timeout=30)
    if parsed.scheme == "smtp+starttls":
        client.starttls()
    if parsed.username:
        client.login(unquote(parsed.username), unquote(parsed.password or ""))
    return client


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send pending notifications; returns (sent, failed). Each row is committed on its
    own so a failure never loses or duplicates the others."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0, 0
    rows = db.session.scalars(
        select(Notification).where(Notification.status == "pending")
        .order_by(Notification.id).limit(limit)
    ).all()
    sent = failed = 0
    with _smtp(url) as client:
        for row in rows:
            message = EmailMessage()
            message["From"] = current_app.config["MAIL_FROM"]
            message["To"] = row.recipient_email
            message["Subject"] = row.subject
            message.set_content(row.body)
            row.attempts += 1
            try:
                client.send_message(message)
            except smtplib.SMTPException as exc:
                row.last_error = str(exc)[:2000]
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
                failed += 1
            else:
                row.status, row.sent_at = "sent", now()
                sent += 1
            db.session.commit()
    return sent, failed
