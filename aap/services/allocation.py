"""Allocation runs (SPEC 5): the engine's inputs read from the database, simulations
stored as runs, a commit that moves every row through the workflow in one transaction,
replays and comparisons. The ranking pages, the jury workbook and the search all order
applications through :func:`ranking`, so there is one ranking and one tie rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import case, func, insert, select, update

from aap.allocation import engine
from aap.allocation.engine import Candidate, Envelope, Parameters, Result
from aap.database import is_sqlite, write_transaction
from aap.errors import Conflict, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import AllocationRow, AllocationRun, Application, BudgetLine, Call, User
from aap.models import Envelope as EnvelopeRow
from aap.models.accounts import Role
from aap.services import audit, policies, scoring
from aap.services.aggregation import METHODS
from aap.timeutil import now
from workflows import get_workflow

#: The state whose applications an allocation run ranks and funds.
RANKED_STATE = "reviewed"
TRIGGER_FOR = {"funded": "propose", "partial": "propose", "waitlisted": "waitlist",
               "rejected": "reject"}
OVERRIDABLE = ("budget_cents", "min_total", "overflow", "aggregation", "grey_zone",
               "partial_min_share", "pool_leftovers", "cap_per_application_cents",
               "cap_share_of_cost", "cap_per_organisation_cents")
NULLABLE = {"cap_per_application_cents", "cap_share_of_cost", "cap_per_organisation_cents"}


# -- the inputs ----------------------------------------------------------------------

def candidates(call: Call, method: str = "mean", state: str = RANKED_STATE,
               application_ids: Iterable[int] | None = None) -> list[Candidate]:
    """The applications of ``call`` in ``state`` as engine candidates, in three queries
    (applications with their envelope key, project costs, juror totals)."""
    query = (select(Application.id, Application.reference, Application.requested_cents,
                    Application.organisation_id, EnvelopeRow.key)
             .outerjoin(EnvelopeRow, EnvelopeRow.id == Application.envelope_id)
             .where(Application.call_id == call.id))
    if application_ids is not None:
        query = query.where(Application.id.in_(list(application_ids)))
    else:
        query = query.where(Application.state == state)
    rows = db.session.execute(query.order_by(Application.id)).all()
    ids = [r.id for r in rows]
    costs = _project_costs(ids)
    scores = scoring.call_aggregates(call, ids, method) if ids else {}
    return [Candidate(application_id=r.id, reference=r.reference or f"#{r.id}",
                      score=scores[r.id].score if r.id in scores else None,
                      requested_cents=r.requested_cents, organisation_id=r.organisation_id,
                      project_cost_cents=costs.get(r.id, 0), envelope=r.key)
            for r in rows]


def _project_costs(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(BudgetLine.application_id, func.sum(BudgetLine.amount_cents))
        .where(BudgetLine.application_id.in_(ids), BudgetLine.side == "charges")
        .group_by(BudgetLine.application_id)).all()
    return {app_id: int(total) for app_id, total in rows}  # PostgreSQL sums as numeric


def spoken_for(call: Call) -> tuple[int, dict[int, int]]:
    """Money already committed (grants) or proposed and not yet granted, for the call and
    per envelope id: what a new run must not allocate again."""
    held = Application.committed_cents + case(
        (Application.state == "proposed", Application.proposed_cents), else_=0)
    rows = db.session.execute(
        select(Application.envelope_id, func.coalesce(func.sum(held), 0))
        .where(Application.call_id == call.id).group_by(Application.envelope_id)).all()
    per_envelope = {envelope_id: int(total) for envelope_id, total in rows if envelope_id}
    return sum(int(total) for _, total in rows), per_envelope


def parameters_for(call: Call, overrides: dict | None = None, seed: str | None = None
                   ) -> Parameters:
    """The call's own settings, what is left of its budget and envelopes, and the
    what-if ``overrides`` (any of :data:`OVERRIDABLE`)."""
    overrides = {k: v for k, v in (overrides or {}).items()
                 if v is not None or k in NULLABLE}  # a cap set to None: no cap
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise ValidationFailed("Paramètres inconnus.",
                               fields={k: ["Paramètre inconnu."] for k in sorted(unknown)})
    if overrides.get("aggregation", "mean") not in METHODS:
        raise ValidationFailed("Méthode d'agrégation inconnue.", fields={
            "aggregation": [f"Méthodes possibles : {', '.join(METHODS)}."]})
    held, held_by_envelope = spoken_for(call)
    params = Parameters(
        budget_cents=max(call.budget_cents - held, 0),
        seed=seed or secrets.token_hex(8), scale=call.scale,
        envelopes=tuple(Envelope(e.key, e.label,
                                 max(e.budget_cents - held_by_envelope.get(e.id, 0), 0))
                        for e in call.envelopes),
        pool_leftovers=call.pool_leftovers, min_total=Decimal(call.min_total),
        overflow=call.overflow, partial_min_share=Decimal(call.partial_min_share),
        cap_per_application_cents=call.cap_per_application_cents,
        cap_share_of_cost=call.cap_share_of_cost,
        cap_per_organisation_cents=call.cap_per_organisation_cents,
        grey_zone=Decimal(call.grey_zone or 0), aggregation="mean")
    return replace(params, **overrides)


# -- runs ----------------------------------------------------------------------------

def simulate(call: Call, actor: User, overrides: dict | None = None,
             seed: str | None = None) -> AllocationRun:
    """Compute and store a run without touching any application."""
    policies.require_acting_on_call(actor, call, Role.INSTRUCTOR)
    params = parameters_for(call, overrides, seed)
    cands = candidates(call, params.aggregation)
    result = engine.allocate(cands, params)
    with write_transaction():
        run = _store(call, actor, cands, params, result, committed=False)
    return run


def commit(call: Call, actor: User, overrides: dict | None = None, seed: str | None = None,
           run_id: int | None = None) -> AllocationRun:
    """Compute and commit a run in one transaction, all or nothing: the call row is
    locked, the inputs are read under the lock, every application is locked in id order
    and moved through the workflow (propose, waitlist or reject), and the run replaces
    the one in force. With ``run_id``, the stored simulation is committed only if its
    inputs are unchanged (else 409 ``stale_run``)."""
    policies.require_acting_on_call(actor, call, Role.INSTRUCTOR)
    with write_transaction():
        locked_call = _lock_call(call.id)
        stored = _stored_run(locked_call, run_id) if run_id else None
        if stored is not None:
            cands, params = _today(locked_call, stored)
            if engine.digest(cands, params) != stored.digest:
                raise Conflict("Les données ont changé depuis cette simulation (dossiers, "
                               "notes ou budget) : relancez une simulation.",
                               code="stale_run")
        else:
            params = parameters_for(locked_call, overrides, seed)
            cands = candidates(locked_call, params.aggregation)
        if not cands:
            raise Conflict("Aucun dossier évalué à répartir sur cet appel.",
                           code="nothing_to_allocate")
        result = engine.allocate(cands, params)
        _apply(locked_call, actor, result)
        _supersede(locked_call)
        if stored is not None:
            stored.committed, stored.committed_at = True, now()
            run = stored
        else:
            run = _store(locked_call, actor, cands, params, result, committed=True)
        audit.record_call_action(locked_call, actor, "allocation_committed",
                                 data={"run_id": run.id, "digest": run.digest,
                                       "total_proposed_cents": run.total_proposed_cents})
    return run


def _lock_call(call_id: int) -> Call:
    query = select(Call).where(Call.id == call_id)
    if not is_sqlite():
        query = query.with_for_update(of=Call)
    call = db.session.execute(query.execution_options(populate_existing=True)).scalar()
    if call is None:
        raise NotFound("Appel introuvable.")
    return call


def _stored_run(call: Call, run_id: int) -> AllocationRun:
    run = db.session.get(AllocationRun, run_id)
    if run is None or run.call_id != call.id:
        raise NotFound("Simulation introuvable.")
    if run.committed:
        raise Conflict("Cette répartition est déjà validée.", code="invalid_state")
    return run


def _today(call: Call, run: AllocationRun) -> tuple[list[Candidate], Parameters]:
    """The inputs ``run`` would have today: the same what-if parameters and seed, today's
    budget left and today's reviewed applications (for a committed run, the same
    applications, which have moved on since by design)."""
    stored_candidates, stored = engine.from_canonical(run.document)
    params = parameters_for(call, _overrides_of(stored, call), stored.seed)
    if run.committed:
        ids = [c.application_id for c in stored_candidates]
        return candidates(call, params.aggregation, application_ids=ids), stored
    return candidates(call, params.aggregation), params


def _overrides_of(params: Parameters, call: Call) -> dict:
    """What a stored run changed from the call's settings, to recompute it now."""
    base = parameters_for(call, None, params.seed)
    return {k: getattr(params, k) for k in OVERRIDABLE
            if getattr(params, k) != getattr(base, k)}


