from datetime import date

from sqlalchemy import select

from aap.extensions import db
from aap.models import Notification
from aap.services import reports


def _reminders() -> list[Notification]:
    return db.session.scalars(select(Notification).where(
        Notification.subject.like("Compte rendu à déposer%")
        | Notification.subject.like("Compte rendu en retard%"))).all()


def test_ended_actions_without_a_report_are_reminded_once_a_month(world):
    ended = world.bring_to(world.application(ends_on=date(2026, 6, 30),
                                             starts_on=date(2026, 1, 5)), "in_progress")
    running = world.bring_to(world.application(ends_on=date(2027, 6, 30)), "in_progress")
    reported = world.bring_to(world.application(ends_on=date(2026, 6, 30),
                                                starts_on=date(2026, 1, 5)),
                              "report_submitted")
    today = date(2026, 11, 21)
    assert reports.remind_due(today) == 1
    mails = _reminders()
    assert [m.application_id for m in mails] == [ended.id]
    assert "30/12/2026" in mails[0].body  # six months after the end of the action
    assert reports.remind_due(today) == 0  # not again within the month
    # still the one mail: none for the running action (ends 2027) nor the one reported
    assert [m.application_id for m in _reminders()] == [ended.id]
    assert (running.state, reported.state) == ("in_progress", "report_submitted")


def test_an_overdue_report_says_so(world):
    world.bring_to(world.application(starts_on=date(2025, 1, 6), ends_on=date(2025, 3, 31)),
                   "in_progress")
    assert reports.remind_due(date.today()) == 1
    assert _reminders()[0].subject.startswith("Compte rendu en retard")
    assert reports.due_date(world.application(ends_on=date(2025, 8, 31))) == date(2026, 2, 28)
