"""The applicant portal: home, organisations, the application form (with its
attachments), the acknowledgement, the application's own page, withdrawal and the final
report. Every state change goes through ``aap.services.workflow.fire``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from aap.errors import Conflict, ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, Organisation
from aap.models.accounts import Role
from aap.services import (
    applications,
    attachments,
    audit,
    open_data,
    organisations,
    policies,
    workflow,
)
from aap.services.attachments import (
    MEBIBYTE,
    AttachmentLimit,
    TooLarge,
    TooManyAttachments,
    Upload,
    Usage,
)
from aap.timeutil import now
from aap.vocabulary import ATTACHMENT_KINDS, BUDGET_LINES
from aap.web.access import page_arg, role_required
from aap.web.helpers import put_errors
from forms.application import ApplicationForm, ReportForm, line_field_name
from forms.organisation import InvitationForm, JoinRequestForm, OrganisationForm
from workflows.application import BEFORE_DECISION, EDITABLE_STATES, PHASES
from workflows.engine import GuardFailed, StateNotAllowed, WorkflowError
from workflows.guards import report_gap

bp = Blueprint("applicant", __name__, url_prefix="/porteur")

# Comments of these transitions are written for the applicant; the others (a forced
# close of the review, ...) are internal to the instruction.
APPLICANT_COMMENTS = {"request_completion", "declare_ineligible", "reject",
                      "request_report_changes", "cancel", "withdraw"}
REPORT_STATES = PHASES["report"]


# -- helpers ------------------------------------------------------------------------

def _own_application(application_id: int) -> Application:
    """The application, if the current user acts on it as a member (404 otherwise)."""
    app = applications.get_visible(current_user, application_id)
    if not policies.acts_as(current_user, app, Role.APPLICANT):
        abort(404)
    return app


@dataclass
class NextStep:
    label: str
    endpoint: str | None = None
    urgent: bool = False


def next_step(app: Application, at) -> NextStep:
    """What the applicant is expected to do now, from the state alone (no query)."""
    if app.state == "draft":
        if at >= app.call.closes_at:
            return NextStep(_("Appel clos : ce brouillon ne peut plus être déposé"))
        return NextStep(_("Finaliser et déposer avant le %(date)s",
                          date=_paris(app.call.closes_at)), "applicant.edit")
    if app.state == "incomplete":
        return NextStep(_("Compléter avant le %(date)s", date=_paris(app.completion_deadline)),
                        "applicant.edit", urgent=True)
    if app.state == "in_progress":
        return NextStep(_("Déposer le compte rendu financier"), "applicant.report", urgent=True)
    if app.state in PHASES["before_decision"]:  # past the draft and the completion
        return NextStep(_("Aucune action : dossier en cours d'instruction"))
    if app.state in PHASES["awaiting_payment"]:
        return NextStep(_("Aucune action : versement à venir"))
    return NextStep(_("Aucune action attendue"))


def _paris(moment) -> str:
    from aap.web.helpers import paris

    return paris(moment)


def _transitions(app: Application) -> list:
    return [e for e in audit.trail(app.id) if e.trigger]


# -- home ---------------------------------------------------------------------------

@bp.get("/")
@role_required("applicant")
def home():
    at = now()
    open_calls = db.session.scalars(
        select(Call).where(Call.opens_at <= at, Call.closes_at > at)
        .options(open_data.with_attribuant()).order_by(Call.closes_at)
    ).unique().all()
    page = applications.list_own(current_user, page=page_arg(request.args.get("page")),
                                 per_page=10)
    steps = {a.id: next_step(a, at) for a in page.items}
    return render_template("applicant/home.html",
                           organisations=organisations.of_member(current_user),
                           open_calls=open_calls, page=page, steps=steps, now=at)


# -- organisations -------------------------------------------------------------------

def _siret_taken(form: OrganisationForm, taken) -> dict:
    """What the creation form shows when the SIRET is an organisation's already: its name
    and city only, and the way to ask to join it (or to open it, for one of its members)."""
    form.siret.errors = [*form.siret.errors, _(
        "Une organisation avec ce SIRET existe déjà sur AAP : %(name)s (%(city)s).",
        name=taken.name, city=taken.city)]
    member = policies.is_member(current_user, taken.id)
    return {"taken": taken, "member": member,
            "pending": None if member else organisations.pending_request(current_user, taken),
            "join_form": JoinRequestForm(prefix="join", formdata=None)}


@bp.route("/organisations/nouvelle", methods=["GET", "POST"])
@role_required("applicant")
def organisation_new():
    form = OrganisationForm()
    general: list[str] = []
    status = 200
    join: dict = {}
    if form.validate_on_submit():
        try:
            org = organisations.create_organisation(current_user, form.values())
        except organisations.SiretTaken as exc:
            db.session.rollback()
            join = _siret_taken(form, exc.organisation)
            status = 409
        except ValidationFailed as exc:
            db.session.rollback()
            general = put_errors(form, exc.fields)
            status = 422
        else:
            flash(_("L'organisation « %(name)s » est créée.", name=org.name), "success")
            target = request.args.get("appel", type=int)
            if target:
                return redirect(url_for("applicant.start", call_id=target))
            return redirect(url_for("applicant.organisation", organisation_id=org.id))
    elif form.is_submitted():
        status = 422
    return render_template("applicant/organisation_form.html", form=form, general=general,
                           organisation=None, **join), status


@bp.post("/organisations/<int:organisation_id>/rejoindre")
@role_required("applicant")
def join_request(organisation_id: int):
    """Ask to join an organisation whose SIRET was typed (the members decide)."""
    join_form = JoinRequestForm(prefix="join")
    target = db.session.get(Organisation, organisation_id)
    if target is None:
        abort(404)
    if policies.is_member(current_user, target.id):
        flash(_("Vous êtes déjà membre de cette organisation."), "info")
        return redirect(url_for("applicant.organisation", organisation_id=target.id))
    general: list[str] = []
    status = 422
    if join_form.validate_on_submit():
        try:
            organisations.request_to_join(current_user, target.id, join_form.message.data)
        except ValidationFailed as exc:
            db.session.rollback()
            join_form.message.errors = [*join_form.message.errors,
                                        *(_(m) for m in exc.fields.get("message", []))]
            general = [] if exc.fields.get("message") else [_(exc.message)]
        except Conflict as exc:
            db.session.rollback()
            general, status = [_(exc.message)], exc.status
        else:
            flash(_("Votre demande est envoyée aux membres de « %(name)s ». Vous recevrez "
                    "un courriel dès que l'un d'eux y aura répondu.", name=target.name),
                  "success")
            return redirect(url_for("applicant.home"))
    return render_template("applicant/join_request.html", target=target, join_form=join_form,
                           general=general), status


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@role_required("applicant")
def organisation(organisation_id: int):
    org = organisations.get_for_member(current_user, organisation_id)
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    invite_form = InvitationForm(prefix="invite")
    general: list[str] = []
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                organisations.update_organisation(current_user, org, form.values())
            except ValidationFailed as exc:
                db.session.rollback()
                general = put_errors(form, exc.fields)
                status = 422
            else:
                flash(_("Les informations de l'organisation sont enregistrées."), "success")
                return redirect(url_for("applicant.organisation", organisation_id=org.id))
        else:
            status = 422
    return _organisation_page(org, form, invite_form, general, status)


def _organisation_page(org, form, invite_form, general, status):
    return render_template(
        "applicant/organisation.html", org=org, form=form, invite_form=invite_form,
        general=general, members=organisations.members(org),
        invitations=organisations.pending_invitations(org),
        join_requests=organisations.join_requests(current_user, org.id, pending_only=True)
    ), status


@bp.post("/organisations/<int:organisation_id>/invitations")
@role_required("applicant")
def invite(organisation_id: int):
    org = organisations.get_for_member(current_user, organisation_id)
    invite_form = InvitationForm(prefix="invite")
    if invite_form.validate_on_submit():
        try:
            organisations.invite(
                current_user, org, invite_form.email.data,
                lambda token: url_for("public.invitation", token=token, _external=True))
        except ValidationFailed as exc:
            db.session.rollback()
            invite_form.email.errors = [*invite_form.email.errors,
                                        *(_(m) for m in exc.fields.get("email", [exc.message]))]
        else:
            flash(_("Invitation envoyée à %(email)s.", email=invite_form.email.data), "success")
            return redirect(url_for("applicant.organisation", organisation_id=org.id))
    return _organisation_page(org, OrganisationForm(obj=org), invite_form, [], 422)


@bp.post("/organisations/<int:organisation_id>/demandes/<int:request_id>/<decision>")
@role_required("applicant")
def decide_join_request(organisation_id: int, request_id: int, decision: str):
    """A member accepts or declines a request to join (the CSRF token is checked by
    CSRFProtect); the requester is told by e-mail."""
    org = organisations.get_for_member(current_user, organisation_id)
    if decision not in ("accepter", "refuser"):
        abort(404)
    try:
        decided = organisations.decide_join_request(
            current_user, org.id, request_id, accept=decision == "accepter")
    except Conflict as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
    else:
        requester = decided.user.display_name
        if decided.status == "accepted":
            flash(_("%(name)s est désormais membre de l'organisation ; un courriel l'en "
                    "informe.", name=requester), "success")
        else:
            flash(_("La demande de %(name)s est refusée ; un courriel l'en informe.",
                    name=requester), "success")
    return redirect(url_for("applicant.organisation", organisation_id=org.id,
                            _anchor="join-requests-title"))


# -- starting a draft ----------------------------------------------------------------

@bp.route("/appels/<int:call_id>/nouveau-dossier", methods=["GET", "POST"])
@role_required("applicant")
def start(call_id: int):
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    orgs = organisations.of_member(current_user)
    at = now()
    error = None
    status = 200
    if request.method == "POST":  # the CSRF token is checked by CSRFProtect
        chosen = request.form.get("organisation_id", type=int)
        if chosen not in {o.id for o in orgs}:
            error = _("Choisissez l'organisation qui porte le projet.")
            status = 422
        else:
            try:
                app = applications.create(current_user, {"call_id": call.id,
                                                         "organisation_id": chosen})
            except ValidationFailed as exc:
                db.session.rollback()
                error = _(exc.message)
                status = 422
            else:
                flash(_("Brouillon créé. Vous pouvez l'enregistrer à tout moment et le "
                        "compléter plus tard."), "success")
                return redirect(url_for("applicant.edit", application_id=app.id))
    return render_template("applicant/start.html", call=call, orgs=orgs, error=error,
                           is_open=call.is_open(at), now=at), status


# -- the application form ------------------------------------------------------------

def _budget_summary(form: ApplicationForm, call: Call) -> dict:
    totals = form.totals()
    charges, products = totals["charges"], totals["products"]
    requested = form.requested.data or 0
    share = (Decimal(requested) / Decimal(charges)) if charges and requested else None
    return {"charges": charges, "products": products, "difference": products - charges,
            "balanced": charges > 0 and charges == products, "requested": requested,
            "share": share, "owner_line": call.fund.owner_product_line,
            "owner_label": BUDGET_LINES["products"].get(call.fund.owner_product_line, ""),
            "share_exceeded": bool(share is not None and call.max_share_of_cost
                                   and share > call.max_share_of_cost)}


def _render_form(app: Application, form: ApplicationForm, *, general=(), status=200,
                 notice=None, budget_problems=()):
    at = now()
    call = app.call
    can_submit = (app.state == "draft" and call.is_open(at)) or (
        app.state == "incomplete"
        and (app.completion_deadline is None or at <= app.completion_deadline))
    return render_template(
        "applicant/form.html", app=app, call=call, form=form, general=list(general),
        budget=_budget_summary(form, call), can_submit=can_submit, now=at,
        call_closed=at >= call.closes_at, notice=notice,
        budget_problems=list(budget_problems),
        line_field_name=line_field_name, kinds=ATTACHMENT_KINDS,
        attachments=sorted(app.attachments, key=lambda a: a.id),
        upload_hint=_upload_hint(), quota=_quota(Usage.of(app.attachments))), status


def _megabytes(size: int, rounding: str = ROUND_CEILING) -> str:
    """Mebibytes to one decimal in the user's locale (« 2,5 »); used space and file
    sizes round up, space left rounds down: the page never promises room there is not."""
    value = (Decimal(size) / MEBIBYTE).quantize(Decimal("0.1"), rounding=rounding)
    return format_decimal(value, format="#,##0.#")


def _upload_hint() -> str:
    return _("Statuts, RIB, derniers comptes approuvés, rapport d'activité. Formats "
             "acceptés : PDF, PNG, JPEG, ODT, ODS, DOCX, XLSX ; %(mb)s Mo au maximum par "
             "fichier. Ajouter une pièce enregistre aussi le brouillon.",
             mb=_megabytes(current_app.config["MAX_UPLOAD_BYTES"], ROUND_FLOOR))


def _quota(usage: Usage) -> dict:
    """The line above the upload field (« 3 fichiers sur 30, 4,2 Mo sur 100 Mo ») and,
    when nothing more fits, what to do."""
    files = ngettext("%(num)s fichier sur %(max)s", "%(num)s fichiers sur %(max)s",
                     usage.count, max=usage.max_count)
    space = _("%(used)s Mo sur %(max)s Mo", used=_megabytes(usage.used_bytes),
              max=_megabytes(usage.max_bytes, ROUND_FLOOR))
    full = _("Le dossier a atteint sa limite de pièces jointes : retirez-en une pour en "
             "ajouter une autre.") if usage.full else None
    return {"summary": f"{files}, {space}", "full": full}


def _limit_message(exc: AttachmentLimit) -> str:
    usage = exc.usage
    if isinstance(exc, TooManyAttachments):
        return ngettext("Ce dossier a atteint le maximum de %(num)s pièce jointe : "
                        "retirez-en une pour en ajouter une autre.",
                        "Ce dossier a atteint le maximum de %(num)s pièces jointes : "
                        "retirez-en une pour en ajouter une autre.", usage.max_count)
    return _("Place insuffisante : ce fichier fait %(size)s Mo et il reste %(left)s Mo sur "
             "les %(max)s Mo permis pour les pièces du dossier.",
             size=_megabytes(exc.size), left=_megabytes(usage.bytes_left, ROUND_FLOOR),
             max=_megabytes(usage.max_bytes, ROUND_FLOOR))


def _acknowledged(app: Application):
    flash(_("Votre dossier est déjà déposé : voici son accusé de réception."), "info")
    return redirect(url_for("applicant.acknowledgement", application_id=app.id))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH (raised as soon as the form is read, even by the CSRF
    check): on the application form, the form again with a French message, never a raw
    413 page."""
    db.session.rollback()
    application_id = (request.view_args or {}).get("application_id")
    if request.endpoint != "applicant.edit" or not current_user.is_authenticated \
            or not current_user.has_role(Role.APPLICANT) or application_id is None:
        return render_template("errors/error.html", status=413, message=_(
            "Fichier trop volumineux : %(mb)s Mo au maximum.", mb=_max_upload_mb())), 413
    app = _own_application(application_id)
    form = ApplicationForm.for_call(app.call, app, formdata=None)
    limit = _max_upload_mb()
    form.attachment_file.errors = [_("Fichier trop volumineux : %(mb)s Mo au maximum.",
                                     mb=limit)]
    return _render_form(app, form, status=413, general=[_(
        "Le fichier dépasse %(mb)s Mo : il n'a pas été reçu, ni les saisies non "
        "enregistrées qui l'accompagnaient.", mb=limit)])


