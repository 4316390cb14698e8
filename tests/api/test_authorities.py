"""The authorities endpoints and POST /funds' authority_id, against SPEC 7.1:

| `POST /authorities` | admin | `{name, kind, siret, parent_id?}` → 201 `{id, ...}` |
| `GET /authorities` | signed-in staff | the authorities |
| `PUT /authorities/{id}/members/{user_id}` | admin, or a manager of that authority |
  `{roles: [...]}` → `{authority_id, user_id, roles}`; `[]` removes them |
| `POST /funds` | instructor | `authority_id` is required unless the caller's role is
  platform-wide, and the caller must be an instructor of it (403) |
"""

from __future__ import annotations

import pytest

from aap.extensions import db
from aap.models import Authority, User
from tests.api.helpers import assert_error, ok
from tests.factories import make_authority, make_user, unique_siret

AMP = {"name": "Métropole Aix-Marseille-Provence", "kind": "metropole",
       "siret": "200 054 781 00022"}
FUND = {"name": "Fonds d'initiative", "owner_name": "Métropole",
        "owner_siret": "20005478100022",
        "imputation": {"chapter": "65", "nature": "65748", "function": "552",
                       "subpolicy": "D110"}}




@pytest.fixture
def tree(db):
    amp = make_authority("Métropole AMP", kind="metropole")
    council = make_authority("Conseil de territoire Marseille Provence", kind="council",
                             parent=amp)
    lille = make_authority("Métropole européenne de Lille", kind="metropole")
    return {"amp": amp, "council": council, "lille": lille}


# -- POST /authorities ------------------------------------------------------------------

def test_an_admin_creates_an_authority(api, world, tree):
    body = ok(api.post("/authorities", as_=world.users["admin"],
                       json={**AMP, "parent_id": None}), 201)
    assert set(body) == {"id", "name", "kind", "siret", "parent_id"}
    assert body == {"id": body["id"], "name": "Métropole Aix-Marseille-Provence",
                    "kind": "metropole", "siret": "20005478100022", "parent_id": None}
    child = ok(api.post("/authorities", as_=world.users["admin"], json={
        "name": "Vitrolles", "kind": "commune", "siret": unique_siret(9_130_117),
        "parent_id": body["id"]}), 201)
    assert child["parent_id"] == body["id"]
    assert db.session.get(Authority, child["id"]).name == "Vitrolles"


@pytest.mark.parametrize("role", ["instructor", "finance", "juror", "applicant"])
def test_only_an_admin_creates_authorities(api, world, role):
    assert_error(api.post("/authorities", as_=world.users[role], json=AMP), 403, "forbidden")


def test_a_manager_creates_no_authority_and_anonymous_callers_are_401(api, tree):
    manager = make_user(["manager"], authority=tree["amp"])
    assert_error(api.post("/authorities", as_=manager, json=AMP), 403, "forbidden")
    assert_error(api.post("/authorities", json=AMP), 401, "unauthorized")
    assert_error(api.get("/authorities"), 401, "unauthorized")


BAD_AUTHORITIES = [
    ({"kind": "city"}, "invalid_data", "kind"),
    ({"siret": "20005478100023"}, "invalid_data", "siret"),  # bad Luhn key
    ({"name": ""}, "invalid_data", "name"),
    ({"name": "x" * 201}, "invalid_data", "name"),
    ({"parent_id": 2**31 - 1}, "invalid_data", "parent_id"),  # unknown parent
    ({"parent_id": "1"}, "invalid_data", "parent_id"),
    ({"colour": "red"}, "invalid_data", "colour"),
]


@pytest.mark.parametrize(("changes", "code", "field"), BAD_AUTHORITIES)
def test_invalid_authorities_are_422(api, world, changes, code, field):
    response = api.post("/authorities", as_=world.users["admin"], json={**AMP, **changes})
    assert_error(response, 422, code, [field])


def test_a_missing_field_and_a_siret_taken_are_422(api, world, tree):
    for missing in ("name", "kind", "siret"):
        body = {k: v for k, v in AMP.items() if k != missing}
        assert_error(api.post("/authorities", as_=world.users["admin"], json=body), 422,
                     "invalid_data", [missing])
    taken = {**AMP, "siret": tree["lille"].siret}
    assert_error(api.post("/authorities", as_=world.users["admin"], json=taken), 422,
                 "siret_taken", ["siret"])


# -- GET /authorities -------------------------------------------------------------------

@pytest.mark.parametrize("role", ["instructor", "finance", "juror", "admin"])
def test_staff_list_the_authorities_by_name(api, world, tree, role):
    body = ok(api.get("/authorities", as_=world.users[role]))
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    assert body["items"] == [
        {"id": tree["council"].id, "name": "Conseil de territoire Marseille Provence",
         "kind": "council", "siret": tree["council"].siret, "parent_id": tree["amp"].id},
        {"id": tree["amp"].id, "name": "Métropole AMP", "kind": "metropole",
         "siret": tree["amp"].siret, "parent_id": None},
        {"id": tree["lille"].id, "name": "Métropole européenne de Lille", "kind": "metropole",
         "siret": tree["lille"].siret, "parent_id": None},
    ]


def test_staff_of_an_authority_and_managers_list_them_applicants_do_not(api, world, tree):
    for user in (make_user(["manager"], authority=tree["lille"]),
                 make_user(["juror"], authority=tree["council"])):
        assert ok(api.get("/authorities", as_=user))["total"] == 3
    assert_error(api.get("/authorities", as_=world.users["applicant"]), 403, "forbidden")


