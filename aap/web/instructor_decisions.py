"""Decisions on the web: the deliberation page of a call (the proposed applications, the
budget left, the decision's form) and its result, the decision annex, the convention of a
grant, and the panels that the call page and the dossier page show (the waitlisted
application that freed money can fund, whether a convention is required)."""

from __future__ import annotations

import io
import logging

from flask import Blueprint, has_request_context, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Application, Call
from aap.models.accounts import Role
from aap.services import conventions, deliberations, policies
from aap.services.exports import annex
from aap.timeutil import now, to_paris
from aap.web.access import role_required
from forms.deliberation import DeliberationForm
from forms.instruction import action_form

bp = Blueprint("decisions", __name__)
log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Pages whose templates show the panels of this module.
CALL_PAGES = {"instructor.call_applications", "instructor.bulk_action"}
DOSSIER_PAGES = {"dossier.detail", "dossier.act"}


def _call_to_act_on(call_id: int) -> Call:
    """The call the instructor decides on: another authority's is 404, a descendant's
    403 (a parent authority reads its decisions, never records them)."""
    return policies.call_to_act_on(current_user, call_id, Role.INSTRUCTOR)


# -- the deliberation -----------------------------------------------------------------------

def _page(call: Call, form: DeliberationForm, general: list[str] | None = None,
          status: int = 200):
    rows = deliberations.proposals(call)
    total = sum(r.amount_cents for r in rows)
    by_envelope: dict[int, int] = {}
    for row in rows:
        if row.application.envelope_id is not None:
            by_envelope[row.application.envelope_id] = \
                by_envelope.get(row.application.envelope_id, 0) + row.amount_cents
    selected = set(form.ids.data or [])
    return render_template(
        "instructor/deliberation/form.html", call=call, form=form, rows=rows, total=total,
        selected_total=sum(r.amount_cents for r in rows if r.application.id in selected),
        by_envelope=by_envelope, available=deliberations.available_for_grants(call),
        general=general or [], recorded=deliberations.recorded(call)), status


@bp.route("/instruction/appels/<int:call_id>/deliberation", methods=["GET", "POST"])
@role_required("instructor")
def deliberation(call_id: int):
    """Grant a selection of the call's proposed applications under one deliberation;
    every refusal is reported on the result page, and a refused form keeps what was
    typed and ticked."""
    call = _call_to_act_on(call_id)
    form = DeliberationForm()
    if not form.is_submitted():
        form.ids.data = [r.application.id for r in deliberations.proposals(call)]
        form.date.data = to_paris(now()).date()
        return _page(call, form)
    if not form.validate():
        return _page(call, form, status=422)
    try:
        outcome = deliberations.grant(call, current_user, form.deliberation(), form.ids.data)
    except ValidationFailed as exc:
        db.session.rollback()
        general = form.show_problems({k: [_(m) for m in v]
                                      for k, v in (exc.fields or {}).items()})
        return _page(call, form, general=general or [_(exc.message)], status=422)
    return render_template("instructor/deliberation/result.html", call=call,
                           outcome=outcome, left=len(deliberations.proposals(call)))


@bp.get("/instruction/appels/<int:call_id>/deliberations/<path:reference>/annexe.xlsx")
@role_required("instructor", "finance")
def annex_file(call_id: int, reference: str):
    """The decision annex of one deliberation of the call (instructor, finance, of its
    authority or a parent)."""
    call = policies.readable_call(current_user, call_id, Role.INSTRUCTOR, Role.FINANCE)
    return send_file(io.BytesIO(annex.build(call, reference)), mimetype=XLSX,
                     as_attachment=True, download_name=annex.filename(reference), max_age=0)


# -- the convention -------------------------------------------------------------------------

@bp.get("/dossiers/<int:application_id>/convention.pdf")
@login_required
def convention(application_id: int):
    """The convention of a granted application (instructor, finance; the organisation's
    members once granted)."""
    doc = conventions.document(current_user, application_id)
    return send_file(io.BytesIO(conventions.render_pdf(doc)), mimetype="application/pdf",
                     as_attachment=True, download_name=doc.filename, max_age=0)


# -- the panels of the call page and the dossier page ------------------------------------------

@bp.app_context_processor
def _panels() -> dict:
    if not has_request_context():  # mails rendered outside a request
        return {}
    endpoint, args = request.endpoint or "", request.view_args or {}
    if not (endpoint in CALL_PAGES or endpoint in DOSSIER_PAGES) \
            or not current_user.is_authenticated:
        return {}
    try:
        if endpoint in CALL_PAGES and "call_id" in args:
            return {"decisions": call_panel(args["call_id"])}
        if endpoint in DOSSIER_PAGES and "application_id" in args:
            return {"decisions": dossier_panel(args["application_id"])}
    except SQLAlchemyError:  # an error page of a failing database: no panel
        log.exception("decision panel skipped")
        db.session.rollback()
    return {}


def _promotion(call: Call) -> dict | None:
    promotion = deliberations.promotion_candidate(call)
    if promotion is None:
        return None
    app, amount = promotion
    form = action_form("promote", app, fresh=True)
    form.amount.data = amount
    form.comment.data = _("Fonds libérés sur l'appel : premier dossier de la liste "
                          "d'attente qui peut être financé.")
    return {"application": app, "amount_cents": amount, "form": form,
            "room": deliberations.room(call)}


def call_panel(call_id: int) -> dict | None:
    """The decisions of a call the instructor reads; the promotion offered only to those
    who act on it."""
    if not current_user.has_role(Role.INSTRUCTOR):
        return None
    call = db.session.get(Call, call_id)
    if call is None or not policies.can_read_call(current_user, call, Role.INSTRUCTOR):
        return None
    acting = policies.can_act_on_call(current_user, call, Role.INSTRUCTOR)
    return {"promotion": _promotion(call) if acting else None,
            "proposed": len(deliberations.proposals(call)),
            "recorded": deliberations.recorded(call)}


def dossier_panel(application_id: int) -> dict | None:
    app = db.session.get(Application, application_id)
    if app is None or not policies.can_see_application(current_user, app):
        return None
    panel: dict = {"promotion": None, "convention": None}
    if app.state == deliberations.WAITLISTED and policies.acts_as(current_user, app,
                                                                   Role.INSTRUCTOR):
        promotion = _promotion(app.call)
        if promotion and promotion["application"].id == app.id:
            panel["promotion"] = promotion
    if app.decision is not None and app.state in conventions.GRANTED_STATES \
            and conventions.may_download(current_user, app):
        panel["convention"] = {"required": conventions.required(app),
                               "threshold_cents": app.call.convention_threshold_cents,
                               "signed": app.convention}
    return panel
