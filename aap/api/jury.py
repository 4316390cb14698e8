from __future__ import annotations

from flask import g
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from aap.api.auth import (
    SECURITY,
    application_access,
    call_access,
    call_or_404,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import Id, StrictInteger, StrictSchema, length, one_of
from aap.api.serializers import review_out
from aap.extensions import db
from aap.models import Call, User
from aap.services import jury

blp = Blueprint("api_jury", __name__, description="Jury assignment and progress")


class AssignmentIn(StrictSchema):
    mode = fields.String(required=True, validate=one_of(jury.MODES))
    per_application = StrictInteger(load_default=2, minimum=1, maximum=50)
    by_envelope = fields.Dict(keys=fields.String(validate=length(1, 60)),
                              values=fields.List(Id()), load_default=dict)


class AssignmentOut(Schema):
    created = fields.Integer()
    progress = fields.List(fields.Dict())


class ConflictIn(StrictSchema):
    juror_id = Id(required=True)
    reason = fields.String(required=True, validate=length(1, 2000))


def _progress(call: Call) -> list[dict]:
    return [{"juror_id": p.juror.id, "juror": p.juror.display_name, "assigned": p.assigned,
             "submitted": p.submitted, "drafts": p.drafts, "recused": p.recused,
             "late": p.late} for p in jury.progress(call)]


@blp.route("/calls/<int:call_id>/assignments", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@call_access("instructor", act=True)
@blp.arguments(AssignmentIn)
@blp.response(200, AssignmentOut)
def assign(data, call_id):
    """Assign jurors to the call's eligible and in-review applications (instructor)."""
    user = current_api_user()
    call = g.call
    created = jury.assign(call, user, data["mode"], per_application=data["per_application"],
                          by_envelope=data["by_envelope"])
    return {"created": created, "progress": _progress(call)}


@blp.route("/calls/<int:call_id>/assignments", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, AssignmentOut)
def progress(call_id):
    """Who scored what: per juror, assigned, submitted, drafts, recused and late."""
    return {"created": 0, "progress": _progress(call_or_404(call_id, "instructor"))}


@blp.route("/applications/<int:application_id>/conflicts", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@application_access("instructor")
@blp.arguments(ConflictIn)
@blp.response(201)
def record_conflict(data, application_id):
    """Record a known conflict of interest: the juror is recused (instructor)."""
    user = current_api_user()
    app = g.application
    juror = db.session.get(User, data["juror_id"])
    if juror is None or not juror.has_role("juror"):
        abort(422, message="Juré inconnu.", errors={"juror_id": ["Juré inconnu."]})
    return review_out(jury.record_conflict(user, app, juror, data["reason"]))
