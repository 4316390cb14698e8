"""Scores on the database path: reviews saved through the services, recusals after
scoring, and the aggregates and disagreement flags that scoring, search and the
aggregation service give, against the hand computations of ``tests.scoring_panel``."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from aap.extensions import db
from aap.services import jury, reviews, scoring, search
from aap.services.calls import set_jury
from tests import factories, scoring_panel
from tests.scoring_panel import EXPECTED

D = Decimal


@pytest.fixture
def panel(world):
    return scoring_panel.build(world)


def _as_expected(result) -> scoring_panel.Expected:
    return scoring_panel.Expected(result.n, result.score, result.median, result.minimum,
                                  result.maximum, result.spread, result.flagged)


def test_the_counted_scores_leave_out_recusals_and_drafts(panel):
    a, b, c = (panel.jurors[k].id for k in "ABC")
    assert scoring.call_scores(panel.apps["agree"].call_id) == {
        (panel.id("agree"), a): 16.0, (panel.id("agree"), b): 16.0,
        (panel.id("agree"), c): 12.0,
        (panel.id("recused"), b): 8.0, (panel.id("recused"), c): 12.0,
        (panel.id("disagree"), a): 20.0, (panel.id("disagree"), b): 4.0,
        (panel.id("boundary"), a): 8.0, (panel.id("boundary"), b): 12.0,
        (panel.id("boundary"), c): 16.0,
        (panel.id("single"), a): 20.0,
    }


@pytest.mark.parametrize("name", list(EXPECTED))
def test_application_aggregate(panel, name):
    result = scoring.application_aggregate(panel.apps[name])
    assert _as_expected(result) == EXPECTED[name]
    assert scoring.aggregate(panel.apps[name]) == EXPECTED[name].score


def test_call_aggregates_and_median(panel):
    ids = [panel.id(n) for n in EXPECTED]
    call = panel.apps["agree"].call
    mean = scoring.call_aggregates(call, ids)
    assert {n: _as_expected(mean[panel.id(n)]) for n in EXPECTED} == EXPECTED
    median = scoring.call_aggregates(call, ids, method="median")
    assert {n: median[panel.id(n)].score for n in EXPECTED} == {
        "agree": D("16.000"), "recused": D("10.000"), "disagree": D("12.000"),
        "boundary": D("12.000"), "single": None}


def test_a_recusal_after_scoring_takes_the_score_out(world):
    """The same three submitted totals 20, 8, 12, before and after A's recusal."""
    third = factories.make_user(["juror"])
    a, b = world.users["juror"], world.users["juror2"]
    set_jury(world.call, [a.id, b.id, third.id])
    world.call.min_reviews = 2
    db.session.commit()
    app = world.bring_to(world.application(), "in_review")
    for juror, (p, f) in ((a, (5, 5)), (b, (2, 2)), (third, (3, 3))):
        reviews.save_review(juror, app, {"scores": {"pertinence": p, "faisabilite": f},
                                         "submit": True})
    before = scoring.application_aggregate(app)
    # mean(20, 8, 12) = 13.333; sd = √(((20-40/3)² + (8-40/3)² + (12-40/3)²) / 2) = 6.110
    assert (before.n, before.score, before.spread, before.flagged) == (
        3, D("13.333"), D("6.110"), True)
    jury.record_conflict(world.users["instructor"], app, a, "Trésorier du porteur.")
    after = scoring.application_aggregate(app)
    assert (after.n, after.score, after.spread, after.flagged) == (
        2, D("10.000"), D("2.828"), False)


@pytest.mark.parametrize(("threshold", "flagged"), [
    ("4", {"disagree"}),
    ("3.999", {"disagree", "boundary"}),   # 4.000 is above 3.999
    ("2.5", {"disagree", "boundary", "recused"}),
    ("2", {"disagree", "boundary", "recused", "agree"}),
    ("11.3", {"disagree"}),
    ("12", set()),
    ("0", {"disagree", "boundary", "recused", "agree"}),  # one score has no spread
])
def test_the_call_sets_the_disagreement_threshold(panel, threshold, flagged):
    call = panel.apps["agree"].call
    call.disagreement_threshold = D(threshold)
    db.session.commit()
    results = scoring.call_aggregates(call, [panel.id(n) for n in EXPECTED])
    assert {n for n in EXPECTED if results[panel.id(n)].flagged} == flagged


def _filters(**kw) -> search.Filters:
    return search.Filters(call_id=None, **kw)


def test_the_instruction_list_shows_the_same_aggregates(panel, world):
    page = search.search(world.users["instructor"], _filters())
    by_id = {a.id: a for a in page.items}
    assert set(by_id) == {panel.id(n) for n in EXPECTED}
    assert {n: _as_expected(page.scores[panel.id(n)]) for n in EXPECTED} == EXPECTED


def test_sort_by_score_uses_the_counted_scores(panel, world):
    instructor = world.users["instructor"]
    names = {panel.id(n): n for n in EXPECTED}
    best_first = search.search(instructor, _filters(sort="score", descending=True))
    # 14.667, then the two 12s (ties by SHA-256 of the call's seed and the reference,
    # SPEC 5), 10, and no score last
    def draw(name: str) -> str:
        seed = f"appel-{world.call.id}"  # no allocation run in force
        return hashlib.sha256(f"{seed}{panel.apps[name].reference}".encode()).hexdigest()

    tied = sorted(["boundary", "disagree"], key=draw)
    assert [names[a.id] for a in best_first.items] == ["agree", *tied, "recused", "single"]
    worst_first = search.search(instructor, _filters(sort="score", descending=False))
    assert [names[a.id] for a in worst_first.items] == [
        "recused", *tied[::-1], "agree", "single"]