@bp.route("/dossiers/<int:application_id>/modifier", methods=["GET", "POST"])
@role_required("applicant")
def edit(application_id: int):
    return _edit(application_id)


def _max_upload_mb() -> int:
    return current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024)


def _edit(application_id: int):
    app = _own_application(application_id)
    action = request.form.get("action", "save") if request.method == "POST" else None
    if app.state not in EDITABLE_STATES:
        if action in ("submit", "resubmit") and app.submitted_at:
            return _acknowledged(app)  # a replayed or double-clicked submission
        flash(_("Ce dossier n'est plus modifiable dans son état actuel (%(state)s).",
                state=_state_label(app.state)), "info")
        return redirect(url_for("applicant.detail", application_id=app.id))
    form = ApplicationForm.for_call(app.call, app)
    if request.method == "GET":
        return _render_form(app, form)

    remove = request.form.get("remove", type=int)
    if not form.validate_on_submit():
        return _render_form(app, form, status=422, general=[
            _("Rien n'a été enregistré : corrigez les champs signalés.")])
    try:
        app = applications.update(current_user, app.id, form.values())
    except ValidationFailed as exc:
        db.session.rollback()
        fields = {k: [_(m) for m in v] for k, v in exc.fields.items()}
        budget_problems = fields.pop("budget", [])
        general = form.show_problems(fields)
        return _render_form(app, form, status=422, budget_problems=budget_problems, general=[
            _("Rien n'a été enregistré : corrigez les champs signalés."), *general])
    except Conflict:
        db.session.rollback()
        app = _own_application(application_id)
        if action in ("submit", "resubmit") and app.submitted_at:
            return _acknowledged(app)
        flash(_("Ce dossier n'est plus modifiable."), "info")
        return redirect(url_for("applicant.detail", application_id=app.id))

    if action == "upload":
        return _upload(app, form)
    if remove:
        try:
            attachments.remove_attachment(current_user, app.id, remove)
        except WorkflowError as exc:
            db.session.rollback()
            flash(_(exc.message), "error")
        else:
            flash(_("Brouillon enregistré et pièce retirée."), "success")
        return redirect(url_for("applicant.edit", application_id=app.id, _anchor="pieces"))
    if action in ("submit", "resubmit"):
        trigger = "resubmit" if app.state == "incomplete" else "submit"
        try:
            app = workflow.fire(app, trigger, current_user, {})
        except StateNotAllowed:
            db.session.rollback()
            app = _own_application(application_id)
            if app.submitted_at:
                return _acknowledged(app)
            raise
        except GuardFailed as exc:
            db.session.rollback()
            app = _own_application(application_id)
            fields = {k: [_(m) for m in v] for k, v in exc.fields.items()}
            budget_problems = fields.pop("budget", [])
            general = form.show_problems(fields)
            intro = (_("Le dossier n'a pas été déposé. Vos saisies sont enregistrées ; "
                       "corrigez les points suivants puis déposez-le à nouveau.")
                     if exc.code == "invalid_application" else _(exc.message))
            return _render_form(app, form, status=422, general=[intro, *general],
                                budget_problems=budget_problems)
        flash(_("Votre dossier est déposé. Un accusé de réception vous a été envoyé par "
                "courriel."), "success")
        return redirect(url_for("applicant.acknowledgement", application_id=app.id))
    flash(_("Brouillon enregistré le %(date)s.", date=_paris(now())), "success")
    return redirect(url_for("applicant.edit", application_id=app.id))


