"""Aggregating jurors' totals into one score per application (SPEC section 5).

One service for views, API, allocation and exports. Recused jurors and missing scores
never count (never as 0); an application with fewer than ``min_reviews`` has no score.

Methods:
- ``mean`` of juror totals (default);
- ``median``;
- ``centred``: each juror's offset is fitted by least squares on the scores it gave
  (score = application effect + juror offset, offsets summing to zero) and removed. With a
  complete design it equals the mean; with recusals or partial assignments it corrects
  lenient and severe jurors;
- ``normalized``: each juror's totals become z-scores (over what that juror scored), the
  mean z is mapped back onto the scale with the panel's mean and spread.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import krippendorff
import numpy as np

METHODS = ("mean", "median", "centred", "normalized")
PLACES = Decimal("0.001")

Scores = dict[tuple[int, int], float]  # (application_id, juror_id) -> total


@dataclass
class AppAggregate:
    application_id: int
    n: int
    score: Decimal | None
    median: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    spread: Decimal | None  # sample standard deviation of the juror totals
    flagged: bool = False
    by_method: dict[str, Decimal | None] = field(default_factory=dict)


def _dec(value: float | None) -> Decimal | None:
    if value is None or math.isnan(value):
        return None
    return Decimal(str(value)).quantize(PLACES, ROUND_HALF_UP)


def _by_application(scores: Scores) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for (app_id, juror_id), total in scores.items():
        out[app_id][juror_id] = total
    return out


def juror_offsets(scores: Scores) -> dict[int, float]:
    """Least-squares juror offsets b_j in score_ij = a_i + b_j (with Σ b_j = 0).

    The application effects are eliminated first (a_i is the mean of s_ij − b_j over its
    jurors), which leaves a J × J system in the jurors' offsets alone (the Schur
    complement of the normal equations): exact, and linear in the number of scores where
    the full system (applications + jurors unknowns) was cubic in the applications."""
    jurors = sorted({j for _, j in scores})
    if len(jurors) < 2:
        return dict.fromkeys(jurors, 0.0)
    index = {j: k for k, j in enumerate(jurors)}
    system = np.zeros((len(jurors), len(jurors)))
    rhs = np.zeros(len(jurors))
    for totals in _by_application(scores).values():
        n, total = len(totals), sum(totals.values())
        members = [index[j] for j in totals]
        for k, juror_id in zip(members, totals, strict=True):
            system[k, k] += 1.0
            rhs[k] += totals[juror_id] - total / n
            for other in members:
                system[k, other] -= 1.0 / n
    constrained = np.vstack([system, np.ones(len(jurors))])
    solution, *_ = np.linalg.lstsq(constrained, np.append(rhs, 0.0), rcond=None)
    return {j: float(solution[index[j]]) for j in jurors}


def _z_scores(scores: Scores, scale: float) -> dict[int, float]:
    """Per-application mean of per-juror z-scores, mapped back to the panel's scale."""
    per_juror: dict[int, list[float]] = defaultdict(list)
    for (_, juror_id), total in scores.items():
        per_juror[juror_id].append(total)
    stats = {j: (statistics.fmean(v), statistics.pstdev(v)) for j, v in per_juror.items()}
    values = list(scores.values())
    centre, spread = statistics.fmean(values), statistics.pstdev(values)
    z_by_app: dict[int, list[float]] = defaultdict(list)
    for (app_id, juror_id), total in scores.items():
        mean, sd = stats[juror_id]
        z_by_app[app_id].append((total - mean) / sd if sd > 0 else 0.0)
    return {a: min(max(centre + statistics.fmean(z) * spread, 0.0), scale)
            for a, z in z_by_app.items()}


def method_scores(scores: Scores, method: str, scale: float) -> dict[int, float]:
    by_app = _by_application(scores)
    if method == "mean":
        return {a: statistics.fmean(v.values()) for a, v in by_app.items()}
    if method == "median":
        return {a: statistics.median(v.values()) for a, v in by_app.items()}
    if method == "centred":
        offsets = juror_offsets(scores)
        return {a: min(max(statistics.fmean(t - offsets[j] for j, t in v.items()), 0.0), scale)
                for a, v in by_app.items()}
    if method == "normalized":
        return _z_scores(scores, scale)
    raise ValueError(f"unknown aggregation method {method!r}")


