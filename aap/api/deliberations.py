"""Decisions for many at once, their annex, and conventions (issue 9, items 5 and 6)."""

from __future__ import annotations

import io

from flask import g, send_file
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from aap.api.auth import (
    SECURITY,
    call_access,
    call_or_404,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import Id, StrictSchema, length
from aap.services import conventions, deliberations
from aap.services.exports import annex

blp = Blueprint("api_deliberations", __name__, description="Deliberations and conventions")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


class DeliberationIn(StrictSchema):
    body = fields.String(required=True, validate=length(1, deliberations.BODY_MAX),
                         metadata={"description": "The deciding body, e.g. Bureau de la "
                                                  "Métropole."})
    reference = fields.String(required=True, validate=length(1, deliberations.REFERENCE_MAX),
                              metadata={"description": "The deliberation's reference."})
    date = fields.Date(required=True, metadata={"description": "The deliberation's date."})
    application_ids = fields.List(
        Id(), required=True,
        validate=validate.Length(min=1, max=deliberations.MAX_APPLICATIONS,
                                 error=f"Entre 1 et {deliberations.MAX_APPLICATIONS} "
                                       "dossiers."),
        metadata={"description": "Proposed applications of the call, each granted at its "
                                 "proposed amount."})


class GrantedOut(Schema):
    application_id = fields.Integer()
    amount_cents = fields.Integer()


class RefusedOut(Schema):
    application_id = fields.Integer()
    code = fields.String(metadata={"description": "e.g. budget_exceeded, invalid_state, "
                                                  "not_found"})
    message = fields.String(metadata={"description": "Why, in French."})


class DeliberationOut(Schema):
    granted = fields.List(fields.Nested(GrantedOut))
    refused = fields.List(fields.Nested(RefusedOut))


@blp.route("/calls/<int:call_id>/deliberations", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@call_access("instructor", act=True)
@blp.arguments(DeliberationIn)
@blp.response(200, DeliberationOut)
def create_deliberation(data, call_id):
    """Grant a selection of the call's proposed applications under one deliberation, best
    rank first, each through the workflow and its budget check: each refusal is reported
    with its code and reason, the others are granted (instructor)."""
    call = g.call
    ids = data.pop("application_ids")
    outcome = deliberations.grant(call, current_api_user(), data, ids)
    return {"granted": [{"application_id": g.application_id, "amount_cents": g.amount_cents}
                        for g in outcome.granted],
            "refused": [{"application_id": r.application_id, "code": r.code,
                         "message": r.message} for r in outcome.refused]}


@blp.route("/calls/<int:call_id>/deliberations/<path:reference>/annex.xlsx", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor", "finance")
@blp.response(200, content_type=XLSX)
def deliberation_annex(call_id, reference):
    """The decision annex of a deliberation of the call: beneficiaries, SIRET, RNA,
    amounts and imputation, with a total (instructor, finance); 404 when the deliberation
    granted nothing on this call."""
    call = call_or_404(call_id, "instructor", "finance")
    return send_file(io.BytesIO(annex.build(call, reference)), mimetype=XLSX,
                     as_attachment=True, download_name=annex.filename(reference))


@blp.route("/applications/<int:application_id>/convention.pdf", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, content_type=PDF)
def convention(application_id):
    """The convention of a granted application (instructor, finance, of its authority or
    a parent; the organisation's members): parties, amount, schedule, imputation,
    obligations. 404 when the application is not visible, 403 for another role, 409
    before the grant or once it is cancelled."""
    doc = conventions.document(current_api_user(), application_id)
    return send_file(io.BytesIO(conventions.render_pdf(doc)), mimetype=PDF,
                     as_attachment=True, download_name=doc.filename)
