"""The finance officer's worklists: payments due, overdue final reports, repayments to
collect. Each costs a constant number of queries whatever the number of applications.

**When a payment is due.** The convention's schedule (``[{kind, share}]``, shares adding
up to 1) says how the grant is paid; a grant below the convention threshold, without a
convention, is paid in one advance of 100 %. A share becomes due:

- an **advance** from the convention's signature (from the decision when no convention is
  needed; never before a required convention is signed: the payment would be refused);
- an **instalment** once the action is under way, from the first payment;
- the **balance** once the final report is approved, for what the report justifies: the
  grant pro rata of the realised charges (see ``aap.services.repayments``), so that an
  under-spent action is paid less rather than overpaid and then asked to repay.

What is due is the grant times the shares due so far (to the cent, half up; capped at
the justified amount once the report is approved), less what was paid; never negative.
It is listed with the kind and date of the earliest share not yet paid in full. The
schedule stays informative: a payment out of schedule is recorded all the same.

**When a final report is overdue.** The CERFA 15059 report is due within six months of
the action's end (its ``ends_on``; the end of the call's fiscal year when it has none),
the rule of the law of 12 April 2000 (art. 10) applied to the action. It is overdue while
the application is still ``in_progress`` after that date.

**Repayments to collect**: claimed and not received yet.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from aap.extensions import db
from aap.models import Application, AuditEvent, Call, Repayment
from aap.services.repayments import justified_cents
from aap.timeutil import to_paris
from workflows.application import PHASES

#: Grants that may still be paid (SPEC 4: payments from granted to report_approved).
PAYABLE_STATES = PHASES["payable"]
#: The report is expected from the applications in this state.
REPORT_EXPECTED_STATE = "in_progress"
REPORT_DELAY_MONTHS = 6
SINGLE_ADVANCE = [{"kind": "advance", "share": "1"}]


@dataclass(frozen=True)
class Due:
    application: Application
    kind: str
    amount_cents: int
    since: date


@dataclass(frozen=True)
class OverdueReport:
    application: Application
    ends_on: date
    due_on: date
    days_late: int


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Aug + 6 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def report_due_on(app: Application) -> date:
    end = app.ends_on or date(app.call.fiscal_year, 12, 31)
    return add_months(end, REPORT_DELAY_MONTHS)


def _share_of(granted: int, share: Decimal) -> int:
    return int((Decimal(granted) * share).to_integral_value(rounding=ROUND_HALF_UP))


def due_for(app: Application, approved_on: date | None = None) -> Due | None:
    """What is due on one application now (see the module's rule), or None."""
    if app.state not in PAYABLE_STATES or app.decision is None:
        return None
    granted = app.granted_cents
    if app.convention is not None:
        schedule, start = app.convention.schedule or SINGLE_ADVANCE, app.convention.signed_on
    elif granted <= app.call.convention_threshold_cents:
        schedule, start = SINGLE_ADVANCE, app.decision.decided_on
    else:
        return None  # a convention is required first
    first_payment = min((p.paid_on for p in app.payments), default=None)
    cap = granted
    if app.state == "report_approved" and app.report is not None:
        cap = min(granted, justified_cents(app))
    reached: list[tuple[str, int, date]] = []
    cumulated = Decimal(0)
    for row in schedule:
        cumulated += Decimal(str(row["share"]))
        since = {"advance": start, "instalment": first_payment,
                 "balance": approved_on if app.state == "report_approved" else None
                 }.get(row["kind"])
        if since is None:
            break  # the shares are due in the schedule's order
        reached.append((row["kind"], min(_share_of(granted, cumulated), cap), since))
    paid = app.paid_cents
    if not reached or reached[-1][1] <= paid:
        return None
    kind, _target, since = next(r for r in reached if r[1] > paid)
    return Due(app, kind, reached[-1][1] - paid, since)


def _open_grants(call_ids: list[int]) -> list[Application]:
    return list(db.session.scalars(
        select(Application)
        .where(Application.call_id.in_(call_ids), Application.state.in_(PAYABLE_STATES))
        .options(selectinload(Application.decision), selectinload(Application.convention),
                 selectinload(Application.payments), selectinload(Application.report))
        .order_by(Application.id)).unique())


def _approval_dates(ids: list[int]) -> dict[int, date]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.application_id, func.max(AuditEvent.at))
        .where(AuditEvent.application_id.in_(ids), AuditEvent.trigger == "approve_report")
        .group_by(AuditEvent.application_id))
    return {app_id: to_paris(at).date() for app_id, at in rows}


def payments_due(calls: Iterable[Call]) -> list[Due]:
    """The payments due on the calls' grants, oldest first."""
    call_ids = [c.id for c in calls]
    if not call_ids:
        return []
    apps = _open_grants(call_ids)
    approved = _approval_dates([a.id for a in apps if a.state == "report_approved"])
    due = [d for a in apps if (d := due_for(a, approved.get(a.id))) is not None]
    return sorted(due, key=lambda d: (d.since, d.application.reference or "",
                                      d.application.id))


def overdue_reports(calls: Iterable[Call], today: date) -> list[OverdueReport]:
    """Applications still ``in_progress`` six months after their action's end."""
    call_ids = [c.id for c in calls]
    if not call_ids:
        return []
    apps = db.session.scalars(
        select(Application).where(Application.call_id.in_(call_ids),
                                  Application.state == REPORT_EXPECTED_STATE)
        .order_by(Application.id)).unique()
    out = []
    for app in apps:
        due_on = report_due_on(app)
        if today > due_on:
            out.append(OverdueReport(app, app.ends_on or date(app.call.fiscal_year, 12, 31),
                                     due_on, (today - due_on).days))
    return sorted(out, key=lambda o: (o.due_on, o.application.id))


def outstanding_repayments(calls: Iterable[Call]) -> list[Repayment]:
    """Repayments claimed on the calls' grants and not received yet, oldest first."""
    call_ids = [c.id for c in calls]
    if not call_ids:
        return []
    return list(db.session.scalars(
        select(Repayment).join(Application, Application.id == Repayment.application_id)
        .where(Application.call_id.in_(call_ids), Repayment.received_on.is_(None))
        .options(selectinload(Repayment.application))
        .order_by(Repayment.claimed_on, Repayment.id)))
