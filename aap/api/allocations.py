"""Allocation runs (SPEC 5, 7.1): simulate, commit, list, read, compare."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.allocation import OUTCOMES, OVERFLOW_RULES
from aap.api.auth import (
    SECURITY,
    call_access,
    call_or_404,
    call_to_act_on,
    current_api_user,
    roles_required,
    token_required,
)
from aap.api.schemas import (
    Cents,
    DecimalString,
    PageArgs,
    StrictBoolean,
    StrictDecimal,
    StrictSchema,
    length,
    one_of,
)
from aap.errors import NotFound
from aap.extensions import db
from aap.models import AllocationRun, User
from aap.services import allocation, policies
from aap.services.aggregation import METHODS

blp = Blueprint("api_allocations", __name__, description="Allocation runs (SPEC 5)")


class AllocationIn(StrictSchema):
    """What-if parameters; each one left out takes the call's setting."""

    budget_cents = Cents(metadata={"description": "Default: what is left of the call's "
                                                  "budget (granted and proposed excluded)."})
    min_total = StrictDecimal(minimum=0, maximum=1000, places=3)
    overflow = fields.String(validate=one_of(OVERFLOW_RULES),
                             metadata={"enum": list(OVERFLOW_RULES)})
    aggregation = fields.String(validate=one_of(METHODS), metadata={"enum": list(METHODS)})
    grey_zone = StrictDecimal(minimum=0, maximum=1000, places=3)
    partial_min_share = StrictDecimal(minimum=0, maximum=1, places=4)
    pool_leftovers = StrictBoolean()
    cap_per_application_cents = Cents()
    cap_share_of_cost = StrictDecimal(minimum=0, maximum=1, places=4, exclusive_minimum=True)
    cap_per_organisation_cents = Cents()
    seed = fields.String(required=True, validate=length(1, 200), metadata={
        "description": "The draw's seed: ties and the grey zone are ordered by "
                       "SHA-256(seed ‖ reference). A public number fixed after the list "
                       "is frozen, e.g. a lottery draw."})
    commit = StrictBoolean(load_default=False, metadata={
        "description": "Commit at once: every row fires propose, waitlist or reject in "
                       "one transaction, and the run replaces the one in force."})


class RowOut(Schema):
    application_id = fields.Integer()
    rank = fields.Integer(allow_none=True)
    score = DecimalString(allow_none=True)
    requested_cents = fields.Integer()
    proposed_cents = fields.Integer()
    pooled_cents = fields.Integer()
    outcome = fields.String(metadata={"enum": list(OUTCOMES)})
    reason = fields.String()
    envelope = fields.String(allow_none=True)
    drawn = fields.Boolean()


class RunSummaryOut(Schema):
    id = fields.Integer()
    call_id = fields.Integer()
    committed = fields.Boolean()
    in_force = fields.Boolean()
    committed_at = fields.AwareDateTime(allow_none=True)
    superseded_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    created_by = fields.String(allow_none=True)
    digest = fields.String()
    seed = fields.String()
    budget_cents = fields.Integer()
    total_proposed_cents = fields.Integer()
    parameters = fields.Dict(metadata={"description": "Every parameter of the run."})


class RunOut(RunSummaryOut):
    rows = fields.List(fields.Nested(RowOut))


class RunPage(Schema):
    items = fields.List(fields.Nested(RunSummaryOut))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class ChangeOut(Schema):
    application_id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    before_outcome = fields.String(allow_none=True)
    after_outcome = fields.String(allow_none=True)
    before_cents = fields.Integer()
    after_cents = fields.Integer()
    delta_cents = fields.Integer()


class CompareOut(Schema):
    first = fields.Nested(RunSummaryOut)
    second = fields.Nested(RunSummaryOut)
    changes = fields.List(fields.Nested(ChangeOut))


def run_summary(run: AllocationRun) -> dict:
    params = dict(run.parameters or {})
    author = db.session.get(User, run.created_by_id) if run.created_by_id else None
    return {"id": run.id, "call_id": run.call_id, "committed": run.committed,
            "in_force": run.in_force, "committed_at": run.committed_at,
            "superseded_at": run.superseded_at, "created_at": run.created_at,
            "created_by": author.display_name if author else None, "digest": run.digest,
            "seed": run.seed, "budget_cents": run.budget_cents,
            "total_proposed_cents": run.total_proposed_cents, "parameters": params}


def run_out(run: AllocationRun) -> dict:
    return {**run_summary(run), "rows": [
        {"application_id": r.application_id, "rank": r.rank, "score": r.score,
         "requested_cents": r.requested_cents, "proposed_cents": r.proposed_cents,
         "pooled_cents": r.pooled_cents, "outcome": r.outcome, "reason": r.reason,
         "envelope": r.envelope, "drawn": r.drawn} for r in allocation.rows_of(run)]}


def _run_or_404(run_id: int) -> AllocationRun:
    """A run of a call the caller reads as instructor (another authority's is 404)."""
    return policies.readable_run(current_api_user(), run_id)


@blp.route("/calls/<int:call_id>/allocations", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@call_access("instructor", act=True)
@blp.arguments(AllocationIn)
@blp.response(201, RunOut)
def create_run(data, call_id):
    """Simulate an allocation of the call's reviewed applications (what-if parameters
    optional), or commit it with ``commit: true`` (409 when nothing is left to allocate)."""
    call = g.call
    seed, commit = data.pop("seed"), data.pop("commit")
    action = allocation.commit if commit else allocation.simulate
    return run_out(action(call, current_api_user(), data, seed=seed))


@blp.route("/calls/<int:call_id>/allocations", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RunPage)
def list_runs(args, call_id):
    """The call's runs, newest first: parameters, digest, committed, who and when."""
    runs = allocation.runs_of(call_or_404(call_id, "instructor"))
    page, per_page = args["page"], args["per_page"]
    chosen = runs[(page - 1) * per_page: page * per_page]
    return {"items": [run_summary(r) for r in chosen], "page": page,
            "pages": max(1, -(-len(runs) // per_page)), "total": len(runs)}


@blp.route("/allocations/<int:allocation_id>", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, RunOut)
def get_run(allocation_id):
    """One run with its rows, in rank order, then the unranked."""
    return run_out(_run_or_404(allocation_id))


@blp.route("/allocations/<int:allocation_id>/commit", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, RunOut)
def commit_run(allocation_id):
    """Commit a stored simulation as it was computed: 409 ``stale_run`` when its inputs
    (applications, scores, budget) changed since."""
    run = _run_or_404(allocation_id)
    call = call_to_act_on(run.call_id, "instructor")
    return run_out(allocation.commit(call, current_api_user(), run_id=run.id))


@blp.route("/allocations/<int:allocation_id>/compare/<int:other_id>", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required("instructor")
@blp.response(200, CompareOut)
def compare_runs(allocation_id, other_id):
    """Who changes outcome or amount from one run to another of the same call."""
    first, second = _run_or_404(allocation_id), _run_or_404(other_id)
    if first.call_id != second.call_id:
        raise NotFound("Ces deux répartitions ne portent pas sur le même appel.")
    changes = allocation.compare(first, second)
    return {"first": run_summary(first), "second": run_summary(second), "changes": [
        {"application_id": c.application_id, "reference": c.reference, "title": c.title,
         "before_outcome": c.before.outcome if c.before else None,
         "after_outcome": c.after.outcome if c.after else None,
         "before_cents": c.before.proposed_cents if c.before else 0,
         "after_cents": c.after.proposed_cents if c.after else 0,
         "delta_cents": c.delta_cents} for c in changes]}
