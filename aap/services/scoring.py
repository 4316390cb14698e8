"""Review totals and the scores of a call's applications (through ``aggregation``)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, Call, Review
from aap.services import aggregation

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


def call_scores(call_id: int) -> aggregation.Scores:
    """Every counted juror total of a call, in one query."""
    rows = db.session.execute(
        select(Review.application_id, Review.juror_id, Review.total)
        .join(Application, Application.id == Review.application_id)
        .where(Application.call_id == call_id, Review.submitted.is_(True),
               Review.conflict.is_(False), Review.total.is_not(None))
    )
    return {(app_id, juror_id): float(total) for app_id, juror_id, total in rows}


def call_aggregates(call: Call, application_ids: list[int], method: str = "mean"
                    ) -> dict[int, aggregation.AppAggregate]:
    return aggregation.aggregate(
        call_scores(call.id), application_ids=application_ids, method=method,
        scale=call.scale, min_reviews=call.min_reviews,
        threshold=float(call.disagreement_threshold), methods=(method,))


def application_aggregate(application: Application, method: str = "mean"
                          ) -> aggregation.AppAggregate:
    return call_aggregates(application.call, [application.id], method)[application.id]


def aggregate(application: Application) -> Decimal | None:
    return application_aggregate(application).score