def test_the_list_is_paginated(api, world, tree):
    second = ok(api.get("/authorities?per_page=2&page=2", as_=world.users["admin"]))
    assert (second["total"], second["pages"], [a["name"] for a in second["items"]]) == (
        3, 2, ["Métropole européenne de Lille"])
    assert_error(api.get("/authorities?sort=name", as_=world.users["admin"]), 422,
                 "invalid_data", ["sort"])


# -- PUT /authorities/{id}/members/{user_id} --------------------------------------------

def _members_url(authority_id: int, user_id: int) -> str:
    return f"/authorities/{authority_id}/members/{user_id}"


def test_an_admin_sets_and_removes_roles(api, world, tree):
    user = make_user(["applicant"])
    url = _members_url(tree["lille"].id, user.id)
    body = ok(api.put(url, as_=world.users["admin"], json={"roles": ["juror", "instructor"]}))
    assert body == {"authority_id": tree["lille"].id, "user_id": user.id,
                    "roles": ["instructor", "juror"]}
    assert ok(api.put(url, as_=world.users["admin"], json={"roles": []}))["roles"] == []
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == ["applicant"]


def test_a_manager_sets_roles_in_its_own_authority(api, tree):
    manager = make_user(["manager"], authority=tree["council"])
    user = make_user(["applicant"])
    body = ok(api.put(_members_url(tree["council"].id, user.id), as_=manager,
                      json={"roles": ["finance", "manager"]}))
    assert body["roles"] == ["finance", "manager"]
    db.session.expire_all()
    assert db.session.get(User, user.id).roles_in(tree["council"].id) == ["finance", "manager"]


@pytest.mark.parametrize(("manager_in", "target"), [
    ("lille", "amp"), ("amp", "council"), ("council", "amp")])
def test_a_manager_elsewhere_is_403_before_the_body_is_read(api, tree, manager_in, target):
    manager = make_user(["manager"], authority=tree[manager_in])
    user = make_user(["applicant"])
    url = _members_url(tree[target].id, user.id)
    assert_error(api.put(url, as_=manager, json={"roles": ["instructor"]}), 403, "forbidden")
    response = api.put(url, as_=manager, json={"no_such_field": 1})
    assert_error(response, 403, "forbidden")
    assert "no_such_field" not in response.get_data(True)


@pytest.mark.parametrize("role", ["instructor", "finance", "juror", "applicant"])
def test_other_roles_are_403_before_the_body_is_read(api, world, tree, role):
    response = api.put(_members_url(tree["amp"].id, world.users[role].id),
                       as_=world.users[role], json={"no_such_field": 1})
    assert_error(response, 403, "forbidden")
    assert "no_such_field" not in response.get_data(True)


def test_unknown_authority_or_user_is_404(api, world, tree):
    admin, user = world.users["admin"], world.users["juror"]
    assert_error(api.put(_members_url(2**31 - 1, user.id), as_=admin,
                         json={"roles": ["juror"]}), 404, "not_found")
    assert_error(api.put(_members_url(tree["amp"].id, 2**31 - 1), as_=admin,
                         json={"roles": ["juror"]}), 404, "not_found")


@pytest.mark.parametrize("body", [{"roles": ["admin"]}, {"roles": ["applicant"]},
                                  {"roles": ["boss"]}, {"roles": "juror"}, {}])
def test_roles_outside_the_staff_roles_are_422(api, world, tree, body):
    response = api.put(_members_url(tree["amp"].id, world.users["juror"].id),
                       as_=world.users["admin"], json=body)
    error = assert_error(response, 422, "invalid_data")
    assert any(name.startswith("roles") for name in error["fields"]), error


# -- POST /funds with authority_id ------------------------------------------------------

FUND_CASES = [
    # (where the caller is an instructor, the fund's authority, status)
    (None, None, 201), (None, "amp", 201), ("amp", "amp", 201),
    ("amp", None, 422),       # required unless the caller is platform-wide
    ("amp", "council", 403),  # a parent's instructor only reads its children
    ("lille", "amp", 403),
    ("amp", "unknown", 422),
]


@pytest.mark.parametrize(("held_in", "fund_in", "status"), FUND_CASES)
def test_funds_are_created_in_the_callers_authority(api, tree, held_in, fund_in, status):
    instructor = make_user(["instructor"], authority=tree.get(held_in))
    authority_id = 2**31 - 1 if fund_in == "unknown" else getattr(tree.get(fund_in), "id",
                                                                  None)
    body = {**FUND, "authority_id": authority_id} if fund_in else FUND
    response = api.post("/funds", as_=instructor, json=body)
    if status == 201:
        assert ok(response, 201)["authority_id"] == authority_id
    elif status == 403:
        assert_error(response, 403, "forbidden")
    else:
        assert_error(response, 422, "invalid_data", ["authority_id"])


# -- the OpenAPI document ---------------------------------------------------------------

def test_the_document_lists_kinds_and_roles_as_enums(api, db):
    spec = ok(api.get("/openapi.json"))
    schemas = spec["components"]["schemas"]
    assert schemas["AuthorityIn"]["properties"]["kind"]["enum"] == [
        "metropole", "council", "commune", "department", "region", "other"]
    roles = schemas["MemberRolesIn"]["properties"]["roles"]["items"]["enum"]
    assert sorted(roles) == ["finance", "instructor", "juror", "manager"]
    assert "authority_id" in schemas["FundIn"]["properties"]
    put = spec["paths"]["/api/v1/authorities/{authority_id}/members/{user_id}"]["put"]
    assert {"403", "404", "422"} <= set(put["responses"])
