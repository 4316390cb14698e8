"""The applicant's home: organisations and applications."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from aap.extensions import db
from aap.models import Call, Membership, Organisation
from aap.services import applications
from aap.timeutil import now
from aap.web.access import page_arg, role_required
from workflows import get_workflow

bp = Blueprint("applicant", __name__, url_prefix="/porteur")


@bp.get("/")
@role_required("applicant")
def home():
    organisations = db.session.scalars(
        select(Organisation).join(Membership).where(Membership.user_id == current_user.id)
        .order_by(Organisation.name)
    ).all()
    at = now()
    open_calls = db.session.scalars(
        select(Call).where(Call.opens_at <= at, Call.closes_at > at).order_by(Call.closes_at)
    ).unique().all()
    page = applications.list_visible(current_user, page=page_arg(request.args.get("page")))
    workflow = get_workflow()
    next_steps = {a.id: [s.trigger for s in workflow.allowed_for(current_user, a)]
                  for a in page.items}
    return render_template("applicant/home.html", organisations=organisations,
                           open_calls=open_calls, page=page, next_steps=next_steps, now=at)