def _state_label(state: str) -> str:
    from aap.web.helpers import state_label

    return state_label(state)


def _upload(app: Application, form: ApplicationForm):
    file = form.attachment_file.data
    kind = form.attachment_kind.data
    if not file or not getattr(file, "filename", ""):
        form.attachment_file.errors = [_("Choisissez un fichier à joindre.")]
        return _render_form(app, form, status=422, general=[
            _("Vos saisies sont enregistrées, mais aucun fichier n'a été reçu.")])
    try:
        attachment = attachments.add_attachment(current_user, app.id, kind,
                                                Upload(filename=file.filename, stream=file.stream))
    except TooLarge:
        db.session.rollback()
        form.attachment_file.errors = [_("Fichier trop volumineux : %(mb)s Mo au maximum.",
                                         mb=_max_upload_mb())]
        return _render_form(app, form, status=413, general=[
            _("Vos saisies sont enregistrées, mais le fichier est trop volumineux.")])
    except AttachmentLimit as exc:
        db.session.rollback()
        form.attachment_file.errors = [_limit_message(exc)]
        return _render_form(app, form, status=422, general=[
            _("Vos saisies sont enregistrées, mais la pièce n'a pas été ajoutée.")])
    except ValidationFailed as exc:
        db.session.rollback()
        target = form.attachment_kind if "kind" in exc.fields else form.attachment_file
        target.errors = [_(exc.message)]
        return _render_form(app, form, status=422, general=[
            _("Vos saisies sont enregistrées, mais la pièce n'a pas été ajoutée.")])
    flash(_("Brouillon enregistré et pièce « %(name)s » ajoutée.", name=attachment.filename),
          "success")
    return redirect(url_for("applicant.edit", application_id=app.id, _anchor="pieces"))


