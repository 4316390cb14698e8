from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import func, select

from aap.api.auth import (
    SECURITY,
    call_or_404,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import CallIn, CallOut, CallPage, JuryIn, JuryOut, PageArgs
from aap.api.serializers import call_out
from aap.extensions import db
from aap.models import Call
from aap.services import budget, calls
from aap.timeutil import now

blp = Blueprint("api_calls", __name__, description="Calls for projects")


@blp.route("/calls", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.arguments(CallIn)
@blp.response(201, CallOut)
def create_call(data):
    call = calls.create_call(data)
    return call_out(call, budget.summary(call), now(), current_api_user())


@blp.route("/calls", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, CallPage)
def list_calls(args):
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count(Call.id))) or 0
    items = db.session.scalars(
        select(Call).order_by(Call.opens_at.desc(), Call.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    figures = budget.summaries(list(items))
    at = now()
    viewer = current_api_user()
    return {"items": [call_out(c, figures[c.id], at, viewer) for c in items], "page": page,
            "pages": max(1, -(-total // per_page)), "total": total}


@blp.route("/calls/<int:call_id>", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, CallOut)
def get_call(call_id):
    call = call_or_404(call_id)
    return call_out(call, budget.summary(call), now(), current_api_user())


@blp.route("/calls/<int:call_id>/jury", methods=["PUT"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.arguments(JuryIn)
@blp.response(200, JuryOut)
def put_jury(data, call_id):
    call = call_or_404(call_id)
    members = calls.set_jury(call, data["juror_ids"])
    return {"call_id": call.id, "jurors": [
        {"id": m.user.id, "email": m.user.email, "name": m.user.name} for m in members]}
