"""The finance officer's home: granted applications, paid and left to pay."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from aap.extensions import db
from aap.models import Application, Call
from aap.services import budget
from aap.web.access import page_arg, role_required
from workflows.application import PHASES

bp = Blueprint("finance", __name__, url_prefix="/finances")
PER_PAGE = 25
FINANCE_STATES = PHASES["funded"]


@bp.get("/")
@role_required("finance")
def home():
    calls = db.session.scalars(select(Call).order_by(Call.opens_at.desc())).unique().all()
    figures = budget.summaries(list(calls))
    page = page_arg(request.args.get("page"))
    query = select(Application).where(Application.state.in_(FINANCE_STATES))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.options(selectinload(Application.decision), selectinload(Application.payments),
                      selectinload(Application.repayments))
        .order_by(Application.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).unique().all()
    return render_template("finance/home.html", calls=calls, figures=figures, items=items,
                           page=page, total=total, pages=max(1, -(-total // PER_PAGE)))
