"""The finance officer's home, per fiscal year: each call's money figures (and its
envelopes'), the payments due per the convention schedules, the final reports overdue,
the repayments to collect, and the granted applications. Figures come from
``aap.services.money``, worklists from ``aap.services.finance``; each costs a constant
number of queries."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from aap.extensions import db
from aap.models import Application, Call
from aap.models.accounts import Role
from aap.services import finance, money, policies
from aap.timeutil import now, to_paris
from aap.web.access import page_arg, role_required
from workflows.application import PHASES

bp = Blueprint("finance", __name__, url_prefix="/finances")
PER_PAGE = 25
FINANCE_STATES = PHASES["funded"]
#: The worklists show this many rows at most (the oldest first); the count says the rest.
WORKLIST_ROWS = 50


def fiscal_year(raw: str | None, years: list[int], today_year: int) -> int | None:
    """The year asked for if the calls have it; else the current year if they have it,
    else the latest one (a year typed by hand never fails the page)."""
    if raw and raw.isdecimal() and int(raw) in years:
        return int(raw)
    if today_year in years:
        return today_year
    return years[0] if years else None


@bp.get("/")
@role_required("finance")
def home():
    today = to_paris(now()).date()
    readable = policies.staff_calls(current_user, Role.FINANCE)  # its authorities' and below
    years = list(db.session.scalars(
        readable.with_only_columns(Call.fiscal_year).distinct()
        .order_by(Call.fiscal_year.desc())))
    year = fiscal_year(request.args.get("exercice"), years, today.year)
    calls = list(db.session.scalars(
        readable.where(Call.fiscal_year == year)
        .order_by(Call.opens_at.desc(), Call.id.desc())).unique())
    figures = money.for_calls(calls)
    page = page_arg(request.args.get("page"))
    query = select(Application).where(Application.state.in_(FINANCE_STATES),
                                      Application.call_id.in_([c.id for c in calls]))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.options(selectinload(Application.decision), selectinload(Application.payments),
                      selectinload(Application.repayments))
        .order_by(Application.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).unique().all()
    return render_template(
        "finance/home.html", years=years, year=year, calls=calls, figures=figures,
        envelope_figures=money.for_envelopes(calls), year_total=money.total(figures.values()),
        due=finance.payments_due(calls), overdue=finance.overdue_reports(calls, today),
        outstanding=finance.outstanding_repayments(calls), rows=WORKLIST_ROWS,
        items=items, page=page, total=total, pages=max(1, -(-total // PER_PAGE)),
        application_figures=money.application_figures)
