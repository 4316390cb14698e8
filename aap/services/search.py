"""The instruction back-office's list of applications: filters, search, sort, pagination.

One query counts, one query reads the page (with the call, fund, organisation and
envelope joined), one reads the page's scores: the cost does not grow with the rows.
Visibility comes from ``policies.visible_applications`` (staff never see drafts).

Sorting by score is the one ranking of the allocation engine
(:func:`aap.services.allocation.ranking`: score, then the replayable draw), the order of
the ranking page and of the jury workbook. It reads the matching ids and their mean in one
query, then ranks each call with scored applications (a fixed number of queries per such
call, whatever the rows); across calls, the calls' rankings are merged by score on their
scale.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from sqlalchemy import Select, case, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import contains_eager, lazyload

from aap.extensions import db
from aap.models import Application, Call, Envelope, Organisation, Review, User
from aap.services import aggregation, allocation, policies, scoring

SORTS = ("recent", "reference", "requested", "submitted", "score", "title")
DEFAULT_SORT = "recent"
PER_PAGE = 25
MAX_QUERY = 200


@dataclass
class Filters:
    call_id: int | None = None
    states: list[str] = field(default_factory=list)
    territory: str | None = None
    domain: str | None = None
    ground: str | None = None
    envelope: str | None = None  # an envelope key of the call, or "none"
    q: str | None = None
    sort: str = DEFAULT_SORT
    descending: bool = True

    @property
    def active(self) -> bool:
        return bool(self.states or self.territory or self.domain or self.ground
                    or self.envelope or self.q)


@dataclass
class ResultPage:
    items: list[Application]
    page: int
    per_page: int
    total: int
    scores: dict[int, aggregation.AppAggregate] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _json_list_contains(column, value: str):
    """``value`` is one of the items of a JSON list column (SQLite and PostgreSQL)."""
    if db.engine.dialect.name == "postgresql":
        return func.cast(column, JSONB).op("@>")(func.jsonb_build_array(value))
    items = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(items).where(items.c.value == value))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _score_subquery():
    """Per application: the mean of the counted juror totals and how many there are
    (which applications have a score, and how to merge calls' rankings)."""
    return (
        select(Review.application_id.label("application_id"),
               func.avg(Review.total).label("mean"), func.count(Review.id).label("n"))
        .where(Review.submitted.is_(True), Review.conflict.is_(False),
               Review.total.is_not(None))
        .group_by(Review.application_id)
        .subquery("scores")
    )


def build_query(actor: User, filters: Filters, *, counting: bool = False) -> Select:
    """The filtered query of the applications ``actor`` may list (``counting``: in the
    form that is cheaper to count, see :func:`policies.application_in`)."""
    query = policies.visible_applications(actor, counting=counting)
    if not counting or filters.q:  # the list shows the organisation; a count needs it to match
        query = query.join(Organisation, Organisation.id == Application.organisation_id)
    if filters.call_id is not None:
        query = query.where(Application.call_id == filters.call_id)
    if filters.states:
        query = query.where(Application.state.in_(filters.states))
    if filters.territory:
        query = query.where(_json_list_contains(Application.territories, filters.territory))
    if filters.domain:
        query = query.where(_json_list_contains(Application.domains, filters.domain))
    if filters.ground:
        query = query.where(_json_list_contains(Application.grounds, filters.ground))
    if filters.envelope == "none":
        query = query.where(Application.envelope_id.is_(None))
    elif filters.envelope:
        query = query.where(Application.envelope_id.in_(
            select(Envelope.id).where(Envelope.key == filters.envelope,
                                      Envelope.call_id == Application.call_id)))
    if filters.q and filters.q.strip():
        pattern = _like(filters.q.strip()[:MAX_QUERY])
        query = query.where(or_(
            Application.reference.ilike(pattern, escape="\\"),
            Application.title.ilike(pattern, escape="\\"),
            Organisation.name.ilike(pattern, escape="\\"),
        ))
    return query


def _ordered(query: Select, filters: Filters) -> Select:
    def direction(column):
        ordered = column.desc() if filters.descending else column.asc()
        return ordered.nulls_last()

    sort = filters.sort if filters.sort in SORTS else DEFAULT_SORT
    if sort == "reference":
        keys = [direction(Application.reference)]
    elif sort == "requested":
        keys = [direction(Application.requested_cents)]
    elif sort == "submitted":
        keys = [direction(Application.submitted_at)]
    elif sort == "title":
        keys = [direction(func.lower(Application.title))]
    else:
        return query.order_by(Application.id.desc() if filters.descending
                              else Application.id.asc())
    return query.order_by(*keys, Application.id.desc())


def ranked_ids(query: Select, method: str = "mean", descending: bool = True) -> list[int]:
    """The ids of ``query``'s applications in the one ranking's order (best first, or
    worst first), the unscored last (latest first)."""
    matched = query.subquery("matched")
    scores = _score_subquery()
    counted = case((scores.c.n >= Call.min_reviews, scores.c.mean / Call.scale), else_=None)
    rows = db.session.execute(
        select(matched.c.id, matched.c.call_id, counted.label("score"))
        .join(Call, Call.id == matched.c.call_id)
        .outerjoin(scores, scores.c.application_id == matched.c.id)
        .order_by(matched.c.id.desc())).all()
    by_call: dict[int, list[int]] = {}
    for row in rows:
        by_call.setdefault(row.call_id, []).append(row.id)
    scored_calls = sorted({row.call_id for row in rows if row.score is not None})
    share = {row.id: row.score for row in rows}
    calls = {c.id: c for c in db.session.scalars(select(Call).where(Call.id.in_(scored_calls)))
             } if scored_calls else {}
    orders, ranked = [], set()
    for call_id in scored_calls:
        ranks = allocation.ranking(calls[call_id], by_call[call_id], method)
        order = sorted((i for i, rank in ranks.items() if rank is not None), key=ranks.get)
        ranked.update(order)
        # within a call, the engine's order; across calls, by score on the call's scale
        orders.append([(-(share[i] or 0), i) for i in order])
    best_first = [i for _, i in heapq.merge(*orders, key=lambda pair: pair[0])]
    unscored = [row.id for row in rows if row.id not in ranked]
    return (best_first if descending else best_first[::-1]) + unscored


def count(query: Select) -> int:
    """The number of rows of an application query, without selecting their columns."""
    return db.session.scalar(
        query.with_only_columns(func.count(Application.id)).order_by(None)) or 0


def search(actor: User, filters: Filters, *, page: int = 1, per_page: int = PER_PAGE,
           method: str = "mean") -> ResultPage:
    query = build_query(actor, filters)
    total = count(build_query(actor, filters, counting=True))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    options = (contains_eager(Application.organisation), lazyload(Application.budget_lines),
               lazyload(Application.envelope))
    if filters.sort == "score":
        ids = ranked_ids(query, method, filters.descending)
        ids = ids[(page - 1) * per_page:page * per_page]
        position = {app_id: i for i, app_id in enumerate(ids)}
        items = sorted(db.session.scalars(
            query.where(Application.id.in_(ids)).options(*options)).unique(),
            key=lambda a: position[a.id]) if ids else []
    else:
        items = list(db.session.scalars(
            _ordered(query, filters).options(*options)
            .limit(per_page).offset((page - 1) * per_page)
        ).unique())
    _attach_envelopes(items)
    return ResultPage(items=items, page=page, per_page=per_page, total=total,
                      scores=page_scores(items, method))


def _attach_envelopes(items: list[Application]) -> None:
    """The envelope of each row from its call's envelopes (already loaded with the call),
    so that showing it costs no query."""
    from sqlalchemy.orm.attributes import set_committed_value

    for app in items:
        envelope = next((e for e in app.call.envelopes if e.id == app.envelope_id), None)
        set_committed_value(app, "envelope", envelope)


def page_scores(items: list[Application], method: str = "mean"
                ) -> dict[int, aggregation.AppAggregate]:
    """The aggregate of each application of a page, one query per call on the page."""
    by_call: dict[int, tuple[Call, list[int]]] = {}
    for app in items:
        by_call.setdefault(app.call_id, (app.call, []))[1].append(app.id)
    out: dict[int, aggregation.AppAggregate] = {}
    if not by_call:
        return out
    rows = db.session.execute(
        select(Review.application_id, Review.juror_id, Review.total)
        .where(Review.application_id.in_([a.id for a in items]), Review.submitted.is_(True),
               Review.conflict.is_(False), Review.total.is_not(None)))
    scores = {(a, j): float(t) for a, j, t in rows}
    for call, ids in by_call.values():
        if method == "mean":
            own = {k: v for k, v in scores.items() if k[0] in set(ids)}
            out.update(aggregation.aggregate(
                own, application_ids=ids, method=method, scale=call.scale,
                min_reviews=call.min_reviews, threshold=float(call.disagreement_threshold)))
        else:  # the other methods need every score of the call (juror offsets)
            out.update(scoring.call_aggregates(call, ids, method))
    return out


def territories(call_id: int | None) -> list[str]:
    """The territories named by the submitted applications (of a call), for the filter."""
    query = select(Application.territories).where(Application.state != "draft")
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    names: set[str] = set()
    for value in db.session.scalars(query):
        names.update(t for t in value or [] if isinstance(t, str))
    return sorted(names, key=str.casefold)