def _apply(call: Call, actor: User, result: Result) -> None:
    """Fire each row's trigger on its locked application, in application id order."""
    ids = sorted(r.application_id for r in result.rows)
    query = select(Application).where(Application.id.in_(ids)).order_by(Application.id)
    if not is_sqlite():
        query = query.with_for_update(of=Application)
    apps = {a.id: a for a in db.session.scalars(
        query.execution_options(populate_existing=True)).unique()}
    workflow = get_workflow(call.workflow)
    at = now()
    for row in sorted(result.rows, key=lambda r: r.application_id):
        app = apps[row.application_id]
        trigger = TRIGGER_FOR[row.outcome]
        data = {"amount_cents": row.proposed_cents, "comment": row.reason} \
            if trigger == "propose" else {"comment": row.reason}
        workflow.fire(app, trigger, actor, data, at)


def _supersede(call: Call) -> None:
    db.session.execute(update(AllocationRun).where(
        AllocationRun.call_id == call.id, AllocationRun.committed.is_(True),
        AllocationRun.superseded_at.is_(None)).values(superseded_at=now()))


def _document_columns(document: dict) -> dict:
    return {"parameters": document["parameters"], "inputs": document["applications"]}


def _store(call: Call, actor: User, cands: list[Candidate], params: Parameters,
           result: Result, committed: bool) -> AllocationRun:
    run = AllocationRun(
        call_id=call.id, created_by_id=actor.id, budget_cents=params.budget_cents,
        min_total=params.min_total, aggregation=params.aggregation, overflow=params.overflow,
        partial_min_share=params.partial_min_share, grey_zone=params.grey_zone,
        seed=params.seed, committed=committed, committed_at=now() if committed else None,
        total_proposed_cents=result.total_proposed_cents, digest=result.digest,
        **_document_columns(engine.canonical_document(cands, params)))
    db.session.add(run)
    db.session.flush()
    if result.rows:
        db.session.execute(insert(AllocationRow), [
            {"run_id": run.id, "application_id": r.application_id, "position": i,
             "rank": r.rank, "score": r.score, "requested_cents": r.requested_cents,
             "proposed_cents": r.proposed_cents, "outcome": r.outcome, "reason": r.reason,
             "envelope": r.envelope, "pooled_cents": r.pooled_cents, "drawn": r.drawn}
            for i, r in enumerate(result.rows)])
    return run


