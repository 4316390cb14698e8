from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from aap.api.auth import (
    SECURITY,
    call_access,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import CallIn, CallOut, CallPage, JuryIn, JuryOut, PageArgs
from aap.api.serializers import call_out
from aap.extensions import db
from aap.models import Call
from aap.services import budget, calls, policies
from aap.timeutil import now

blp = Blueprint("api_calls", __name__, description="Calls for projects")


@blp.route("/calls", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.arguments(CallIn)
@blp.response(201, CallOut)
def create_call(data):
    """Create a call in a fund the caller configures: its authority's own fund, or any
    fund when its instructor role is platform-wide (422 for an unknown or invisible
    fund, 403 for a descendant's)."""
    policies.fund_for_new_call(current_api_user(), data.get("fund_id"))
    call = calls.create_call(data)
    return call_out(call, budget.summary(call), now(), current_api_user())


@blp.route("/calls", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, CallPage)
def list_calls(args):
    """The calls the caller sees: every call for an applicant; its authorities' and
    their descendants' for staff; the calls whose jury it sits on for a juror."""
    page, per_page = args["page"], args["per_page"]
    viewer = current_api_user()
    query = policies.listed_calls(viewer)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.options(selectinload(Call.jury))
        .order_by(Call.opens_at.desc(), Call.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    figures = budget.summaries(list(items))
    at = now()
    return {"items": [call_out(c, figures[c.id], at, viewer) for c in items], "page": page,
            "pages": max(1, -(-total // per_page)), "total": total}


@blp.route("/calls/<int:call_id>", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, CallOut)
def get_call(call_id):
    call = policies.visible_call(current_api_user(), call_id)
    return call_out(call, budget.summary(call), now(), current_api_user())


@blp.route("/calls/<int:call_id>/jury", methods=["PUT"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@call_access("instructor", act=True)
@blp.arguments(JuryIn)
@blp.response(200, JuryOut)
def put_jury(data, call_id):
    """Set the jury, chosen among the jurors of the call's authority and the
    platform-wide ones (422 naming any other)."""
    call = g.call
    members = calls.set_jury(call, data["juror_ids"])
    return {"call_id": call.id, "jurors": [
        {"id": m.user.id, "email": m.user.email, "name": m.user.name} for m in members]}
