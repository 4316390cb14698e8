"""The back-office search: filters, search, sorts, pagination, visibility, query count."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aap.extensions import db
from aap.models import Envelope
from aap.services import reviews, search
from tests import factories
from tests.factories import path_to
from tests.helpers import count_queries


@pytest.fixture
def files(world):
    """Five submitted files of different shapes, a draft, and one in another call."""
    call = world.call
    out = {}
    # submitted before the call had envelopes: it has none
    org = factories.make_organisation([world.users["applicant"]], name="Asso Sport")
    out["Sport pour toutes"] = world.bring_to(factories.make_application(
        call, org, title="Sport pour toutes", requested_cents=5_000_00,
        domains=["culture_sport"], grounds=["sexe", "handicap"],
        territories=["Marseille", "Aubagne"]), "submitted")
    call.envelopes = [Envelope(key="nord", label="Nord", budget_cents=50_000_00),
                      Envelope(key="sud", label="Sud", budget_cents=50_000_00)]
    db.session.commit()
    nord, sud = call.envelopes
    specs = [
        dict(title="Ateliers emploi", requested_cents=3_000_00, domains=["emploi"],
             grounds=["origine"], territories=["Marseille"], envelope_id=nord.id),
        dict(title="Théâtre logement", requested_cents=9_000_00, domains=["logement"],
             grounds=["sexe"], territories=["Vitrolles"], envelope_id=sud.id),
        dict(title="Permanences juridiques", requested_cents=7_000_00,
             domains=["acces_aux_droits"], grounds=["age"], territories=["Aubagne"],
             envelope_id=nord.id),
        dict(title="Testing 50% embauche", requested_cents=1_000_00, domains=["emploi"],
             grounds=["origine"], territories=["Vitrolles"], envelope_id=sud.id),
    ]
    for spec in specs:
        org = factories.make_organisation([world.users["applicant"]],
                                          name=f"Asso {spec['title'].split()[0]}")
        out[spec["title"]] = world.bring_to(factories.make_application(call, org, **spec),
                                            "submitted")
    out["draft"] = world.application(title="Brouillon secret")
    other_call = factories.make_call(world.fund, title="Autre appel")
    out["other"] = world.bring_to(
        factories.make_application(other_call, world.org, title="Dossier d'un autre appel"),
        "submitted")
    return out


def review_ready(world, app):
    for trigger in path_to("in_review", start=app.state):
        app = world.fire(app, trigger)
    return app


def titles(page) -> list[str]:
    return [a.title for a in page.items]


def run(world, **kwargs) -> search.ResultPage:
    page = kwargs.pop("page", 1)
    per_page = kwargs.pop("per_page", 25)
    filters = search.Filters(call_id=world.call.id, **kwargs)
    return search.search(world.users["instructor"], filters, page=page, per_page=per_page)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, {"Ateliers emploi", "Théâtre logement", "Sport pour toutes",
          "Permanences juridiques", "Testing 50% embauche"}),
    ({"territory": "Marseille"}, {"Ateliers emploi", "Sport pour toutes"}),
    ({"territory": "Aubagne"}, {"Sport pour toutes", "Permanences juridiques"}),
    ({"domain": "emploi"}, {"Ateliers emploi", "Testing 50% embauche"}),
    ({"ground": "sexe"}, {"Théâtre logement", "Sport pour toutes"}),
    ({"envelope": "nord"}, {"Ateliers emploi", "Permanences juridiques"}),
    ({"envelope": "none"}, {"Sport pour toutes"}),
    ({"domain": "emploi", "territory": "Vitrolles"}, {"Testing 50% embauche"}),
    ({"q": "théâtre"}, {"Théâtre logement"}),
    ({"q": "asso sport"}, {"Sport pour toutes"}),  # the organisation's name
    ({"q": "AAP-2026-0003"}, {"Théâtre logement"}),  # the reference
    ({"q": "50%"}, {"Testing 50% embauche"}),  # LIKE wildcards are literal
    ({"q": "_"}, set()),
    ({"q": "Brouillon"}, set()),  # drafts are invisible to staff
    ({"states": ["eligible"]}, set()),
    ({"states": ["submitted", "eligible"]}, {"Ateliers emploi", "Théâtre logement",
                                             "Sport pour toutes", "Permanences juridiques",
                                             "Testing 50% embauche"}),
])
def test_filters_and_search(world, files, kwargs, expected):
    page = run(world, **kwargs)
    assert set(titles(page)) == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(("sort", "descending", "expected"), [
    ("requested", False, ["Testing 50% embauche", "Ateliers emploi", "Sport pour toutes",
                          "Permanences juridiques", "Théâtre logement"]),
    ("requested", True, ["Théâtre logement", "Permanences juridiques", "Sport pour toutes",
                         "Ateliers emploi", "Testing 50% embauche"]),
    ("reference", False, ["Sport pour toutes", "Ateliers emploi", "Théâtre logement",
                          "Permanences juridiques", "Testing 50% embauche"]),
    ("submitted", True, ["Testing 50% embauche", "Permanences juridiques",
                         "Théâtre logement", "Ateliers emploi", "Sport pour toutes"]),
    ("title", False, ["Ateliers emploi", "Permanences juridiques", "Sport pour toutes",
                      "Testing 50% embauche", "Théâtre logement"]),
])
def test_sorts(world, files, sort, descending, expected):
    assert titles(run(world, sort=sort, descending=descending)) == expected


def test_sort_by_score_puts_unscored_last_both_ways(world, files):
    scored = {"Ateliers emploi": {"pertinence": 5, "faisabilite": 5},
              "Sport pour toutes": {"pertinence": 2, "faisabilite": 1}}
    for title, scores in scored.items():
        app = review_ready(world, files[title])
        reviews.save_review(world.users["juror"], app,
                            {"scores": scores, "comment": "", "submit": True})
    # 20 and (2·2 + 1) / 15 · 20 = 6.667; the unscored follow, the latest first
    unscored = ["Testing 50% embauche", "Permanences juridiques", "Théâtre logement"]
    best_first = titles(run(world, sort="score", descending=True))
    assert best_first == ["Ateliers emploi", "Sport pour toutes", *unscored]
    worst_first = titles(run(world, sort="score", descending=False))
    assert worst_first == ["Sport pour toutes", "Ateliers emploi", *unscored]
    page = run(world, sort="score")
    assert page.scores[files["Ateliers emploi"].id].score == Decimal("20.000")
    assert page.scores[files["Ateliers emploi"].id].n == 1
    assert page.scores[files["Sport pour toutes"].id].score == Decimal("6.667")
    assert page.scores[files["Théâtre logement"].id].score is None


def test_score_under_the_minimum_of_reviews_is_no_score(world, files):
    world.call.min_reviews = 2
    db.session.commit()
    app = review_ready(world, files["Ateliers emploi"])
    reviews.save_review(world.users["juror"], app,
                        {"scores": {"pertinence": 5, "faisabilite": 5}, "submit": True})
    page = run(world, sort="score", descending=True)
    assert page.scores[app.id].score is None and page.scores[app.id].n == 1
    # no application has a score: all are sorted as unscored, the latest first
    assert titles(page) == ["Testing 50% embauche", "Permanences juridiques",
                            "Théâtre logement", "Ateliers emploi", "Sport pour toutes"]


def test_pagination_and_out_of_range_page(world, files):
    first = run(world, sort="reference", descending=False, per_page=2)
    second = run(world, sort="reference", descending=False, per_page=2, page=2)
    last = run(world, sort="reference", descending=False, per_page=2, page=99)
    assert first.pages == 3 and first.total == 5
    assert titles(first) == ["Sport pour toutes", "Ateliers emploi"]
    assert titles(second) == ["Théâtre logement", "Permanences juridiques"]
    assert titles(last) == ["Testing 50% embauche"] and last.page == 3


def test_applicants_and_jurors_only_find_what_they_may_see(world, files):
    filters = search.Filters(call_id=world.call.id)
    foreign = search.search(world.users["foreign_applicant"], filters)
    assert foreign.total == 0
    juror = search.search(world.users["juror"], filters)
    assert juror.total == 0  # nothing is in review yet
    own = search.search(world.users["applicant"], filters)
    assert "Brouillon secret" in titles(own)


def test_territories_of_the_call(world, files):
    assert search.territories(world.call.id) == ["Aubagne", "Marseille", "Vitrolles"]


_made = iter(range(10_000))


def _make(world, n: int) -> None:
    """Per row, an organisation of its own; besides the call's rows, as many in calls of
    their own (of funds of their own), for the search across calls. A relation loaded
    row by row costs a query per row only when the rows do not share it."""
    for _ in range(n):
        i = next(_made)
        own_call = factories.make_call(factories.make_fund(name=f"Fonds {i}"),
                                       title=f"Appel {i}")
        for call in (world.call, own_call):
            org = factories.make_organisation([world.users["applicant"]],
                                              name=f"Asso {i} {call.id}")
            app = factories.make_application(call, org, title=f"Dossier {i}",
                                             territories=["Marseille"])
            world.bring_to(app, "submitted")


@pytest.mark.parametrize("across_calls", [False, True])
@pytest.mark.parametrize("sort", ["recent", "score", "requested"])
def test_no_n_plus_one(world, sort, across_calls):
    def page() -> search.ResultPage:
        filters = search.Filters(call_id=None if across_calls else world.call.id,
                                 sort=sort, domain="emploi")
        return search.search(world.users["instructor"], filters)

    def cost() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            shown = page()
            for app in shown.items:  # what the list shows
                _ = (app.organisation.name, app.call.title, app.call.fund.name, app.envelope,
                     app.reference, shown.scores[app.id].score)
        return len(statements)

    _make(world, 3)
    small = cost()
    _make(world, 9)
    assert page().total == (24 if across_calls else 12)
    assert cost() == small
