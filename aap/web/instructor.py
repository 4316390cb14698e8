"""The instructor's home: calls with their budget, applications by state."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Call
from aap.services import applications, budget
from aap.web.access import page_arg, role_required
from workflows import get_workflow

bp = Blueprint("instructor", __name__, url_prefix="/instruction")


@bp.get("/")
@role_required("instructor")
def home():
    calls = db.session.scalars(select(Call).order_by(Call.opens_at.desc())).unique().all()
    figures = budget.summaries(list(calls))
    counts = dict(db.session.execute(
        select(Application.state, func.count()).group_by(Application.state)).all())
    state = request.args.get("state") or None
    call_id = request.args.get("call_id", type=int)
    page = applications.list_visible(current_user, state=state, call_id=call_id,
                                     page=page_arg(request.args.get("page")))
    return render_template("instructor/home.html", calls=calls, figures=figures,
                           counts=counts, page=page, state=state,
                           states=get_workflow().state_names)
