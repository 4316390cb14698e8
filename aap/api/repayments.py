"""Repayments (*titres de recette*, SPEC 7.1): claim money paid and not used or not
justified, and record its receipt (an extension). Finance only; the rules are those of
``aap.services.repayments``."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import fields

from aap.api.auth import SECURITY, application_access, current_api_user, token_required
from aap.api.schemas import Cents, RepaymentOut, StrictSchema, Text, length
from aap.api.serializers import repayment_out
from aap.services import repayments

blp = Blueprint("api_repayments", __name__,
                description="Repayments claimed by a titre de recette (SPEC 7.1)")


class RepaymentClaimIn(StrictSchema):
    amount_cents = Cents(required=True, metadata={
        "description": "at most what was paid less what is already claimed (else 422 "
                       "repayment_exceeds_paid)"})
    reason = fields.String(required=True, validate=length(1, repayments.REASON_MAX))
    reference = Text(repayments.REFERENCE_MAX, load_default="", metadata={
        "description": "the titre de recette's number"})
    claimed_on = fields.Date(metadata={"description": "default: today (Paris)"})


class RepaymentReceivedIn(StrictSchema):
    received_on = fields.Date(required=True, metadata={
        "description": "not before the claim (else 422)"})


@blp.route("/applications/<int:application_id>/repayments", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@application_access("finance")
@blp.arguments(RepaymentClaimIn)
@blp.response(201, RepaymentOut)
def claim_repayment(data, application_id):
    """Claim a repayment (finance): after an approved report, on a closed file or a
    cancelled grant (else 409); never more than paid less already claimed (422
    ``repayment_exceeds_paid``). The applicant's members are mailed."""
    return repayment_out(repayments.claim(g.application, current_api_user(), data))


@blp.route("/applications/<int:application_id>/repayments/<int:repayment_id>/received",
           methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@application_access("finance")
@blp.arguments(RepaymentReceivedIn)
@blp.response(200, RepaymentOut)
def repayment_received(data, application_id, repayment_id):
    """Record that a claimed repayment was received (finance; beyond SPEC 7.1): once
    (409 after), never before the claim (422)."""
    repayment = repayments.get(g.application, repayment_id)
    return repayment_out(repayments.mark_received(repayment, current_api_user(),
                                                  data["received_on"]))