def aggregate(scores: Scores, *, application_ids: list[int], method: str = "mean",
              scale: float = 20, min_reviews: int = 1, threshold: float | None = None,
              methods: tuple[str, ...] = METHODS) -> dict[int, AppAggregate]:
    """Scores per application under each of ``methods`` (``by_method``); ``score`` is the
    chosen method's. Pass ``methods=(method,)`` when the others are not shown."""
    by_app = _by_application(scores)
    wanted = tuple(dict.fromkeys((method, *methods)))
    computed = {m: method_scores(scores, m, scale) if scores else {} for m in wanted}
    out = {}
    for app_id in application_ids:
        totals = sorted(by_app.get(app_id, {}).values())
        enough = len(totals) >= max(min_reviews, 1)
        spread, above = _spread(totals, threshold)
        out[app_id] = AppAggregate(
            application_id=app_id, n=len(totals),
            score=_dec(computed[method].get(app_id)) if enough else None,
            median=_dec(statistics.median(totals)) if totals else None,
            minimum=_dec(totals[0]) if totals else None,
            maximum=_dec(totals[-1]) if totals else None,
            spread=_dec(spread),
            flagged=above,
            by_method={m: _dec(computed[m].get(app_id)) if enough else None for m in wanted},
        )
    return out


def _spread(totals: list[float], threshold: float | None) -> tuple[float | None, bool]:
    """The sample standard deviation of the totals, and whether it is above ``threshold``
    (decided exactly: totals and threshold are in thousandths, as stored, so the variance
    is an exact ratio of integers; statistics.stdev's fractions cost a hundred times more
    on a call of ten thousand applications)."""
    n = len(totals)
    if n < 2:
        return None, False
    thousandths = [round(t * 1000) for t in totals]
    s1, s2 = sum(thousandths), sum(t * t for t in thousandths)
    numerator, denominator = n * s2 - s1 * s1, n * (n - 1)  # variance × 10⁶, as a ratio
    spread = math.sqrt(numerator / denominator) / 1000
    if threshold is None:
        return spread, False
    limit = Fraction(str(threshold)) * 1000
    return spread, numerator * limit.denominator ** 2 > denominator * limit.numerator ** 2


def krippendorff_alpha(scores: Scores) -> float | None:
    """The panel's agreement on the totals (interval metric); None when undefined."""
    apps = sorted({a for a, _ in scores})
    jurors = sorted({j for _, j in scores})
    if len(apps) < 2 or len(jurors) < 2:
        return None
    data = np.full((len(jurors), len(apps)), np.nan)
    for (app_id, juror_id), total in scores.items():
        data[jurors.index(juror_id), apps.index(app_id)] = total
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if pairable.sum() < 1 or len(set(scores.values())) < 2:
        return None
    value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="interval"))
    return None if math.isnan(value) else round(value, 3)


def leave_one_juror_out(scores: Scores, *, line: float, method: str = "mean",
                        scale: float = 20, min_reviews: int = 1) -> dict[int, list[int]]:
    """For each application, the jurors whose removal alone moves it across ``line``."""
    apps = sorted({a for a, _ in scores})
    base = aggregate(scores, application_ids=apps, method=method, scale=scale,
                     min_reviews=min_reviews)
    movers: dict[int, list[int]] = {a: [] for a in apps}
    for juror in sorted({j for _, j in scores}):
        without = {k: v for k, v in scores.items() if k[1] != juror}
        redone = aggregate(without, application_ids=apps, method=method, scale=scale,
                           min_reviews=min_reviews)
        for app_id in apps:
            before, after = base[app_id].score, redone[app_id].score
            above_before = before is not None and before >= Decimal(str(line))
            above_after = after is not None and after >= Decimal(str(line))
            if above_before != above_after:
                movers[app_id].append(juror)
    return movers
