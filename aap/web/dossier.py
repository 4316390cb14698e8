"""One application, for anyone allowed to see it: its file, its attachments, its
timeline, its reviews (staff) and the actions the user may take on it now."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from aap.extensions import db
from aap.models import Attachment
from aap.models.accounts import Role
from aap.services import (
    applications,
    attachments,
    audit,
    policies,
    repayments,
    scoring,
    workflow,
)
from aap.services import reviews as reviews_service
from aap.vocabulary import ATTACHMENT_KINDS, BUDGET_LINES
from forms.finance import received_form, repayment_form
from forms.instruction import ACTION_LABELS, COMMENT_REQUIRED, DANGEROUS, FORMS, action_form
from workflows import get_workflow
from workflows.application import LATER_PAYMENT_STATES
from workflows.engine import WorkflowError
from workflows.guards import report_gap

bp = Blueprint("dossier", __name__, url_prefix="/dossiers")

#: Triggers with their own pages elsewhere (the CERFA 15059 report form).
ELSEWHERE = {"submit_report"}


def budget_rows(budget: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """Each side's (label, cents) lines in the order of the CERFA form, unknown codes last."""
    rows: dict[str, list[tuple[str, int]]] = {}
    for side, lines in BUDGET_LINES.items():
        amounts = budget.get(side, {})
        order = {code: i for i, code in enumerate(lines)}
        rows[side] = [(lines.get(code, code), cents) for code, cents in
                      sorted(amounts.items(), key=lambda item: (order.get(item[0], 999), item[0]))]
    return rows


def report_table(app) -> dict | None:
    """The filed final report against the provisional budget, for the staff who approve
    it and pay the balance: each line planned or realised, with its gap, and the totals
    (the same figures as the applicant's report page)."""
    if app.report is None or app.report.submitted_at is None:
        return None
    planned, realised = app.budget(), app.report.realised()
    table: dict = {"report": app.report, "threshold": app.call.report_gap_threshold}
    for side, lines in BUDGET_LINES.items():
        rows = [(label, planned[side].get(code, 0), realised[side].get(code, 0))
                for code, label in lines.items()
                if planned[side].get(code) or realised[side].get(code)]
        total_p, total_r = sum(r[1] for r in rows), sum(r[2] for r in rows)
        table[side] = {"rows": [(label, p, r, r - p, report_gap(p, r)) for label, p, r in rows],
                       "total": (total_p, total_r, total_r - total_p,
                                 report_gap(total_p, total_r))}
    return table


def available_actions(user, app) -> list[str]:
    """The triggers the user may try now (role and state; guards may still refuse), plus
    a later payment for finance officers once the first one was made."""
    triggers = [s.trigger for s in get_workflow(app.call.workflow).allowed_for(user, app)
                if s.trigger in FORMS and s.trigger not in ELSEWHERE]
    if app.state in LATER_PAYMENT_STATES and policies.acts_as(user, app, Role.FINANCE):
        triggers.append("payment")
    return triggers


def finance_panel(app, failed: tuple[str, object, list[str]] | None = None) -> dict:
    """The money trail's repayments, and for a finance officer the claim form (pre-filled
    with what the authority proposes to claim) and a receipt form per repayment not yet
    received. ``failed``: ``(name, form, general errors)`` of a refused form, shown again
    with what was typed."""
    name, failed_form, errors = failed or ("", None, [])
    panel: dict = {"repayments": sorted(app.repayments, key=lambda r: r.id),
                   "proposal": None, "claim_form": None, "received_forms": {},
                   "failed": name, "failed_form": failed_form, "errors": errors}
    if not policies.acts_as(current_user, app, Role.FINANCE):
        return panel
    proposal = repayments.proposal(app)
    panel["proposal"] = proposal
    if name == "claim":
        panel["claim_form"] = failed_form
    elif proposal is not None and repayments.claimable_cents(app):
        panel["claim_form"] = repayment_form(fresh=True, proposal=proposal)
    panel["received_forms"] = {
        r.id: failed_form if name == f"received-{r.id}" else received_form(r.id, fresh=True)
        for r in panel["repayments"] if r.received_on is None}
    return panel


def _render(app, *, failed: str | None = None, failed_form=None, general=None,
            status: int = 200, finance_failed=None):
    triggers = available_actions(current_user, app)
    forms = {t: failed_form if t == failed else action_form(t, app, fresh=True)
             for t in triggers}
    if failed and failed not in forms and failed_form is not None:
        forms[failed] = failed_form  # no longer available: still show what was typed
    staff = policies.reads_as_staff(current_user, app)  # not a juror who is staff elsewhere
    reviews, aggregate = [], None
    if policies.may_read_all_reviews(current_user, app):
        reviews = reviews_service.reviews_for(current_user, app)
    if staff:
        aggregate = scoring.application_aggregate(app)
    files = list(db.session.scalars(
        select(Attachment).where(Attachment.application_id == app.id)
        .order_by(Attachment.kind, Attachment.id)))
    return render_template(
        "dossier/detail.html", app=app, events=audit.trail_for(app.id, current_user),
        budget=budget_rows(app.budget()), triggers=triggers, forms=forms, failed=failed,
        general_errors=general or [], labels=ACTION_LABELS, comment_required=COMMENT_REQUIRED,
        dangerous=DANGEROUS, staff=staff, reviews=reviews, aggregate=aggregate,
        files=files, kinds=ATTACHMENT_KINDS, money=finance_panel(app, finance_failed),
        report=report_table(app),
    ), status


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    app = applications.get_visible(current_user, application_id)
    return _render(app)