@bp.get("/dossiers/<int:application_id>/pieces/<int:attachment_id>")
@role_required("applicant")
def download(application_id: int, attachment_id: int):
    _own_application(application_id)
    attachment, path = attachments.open_attachment(current_user, application_id, attachment_id)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)


# -- after submission ----------------------------------------------------------------

@bp.get("/dossiers/<int:application_id>")
@role_required("applicant")
def detail(application_id: int):
    app = _own_application(application_id)
    at = now()
    from aap.web.dossier import budget_rows

    return render_template(
        "applicant/detail.html", app=app, events=_transitions(app), step=next_step(app, at),
        budget=budget_rows(app.budget()), now=at, editable=app.state in EDITABLE_STATES,
        can_withdraw=app.state in BEFORE_DECISION, comment_triggers=APPLICANT_COMMENTS,
        report_available=app.state in REPORT_STATES, kinds=ATTACHMENT_KINDS,
        attachments=sorted(app.attachments, key=lambda a: a.id))


@bp.get("/dossiers/<int:application_id>/accuse-de-reception")
@role_required("applicant")
def acknowledgement(application_id: int):
    app = _own_application(application_id)
    if not app.submitted_at or not app.reference:
        flash(_("Ce dossier n'est pas encore déposé."), "info")
        return redirect(url_for("applicant.detail", application_id=app.id))
    return render_template("applicant/acknowledgement.html", app=app)


