"""Scores through the API (SPEC 5 and 7.1): ``GET /applications/{id}`` gives the
aggregate, the number of counted reviews and the disagreement flag; the review lists
show a recusal to instructors and hide it from jurors. Expected values are the hand
computations of ``tests.scoring_panel``, where a juror is recused after scoring."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests import scoring_panel
from tests.api.helpers import assert_error, ok
from tests.scoring_panel import EXPECTED


@pytest.fixture
def panel(world):
    return scoring_panel.build(world)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_application_carries_its_counted_score_and_flag(api, world, panel, name):
    body = ok(api.get(f"/applications/{panel.id(name)}", as_=world.users["instructor"]))
    expected = EXPECTED[name]
    score = None if body["score"] is None else Decimal(body["score"])
    assert (score, body["review_count"], body["disagreement"]) == (
        expected.score, expected.n, expected.flagged)


def test_the_recused_juror_no_longer_reads_the_application(api, panel):
    recused = panel.jurors["A"]
    assert_error(api.get(f"/applications/{panel.id('recused')}", as_=recused), 404,
                 "not_found")
    assert_error(api.get(f"/applications/{panel.id('recused')}/reviews", as_=recused), 404,
                 "not_found")
    # on the others it stays a juror with its own score
    body = ok(api.get(f"/applications/{panel.id('agree')}", as_=recused))
    assert body["id"] == panel.id("agree")


def test_instructors_read_the_recusal_with_the_score_it_no_longer_counts(api, world, panel):
    listed = ok(api.get(f"/applications/{panel.id('recused')}/reviews",
                        as_=world.users["instructor"]))
    by_juror = {r["juror_id"]: (r["conflict"], r["submitted"], Decimal(r["total"]))
                for r in listed}
    a, b, c = (panel.jurors[k].id for k in "ABC")
    assert by_juror == {a: (True, True, Decimal(20)), b: (False, True, Decimal(8)),
                        c: (False, True, Decimal(12))}


def test_a_juror_reads_only_the_counted_reviews_of_the_others(api, panel):
    listed = ok(api.get(f"/applications/{panel.id('recused')}/reviews",
                        as_=panel.jurors["B"]))
    assert sorted((r["juror_id"], Decimal(r["total"])) for r in listed) == sorted(
        [(panel.jurors["B"].id, Decimal(8)), (panel.jurors["C"].id, Decimal(12))])
    assert not any(r["conflict"] for r in listed)
    # on "disagree", C's recused draft is not shown to the jurors who submitted
    listed = ok(api.get(f"/applications/{panel.id('disagree')}/reviews",
                        as_=panel.jurors["A"]))
    assert sorted(r["juror_id"] for r in listed) == sorted(
        [panel.jurors["A"].id, panel.jurors["B"].id])


def test_the_applicant_sees_no_score_before_the_decision(api, world, panel):
    body = ok(api.get(f"/applications/{panel.id('disagree')}", as_=world.users["applicant"]))
    assert {"score", "review_count", "disagreement"}.isdisjoint(body)