@bp.post("/<int:application_id>/actions/<trigger>")
@login_required
def act(application_id: int, trigger: str):
    app = applications.get_visible(current_user, application_id)  # 404 first
    if trigger not in FORMS or trigger in ELSEWHERE:
        abort(404, description=_("Action inconnue."))
    if not policies.may_fire(current_user, app, "pay" if trigger == "payment" else trigger):
        # before the form is read: a parent authority's staff only read (SPEC 2)
        abort(403, description=_("Votre rôle ne permet pas cette action sur ce dossier."))
    form = action_form(trigger, app)
    if not form.validate_on_submit():
        return _render(app, failed=trigger, failed_form=form, status=422)
    try:
        if trigger in ("pay", "payment"):
            workflow.record_payment(app, current_user, form.engine_data())
        else:
            workflow.fire(app, trigger, current_user, form.engine_data())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        app = applications.get_visible(current_user, application_id)
        general = form.show_problems(
            {k: [_(m) for m in v] for k, v in (exc.fields or {}).items()})
        message = _(exc.message)
        if exc.status == 409 and trigger != "payment":  # the engine names the trigger's code
            message = _("« %(action)s » est impossible dans l'état « %(state)s ».",
                        action=ACTION_LABELS[trigger],
                        state=_(get_workflow(app.call.workflow).label(app.state)))
        shown = {m for f in form.error_fields() for m in f.errors} | set(general)
        if message not in shown:
            general.insert(0, message)
        return _render(app, failed=trigger, failed_form=form, general=general,
                       status=exc.status)
    flash(_("%(action)s : c'est fait.", action=ACTION_LABELS[trigger]), "success")
    return redirect(url_for("dossier.detail", application_id=application_id))


def _refused(exc: WorkflowError, form) -> list[str]:
    """The service's refusal on the form's inputs; the other messages in a list."""
    general = form.show_problems({k: [_(m) for m in v] for k, v in (exc.fields or {}).items()})
    message = _(exc.message)
    if message not in {m for f in form.error_fields() for m in f.errors} | set(general):
        general.insert(0, message)
    return general


def _finance_action(application_id: int, name: str, form, action, done: str):
    """Run a finance officer's form through ``action``: 422 and the form as typed when it
    is invalid, the service's refusal on its inputs when refused, else back to the trail."""
    if not form.validate_on_submit():
        app = applications.get_visible(current_user, application_id)
        return _render(app, finance_failed=(name, form, []), status=422)
    try:
        action()
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        general = _refused(exc, form)
        app = applications.get_visible(current_user, application_id)
        return _render(app, finance_failed=(name, form, general), status=exc.status)
    flash(done, "success")
    return redirect(url_for("dossier.detail", application_id=application_id,
                            _anchor="reversements"))


@bp.post("/<int:application_id>/reversements")
@login_required
def claim_repayment(application_id: int):
    """Claim a repayment (finance): the form is shown again, as typed, when refused."""
    app = applications.get_visible(current_user, application_id)  # 404 first
    if not policies.acts_as(current_user, app, Role.FINANCE):
        abort(403, description=_("Seul un agent des finances émet un titre de reversement."))
    form = repayment_form(fresh=False)
    return _finance_action(
        application_id, "claim", form,
        lambda: repayments.claim(app, current_user, form.service_data()),
        _("Titre de reversement enregistré ; le porteur en est informé."))


@bp.post("/<int:application_id>/reversements/<int:repayment_id>/encaissement")
@login_required
def repayment_received(application_id: int, repayment_id: int):
    """Record that a repayment was received (finance)."""
    app = applications.get_visible(current_user, application_id)
    repayment = repayments.get(app, repayment_id)
    if not policies.acts_as(current_user, app, Role.FINANCE):
        abort(403, description=_("Seul un agent des finances enregistre un encaissement."))
    form = received_form(repayment_id, fresh=False)
    return _finance_action(
        application_id, f"received-{repayment_id}", form,
        lambda: repayments.mark_received(repayment, current_user, form.received_on.data),
        _("Encaissement du reversement enregistré."))


@bp.get("/<int:application_id>/pieces/<int:attachment_id>")
@login_required
def attachment(application_id: int, attachment_id: int):
    """A file of the application, for those who may see the application only."""
    item, path = attachments.open_attachment(current_user, application_id, attachment_id)
    if not path.is_file():
        abort(404, description=_("Le fichier de cette pièce est introuvable."))
    return send_file(path, mimetype=item.content_type, as_attachment=True,
                     download_name=item.filename, max_age=0)