@bp.route("/dossiers/<int:application_id>/retirer", methods=["GET", "POST"])
@role_required("applicant")
def withdraw(application_id: int):
    app = _own_application(application_id)
    if app.state == "withdrawn":
        flash(_("Ce dossier est déjà retiré."), "info")
        return redirect(url_for("applicant.detail", application_id=app.id))
    if app.state not in BEFORE_DECISION:
        flash(_("Ce dossier ne peut plus être retiré : une décision a été prise."), "error")
        return redirect(url_for("applicant.detail", application_id=app.id))
    error = None
    if request.method == "POST":
        comment = (request.form.get("comment") or "").strip()
        if len(comment) > 2000:
            error = _("2 000 caractères au maximum (%(n)s saisis).", n=len(comment))
        else:
            try:
                workflow.fire(app, "withdraw", current_user, {"comment": comment})
            except StateNotAllowed:
                db.session.rollback()
                flash(_("Ce dossier ne peut plus être retiré."), "error")
                return redirect(url_for("applicant.detail", application_id=app.id))
            flash(_("Le dossier est retiré. L'équipe d'instruction en est informée."),
                  "success")
            return redirect(url_for("applicant.detail", application_id=app.id))
    return render_template("applicant/withdraw.html", app=app, error=error,
                           comment=request.form.get("comment", "")), 422 if error else 200


