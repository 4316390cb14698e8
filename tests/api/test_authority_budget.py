"""GET /api/v1/authorities/{id}/budget?fiscal_year= (SPEC 7.1): its staff and its parents'
read it, platform-wide staff too; another authority is 404, an applicant 403; the body
against the hand figures of ``tests/services/test_consolidation.py``."""

from __future__ import annotations

import pytest

from aap.extensions import db
from tests import factories
from tests.api.helpers import ApiClient, assert_error, ok
from tests.helpers import count_queries
from tests.services.test_consolidation import (
    METROPOLE_2026,
    E,
    authority_call,
    build_tree,
)
from tests.web.conftest import IsolatedClient


@pytest.fixture
def api(app, db) -> ApiClient:
    """Each request in a context of its own, as in production: the authority tree cached
    for a request (``flask.g``) is not carried over to the next one."""
    return ApiClient(IsolatedClient(app, app.response_class))


@pytest.fixture
def tree(world):
    return build_tree(world)


def url(authority_id: int, query: str = "?fiscal_year=2026") -> str:
    return f"/authorities/{authority_id}/budget{query}"


def figures(name_and_euros: tuple) -> dict:
    _name, budget, granted, paid, available = name_and_euros
    return {"budget_cents": budget * E, "granted_cents": granted * E, "paid_cents": paid * E,
            "available_cents": available * E}


def test_the_metropole_and_each_child(api, tree):
    reader = factories.make_user(["finance"], authority=tree.metropole)
    body = ok(api.get(url(tree.metropole.id), as_=reader))
    own, *children = METROPOLE_2026
    assert {k: body[k] for k in figures(own)} == figures(own)
    assert body["authority_id"] == tree.metropole.id and body["fiscal_year"] == 2026
    ids = {"Commune de Vitrolles": tree.vitrolles.id,
           "Conseil de territoire Istres Ouest Provence": tree.istres_council.id,
           "Conseil de territoire Marseille Provence": tree.marseille_council.id}
    assert body["children"] == [
        {"authority_id": ids[line[0]], "name": line[0], **figures(line)} for line in children]


def test_a_leaf_has_no_children(api, tree):
    reader = factories.make_user(["instructor"], authority=tree.istres)
    body = ok(api.get(url(tree.istres.id), as_=reader))
    assert (body["budget_cents"], body["granted_cents"], body["paid_cents"],
            body["available_cents"], body["children"]) == (
        10_000 * E, 2_000 * E, 2_000 * E, 8_000 * E, [])


def test_the_own_figures_are_the_call_budget_of_get_call(api, tree):
    """One call of its own: the authority's figures are that call's ``budget``."""
    reader = factories.make_user(["instructor"], authority=tree.lille)
    body = ok(api.get(url(tree.lille.id), as_=reader))
    call = ok(api.get(f"/calls/{tree.calls['lille'].id}", as_=reader))["budget"]
    assert {k: body[k] for k in figures(("", 0, 0, 0, 0))} == {
        k: call[k] for k in ("budget_cents", "granted_cents", "paid_cents", "available_cents")}


@pytest.mark.parametrize(("roles", "held_in", "target", "status"), [
    (["instructor"], "metropole", "metropole", 200),
    (["juror"], "metropole", "istres", 200),  # its parents' staff, any staff role
    (["manager"], "istres_council", "istres", 200),
    (["finance"], "vitrolles", "vitrolles", 200),
    (["finance"], "vitrolles", "metropole", 404),  # a child does not read its parent
    (["instructor"], "istres_council", "marseille_council", 404),  # nor a sibling
    (["instructor"], "lille", "metropole", 404),  # nor another métropole
    (["finance"], "metropole", "lille", 404),
    (["instructor"], None, "lille", 200),  # platform-wide staff
    (["admin"], None, "metropole", 200),
    (["applicant"], None, "metropole", 403),
])
def test_who_reads_it(api, tree, roles, held_in, target, status):
    user = factories.make_user(roles, authority=getattr(tree, held_in) if held_in else None)
    response = api.get(url(getattr(tree, target).id), as_=user)
    if status == 200:
        ok(response)
    else:
        assert_error(response, status, {403: "forbidden", 404: "not_found"}[status])


def test_an_unknown_authority_is_404_and_no_token_401(api, tree):
    assert_error(api.get(url(tree.lille.id + 1000), as_=factories.make_user(["finance"])),
                 404, "not_found")
    assert_error(api.get(url(tree.lille.id)), 401)


@pytest.mark.parametrize("query", ["", "?fiscal_year=", "?fiscal_year=abc",
                                   "?fiscal_year=1999", "?fiscal_year=2026&other=1"])
def test_the_fiscal_year_is_required_and_checked(api, tree, query):
    reader = factories.make_user(["finance"], authority=tree.metropole)
    assert_error(api.get(url(tree.metropole.id, query), as_=reader), 422, "invalid_data")


def test_an_applicant_is_refused_before_the_query_is_read(api, tree):
    assert_error(api.get(url(tree.metropole.id, ""), as_=factories.make_user(["applicant"])),
                 403, "forbidden")


def test_constant_queries_whatever_the_number_of_children(api, world, tree):
    reader = factories.make_user(["finance"], authority=tree.metropole)
    api.token(reader)
    target = url(tree.metropole.id)  # read here: the count is the request's alone

    def queries() -> int:
        with count_queries() as statements:
            ok(api.get(target, as_=reader))
        return len(statements)

    ok(api.get(target, as_=reader))  # the token's first use records it (once a minute)
    before = queries()
    db.session.rollback()  # the test's own read transaction (WAL: a snapshot) ends here
    for n in range(6):
        child = factories.make_authority(f"Commune n°{n}", "commune", tree.metropole)
        authority_call(world, child, 1_000)
    body = ok(api.get(url(tree.metropole.id), as_=reader))
    assert len(body["children"]) == 3 + 6
    last = next(c for c in body["children"] if c["name"] == "Commune n°5")
    assert last == {"authority_id": child.id, "name": "Commune n°5",
                    **figures(("", 1_000, 0, 0, 1_000))}
    assert queries() == before
