"""Consolidated figures of an authority over its children (SPEC 2 and 7.1).

A parent authority (the métropole over its territorial councils and communes) reads its
descendants' calls and figures. This service says, for one authority and one fiscal
year, what its own calls weigh and what each of its direct children weighs:

- **own**: the calls of the year of the funds the authority runs itself;
- **each child**: the calls of the child *and of every authority below it* (a council's
  figure includes the communes under it, if any), so that own + children is the whole
  tree below the authority, each call counted once.

The money figures are those of :mod:`aap.services.money` (the ``budget`` of
``GET /calls/{id}``): the per-call sums come from :func:`aap.services.money.for_calls`
(one grouped query whatever the number of calls and applications) and are added up per
authority here, never recomputed by another formula. A consolidation costs a constant
number of queries whatever the number of children and calls: the authority tree (read
once per request), the children's names, the calls of the year, the sums.

Who reads an authority's figures: its staff (any staff role held in it), its ancestors'
staff, and platform-wide staff (:func:`aap.services.policies.readable_authority`);
another authority is not shown to exist (404), and a user with no staff role at all is
refused (403).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import lazyload

from aap.extensions import db
from aap.models import Authority, Call, Fund, User
from aap.services import money, policies


@dataclass(frozen=True)
class CallBudget:
    """What a consolidation needs of a call: ``id`` and ``budget_cents`` (what
    :func:`aap.services.money.for_calls` reads) and the authority that runs it."""

    id: int
    budget_cents: int
    authority_id: int


@dataclass(frozen=True)
class Part:
    """One line of a consolidation: the authority's own calls, or one child's (with the
    authorities below it)."""

    authority_id: int
    name: str
    kind: str
    siret: str
    figures: money.Figures
    call_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, int | str]:
        """The line as ``GET /authorities/{id}/budget`` gives it."""
        f = self.figures
        return {"authority_id": self.authority_id, "name": self.name,
                "budget_cents": f.budget_cents, "granted_cents": f.granted_cents,
                "paid_cents": f.paid_cents, "available_cents": f.available_cents}


@dataclass(frozen=True)
class Consolidation:
    """An authority's own calls of a year and each direct child's."""

    authority: Authority
    fiscal_year: int
    own: Part
    children: list[Part] = field(default_factory=list)

    @property
    def parts(self) -> list[Part]:
        """The authority's own line first, then its children's, by name."""
        return [self.own, *self.children]

    @property
    def total(self) -> money.Figures:
        """The whole tree: own calls and every child's."""
        return money.total(p.figures for p in self.parts)

    def group_of(self) -> dict[int, int]:
        """The line (an authority id) each call of the consolidation is counted in."""
        return {call_id: part.authority_id for part in self.parts for call_id in part.call_ids}


# -- who reads what ---------------------------------------------------------------------------

def consolidated_authorities(user: User | None, roles: Iterable[str]) -> list[Authority]:
    """The authorities with children whose consolidation ``user`` reads with ``roles``:
    those it holds a role in (platform-wide: every authority with children), and those
    below them that have children themselves; by name. Links of the dashboards."""
    scope_ = policies.scope(user, *roles)
    ids = has_children() if scope_.platform else has_children() & scope_.reading
    if not ids:
        return []
    return by_name(db.session.scalars(select(Authority).where(Authority.id.in_(sorted(ids)))))


# -- the figures -------------------------------------------------------------------------------

def subtree(authority_id: int) -> frozenset[int]:
    """The authority and every authority below it."""
    return policies.with_descendants(frozenset({authority_id}))


def has_children() -> frozenset[int]:
    """The authorities that have at least one child (their consolidation means something)."""
    return frozenset(p for p in policies.authority_parents().values() if p is not None)


def under(query: Select, authority_id: int) -> Select:
    """``query`` (a select of calls) narrowed to the calls run by the authority or by one
    below it."""
    below = sorted(subtree(authority_id))
    return query.where(Call.fund_id.in_(select(Fund.id).where(Fund.authority_id.in_(below))))


