"""``aap.services.aggregation`` against hand computations (SPEC 5), on small panels where
each method's result can be worked out on paper.

Incomplete design, two jurors (A = 1, B = 2), scores s(application, juror):
    s(1, A) = 10, s(2, A) = 14, s(2, B) = 18, s(3, B) = 12
- centred: s = a_i + b_j with b_A + b_B = 0; applications 1 and 3 have one score each,
  so only application 2 constrains the offsets: a_2 + b = 14, a_2 − b = 18, hence
  b_A = −2, b_B = +2, and the centred scores are 10 + 2 = 12, 16, 12 − 2 = 10
  (the plain means are 10, 16, 12);
- normalized: A's totals 10, 14 (mean 12, population sd 2) give z = −1, +1; B's 18, 12
  (mean 15, sd 3) give z = +1, −1; the panel's mean is 13.5 and its population sd
  sqrt(35/4) = 2.95804; so 13.5 − 2.95804 = 10.542 for 1 and 3, 16.458 for 2.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from aap.services import aggregation

D = Decimal
A, B, C = 1, 2, 3
PANEL = {(1, A): 10.0, (2, A): 14.0, (2, B): 18.0, (3, B): 12.0}


def _scores(scores, method, ids=None, **options):
    ids = ids or sorted({a for a, _ in scores})
    result = aggregation.aggregate(scores, application_ids=ids, method=method, **options)
    return {a: result[a].score for a in ids}


def test_centred_removes_each_jurors_offset():
    assert aggregation.juror_offsets(PANEL) == pytest.approx({A: -2.0, B: 2.0})
    assert _scores(PANEL, "centred") == {1: D("12.000"), 2: D("16.000"), 3: D("10.000")}
    assert _scores(PANEL, "mean") == {1: D("10.000"), 2: D("16.000"), 3: D("12.000")}


def test_centred_stays_on_the_scale():
    # s(1, A) = 19.5 with b_A = −2 would be 21.5: the scale (20 by default) caps it.
    panel = {**PANEL, (1, A): 19.5}
    assert _scores(panel, "centred")[1] == D("20.000")
    assert _scores(panel, "centred", scale=25)[1] == D("21.500")


def test_a_single_juror_has_no_offset():
    assert aggregation.juror_offsets({(1, A): 10.0, (2, A): 14.0}) == {A: 0.0}
    assert _scores({(1, A): 10.0, (2, A): 14.0}, "centred") == {1: D("10.000"),
                                                               2: D("14.000")}


def test_normalized_maps_mean_z_scores_back_to_the_panel():
    assert _scores(PANEL, "normalized") == {1: D("10.542"), 2: D("16.458"), 3: D("10.542")}


def test_normalized_with_a_juror_of_small_spread_and_one_without_spread():
    # D scored 10 and 11: mean 10.5, sd 0.5, z = −1, +1; the panel is the same: 10, 11.
    assert _scores({(4, 9): 10.0, (5, 9): 11.0}, "normalized") == {4: D("10.000"),
                                                                   5: D("11.000")}
    # C scored a single application: no spread, z = 0, i.e. the panel's mean, 13.667.
    scores = {(1, A): 10.0, (2, A): 14.0, (3, C): 17.0}
    assert _scores(scores, "normalized")[3] == D("13.667")


def test_normalized_stays_on_the_scale():
    # A: 0 and 20 (z = −1, +1); panel mean 10, sd 10: 0 and 20 exactly, within [0, 20].
    assert _scores({(1, A): 0.0, (2, A): 20.0}, "normalized") == {1: D("0.000"),
                                                                  2: D("20.000")}


def test_scores_round_half_up_to_three_places():
    assert _scores({(1, A): 13.0005}, "mean") == {1: D("13.001")}
    assert _scores({(1, A): 13.0015}, "mean") == {1: D("13.002")}


def test_the_report_columns_and_the_disagreement_flag():
    scores = {(1, A): 10.0, (1, B): 16.0, (2, A): 10.0, (2, B): 11.0, (2, C): 18.0,
              (3, A): 10.0, (3, B): 12.0, (4, A): 15.0}
    result = aggregation.aggregate(scores, application_ids=[1, 2, 3, 4, 5],
                                   threshold=math.sqrt(2))
    one, two, three, four, five = (result[i] for i in range(1, 6))
    assert [r.application_id for r in (one, two, three, four, five)] == [1, 2, 3, 4, 5]
    # two scores already have a spread: stdev(10, 16) = sqrt(18) = 4.243
    assert (one.n, one.spread, one.flagged) == (2, D("4.243"), True)
    assert (two.n, two.median, two.minimum, two.maximum) == (3, D("11.000"), D("10.000"),
                                                             D("18.000"))
    # stdev(10, 12) = sqrt(2): equal to the threshold is not above it
    assert (three.spread, three.flagged) == (D("1.414"), False)
    assert (four.n, four.score, four.median, four.spread, four.flagged) == (
        1, D("15.000"), D("15.000"), None, False)  # one score is enough by default
    assert (five.n, five.score, five.median, five.minimum) == (0, None, None, None)
    assert all(value is None for value in five.by_method.values())


def test_too_few_scores_give_no_score_under_any_method():
    result = aggregation.aggregate({(1, A): 12.0, (2, A): 10.0, (2, B): 14.0},
                                   application_ids=[1, 2], min_reviews=2)
    assert result[1].score is None
    assert set(result[1].by_method.values()) == {None}
    assert result[1].median == D("12.000")  # still shown beside it
    assert result[2].by_method["mean"] == D("12.000")
