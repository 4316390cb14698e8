"""Aggregation against hand-computed examples, and invariance properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aap.services.aggregation import (
    METHODS,
    aggregate,
    juror_offsets,
    krippendorff_alpha,
    leave_one_juror_out,
)

D = Decimal


def test_complete_design_centred_equals_mean():
    scores = {(1, 10): 12.0, (1, 20): 16.0, (2, 10): 8.0, (2, 20): 11.0,
              (3, 10): 15.0, (3, 20): 15.0}
    result = aggregate(scores, application_ids=[1, 2, 3], method="centred")
    for app_id in (1, 2, 3):
        assert result[app_id].by_method["centred"] == result[app_id].by_method["mean"]
    assert result[1].score == D("14.000")
    assert result[2].score == D("9.500")


def test_a_severe_juror_is_corrected_in_an_incomplete_design():
    # True quality: app 1 = 14, app 2 = 14, app 3 = 10. Juror A adds 2, juror B takes 2.
    scores = {(1, "A"): 16.0, (1, "C"): 14.0,
              (2, "B"): 12.0, (2, "C"): 14.0,
              (3, "A"): 12.0, (3, "B"): 8.0, (3, "C"): 10.0}
    offsets = juror_offsets(scores)
    assert offsets == pytest.approx({"A": 2.0, "B": -2.0, "C": 0.0}, abs=1e-9)
    result = aggregate(scores, application_ids=[1, 2, 3], method="centred")
    assert result[1].by_method["mean"] == D("15.000")  # the lenient juror helps app 1
    assert result[2].by_method["mean"] == D("13.000")  # the severe one hurts app 2
    assert result[1].score == result[2].score == D("14.000")
    assert result[3].score == D("10.000")


def test_normalisation_removes_a_juror_scale_difference():
    # Juror B uses half of A's scale; both rank the three applications identically.
    scores = {(1, "A"): 18.0, (2, "A"): 12.0, (3, "A"): 6.0,
              (1, "B"): 14.0, (2, "B"): 11.0, (3, "B"): 8.0}
    result = aggregate(scores, application_ids=[1, 2, 3], method="normalized")
    assert result[1].score > result[2].score > result[3].score
    assert result[2].score == D("11.500")  # the panel's mean: both jurors' middle project


def test_median_min_max_n_and_spread():
    scores = {(1, 1): 10.0, (1, 2): 14.0, (1, 3): 18.0, (1, 4): 4.0}
    row = aggregate(scores, application_ids=[1], method="median", threshold=4)[1]
    assert (row.n, row.score, row.minimum, row.maximum) == (4, D("12.000"), D("4.000"),
                                                            D("18.000"))
    assert row.spread == D("5.972")
    assert row.flagged


def test_missing_and_recused_never_count_as_zero_and_min_reviews_applies():
    scores = {(1, 1): 16.0, (2, 1): 12.0, (2, 2): 14.0}
    result = aggregate(scores, application_ids=[1, 2, 3], min_reviews=2)
    assert result[1].score is None and result[1].n == 1
    assert result[2].score == D("13.000")
    assert result[3].score is None and result[3].n == 0
    one = aggregate(scores, application_ids=[1], min_reviews=1)[1]
    assert one.score == D("16.000")  # not (16 + 0) / 2


def test_ties_are_ties():
    scores = {(1, 1): 12.0, (2, 1): 12.0}
    result = aggregate(scores, application_ids=[1, 2])
    assert result[1].score == result[2].score


def test_agreement():
    perfect = {(a, j): float(a * 3) for a in range(1, 5) for j in range(1, 4)}
    assert krippendorff_alpha(perfect) == 1.0
    noisy = {(1, 1): 2.0, (1, 2): 18.0, (2, 1): 17.0, (2, 2): 3.0, (3, 1): 10.0, (3, 2): 9.0}
    assert krippendorff_alpha(noisy) < 0
    assert krippendorff_alpha({(1, 1): 10.0}) is None


def test_leave_one_juror_out_finds_the_juror_who_carries_an_application():
    scores = {(1, "A"): 11.0, (1, "B"): 9.5, (1, "C"): 10.0,   # 10.17: just above 10
              (2, "A"): 16.0, (2, "B"): 15.0, (2, "C"): 17.0}  # far above: stable
    movers = leave_one_juror_out(scores, line=10)
    assert movers == {1: ["A"], 2: []}


scores_strategy = st.dictionaries(
    st.tuples(st.integers(1, 6), st.integers(1, 5)),
    st.integers(0, 20).map(float), min_size=2, max_size=30)


@settings(max_examples=60)
@given(scores=scores_strategy, seed=st.randoms(use_true_random=False))
def test_relabelling_jurors_or_applications_changes_nothing(scores, seed):
    apps = sorted({a for a, _ in scores})
    jurors = sorted({j for _, j in scores})
    app_map = dict(zip(apps, seed.sample(range(100, 200), len(apps)), strict=True))
    juror_map = dict(zip(jurors, seed.sample(range(500, 600), len(jurors)), strict=True))
    relabelled = {(app_map[a], juror_map[j]): v for (a, j), v in scores.items()}
    before = aggregate(scores, application_ids=apps)
    after = aggregate(relabelled, application_ids=[app_map[a] for a in apps])
    for app_id in apps:
        for method in METHODS:
            left = before[app_id].by_method[method]
            right = after[app_map[app_id]].by_method[method]
            assert left == pytest.approx(right, abs=Decimal("0.002")), method


@pytest.mark.parametrize(("totals", "threshold", "flagged"), [
    ([12.0, 12.0, 12.0], 0, False),     # jurors agree: no spread at all
    ([16.0, 16.0, 12.0], 4, False),     # sd √(16/3) = 2.309
    ([8.0, 12.0, 16.0], 4, False),      # sd exactly 4: not above 4
    ([8.0, 12.0, 16.0], 3.99, True),
    ([20.0, 4.0], 11.3, True),          # sd √128 = 11.314
    ([20.0, 4.0], 11.32, False),
    ([20.0], 0, False),                 # one score has no spread
    ([20.0, 4.0], None, False),         # no threshold, no flag
])
def test_disagreement_is_a_spread_above_the_threshold(totals, threshold, flagged):
    scores = {(1, juror): total for juror, total in enumerate(totals)}
    assert aggregate(scores, application_ids=[1], threshold=threshold)[1].flagged is flagged


@settings(max_examples=200)
@given(totals=st.lists(st.integers(0, 20), min_size=1, max_size=6),
       threshold=st.integers(0, 12))
def test_disagreement_flag_against_exact_arithmetic(totals, threshold):
    """Flagged iff there are two scores or more and the sample variance, computed exactly
    with fractions, exceeds the threshold squared."""
    from fractions import Fraction

    scores = {(1, juror): float(total) for juror, total in enumerate(totals)}
    n = len(totals)
    mean = Fraction(sum(totals), n)
    variance = (sum((t - mean) ** 2 for t in totals) / (n - 1)) if n >= 2 else None
    expected = variance is not None and variance > threshold ** 2
    assert aggregate(scores, application_ids=[1], threshold=threshold)[1].flagged is expected


def _dense_offsets(scores):
    """The full least-squares system (one unknown per application and per juror, plus
    Σ b = 0), solved densely: an independent formulation of the juror offsets."""
    import numpy as np

    apps = sorted({a for a, _ in scores})
    jurors = sorted({j for _, j in scores})
    rows, targets = [], []
    for (app_id, juror_id), total in scores.items():
        row = np.zeros(len(apps) + len(jurors))
        row[apps.index(app_id)] = row[len(apps) + jurors.index(juror_id)] = 1.0
        rows.append(row)
        targets.append(total)
    rows.append(np.r_[np.zeros(len(apps)), np.ones(len(jurors))])
    targets.append(0.0)
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
    return {j: solution[len(apps) + k] for k, j in enumerate(jurors)}


@given(st.integers(2, 6), st.integers(2, 25), st.randoms(use_true_random=False))
def test_juror_offsets_equal_the_full_least_squares_solution(n_jurors, n_apps, rnd):
    """On connected incomplete designs: every application scored by juror 0 and by a
    random subset of the others (recusals and partial assignments)."""
    scores = {}
    for app_id in range(n_apps):
        for juror in range(n_jurors):
            if juror == 0 or rnd.random() < 0.6:
                scores[(app_id, juror)] = rnd.uniform(0, 20) + juror
    fast, dense = juror_offsets(scores), _dense_offsets(scores)
    assert fast.keys() == dense.keys()
    for juror in fast:
        assert abs(fast[juror] - dense[juror]) < 1e-9
