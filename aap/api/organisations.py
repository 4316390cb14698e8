from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.api.auth import SECURITY, current_api_user, roles_required, token_required
from aap.api.schemas import OrganisationIn, OrganisationOut, StrictSchema, Text
from aap.api.serializers import organisation_out
from aap.services import organisations

blp = Blueprint("api_organisations", __name__, description="Organisations (porteurs)")


@blp.route("/organisations", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("applicant")
@blp.arguments(OrganisationIn)
@blp.response(201, OrganisationOut)
def create_organisation(data):
    """Create an organisation; SIRET, RNA, IBAN and BIC are checked. The caller joins it.
    A SIRET already registered is a 409 ``siret_taken`` naming that organisation (id, name,
    city): ask to join it with ``POST /organisations/{id}/join-requests``."""
    try:
        return organisation_out(organisations.create_organisation(current_api_user(), data))
    except organisations.SiretTaken as exc:
        return _siret_taken(exc)


# -- SIRET already registered, and requests to join ----------------------------------

def _siret_taken(exc: organisations.SiretTaken):
    """409 ``siret_taken``: the error body of SPEC 7.1, plus the organisation to ask to
    join (its id, name and city only)."""
    org = exc.organisation
    response = jsonify({"error": {
        "code": exc.code, "message": exc.message, "fields": exc.fields,
        "organisation": {"id": org.id, "name": org.name, "city": org.city}}})
    response.status_code = exc.status
    return response


class JoinRequestIn(StrictSchema):
    message = Text(organisations.JOIN_MESSAGE_MAX, load_default="", metadata={
        "description": "Optional, shown to the organisation's members."})


class OrganisationBrief(Schema):
    id = fields.Integer()
    name = fields.String()
    city = fields.String()


class RequesterOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class JoinRequestOut(Schema):
    id = fields.Integer()
    organisation = fields.Nested(OrganisationBrief)
    requester = fields.Nested(RequesterOut)
    message = fields.String()
    status = fields.String(metadata={"enum": ["pending", "accepted", "declined"]})
    created_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)


def join_request_out(join_request) -> dict:
    org, user = join_request.organisation, join_request.user
    return {"id": join_request.id,
            "organisation": {"id": org.id, "name": org.name, "city": org.city},
            "requester": {"id": user.id, "name": user.name, "email": user.email},
            "message": join_request.message, "status": join_request.status,
            "created_at": join_request.created_at, "decided_at": join_request.decided_at}


@blp.route("/organisations/<int:organisation_id>/join-requests", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("applicant")
@blp.arguments(JoinRequestIn)
@blp.response(201, JoinRequestOut)
def request_to_join(data, organisation_id):
    """Ask to join an organisation (e.g. after a 409 ``siret_taken``): its members are told
    by e-mail and accept or decline. 409 ``join_request_pending`` if a request of the caller
    is pending already, 409 ``already_member`` for a member."""
    return join_request_out(organisations.request_to_join(
        current_api_user(), organisation_id, data["message"]))


@blp.route("/organisations/<int:organisation_id>/join-requests", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, JoinRequestOut(many=True))
def list_join_requests(organisation_id):
    """The organisation's requests to join it, newest first: members only (403)."""
    return [join_request_out(r)
            for r in organisations.join_requests(current_api_user(), organisation_id)]


@blp.route("/organisations/<int:organisation_id>/join-requests/<int:request_id>/accept",
           methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, JoinRequestOut)
def accept_join_request(organisation_id, request_id):
    """A member accepts a pending request: the requester becomes a member and is told by
    e-mail. 403 for a non-member, 404 for a request not of this organisation, 409 once
    decided."""
    return join_request_out(organisations.decide_join_request(
        current_api_user(), organisation_id, request_id, accept=True))


@blp.route("/organisations/<int:organisation_id>/join-requests/<int:request_id>/decline",
           methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, JoinRequestOut)
def decline_join_request(organisation_id, request_id):
    """A member declines a pending request; the requester is told by e-mail."""
    return join_request_out(organisations.decide_join_request(
        current_api_user(), organisation_id, request_id, accept=False))