def readable_calls(user: User | None, authority_id: int, fiscal_year: int) -> list[Call]:
    """The calls of the year under the authority whose exports and dashboards ``user``
    reads (:func:`aap.services.policies.exportable_calls`), the latest opened first; their
    criteria and juries are not loaded (a consolidation reads neither)."""
    query = under(policies.exportable_calls(user).where(Call.fiscal_year == fiscal_year),
                  authority_id)
    return list(db.session.scalars(
        query.options(lazyload(Call.criteria), lazyload(Call.jury))
        .order_by(Call.opens_at.desc(), Call.id.desc())).unique())


def lines_of(authority_id: int) -> dict[int, int]:
    """For every authority of the tree under ``authority_id``, the line it is counted in:
    the authority itself, or the direct child it descends from."""
    parents = policies.authority_parents()
    out = {}
    for member in subtree(authority_id):
        line = member
        while line != authority_id and parents.get(line) != authority_id:
            line = parents[line]
        out[member] = line
    return out


def call_budgets(authority_id: int, fiscal_year: int,
                 readable: Select | None = None) -> list[CallBudget]:
    """The calls of the year under the authority (itself and below), as budgets, in one
    query; ``readable`` (a select of call ids) narrows them to what a user reads."""
    query = (select(Call.id, Call.budget_cents, Fund.authority_id)
             .join(Fund, Fund.id == Call.fund_id)
             .where(Call.fiscal_year == fiscal_year,
                    Fund.authority_id.in_(sorted(subtree(authority_id)))))
    if readable is not None:
        query = query.where(Call.id.in_(readable))
    return [CallBudget(*row) for row in db.session.execute(query.order_by(Call.id))]


def budgets_of(calls: Iterable[Call]) -> list[CallBudget]:
    """Loaded calls (their fund joined) as budgets: no query."""
    return [CallBudget(c.id, c.budget_cents, c.fund.authority_id) for c in calls]


def consolidate(authority: Authority, fiscal_year: int,
                calls: list[CallBudget] | None = None,
                readable: Select | None = None) -> Consolidation:
    """The authority's own line and one line per direct child (with its descendants), over
    ``calls`` (by default every call of the year under the authority, narrowed to
    ``readable``)."""
    if calls is None:
        calls = call_budgets(authority.id, fiscal_year, readable)
    lines = lines_of(authority.id)
    figures = money.for_calls(calls)
    per_line: dict[int, list[int]] = defaultdict(list)
    for call in calls:
        if call.authority_id in lines:
            per_line[lines[call.authority_id]].append(call.id)

    def part(member: Authority) -> Part:
        ids = tuple(per_line.get(member.id, ()))
        return Part(member.id, member.name, member.kind, member.siret,
                    money.total(figures[i] for i in ids), ids)

    return Consolidation(authority, fiscal_year, part(authority),
                         [part(child) for child in _children(authority.id)])


def _children(authority_id: int) -> list[Authority]:
    return by_name(db.session.scalars(
        select(Authority).where(Authority.parent_id == authority_id)))


def by_name(authorities: Iterable[Authority]) -> list[Authority]:
    """Sorted by name, case aside, the same on every database (collations differ)."""
    return sorted(authorities, key=lambda a: (a.name.casefold(), a.id))


def authority_budget(user: User | None, authority_id: int, fiscal_year: int) -> dict:
    """The body of ``GET /authorities/{id}/budget?fiscal_year=`` (SPEC 7.1)."""
    authority = policies.readable_authority(user, authority_id)
    # whoever reads an authority reads everything below it: no narrowing by user
    consolidation = consolidate(authority, fiscal_year)
    own = consolidation.own.as_dict()
    return {**own, "fiscal_year": fiscal_year,
            "children": [child.as_dict() for child in consolidation.children]}

