"""The instructor's jury pages (assignment, known conflicts, progress and reminders, the
closing of the review, the ranking with its charts, the jury report), on the instructor
blueprint."""

from __future__ import annotations

import io
import statistics
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from aap.errors import DomainError, ValidationFailed
from aap.extensions import db
from aap.models import Application, Call, User
from aap.models.accounts import Role
from aap.services import aggregation, allocation, jury, policies, scoring, workflow
from aap.services.exports import jury as jury_export
from aap.web import charts
from aap.web.access import role_required
from aap.web.instructor import bp
from forms.review import AssignmentForm, CloseReviewForm, ConfirmForm, RecordConflictForm
from workflows.application import PHASES

__all__ = ["bp"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
METHOD_LABELS = {
    "mean": _l("Moyenne des jurés"),
    "median": _l("Médiane des jurés"),
    "centred": _l("Moyenne corrigée de la sévérité de chaque juré"),
    "normalized": _l("Scores normalisés par juré (z-scores ramenés à l'échelle)"),
}
# The applications a ranking shows: scored or being scored, still in the running or decided.
RANKED_STATES = PHASES["ranked"]
# The applications of the jury's work (assignment, progress, conflicts).
WORKING_STATES = PHASES["jury"]


def _url_or(endpoint: str, fallback: str | None, **values) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return url_for(fallback, **values) if fallback else None


@bp.context_processor
def _jury_links() -> dict:
    """Links of the jury pages to the call's pages (when the instructor pages have them)."""
    if not (request.endpoint or "").startswith("instructor.jury_"):
        return {}
    call_id = (request.view_args or {}).get("call_id")
    call = db.session.get(Call, call_id) \
        if call_id and current_user.is_authenticated else None
    acting = call is not None and policies.can_act_on_call(current_user, call, Role.INSTRUCTOR)
    return {"call_page": _url_or("instructor.call_applications", "instructor.home",
                                 call_id=call_id),
            "members_page": _url_or("instructor.call_jury_members", None, call_id=call_id)
            if acting else None}


def _call(call_id: int) -> Call:
    """A call whose jury the instructor follows (its authority's or a descendant's)."""
    return policies.readable_call(current_user, call_id, Role.INSTRUCTOR)


def _call_to_act_on(call_id: int) -> Call:
    """A call whose jury the instructor runs: a descendant's is 403 (read only)."""
    return policies.call_to_act_on(current_user, call_id, Role.INSTRUCTOR)


def _jurors(call: Call) -> list[User]:
    return sorted((m.user for m in call.jury), key=lambda u: u.display_name)


def _applications(call: Call, states: tuple[str, ...]) -> list[Application]:
    return list(db.session.scalars(
        select(Application).where(Application.call_id == call.id,
                                  Application.state.in_(states))
        .options(selectinload(Application.reviews))
        .order_by(Application.reference, Application.id)).unique())


@dataclass
class Cell:
    """One juror on one application, as the progress matrix shows it."""

    status: str  # none, todo, draft, submitted, recused
    total: Decimal | None = None


def _matrix(apps: list[Application], jurors: list[User]) -> dict[int, dict[int, Cell]]:
    out: dict[int, dict[int, Cell]] = {}
    for app in apps:
        row = {j.id: Cell("none") for j in jurors}
        for review in app.reviews:
            if review.conflict:
                cell = Cell("recused")
            elif review.submitted:
                cell = Cell("submitted", review.total)
            elif review.total is not None:
                cell = Cell("draft", review.total)
            else:
                cell = Cell("todo")
            row[review.juror_id] = cell
        out[app.id] = row
    return out


def _extra_jurors(apps: list[Application], jurors: list[User]) -> list[User]:
    """Jurors with reviews on the call who are no longer in its jury (still shown)."""
    known = {j.id for j in jurors}
    extra = {r.juror_id: r.juror for a in apps for r in a.reviews if r.juror_id not in known}
    return sorted(extra.values(), key=lambda u: u.display_name)


def _render_jury(call: Call, *, assign_form=None, conflict_form=None, close_form=None,
                 status: int = 200):
    jurors = _jurors(call)
    apps = _applications(call, WORKING_STATES)
    shown = jurors + _extra_jurors(apps, jurors)
    assign_form = assign_form or AssignmentForm.for_call(call, jurors)
    conflict_form = conflict_form or _conflict_form(call, apps, jurors)
    in_review = [a for a in apps if a.state == "in_review"]
    matrix = _matrix(apps, shown)
    missing = sum(1 for a in in_review
                  if any(c.status in ("todo", "draft") for c in matrix[a.id].values()))
    return render_template(
        "instructor/jury/call.html", call=call, jurors=shown, jury_ids={j.id for j in jurors},
        apps=apps, matrix=matrix, progress=jury.progress(call), assign_form=assign_form,
        conflict_form=conflict_form, close_form=close_form or CloseReviewForm(),
        remind_form=ConfirmForm(), in_review=in_review, missing=missing,
        eligible=sum(1 for a in apps if a.state == "eligible"),
        can_act=policies.can_act_on_call(current_user, call, Role.INSTRUCTOR)), status


def _conflict_form(call: Call, apps: list[Application], jurors: list[User], **kwargs
                   ) -> RecordConflictForm:
    form = RecordConflictForm(**kwargs)
    form.application_id.choices = [SelectChoice("0", _("— Choisir un dossier —"))] + [
        SelectChoice(str(a.id), f"{a.reference} — {a.title[:70]}") for a in apps]
    form.juror_id.choices = [SelectChoice("0", _("— Choisir un juré —"))] + [
        SelectChoice(str(u.id), u.display_name) for u in jurors]
    return form


@bp.get("/appels/<int:call_id>/jury")
@role_required("instructor")
def jury_call(call_id: int):
    return _render_jury(_call(call_id))


@bp.post("/appels/<int:call_id>/jury/attribution")
@role_required("instructor")
def jury_assign(call_id: int):
    call = _call_to_act_on(call_id)
    form = AssignmentForm.for_call(call, _jurors(call))
    if not form.validate():
        return _render_jury(call, assign_form=form, status=422)
    try:
        created = jury.assign(call, current_user, form.mode.data,
                              per_application=form.per_application.data or 2,
                              by_envelope=form.by_envelope())
    except ValidationFailed as exc:
        db.session.rollback()
        form.mode.errors = [*form.mode.errors, _(exc.message)]
        return _render_jury(call, assign_form=form, status=422)
    if created:
        flash(ngettext("%(num)s attribution créée.", "%(num)s attributions créées.",
                       created), "success")
    else:
        flash(_("Aucune nouvelle attribution : chaque dossier a déjà ses jurés."), "info")
    return redirect(url_for("instructor.jury_call", call_id=call.id) + "#attribution")


@bp.post("/appels/<int:call_id>/jury/conflits")
@role_required("instructor")
def jury_conflict(call_id: int):
    call = _call_to_act_on(call_id)
    jurors = _jurors(call)
    apps = _applications(call, WORKING_STATES)
    form = _conflict_form(call, apps, jurors)
    ok = form.validate()
    if not form.application_id.data:
        form.application_id.errors = [*form.application_id.errors, _("Choisissez un dossier.")]
        ok = False
    if not form.juror_id.data:
        form.juror_id.errors = [*form.juror_id.errors, _("Choisissez un juré.")]
        ok = False
    if not ok:
        return _render_jury(call, conflict_form=form, status=422)
    app = next(a for a in apps if a.id == form.application_id.data)
    juror = next(u for u in jurors if u.id == form.juror_id.data)
    jury.record_conflict(current_user, app, juror, form.reason.data)
    flash(_("Conflit enregistré : %(juror)s est déporté·e du dossier %(ref)s.",
            juror=juror.display_name, ref=app.reference), "success")
    return redirect(url_for("instructor.jury_call", call_id=call.id) + "#conflits")


@bp.post("/appels/<int:call_id>/jury/relance")
@role_required("instructor")
def jury_remind(call_id: int):
    call = _call_to_act_on(call_id)
    if not ConfirmForm().validate():
        abort(400)
    reminded = jury.remind_late(call)
    if reminded:
        flash(ngettext("%(num)s juré en retard relancé par courriel.",
                       "%(num)s jurés en retard relancés par courriel.", reminded), "success")
    else:
        flash(_("Aucun juré en retard : personne n'a été relancé."), "info")
    return redirect(url_for("instructor.jury_call", call_id=call.id) + "#avancement")


@bp.post("/appels/<int:call_id>/jury/cloture")
@role_required("instructor")
def jury_close(call_id: int):
    """Fire ``close_review`` on each of the call's in-review applications; report each
    refusal (missing reviews unless forced with a reason)."""
    call = _call_to_act_on(call_id)
    form = CloseReviewForm()
    if not form.validate():
        return _render_jury(call, close_form=form, status=422)
    data = ({"force": True, "comment": form.reason.data.strip()} if form.force.data else {})
    apps = _applications(call, ("in_review",))
    closed, failed = 0, []
    for app in apps:
        try:
            workflow.fire(app, "close_review", current_user, dict(data))
            closed += 1
        except DomainError as exc:
            db.session.rollback()
            failed.append(f"{app.reference} ({_(exc.message)})")
    if not apps:
        flash(_("Aucun dossier en cours d'évaluation dans cet appel."), "info")
    if closed:
        flash(ngettext("%(num)s dossier clos : évaluation terminée.",
                       "%(num)s dossiers clos : évaluation terminée.", closed), "success")
    if failed:
        flash(ngettext("%(num)s dossier non clos : %(list)s. Pour clore malgré tout, cochez "
                       "« clore aussi » et donnez un motif.",
                       "%(num)s dossiers non clos : %(list)s. Pour clore malgré tout, cochez "
                       "« clore aussi » et donnez un motif.", len(failed),
                       list=" ; ".join(failed)), "error")
    return redirect(url_for("instructor.jury_call", call_id=call.id) + "#cloture")


@bp.get("/appels/<int:call_id>/jury.xlsx")
@role_required("instructor")
def jury_report(call_id: int):
    call = _call(call_id)
    return send_file(io.BytesIO(jury_export.build(call)), mimetype=XLSX, as_attachment=True,
                     download_name=f"jury-appel-{call.id}.xlsx", max_age=0)


@dataclass
class RankRow:
    app: Application
    result: aggregation.AppAggregate
    rank: int | None
    near: bool
    movers: list[str]
    drawn: bool = False  # tied on score: placed by the draw


@dataclass
class JurorStats:
    juror: str
    totals: list[float]
    mean: float | None
    minimum: float | None
    maximum: float | None
    spread: float | None


@bp.get("/appels/<int:call_id>/jury/classement")
@role_required("instructor")
def jury_ranking(call_id: int):
    call = _call(call_id)
    method = request.args.get("methode", "mean")
    if method not in aggregation.METHODS:
        method = "mean"
    apps = _applications(call, RANKED_STATES)
    scores = scoring.call_scores(call.id)
    results = aggregation.aggregate(
        scores, application_ids=[a.id for a in apps], method=method, scale=call.scale,
        min_reviews=call.min_reviews, threshold=float(call.disagreement_threshold))
    line = call.min_total
    movers = aggregation.leave_one_juror_out(
        scores, line=float(line), method=method, scale=call.scale,
        min_reviews=call.min_reviews) if scores else {}
    names = _names({j for _, j in scores} | {m.user_id for m in call.jury})
    margin = Decimal(call.scale) / 10
    # The one ranking (the allocation engine's): score, then the replayable draw; the
    # unscored follow, by reference.
    ranks = allocation.ranking(call, [a.id for a in apps], method) if apps else {}
    ordered = sorted(apps, key=lambda a: (ranks[a.id] is None, ranks[a.id] or 0))
    ties = Counter(results[a.id].score for a in apps if ranks[a.id] is not None)
    rows = []
    for app in ordered:
        result = results[app.id]
        moved = [names.get(j, str(j)) for j in movers.get(app.id, [])]
        near = result.score is not None and (abs(result.score - line) <= margin or bool(moved))
        rows.append(RankRow(app, result, ranks[app.id], near, moved,
                            drawn=ranks[app.id] is not None and ties[result.score] > 1))
    jurors = _juror_stats(scores, names)
    strip = charts.strip_chart([(j.juror, j.totals) for j in jurors], call.scale, line)
    bars = charts.bar_chart([(r.app.reference or "—", r.result.score, r.result.flagged, r)
                             for r in rows if r.result.score is not None], call.scale, line)
    in_force = allocation.run_in_force(call)
    return render_template(
        "instructor/jury/ranking.html", call=call, method=method, methods=METHOD_LABELS,
        seed=allocation.ranking_seed(call, in_force), run_in_force=in_force,
        rows=rows, alpha=aggregation.krippendorff_alpha(scores), jurors=jurors,
        strip=strip, bars=bars, line=line, margin=margin,
        flagged=[r for r in rows if r.result.flagged],
        unscored=sum(1 for r in rows if r.result.score is None))


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_(ids)))}


def _juror_stats(scores: aggregation.Scores, names: dict[int, str]) -> list[JurorStats]:
    given: dict[int, list[float]] = {}
    for (_app, juror), total in scores.items():
        given.setdefault(juror, []).append(total)
    out = []
    for juror, totals in given.items():
        totals.sort()
        out.append(JurorStats(
            names.get(juror, str(juror)), totals, statistics.fmean(totals), totals[0],
            totals[-1], statistics.stdev(totals) if len(totals) > 1 else None))
    return sorted(out, key=lambda j: j.juror)

