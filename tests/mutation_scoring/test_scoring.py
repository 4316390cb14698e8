"""``aap.services.scoring`` against hand computations (SPEC 5): the weighted total on the
grid's scale, which reviews count (submitted, not recused, with a total: never a recused
or missing score as 0), a call's juror totals and their aggregates.

The panel used below, on a call of scale 20 needing 2 scores, flagged above a spread of 4:

    application  juror A  juror B  juror C       counted      mean    median  spread (stdev)
    X            10       16       12 (draft)    10, 16       13      13      sqrt(18) = 4.243
    Y            12       13       17            12, 13, 17   14      13      sqrt(7)  = 2.646
    Z            15       recused  —             15           (n=1 < 2: no score)
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from aap.extensions import db
from aap.models import Review
from aap.services import scoring
from tests.factories import make_application, make_call, make_user

D = Decimal
TEN = Decimal(10)


def _grid(*criteria, scale=20):
    return SimpleNamespace(scale=scale, criteria=[
        SimpleNamespace(key=k, weight=w, max_score=m) for k, w, m in criteria])


def test_weighted_total_on_the_scale():
    call = _grid(("pertinence", 2, 5), ("faisabilite", 1, 5))
    # (2×4 + 1×3) / (2×5 + 1×5) × 20 = 11/15 × 20 = 14.666… → 14.667
    assert scoring.weighted_total(call, {"pertinence": D(4), "faisabilite": D(3)}) == D("14.667")
    # a missing criterion counts 0 in the weighted sum: 10/15 × 20 = 13.333…
    assert scoring.weighted_total(call, {"pertinence": D(5)}) == D("13.333")
    assert scoring.weighted_total(call, {"pertinence": D(5), "faisabilite": D(5)}) == D("20.000")
    assert scoring.weighted_total(_grid(("a", 1, 4), scale=10), {"a": D(1)}) == D("2.500")


def test_weighted_total_rounds_half_up_to_three_places():
    # 0.0004 / 16 × 20 = 0.0005: half up gives 0.001 (half even would give 0.000)
    assert scoring.weighted_total(_grid(("a", 1, 16)), {"a": D("0.0004")}) == D("0.001")
    assert scoring.weighted_total(_grid(("a", 1, 16)), {"a": D("0.0012")}) == D("0.002")


def test_weighted_total_of_an_empty_grid_is_zero():
    assert scoring.weighted_total(_grid(), {"a": D(3)}) == D(0)
    assert scoring.weighted_total(_grid(("a", 0, 5)), {"a": D(3)}) == D(0)


def test_only_submitted_unrecused_reviews_with_a_total_count():
    def review(submitted=True, conflict=False, total=TEN):
        return SimpleNamespace(submitted=submitted, conflict=conflict, total=total)

    counted = review()
    reviews = [counted, review(submitted=False), review(conflict=True),
               review(total=None), review(submitted=False, conflict=True)]
    assert scoring.counted_reviews(reviews) == [counted]
    zero = review(total=D(0))
    assert scoring.counted_reviews([zero]) == [zero]  # a real 0 counts


@pytest.fixture
def panel(world):
    call = make_call(world.fund, min_reviews=2, disagreement_threshold=D(4))
    a, b = world.users["juror"], world.users["juror2"]
    c, d = make_user(["juror"]), make_user(["juror"])
    x, y, z = (make_application(call, world.org) for _ in range(3))
    elsewhere = make_application(world.call, world.org)
    rows = [(x, a, 10, True, False), (x, b, 16, True, False), (x, c, 12, False, False),
            (y, a, 12, True, False), (y, b, 13, True, False), (y, c, 17, True, False),
            (z, a, 15, True, False), (z, b, 19, True, True), (z, d, None, True, False),
            (elsewhere, a, 20, True, False)]
    for app, juror, total, submitted, conflict in rows:
        db.session.add(Review(application_id=app.id, juror_id=juror.id, submitted=submitted,
                              conflict=conflict,
                              total=None if total is None else D(total)))
    db.session.commit()
    return SimpleNamespace(call=call, x=x, y=y, z=z, a=a, b=b, c=c)


def test_call_scores_are_the_counted_totals_of_the_call(panel):
    p = panel
    assert scoring.call_scores(p.call.id) == {
        (p.x.id, p.a.id): 10.0, (p.x.id, p.b.id): 16.0,
        (p.y.id, p.a.id): 12.0, (p.y.id, p.b.id): 13.0, (p.y.id, p.c.id): 17.0,
        (p.z.id, p.a.id): 15.0}


def test_call_aggregates_follow_the_call_settings(panel):
    p = panel
    result = scoring.call_aggregates(p.call, [p.x.id, p.y.id, p.z.id])
    x, y, z = result[p.x.id], result[p.y.id], result[p.z.id]
    assert (x.n, x.score, x.median, x.minimum, x.maximum) == (2, D("13.000"), D("13.000"),
                                                              D("10.000"), D("16.000"))
    assert (x.spread, x.flagged) == (D("4.243"), True)
    assert (y.n, y.score, y.median, y.spread, y.flagged) == (3, D("14.000"), D("13.000"),
                                                             D("2.646"), False)
    assert (z.n, z.score, z.median, z.flagged) == (1, None, D("15.000"), False)
    assert set(result) == {p.x.id, p.y.id, p.z.id}


def test_the_method_is_passed_on_and_defaults_to_the_mean(panel):
    p = panel
    assert scoring.call_aggregates(p.call, [p.y.id], "median")[p.y.id].score == D("13.000")
    assert scoring.call_aggregates(p.call, [p.y.id])[p.y.id].score == D("14.000")
    assert scoring.application_aggregate(p.y).score == D("14.000")
    assert scoring.application_aggregate(p.y, "median").score == D("13.000")
    assert scoring.application_aggregate(p.x).flagged is True
    assert scoring.aggregate(p.y) == D("14.000")
    assert scoring.aggregate(p.z) is None


def test_call_aggregates_use_the_calls_scale(world):
    # A call scored out of 10. Juror A: 9.5 and 7; juror B: 9 and 6, on an incomplete
    # design: a_2 + b_A = 7 and a_2 − b_A = 9 give b_A = −1, b_B = +1, so the centred
    # score of the first application is 9.5 + 1 = 10.5, capped at the scale: 10.
    call = make_call(world.fund, scale=10)
    first, second, third = (make_application(call, world.org) for _ in range(3))
    a, b = world.users["juror"], world.users["juror2"]
    for app, juror, total in ((first, a, "9.5"), (second, a, "7"), (second, b, "9"),
                              (third, b, "6")):
        db.session.add(Review(application_id=app.id, juror_id=juror.id, submitted=True,
                              total=D(total)))
    db.session.commit()
    result = scoring.call_aggregates(call, [first.id, second.id, third.id], "centred")
    assert [result[i].score for i in (first.id, second.id, third.id)] == [
        D("10.000"), D("8.000"), D("5.000")]
