"""Properties of the allocation engine over random applications, envelopes and parameters
(SPEC 5). Budgets are drawn smaller than the requests, so that the invariants bind."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from aap.allocation import Candidate, Envelope, Parameters, allocate, rows_bytes

KEYS = ("aix", "istres", "marseille")
scores = st.one_of(st.none(), st.integers(0, 200).map(lambda n: D(n) / 10))


@st.composite
def candidates(draw) -> list[Candidate]:
    n = draw(st.integers(1, 25))
    out = []
    for i in range(1, n + 1):
        requested = draw(st.integers(1, 40)) * 500_00
        out.append(Candidate(
            application_id=i, reference=f"AAP-2026-{i:04d}", score=draw(scores),
            requested_cents=requested, organisation_id=draw(st.integers(1, 6)),
            project_cost_cents=requested + draw(st.integers(0, 40)) * 500_00,
            envelope=draw(st.sampled_from((*KEYS, None)))))
    return out


@st.composite
def parameters(draw, cands: list[Candidate]) -> Parameters:
    asked = sum(c.requested_cents for c in cands)
    budget = draw(st.integers(0, max(asked, 1)))  # at most the requests: the budget binds
    envelopes = ()
    if draw(st.booleans()):
        envelopes = tuple(Envelope(k, k.title(), draw(st.integers(0, max(budget, 1))))
                          for k in KEYS)
    return Parameters(
        budget_cents=budget, seed=draw(st.text(min_size=1, max_size=12)),
        envelopes=envelopes, pool_leftovers=draw(st.booleans()),
        min_total=D(draw(st.integers(0, 150))) / 10,
        overflow=draw(st.sampled_from(("partial", "skip", "stop"))),
        partial_min_share=D(draw(st.integers(0, 100))) / 100,
        cap_per_application_cents=draw(st.one_of(st.none(), st.integers(1, 20).map(
            lambda n: n * 1000_00))),
        cap_share_of_cost=draw(st.one_of(st.none(), st.integers(1, 100).map(
            lambda n: D(n) / 100))),
        cap_per_organisation_cents=draw(st.one_of(st.none(),
                                                  st.integers(1, 40).map(lambda n: n * 1000_00))),
        grey_zone=D(draw(st.sampled_from((0, 0, 5, 10, 20)))) / 10,
    )


@st.composite
def runs(draw):
    cands = draw(candidates())
    return cands, draw(parameters(cands))


@given(runs())
def test_the_call_and_every_envelope_stay_within_their_budgets(run):
    cands, params = run
    result = allocate(cands, params)
    assert result.total_proposed_cents <= params.budget_cents
    budgets = {e.key: e.budget_cents for e in params.envelopes}
    own = defaultdict(int)
    pooled = 0
    for row in result.rows:
        assert row.proposed_cents >= 0
        if row.envelope in budgets:
            own[row.envelope] += row.proposed_cents - row.pooled_cents
            pooled += row.pooled_cents
        else:
            assert row.pooled_cents == 0
    for key, spent in own.items():
        assert spent <= budgets[key], key
    # the pool is only what the envelopes left
    assert pooled <= sum(budgets[k] - own.get(k, 0) for k in budgets)
    if not params.pool_leftovers:
        assert pooled == 0


@given(runs())
def test_nobody_gets_more_than_asked_or_than_a_cap(run):
    cands, params = run
    result = allocate(cands, params)
    by_id = {c.application_id: c for c in cands}
    per_org = defaultdict(int)
    for row in result.rows:
        c = by_id[row.application_id]
        assert row.proposed_cents <= c.requested_cents
        if params.cap_per_application_cents is not None:
            assert row.proposed_cents <= params.cap_per_application_cents
        if params.cap_share_of_cost is not None:
            assert row.proposed_cents <= params.cap_share_of_cost * c.project_cost_cents
        per_org[c.organisation_id] += row.proposed_cents
        assert (row.outcome == "funded") == (row.proposed_cents == c.requested_cents > 0)
        assert (row.outcome in ("waitlisted", "rejected")) == (row.proposed_cents == 0)
    if params.cap_per_organisation_cents is not None:
        assert max(per_org.values()) <= params.cap_per_organisation_cents


@given(runs())
def test_a_strictly_higher_score_never_ranks_below_a_lower_one(run):
    """Outside the grey zone, whose scores are drawn on purpose."""
    cands, params = run
    params = replace(params, grey_zone=D(0))
    ranked = [r for r in allocate(cands, params).rows if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    for better, worse in itertools.pairwise(ranked):
        assert better.score >= worse.score


@given(runs())
def test_the_grey_zone_only_reorders_scores_near_each_other(run):
    cands, params = run
    ranked = [r for r in allocate(cands, params).rows if r.rank is not None]
    for i, higher in enumerate(ranked):
        for lower in ranked[i + 1:]:
            if lower.score > higher.score:  # an inversion: both drawn, within the margin
                assert lower.drawn and higher.drawn
                assert lower.score - higher.score <= 2 * params.grey_zone


@given(runs())
def test_only_scores_at_or_above_the_minimum_are_ranked(run):
    cands, params = run
    for row in allocate(cands, params).rows:
        fundable = row.score is not None and row.score >= params.min_total
        assert (row.rank is not None) == fundable
        if not fundable:
            assert row.outcome == "rejected" and row.proposed_cents == 0


@given(runs())
def test_under_stop_nothing_after_the_first_unfunded_gets_money(run):
    cands, params = run
    params = replace(params, overflow="stop")
    ranked = [r for r in allocate(cands, params).rows if r.rank is not None]
    unfunded = [r.rank for r in ranked if r.proposed_cents == 0]
    if unfunded:
        assert all(r.proposed_cents == 0 for r in ranked if r.rank > unfunded[0])


@given(runs())
def test_greedy_funds_in_rank_order_when_everything_asked_fits(run):
    """No knapsack: with room for everyone, every ranked application is funded in full
    (within its caps), whatever the rule."""
    cands, params = run
    params = replace(params, budget_cents=sum(c.requested_cents for c in cands),
                     envelopes=(), cap_per_application_cents=None, cap_share_of_cost=None,
                     cap_per_organisation_cents=None)
    for row in allocate(cands, params).rows:
        if row.rank is not None:
            assert row.outcome == "funded"


@given(runs(), st.randoms(use_true_random=False))
def test_same_inputs_same_rows_byte_for_byte_in_any_order(run, rnd: random.Random):
    cands, params = run
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    first, second = allocate(cands, params), allocate(shuffled, params)
    assert first.digest == second.digest
    assert rows_bytes(first.rows) == rows_bytes(second.rows)


@given(runs(), st.data())
def test_the_digest_changes_when_any_input_changes(run, data):
    cands, params = run
    before = allocate(cands, params).digest
    changed_params = [
        replace(params, budget_cents=params.budget_cents + 1),
        replace(params, seed=params.seed + "x"),
        replace(params, min_total=params.min_total + D("0.1")),
        replace(params, overflow={"partial": "skip", "skip": "stop", "stop": "partial"}[
            params.overflow]),
        replace(params, partial_min_share=params.partial_min_share + D("0.01")),
        replace(params, grey_zone=params.grey_zone + D("0.1")),
        replace(params, pool_leftovers=not params.pool_leftovers),
        replace(params, cap_per_application_cents=(params.cap_per_application_cents or 0) + 1),
        replace(params, cap_per_organisation_cents=(params.cap_per_organisation_cents or 0)
                + 1),
        replace(params, cap_share_of_cost=(params.cap_share_of_cost or D(0)) + D("0.01")),
        replace(params, aggregation="median"),
        replace(params, envelopes=(*params.envelopes, Envelope("new", "Nouvelle", 1))),
    ]
    for other in changed_params:
        assert allocate(cands, other).digest != before, other
    i = data.draw(st.integers(0, len(cands) - 1))
    c = cands[i]
    changed_candidates = [
        replace(c, score=(c.score or D(0)) + D("0.001")),
        replace(c, requested_cents=c.requested_cents + 1),
        replace(c, reference=c.reference + "b"),
        replace(c, organisation_id=c.organisation_id + 100),
        replace(c, project_cost_cents=c.project_cost_cents + 1),
        replace(c, envelope="autre"),
    ]
    for other in changed_candidates:
        assert allocate([*cands[:i], other, *cands[i + 1:]], params).digest != before, other
