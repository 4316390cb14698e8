"""Consolidation of an authority over its children (SPEC 2, 7.1), against hand figures.

The tree, and the calls of 2026 (euros):

=================================================  ========  =======  =====  ===========
authority (parent)                                 budget    granted  paid   committed
=================================================  ========  =======  =====  ===========
Métropole Aix-Marseille-Provence                   100 000   5 000    4 000  5 000
  Commune de Vitrolles (métropole)                 20 000    3 000    1 000  1 000 (cancelled)
  Conseil de territoire Istres Ouest Provence      40 000    10 000   0      10 000
    Commune d'Istres (council)                     10 000    2 000    2 000  2 000
  Conseil de territoire Marseille Provence         30 000    0        0      0
Métropole Européenne de Lille                      50 000    7 000    0      7 000
(platform-wide fund: the world's call)             100 000   0        0      0
=================================================  ========  =======  =====  ===========

Plus a 2025 call of the métropole: 60 000 € budget, 1 000 € granted (never in 2026).

By hand, the métropole's 2026 consolidation: own 100 000 / 5 000 / 4 000 / available
95 000; Vitrolles 20 000 / 3 000 / 1 000 / 19 000 (the cancelled grant commits only what
was paid); Istres Ouest Provence with its commune 50 000 / 12 000 / 2 000 / 38 000;
Marseille Provence 30 000 / 0 / 0 / 30 000.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from aap.errors import Forbidden, NotFound
from aap.extensions import db
from aap.models import Application, Authority, Call
from aap.services import consolidation, policies, workflow
from aap.services.calls import set_jury
from tests import factories
from tests.helpers import count_queries

E = 100  # cents per euro


@dataclass
class Tree:
    metropole: Authority
    vitrolles: Authority
    istres_council: Authority
    istres: Authority
    marseille_council: Authority
    lille: Authority
    calls: dict[str, Call] = field(default_factory=dict)
    grants: dict[str, Application] = field(default_factory=dict)


def _grant(world, call: Call, euros: int, paid: int = 0, *, cancel: bool = False,
           title: str = "Ateliers") -> Application:
    app = factories.make_application(call, world.org, requested_cents=euros * E, title=title)
    app = world.bring_to(app, "granted")
    if paid:
        app = workflow.record_payment(app, world.users["finance"], {
            "kind": "advance", "amount_cents": paid * E, "paid_on": "2026-11-02"})
    if cancel:
        app = world.fire(app, "cancel")
    return app


def authority_call(world, authority: Authority, euros: int, year: int = 2026, **overrides) -> Call:
    fund = factories.make_fund(authority_id=authority.id, name=f"Fonds — {authority.name}",
                               owner_name=f"Ancien nom — {authority.name}")
    call = factories.make_call(fund, budget_cents=euros * E, fiscal_year=year,
                               title=overrides.pop("title", f"AAP {year} — {authority.name}"),
                               max_request_cents=None, **overrides)
    set_jury(call, [world.users["juror"].id])
    return call


def build_tree(world) -> Tree:
    """The authorities, calls and grants of the table above (see the module)."""
    make = factories.make_authority
    metropole = make("Métropole Aix-Marseille-Provence", "metropole", siret="20005478100022")
    tree = Tree(
        metropole=metropole,
        vitrolles=make("Commune de Vitrolles", "commune", metropole, siret="21130117100016"),
        istres_council=make("Conseil de territoire Istres Ouest Provence", "council",
                            metropole),
        istres=None, marseille_council=make("Conseil de territoire Marseille Provence",
                                            "council", metropole),
        lille=make("Métropole Européenne de Lille", "metropole", siret="24590041000011"))
    tree.istres = make("Commune d'Istres", "commune", tree.istres_council)
    calls = tree.calls
    calls["metropole"] = authority_call(world, metropole, 100_000)
    calls["vitrolles"] = authority_call(world, tree.vitrolles, 20_000)
    calls["istres_council"] = authority_call(world, tree.istres_council, 40_000)
    calls["istres"] = authority_call(world, tree.istres, 10_000)
    calls["marseille_council"] = authority_call(world, tree.marseille_council, 30_000)
    calls["lille"] = authority_call(world, tree.lille, 50_000)
    calls["metropole_2025"] = authority_call(world, metropole, 60_000, year=2025)
    grants = tree.grants
    grants["metropole"] = _grant(world, calls["metropole"], 5_000, paid=4_000)
    grants["vitrolles"] = _grant(world, calls["vitrolles"], 3_000, paid=1_000, cancel=True)
    grants["istres_council"] = _grant(world, calls["istres_council"], 10_000)
    grants["istres"] = _grant(world, calls["istres"], 2_000, paid=2_000)
    grants["lille"] = _grant(world, calls["lille"], 7_000)
    grants["metropole_2025"] = _grant(world, calls["metropole_2025"], 1_000)
    return tree


#: The métropole's 2026 lines by hand: (name, budget, granted, paid, available) in euros.
METROPOLE_2026 = [
    ("Métropole Aix-Marseille-Provence", 100_000, 5_000, 4_000, 95_000),
    ("Commune de Vitrolles", 20_000, 3_000, 1_000, 19_000),
    ("Conseil de territoire Istres Ouest Provence", 50_000, 12_000, 2_000, 38_000),
    ("Conseil de territoire Marseille Provence", 30_000, 0, 0, 30_000),
]


@pytest.fixture
def tree(world) -> Tree:
    return build_tree(world)


def lines(result: consolidation.Consolidation) -> list[tuple]:
    return [(p.name, p.figures.budget_cents // E, p.figures.granted_cents // E,
             p.figures.paid_cents // E, p.figures.available_cents // E)
            for p in result.parts]


@pytest.mark.parametrize(("who", "year", "expected"), [
    ("metropole", 2026, METROPOLE_2026),
    ("istres_council", 2026, [("Conseil de territoire Istres Ouest Provence",
                               40_000, 10_000, 0, 30_000),
                              ("Commune d'Istres", 10_000, 2_000, 2_000, 8_000)]),
    ("istres", 2026, [("Commune d'Istres", 10_000, 2_000, 2_000, 8_000)]),
    ("lille", 2026, [("Métropole Européenne de Lille", 50_000, 7_000, 0, 43_000)]),
    ("metropole", 2025, [("Métropole Aix-Marseille-Provence", 60_000, 1_000, 0, 59_000),
                         ("Commune de Vitrolles", 0, 0, 0, 0),
                         ("Conseil de territoire Istres Ouest Provence", 0, 0, 0, 0),
                         ("Conseil de territoire Marseille Provence", 0, 0, 0, 0)]),
    ("metropole", 2031, [(name, 0, 0, 0, 0) for name, *_ in METROPOLE_2026]),
])
def test_own_calls_then_each_child_with_its_descendants(tree, who, year, expected):
    result = consolidation.consolidate(getattr(tree, who), year)
    assert lines(result) == expected


def test_the_total_is_the_whole_tree_each_call_once(tree):
    total = consolidation.consolidate(tree.metropole, 2026).total
    # 100 000 + 20 000 + 40 000 + 10 000 + 30 000; 5 000 + 3 000 + 10 000 + 2 000
    assert (total.budget_cents, total.granted_cents, total.paid_cents,
            total.available_cents) == (200_000 * E, 20_000 * E, 7_000 * E, 182_000 * E)


def test_each_call_is_counted_in_its_line(tree):
    result = consolidation.consolidate(tree.metropole, 2026)
    c = tree.calls
    assert result.group_of() == {
        c["metropole"].id: tree.metropole.id, c["vitrolles"].id: tree.vitrolles.id,
        c["istres_council"].id: tree.istres_council.id, c["istres"].id: tree.istres_council.id,
        c["marseille_council"].id: tree.marseille_council.id}


def test_narrowed_to_the_calls_a_user_reads(tree):
    readable = select(Call.id).where(
        Call.id.in_([tree.calls["metropole"].id, tree.calls["istres"].id]))
    result = consolidation.consolidate(tree.metropole, 2026, readable=readable)
    assert [(p.name, p.figures.budget_cents // E) for p in result.parts] == [
        ("Métropole Aix-Marseille-Provence", 100_000), ("Commune de Vitrolles", 0),
        ("Conseil de territoire Istres Ouest Provence", 10_000),
        ("Conseil de territoire Marseille Provence", 0)]


def test_constant_queries_whatever_the_number_of_children(world, tree):
    def queries() -> int:
        db.session.expire_all()
        from flask import g
        g.pop("_authority_parents", None)
        with count_queries() as statements:
            consolidation.consolidate(tree.metropole, 2026)
        return len(statements)

    before = queries()
    for n in range(5):
        child = factories.make_authority(f"Commune n°{n}", "commune", tree.metropole)
        authority_call(world, child, 1_000)
    assert queries() == before


# -- who reads an authority's figures ---------------------------------------------------------

@pytest.mark.parametrize(("roles", "held_in", "target", "outcome"), [
    (["instructor"], "metropole", "metropole", "read"),
    (["finance"], "metropole", "istres", "read"),  # a grandchild
    (["juror"], "metropole", "vitrolles", "read"),
    (["manager"], "metropole", "marseille_council", "read"),
    (["instructor"], "istres_council", "istres_council", "read"),
    (["instructor"], "istres_council", "istres", "read"),
    (["instructor"], "istres_council", "metropole", "hidden"),  # a parent
    (["instructor"], "istres_council", "marseille_council", "hidden"),  # a sibling
    (["finance"], "vitrolles", "vitrolles", "read"),
    (["finance"], "lille", "metropole", "hidden"),
    (["instructor"], "metropole", "lille", "hidden"),
    (["finance"], None, "lille", "read"),  # platform-wide
    (["admin"], None, "istres", "read"),
    (["applicant"], None, "metropole", "forbidden"),
])
def test_who_reads_an_authority(tree, roles, held_in, target, outcome):
    authority = getattr(tree, held_in) if held_in else None
    user = factories.make_user(roles, authority=authority)
    wanted = getattr(tree, target)
    if outcome == "read":
        assert policies.readable_authority(user, wanted.id) is wanted
    else:
        with pytest.raises(Forbidden if outcome == "forbidden" else NotFound):
            policies.readable_authority(user, wanted.id)


def test_an_unknown_authority_is_not_found(tree):
    user = factories.make_user(["finance"])
    with pytest.raises(NotFound):
        policies.readable_authority(user, tree.lille.id + 1000)


@pytest.mark.parametrize(("held_in", "expected"), [
    ("metropole", ["Conseil de territoire Istres Ouest Provence",
                   "Métropole Aix-Marseille-Provence"]),
    ("istres_council", ["Conseil de territoire Istres Ouest Provence"]),
    ("vitrolles", []),
    ("lille", []),
    (None, ["Conseil de territoire Istres Ouest Provence",
            "Métropole Aix-Marseille-Provence"]),
])
def test_the_consolidations_a_user_is_offered(tree, held_in, expected):
    user = factories.make_user(["finance"], authority=getattr(tree, held_in) if held_in else None)
    offered = consolidation.consolidated_authorities(user, ["finance", "instructor"])
    assert [a.name for a in offered] == expected


# -- the indicators of a consolidation ------------------------------------------------------------

@pytest.fixture
def story(world, monkeypatch):
    from tests.services import indicators_world

    return indicators_world.build(world, monkeypatch)


def test_the_indicators_added_up_from_parts_are_those_of_the_rows(story):
    """A total (or a group) added up from its calls' indicators equals the one computed
    over its applications at once: counts, amounts, breakdowns, states, organisations and
    durations (the story of ``tests/services/test_indicators.py``: recusals, first-time
    applicants, refusals, payments, several calls and years)."""
    from aap.services import indicators

    calls = [story.call_2025, story.call, story.call_2]
    from_rows = indicators.compute(calls, per_call=False).total
    assert from_rows.tally.submitted > 0 and from_rows.by_territory  # not vacuous
    assert indicators.compute(calls).total == from_rows  # added up from the calls
    groups = {story.call_2025.id: "2025", story.call.id: "2026", story.call_2.id: "2026"}
    grouped = indicators.compute(calls, groups=groups, per_call=False)
    assert grouped.total == from_rows  # added up from the groups
    both_2026 = indicators.compute([story.call, story.call_2], per_call=False).total
    assert grouped.by_group["2026"] == both_2026
    assert indicators.compute(calls, groups=groups).by_group["2026"] == both_2026