# -- the final report (CERFA 15059) --------------------------------------------------

def _report_rows(app: Application, form: ReportForm) -> dict:
    provisional = app.budget()
    rows: dict[str, list[dict]] = {}
    totals: dict[str, dict] = {}
    typed = False  # nothing realised yet: no gap to show, nothing to explain
    for side, lines in BUDGET_LINES.items():
        rows[side] = []
        total_p = total_r = 0
        side_typed = False
        for code in lines:
            field = form[line_field_name(side, code)]
            planned = provisional[side].get(code, 0)
            realised = field.data
            total_p += planned
            total_r += realised or 0
            side_typed = side_typed or realised is not None
            gap = None if realised is None else realised - planned
            ratio = None if realised is None else report_gap(planned, realised)
            rows[side].append({"field": field, "planned": planned, "gap": gap,
                               "ratio": ratio})
        typed = typed or side_typed
        totals[side] = {"planned": total_p, "realised": total_r,
                        "gap": total_r - total_p if side_typed else None,
                        "ratio": report_gap(total_p, total_r) if side_typed else None}
    ratio = totals["charges"]["ratio"]
    threshold = app.call.report_gap_threshold
    return {"rows": rows, "totals": totals, "threshold": threshold, "typed": typed,
            "needs_explanation": ratio is not None and abs(ratio) > threshold,
            "balanced": totals["charges"]["realised"] == totals["products"]["realised"]}


@bp.route("/dossiers/<int:application_id>/compte-rendu", methods=["GET", "POST"])
@role_required("applicant")
def report(application_id: int):
    app = _own_application(application_id)
    if app.state not in REPORT_STATES:
        flash(_("Le compte rendu financier se dépose une fois la subvention versée."), "info")
        return redirect(url_for("applicant.detail", application_id=app.id))
    editable = app.state == "in_progress"
    form = ReportForm.build(app)
    changes = None
    if editable and app.report is not None:
        changes = next((e for e in reversed(_transitions(app))
                        if e.trigger == "request_report_changes"), None)
    general: list[str] = []
    status = 200
    if request.method == "POST":
        if not editable:
            if app.state == "report_submitted":
                flash(_("Votre compte rendu est déjà déposé."), "info")
            return redirect(url_for("applicant.report", application_id=app.id))
        if form.validate_on_submit():
            try:
                workflow.fire(app, "submit_report", current_user, form.values())
            except StateNotAllowed:
                db.session.rollback()
                return redirect(url_for("applicant.report", application_id=app.id))
            except GuardFailed as exc:
                db.session.rollback()
                app = _own_application(application_id)
                general = [_(exc.message), *form.show_problems(
                    {k: [_(m) for m in v] for k, v in exc.fields.items()})]
                status = 422
            else:
                flash(_("Votre compte rendu financier est déposé."), "success")
                return redirect(url_for("applicant.detail", application_id=app.id))
        else:
            general = [_("Le compte rendu n'a pas été déposé : corrigez les champs "
                         "signalés.")]
            status = 422
    return render_template("applicant/report.html", app=app, form=form, editable=editable,
                           table=_report_rows(app, form), general=general,
                           changes=changes), status
