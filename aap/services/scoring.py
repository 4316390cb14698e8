"""Review totals and the application's aggregate score (mean of juror totals)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from statistics import mean

from aap.models import Application, Call, Review

THREE_PLACES = Decimal("0.001")


def weighted_total(call: Call, scores: dict[str, Decimal]) -> Decimal:
    """The weighted sum of criterion scores, mapped onto the call's scale."""
    weight_max = sum(c.weight * c.max_score for c in call.criteria)
    if not weight_max:
        return Decimal(0)
    raw = sum(c.weight * scores.get(c.key, Decimal(0)) for c in call.criteria)
    return (raw / weight_max * call.scale).quantize(THREE_PLACES, ROUND_HALF_UP)


def counted_reviews(reviews: list[Review]) -> list[Review]:
    """Recused jurors and unsubmitted reviews never count (not even as 0)."""
    return [r for r in reviews if r.submitted and not r.conflict and r.total is not None]


def aggregate(application: Application) -> Decimal | None:
    counted = counted_reviews(application.reviews)
    if len(counted) < max(application.call.min_reviews, 1):
        return None
    return Decimal(mean(r.total for r in counted)).quantize(THREE_PLACES, ROUND_HALF_UP)
