"""The instructor's pages: home (calls with their budget, applications by state), the
back-office list of a call's applications (filters, sort, search, bulk actions), and the
configuration of funds, calls and their jury."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, Fund, User
from aap.models.accounts import Role
from aap.services import budget, calls, policies, search, workflow
from aap.timeutil import now, to_paris
from aap.vocabulary import DOMAINS, GROUNDS
from aap.web.access import page_arg, role_required
from aap.web.helpers import put_errors
from forms.call import LOCK_INPUTS, OVERFLOW_LABELS, CallForm, FundForm, JuryForm
from forms.instruction import ACTION_LABELS, BULK_TRIGGERS, BulkForm
from workflows import get_workflow
from workflows.engine import WorkflowError

bp = Blueprint("instructor", __name__, url_prefix="/instruction")

#: Sorts whose natural order is ascending (the others start with the largest/latest).
ASCENDING_FIRST = {"reference", "title"}
MAX_BULK = 200
#: Calls per page on the back-office home (a parent authority reads hundreds of them).
CALLS_PER_PAGE = 20


def _call_or_404(call_id: int) -> Call:
    """A call the instructor reads (its authority's, a descendant's, or any when its role
    is platform-wide); another authority's is 404."""
    return policies.readable_call(current_user, call_id, Role.INSTRUCTOR)


def _call_to_act_on(call_id: int) -> Call:
    """A call the instructor acts on: 404 as above, 403 for a descendant's call."""
    return policies.call_to_act_on(current_user, call_id, Role.INSTRUCTOR)


def _can_act(call: Call) -> bool:
    return policies.can_act_on_call(current_user, call, Role.INSTRUCTOR)


def parse_filters(args: MultiDict, call: Call | None = None) -> search.Filters:
    """The list's filters from the query string; unknown values are ignored, never a 500."""
    states = set(get_workflow().state_names) - {"draft"}
    sort = args.get("sort") if args.get("sort") in search.SORTS else search.DEFAULT_SORT
    order = args.get("order")
    descending = (order == "desc") if order in ("asc", "desc") else sort not in ASCENDING_FIRST
    envelope = args.get("envelope") or None
    if envelope and envelope != "none" and (call is None or call.envelope(envelope) is None):
        envelope = None
    return search.Filters(
        call_id=call.id if call else args.get("call_id", type=int),
        states=[s for s in args.getlist("state") if s in states],
        territory=(args.get("territory") or "").strip()[:120] or None,
        domain=args.get("domain") if args.get("domain") in DOMAINS else None,
        ground=args.get("ground") if args.get("ground") in GROUNDS else None,
        envelope=envelope,
        q=(args.get("q") or "").strip()[:search.MAX_QUERY] or None,
        sort=sort, descending=descending,
    )


