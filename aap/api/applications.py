from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from aap.api.auth import (
    SECURITY,
    application_access,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import (
    ApplicationFields,
    ApplicationIn,
    ApplicationListArgs,
    ApplicationOut,
    ApplicationPage,
    PaymentIn,
    PaymentOut,
    ReportIn,
    ReportOut,
    ReviewIn,
    ReviewOut,
    TransitionIn,
)
from aap.api.serializers import application_out, application_summary, review_out
from aap.services import applications, money, reviews, workflow
from workflows import get_workflow

blp = Blueprint("api_applications", __name__, description="Applications (dossiers)")


@blp.route("/applications", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("applicant")
@blp.arguments(ApplicationIn)
@blp.response(201, ApplicationOut)
def create_application(data):
    user = current_api_user()
    return application_out(applications.create(user, data), user)


@blp.route("/applications", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.arguments(ApplicationListArgs, location="query")
@blp.response(200, ApplicationPage)
def list_applications(args):
    """Role-scoped: applicants see their organisations', jurors their assignments."""
    result = applications.list_visible(
        current_api_user(), call_id=args.get("call_id"), state=args.get("state"),
        page=args["page"], per_page=args["per_page"])
    return {"items": [application_summary(a) for a in result.items], "page": result.page,
            "pages": result.pages, "total": result.total}


@blp.route("/applications/<int:application_id>", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, ApplicationOut)
def get_application(application_id):
    user = current_api_user()
    return application_out(applications.get_visible(user, application_id), user)


@blp.route("/applications/<int:application_id>", methods=["PATCH"])
@blp.doc(security=SECURITY)
@token_required
@application_access("applicant")
@blp.arguments(ApplicationFields)
@blp.response(200, ApplicationOut)
def patch_application(data, application_id):
    """Edit while draft or incomplete (409 otherwise)."""
    user = current_api_user()
    return application_out(applications.update(user, application_id, data), user)


@blp.route("/applications/<int:application_id>/transitions/<trigger>", methods=["POST"])
@blp.doc(security=SECURITY, requestBody={
    "required": False, "content": {"application/json": {"schema": TransitionIn}}})
@token_required
@blp.response(200, ApplicationOut)
def fire_transition(application_id, trigger):
    """Fire a workflow trigger. Refusals, in this order: 404 not visible or unknown
    trigger, 403 role, 409 state, then 422 for the body or a guard (``code`` says which,
    e.g. ``budget_exceeded``)."""
    user = current_api_user()
    app = applications.get_visible(user, application_id)
    get_workflow(app.call.workflow).check(app, trigger, user)
    return application_out(workflow.fire(app, trigger, user, _json_body(TransitionIn())),
                           user)


def _json_body(schema) -> dict:
    """The JSON body loaded with ``schema`` (an empty body is ``{}``): 400 if it is not
    JSON, 422 with per-field messages if it does not fit."""
    if not request.get_data():
        return schema.load({})
    body = request.get_json(silent=True)
    if body is None:
        abort(400, message="Corps de requête JSON invalide.")
    try:
        return schema.load(body)
    except ValidationError as exc:
        abort(422, messages={"json": exc.messages})


@blp.route("/applications/<int:application_id>/payments", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@application_access("finance")
@blp.arguments(PaymentIn)
@blp.response(201, PaymentOut)
def create_payment(data, application_id):
    """Record a payment (finance). The first one fires ``pay``; never more than granted."""
    user = current_api_user()
    app = workflow.record_payment(g.application, user, data)
    payment = app.payments[-1]
    return {"id": payment.id, "application_id": app.id, "kind": payment.kind,
            "amount_cents": payment.amount_cents, "paid_on": payment.paid_on,
            "mandate": payment.mandate, "state": app.state,
            "paid_total_cents": app.paid_cents,
            "left_to_pay_cents": money.left_to_pay(app)}


@blp.route("/applications/<int:application_id>/report", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@application_access("applicant")
@blp.arguments(ReportIn)
@blp.response(200, ReportOut)
def submit_report(data, application_id):
    """Record the final report (CERFA 15059) and fire ``submit_report``."""
    user = current_api_user()
    app = workflow.fire(g.application, "submit_report", user, data)
    report = app.report
    return {"application_id": app.id, "state": app.state, "narrative": report.narrative,
            "gap_explanation": report.gap_explanation,
            "beneficiaries_reached": report.beneficiaries_reached,
            "submitted_at": report.submitted_at,
            "lines": [{"side": line.side, "code": line.code, "amount_cents": line.amount_cents}
                      for line in report.lines]}


@blp.route("/applications/<int:application_id>/review", methods=["PUT"])
@blp.doc(security=SECURITY)
@token_required
@application_access("juror")
@blp.arguments(ReviewIn)
@blp.response(200, ReviewOut)
def put_review(data, application_id):
    user = current_api_user()
    return review_out(reviews.save_review(user, g.application, data))


@blp.route("/applications/<int:application_id>/reviews", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, ReviewOut(many=True))
def list_reviews(application_id):
    user = current_api_user()
    app = applications.get_visible(user, application_id)
    return [review_out(r) for r in reviews.reviews_for(user, app)]
