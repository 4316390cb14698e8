"""Final reports (CERFA 15059): reminders to the beneficiaries whose report is due.

The report is due within six months after the end of the action (SPEC, standards). A
reminder is queued when the action has ended and no report is in, at most once every
``REMINDER_INTERVAL``; each reminder is audited, which is also how repeats are avoided.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, AuditEvent
from aap.services import audit, notifications
from aap.timeutil import now

REMINDER_INTERVAL = timedelta(days=30)
DUE_MONTHS_AFTER_END = 6


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def due_date(application: Application) -> date | None:
    """Six calendar months after the end of the action."""
    return _add_months(application.ends_on, DUE_MONTHS_AFTER_END) if application.ends_on else None


def remind_due(today: date | None = None) -> int:
    """Queue report reminders for ended actions still ``in_progress``; returns how many."""
    today = today or now().date()
    last_reminders = (
        select(AuditEvent.application_id, func.max(AuditEvent.at).label("last"))
        .where(AuditEvent.action == "report_reminder")
        .group_by(AuditEvent.application_id).subquery())
    rows = db.session.execute(
        select(Application, last_reminders.c.last)
        .outerjoin(last_reminders, last_reminders.c.application_id == Application.id)
        .where(Application.state == "in_progress", Application.ends_on < today)
    ).all()
    sent = 0
    for application, last in rows:
        if last is not None and now() - last < REMINDER_INTERVAL:
            continue
        recipients = notifications.audience("applicant", application)
        notifications.queue(recipients, "mail/report_reminder.txt", application=application,
                            due=due_date(application), overdue=due_date(application) < today)
        audit.record_action(application, None, "report_reminder",
                            data={"due": due_date(application).isoformat()})
        sent += 1
    db.session.commit()
    return sent