# --------------------------------------------------------------------------------------
# Home
# --------------------------------------------------------------------------------------
@bp.get("/")
@role_required("instructor")
def home():
    """The calls the instructor reads, their figures, and the applications by state."""
    readable = policies.staff_calls(current_user, Role.INSTRUCTOR)
    calls_page = page_arg(request.args.get("appels"))
    call_count = db.session.scalar(readable.with_only_columns(func.count(Call.id))) or 0
    call_list = db.session.scalars(
        readable.order_by(Call.opens_at.desc(), Call.id.desc())
        .limit(CALLS_PER_PAGE).offset((calls_page - 1) * CALLS_PER_PAGE)).unique().all()
    figures = budget.summaries(list(call_list))
    counts = dict(db.session.execute(
        select(Application.state, func.count()).where(
            Application.state != "draft",
            Application.call_id.in_(readable.with_only_columns(Call.id)))
        .group_by(Application.state)).all())
    filters = parse_filters(request.args)
    page = search.search(current_user, filters, page=page_arg(request.args.get("page")))
    state = filters.states[0] if filters.states else None
    return render_template("instructor/home.html", calls=call_list, figures=figures,
                           calls_page=calls_page, call_count=call_count,
                           call_pages=max(1, -(-call_count // CALLS_PER_PAGE)),
                           counts=counts, page=page, state=state,
                           states=[s for s in get_workflow().state_names if s != "draft"])


# --------------------------------------------------------------------------------------
# The back-office list of one call
# --------------------------------------------------------------------------------------
def _list_page(call: Call, args: MultiDict, bulk: BulkForm | None = None, status: int = 200):
    filters = parse_filters(args, call)
    page = search.search(current_user, filters, page=page_arg(args.get("page")))
    counts = dict(db.session.execute(
        select(Application.state, func.count())
        .where(Application.call_id == call.id, Application.state != "draft")
        .group_by(Application.state)).all())
    bulk = bulk or BulkForm(formdata=None)
    query = urlencode([(k, v) for k, v in args.items(multi=True) if k != "page"])
    return render_template(
        "instructor/call.html", call=call, page=page, filters=filters, counts=counts,
        figures=budget.summary(call), bulk=bulk, query=query,
        states=[s for s in get_workflow().state_names if s != "draft"],
        territories=search.territories(call.id), domains=DOMAINS, grounds=GROUNDS,
        sort_url=lambda key: _sort_url(call, args, filters, key),
        jury_url=_optional_url("instructor.jury_call", call_id=call.id),
        can_act=_can_act(call),
    ), status


def _optional_url(endpoint: str, **values) -> str | None:
    """A link to a page of another module of the blueprint, if it is there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _sort_url(call: Call, args: MultiDict, filters: search.Filters, key: str) -> str:
    """The link of a column header: sort by it, or reverse the order if already sorted."""
    if filters.sort == key:
        order = "asc" if filters.descending else "desc"
    else:
        order = "asc" if key in ASCENDING_FIRST else "desc"
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("sort", "order", "page")]
    return url_for("instructor.call_applications", call_id=call.id) + "?" + urlencode(
        [*kept, ("sort", key), ("order", order)])


@bp.get("/appels/<int:call_id>")
@role_required("instructor")
def call_applications(call_id: int):
    return _list_page(_call_or_404(call_id), request.args)


@bp.post("/appels/<int:call_id>/actions")
@role_required("instructor")
def bulk_action(call_id: int):
    """Fire one trigger on each selected application, one by one through the engine, and
    report what was done and each refusal with its reason."""
    call = _call_to_act_on(call_id)
    form = BulkForm()
    back = MultiDict(parse_qsl(request.form.get("query", ""), keep_blank_values=False))
    if not form.validate_on_submit():
        return _list_page(call, back, bulk=form, status=422)
    ids = list(dict.fromkeys(form.ids.data))[:MAX_BULK]
    trigger = form.trigger.data
    found = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_(ids))).unique()}
    label = get_workflow().label
    done, failed = [], []
    for application_id in ids:
        app = found.get(application_id)
        if app is None or app.call_id != call.id or not policies.can_see_application(
                current_user, app):
            failed.append((application_id, None, _("Dossier introuvable dans cet appel.")))
            continue
        reference, title, state = app.reference, app.title, app.state
        try:
            workflow.fire(app, trigger, current_user, form.engine_data())
        except WorkflowError as exc:
            db.session.rollback()
            if exc.status == 409:
                message = _("Impossible dans l'état « %(state)s ».", state=_(label(state)))
            else:
                message = _(exc.message)
                details = [m for messages in (exc.fields or {}).values() for m in messages
                           if m != exc.message]
                if details and exc.code != "comment_required":
                    message = f"{message} ({' '.join(_(m) for m in details)})"
            failed.append((application_id, (reference, title), message))
            continue
        done.append((application_id, (reference, title), state))
    return render_template(
        "instructor/bulk_result.html", call=call, action=ACTION_LABELS[trigger], done=done,
        failed=failed, query=request.form.get("query", ""))


# --------------------------------------------------------------------------------------
# Funds, calls, jury membership
# --------------------------------------------------------------------------------------
class AuthorityFundForm(FundForm):
    """The fund form with the authority the fund belongs to (those the instructor acts
    in; "the whole platform" for a platform-wide instructor)."""

    # checked by ``calls.create_fund`` (422 unknown, 403 not the instructor's): 0 is "none"
    authority_id = SelectField(_l("Collectivité"), coerce=int, default=0,
                               validate_choice=False)

    def values(self) -> dict:
        return {**super().values(), "authority_id": self.authority_id.data or None}


def _fund_form() -> AuthorityFundForm:
    form = AuthorityFundForm()
    choices = [SelectChoice(a.id, a.name) for a in policies.authorities_acted_in(current_user)]
    if policies.scope(current_user, Role.INSTRUCTOR).platform:
        choices.insert(0, SelectChoice(0, _("Toute la plateforme (aucune collectivité)")))
    form.authority_id.choices = choices
    return form


@bp.route("/dispositifs/nouveau", methods=["GET", "POST"])
@role_required("instructor")
def new_fund():
    form = _fund_form()
    general: list[str] = []
    if form.validate_on_submit():
        try:
            fund = calls.create_fund(form.values(), actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            general = _show(form, exc, {"imputation": "chapter", "authority_id": "authority_id"})
        else:
            flash(_("Dispositif « %(name)s » créé.", name=fund.name), "success")
            return redirect(url_for("instructor.new_call", fund_id=fund.id))
    status = 422 if form.is_submitted() else 200
    return render_template("instructor/fund_form.html", form=form, general=general), status


def _show(form, exc: ValidationFailed, mapping: dict[str, str]) -> list[str]:
    general = put_errors(form, exc.fields, mapping)
    return general or ([] if exc.fields else [_(exc.message)])


def _funds() -> list[Fund]:
    """The funds in which the instructor may create or move a call."""
    return list(db.session.scalars(
        policies.funds_to_act_on(current_user).order_by(Fund.name)))


def _call_page(form: CallForm, *, mode: str, call: Call | None = None, locks=None,
               general=None, labels=None, status: int = 200):
    return render_template("instructor/call_form.html", form=form, mode=mode, call=call,
                           locks=locks or {}, general=general or [], labels=labels or {},
                           overflow_labels=OVERFLOW_LABELS,
                           has_funds=bool(form.fund_id.choices) if "fund_id" in form else True
                           ), status


def _translated(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: [_(m) for m in v] for k, v in problems.items()}


@bp.route("/appels/nouveau", methods=["GET", "POST"])
@role_required("instructor")
def new_call():
    form = CallForm(funds=_funds())
    if not form.is_submitted():
        form.fiscal_year.data = to_paris(now()).year
        form.fund_id.data = request.args.get("fund_id", type=int)
        form.load({"envelopes": [], "grid": []})
    elif form.validate():
        try:
            call = calls.create_call(form.values())
        except ValidationFailed as exc:
            db.session.rollback()
            general = form.show_problems(_translated(exc.fields or {}))
            form.add_blank_rows()
            return _call_page(form, mode="new", general=general or [_(exc.message)],
                              status=422)
        flash(_("Appel « %(title)s » créé.", title=call.title), "success")
        return redirect(url_for("instructor.call_applications", call_id=call.id))
    if form.is_submitted():
        form.add_blank_rows()
        return _call_page(form, mode="new", status=422)
    return _call_page(form, mode="new")


@bp.route("/appels/<int:call_id>/cloner", methods=["GET", "POST"])
@role_required("instructor")
def clone_call(call_id: int):
    """A new call from this one (a configuration action: 403 on a descendant's call)."""
    source = _call_to_act_on(call_id)
    values = calls.clone_values(source)
    form = CallForm(funds=_funds())
    if not form.is_submitted():
        form.load(values)
        return _call_page(form, mode="clone", call=source)
    if form.validate():
        try:
            call = calls.create_call(form.values())
            calls.set_jury(call, values["juror_ids"])
        except ValidationFailed as exc:
            db.session.rollback()
            general = form.show_problems(_translated(exc.fields or {}))
            form.add_blank_rows()
            return _call_page(form, mode="clone", call=source,
                              general=general or [_(exc.message)], status=422)
        flash(_("Appel « %(title)s » créé à partir de « %(source)s ».", title=call.title,
                source=source.title), "success")
        return redirect(url_for("instructor.call_applications", call_id=call.id))
    form.add_blank_rows()
    return _call_page(form, mode="clone", call=source, status=422)


@bp.route("/appels/<int:call_id>/modifier", methods=["GET", "POST"])
@role_required("instructor")
def edit_call(call_id: int):
    """Change what is safe; the locked fields are shown read-only with their reason."""
    call = _call_to_act_on(call_id)
    locks = {name: reason for name, reason in calls.editable_fields(call).items() if reason}
    form = CallForm(funds=_funds())
    labels = {name: field.label.text for name, field in form._fields.items()}
    for name in locks:
        for field_name in LOCK_INPUTS.get(name, (name,)):
            if field_name in form._fields:
                del form[field_name]
    if not form.is_submitted():
        form.load(calls.current_values(call))
        return _call_page(form, mode="edit", call=call, locks=locks, labels=labels)
    if form.validate():
        try:
            calls.update_call(call, form.values(), actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            call = _call_to_act_on(call_id)
            general = form.show_problems(_translated(exc.fields or {}))
            form.add_blank_rows()
            return _call_page(form, mode="edit", call=call, locks=locks, labels=labels,
                              general=general or [_(exc.message)], status=422)
        flash(_("Appel modifié."), "success")
        return redirect(url_for("instructor.call_applications", call_id=call_id))
    form.add_blank_rows()
    return _call_page(form, mode="edit", call=call, locks=locks, labels=labels, status=422)


def _jurors(call: Call) -> list[User]:
    """The jurors the call's jury is chosen among: its authority's and platform-wide."""
    return list(db.session.scalars(policies.eligible_jurors(call)).unique())


@bp.route("/appels/<int:call_id>/composition-du-jury", methods=["GET", "POST"])
@role_required("instructor")
def call_jury_members(call_id: int):
    """The jury, chosen among the jurors of the call's authority and the platform-wide
    ones: only they are offered, and a juror of another authority posted anyway is
    refused by name (422)."""
    call = _call_to_act_on(call_id)
    eligible = _jurors(call)
    outsiders = _posted_outsiders(call, eligible)
    form = JuryForm.for_call(call, eligible + outsiders)
    if form.validate_on_submit():
        if outsiders:
            form.juror_ids.errors = [_outsiders_message(call, outsiders)]
        else:
            try:
                calls.set_jury(call, form.juror_ids.data or [])
            except ValidationFailed as exc:
                db.session.rollback()
                form.juror_ids.errors = [_(exc.message)]
            else:
                flash(_("Composition du jury enregistrée (%(n)s membres).",
                        n=len(call.jury)), "success")
                return redirect(url_for("instructor.call_applications", call_id=call.id))
    form.juror_ids.choices = [c for c in form.juror_ids.choices
                              if c[0] not in {u.id for u in outsiders}]
    status = 422 if form.is_submitted() else 200
    return render_template("instructor/jury_members.html", call=call, form=form), status


def _posted_outsiders(call: Call, eligible: list[User]) -> list[User]:
    """The jurors posted for the jury who are jurors of another authority only."""
    known = {u.id for u in eligible}
    posted = {int(v) for v in request.form.getlist("juror_ids") if v.isdecimal()} - known
    if not posted:
        return []
    users = [u for u in db.session.scalars(select(User).where(User.id.in_(posted))).unique()
             if u.has_role(Role.JUROR)]
    return policies.ineligible_jurors(call, users)


def _outsiders_message(call: Call, outsiders: list[User]) -> str:
    names = ", ".join(f"{u.display_name} ({u.email})" for u in outsiders)
    authority = call.fund.authority
    if authority is None:
        return _("Le jury de cet appel se choisit parmi les jurés de toute la plateforme : "
                 "%(names)s n'en fait pas partie.", names=names)
    return _("Le jury se choisit parmi les jurés de « %(authority)s » : %(names)s n'en fait "
             "pas partie.", authority=authority.name, names=names)


__all__ = ["BULK_TRIGGERS", "bp"]