# -- reading runs --------------------------------------------------------------------

def runs_of(call: Call) -> list[AllocationRun]:
    return list(db.session.scalars(select(AllocationRun).where(
        AllocationRun.call_id == call.id).order_by(AllocationRun.id.desc())))


def run_in_force(call: Call) -> AllocationRun | None:
    return db.session.scalar(select(AllocationRun).where(
        AllocationRun.call_id == call.id, AllocationRun.committed.is_(True),
        AllocationRun.superseded_at.is_(None)).order_by(AllocationRun.id.desc()))


def rows_of(run: AllocationRun) -> list:
    """The run's rows in their order, as read-only rows (no ORM objects: a run may have
    tens of thousands)."""
    table = AllocationRow.__table__
    return list(db.session.execute(select(table).where(table.c.run_id == run.id)
                                   .order_by(table.c.position)))


@dataclass(frozen=True)
class Replay:
    run: AllocationRun
    rows_match: bool
    digest_match: bool
    inputs_unchanged: bool

    @property
    def matches(self) -> bool:
        return self.rows_match and self.digest_match


def replay(run: AllocationRun) -> Replay:
    """Recompute a stored run from its stored inputs: the digest and the rows must come
    out byte for byte. Also tells whether today's data would give the same inputs."""
    cands, params = engine.from_canonical(run.document)
    result = engine.allocate(cands, params)
    stored = [engine.Row(r.application_id, "", r.rank, r.score, r.requested_cents,
                         r.proposed_cents, r.outcome, r.reason, r.envelope, r.pooled_cents,
                         r.drawn) for r in rows_of(run)]
    today = _today(db.session.get(Call, run.call_id), run)
    return Replay(run=run,
                  rows_match=engine.rows_bytes(result.rows) == engine.rows_bytes(stored),
                  digest_match=result.digest == run.digest,
                  inputs_unchanged=engine.digest(*today) == run.digest)


@dataclass(frozen=True)
class Change:
    application_id: int
    reference: str
    title: str
    before: AllocationRow | None
    after: AllocationRow | None

    @property
    def delta_cents(self) -> int:
        return (self.after.proposed_cents if self.after else 0) - \
            (self.before.proposed_cents if self.before else 0)

    @property
    def outcome_changed(self) -> bool:
        return (self.before and self.before.outcome) != (self.after and self.after.outcome)


def compare(first: AllocationRun, second: AllocationRun) -> list[Change]:
    """Who changes outcome or amount between two runs of a call, biggest change first."""
    before = {r.application_id: r for r in rows_of(first)}
    after = {r.application_id: r for r in rows_of(second)}
    ids = sorted(set(before) | set(after))
    titles = dict(db.session.execute(select(Application.id, Application.title)
                                     .where(Application.id.in_(ids))).all()) if ids else {}
    refs = dict(db.session.execute(select(Application.id, Application.reference)
                                   .where(Application.id.in_(ids))).all()) if ids else {}
    changes = [Change(i, refs.get(i) or f"#{i}", titles.get(i, ""), before.get(i),
                      after.get(i)) for i in ids]
    changed = [c for c in changes if c.outcome_changed or c.delta_cents]
    return sorted(changed, key=lambda c: (-abs(c.delta_cents), c.application_id))


# -- the one ranking -----------------------------------------------------------------

def ranking_seed(call: Call, in_force: AllocationRun | None = None) -> str:
    """The seed that orders ties outside a run: the run in force's, else the call's own."""
    in_force = in_force or run_in_force(call)
    return in_force.seed if in_force else f"appel-{call.id}"


def ranking(call: Call, application_ids: Iterable[int], method: str = "mean"
            ) -> dict[int, int | None]:
    """Each application's rank under the engine's order: score, then the replayable draw
    (seeded like the run in force, else with the call's id); None without a score."""
    cands = candidates(call, method, application_ids=application_ids)
    params = Parameters(budget_cents=0, seed=ranking_seed(call), scale=call.scale)
    return {r.application_id: r.rank for r in engine.allocate(cands, params).rows}
