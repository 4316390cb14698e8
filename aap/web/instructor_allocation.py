"""The instructor's allocation pages (SPEC 5): simulate with what-if parameters, read a
run, compare two, commit one. Added to the instructor blueprint."""

from __future__ import annotations

from collections import defaultdict

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from aap.errors import DomainError
from aap.extensions import db
from aap.models import AllocationRun, Application, User
from aap.models.accounts import Role
from aap.services import allocation, budget, policies
from aap.web.access import role_required
from aap.web.helpers import N_
from aap.web.instructor import _call_or_404, _call_to_act_on, bp
from forms.allocation import AGGREGATION_LABELS, AllocationForm, CommitForm
from forms.call import OVERFLOW_LABELS

OUTCOME_LABELS = {"funded": N_("Financé"), "partial": N_("Financé en partie"),
                  "waitlisted": N_("Liste d'attente"), "rejected": N_("Non retenu")}


def _run_or_404(call_id: int, run_id: int) -> AllocationRun:
    """A run of this call, which the instructor reads."""
    return policies.readable_run(current_user, run_id, Role.INSTRUCTOR, call_id=call_id)


def _can_act(call) -> bool:
    return policies.can_act_on_call(current_user, call, Role.INSTRUCTOR)


def _authors(runs: list[AllocationRun]) -> dict[int, str]:
    ids = {r.created_by_id for r in runs if r.created_by_id}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_(ids)))}


def _runs_page(call, form: AllocationForm, status: int = 200, error: str | None = None):
    runs = allocation.runs_of(call)
    return render_template(
        "instructor/allocation/runs.html", call=call, form=form, runs=runs,
        authors=_authors(runs), in_force=allocation.run_in_force(call),
        reviewed=len(allocation.candidates(call)), figures=budget.summary(call),
        overflow_labels=OVERFLOW_LABELS, error=error, can_act=_can_act(call)), status


@bp.get("/appels/<int:call_id>/repartition")
@role_required("instructor")
def allocation_runs(call_id: int):
    call = _call_or_404(call_id)
    form = AllocationForm()
    form.fill(allocation.parameters_for(call))
    return _runs_page(call, form)


@bp.post("/appels/<int:call_id>/repartition")
@role_required("instructor")
def simulate_allocation(call_id: int):
    call = _call_to_act_on(call_id)
    form = AllocationForm()
    if not form.validate_on_submit():
        return _runs_page(call, form, status=422)
    try:
        run = allocation.simulate(call, current_user, form.overrides(), seed=form.seed.data)
    except DomainError as exc:
        db.session.rollback()
        return _runs_page(call, form, status=exc.status, error=_(exc.message))
    flash(_("Simulation enregistrée : aucun dossier n'a changé d'état."), "success")
    return redirect(url_for("instructor.allocation_run", call_id=call.id, run_id=run.id))


def _rows_with_applications(run: AllocationRun) -> list[tuple]:
    rows = allocation.rows_of(run)
    apps = {a.id: a for a in db.session.scalars(select(Application).where(
        Application.id.in_([r.application_id for r in rows]))).unique()} if rows else {}
    return [(r, apps.get(r.application_id)) for r in rows]


def _envelope_totals(run: AllocationRun, rows) -> list[dict]:
    """Per envelope of the run: what it had, what its applications draw on it, and what
    they got from the common pool."""
    spent: dict[str | None, int] = defaultdict(int)
    pooled: dict[str | None, int] = defaultdict(int)
    for row, _app in rows:
        spent[row.envelope] += row.proposed_cents - row.pooled_cents
        pooled[row.envelope] += row.pooled_cents
    envelopes = (run.parameters or {}).get("envelopes", [])
    return [{"label": label, "budget": cents, "spent": spent.get(key, 0),
             "pooled": pooled.get(key, 0)} for key, label, cents in envelopes]


@bp.get("/appels/<int:call_id>/repartition/<int:run_id>")
@role_required("instructor")
def allocation_run(call_id: int, run_id: int, form: CommitForm | None = None,
                   status: int = 200):
    call = _call_or_404(call_id)
    run = _run_or_404(call.id, run_id)
    rows = _rows_with_applications(run)
    others = [r for r in allocation.runs_of(call) if r.id != run.id]
    return render_template(
        "instructor/allocation/run.html", call=call, run=run, rows=rows,
        params=run.parameters or {}, others=others,
        envelopes=_envelope_totals(run, rows), outcome_labels=OUTCOME_LABELS,
        overflow_labels=OVERFLOW_LABELS, aggregation_labels=AGGREGATION_LABELS,
        author=_authors([run]).get(run.created_by_id), form=form or CommitForm(),
        counts={k: sum(1 for r, _a in rows if r.outcome == k) for k in OUTCOME_LABELS},
        can_act=_can_act(call),
    ), status


@bp.post("/appels/<int:call_id>/repartition/<int:run_id>/valider")
@role_required("instructor")
def commit_allocation(call_id: int, run_id: int):
    call = _call_to_act_on(call_id)
    run = _run_or_404(call.id, run_id)
    form = CommitForm()
    if not form.validate_on_submit():
        return allocation_run(call.id, run.id, form=form, status=422)
    try:
        allocation.commit(call, current_user, run_id=run.id)
    except DomainError as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return allocation_run(call.id, run.id, form=form, status=exc.status)
    flash(_("Répartition validée : chaque dossier a reçu sa proposition."), "success")
    return redirect(url_for("instructor.allocation_run", call_id=call.id, run_id=run.id))


@bp.get("/appels/<int:call_id>/repartition/comparer")
@role_required("instructor")
def compare_allocations(call_id: int):
    call = _call_or_404(call_id)
    first_id, second_id = request.args.get("a", type=int), request.args.get("b", type=int)
    if not first_id or not second_id:
        flash(_("Choisissez deux répartitions à comparer."), "error")
        return redirect(url_for("instructor.allocation_runs", call_id=call.id))
    first, second = _run_or_404(call.id, first_id), _run_or_404(call.id, second_id)
    changes = allocation.compare(first, second)
    return render_template(
        "instructor/allocation/compare.html", call=call, first=first, second=second,
        changes=changes, outcome_labels=OUTCOME_LABELS,
        moved=sum(1 for c in changes if c.outcome_changed),
        delta=second.total_proposed_cents - first.total_proposed_cents)
