"""Lists cost the same number of queries with one authority or many (no N+1 on the
authority dimension): the scope is computed once per request from the user's roles and
the authority tree, and the lists are filtered in SQL.

The world grows from 3 to 12 communes under one métropole, each with its fund, its call
and a submitted application; the métropole's instructor and finance officer read them all
(SPEC 2: a parent reads its descendants'), as do the platform-wide ones.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Call
from tests.authority_world import bring_to
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
)
from tests.helpers import count_queries

PAGES = [
    ("instructor", "/instruction/"),
    ("finance", "/finances/"),
    ("instructor", "/api/v1/calls?per_page=100"),
    ("instructor", "/api/v1/applications?per_page=100"),
    ("finance", "/api/v1/applications?per_page=100"),
]




@pytest.fixture
def metropole(db):
    """The métropole, its staff and a platform-wide pair, and an applicant."""
    authority = make_authority("Métropole du Levant", kind="metropole")
    people = {(role, where): make_user([role], authority=authority if where == "metropole"
                                       else None)
              for role in ("instructor", "finance") for where in ("metropole", "platform")}
    applicant = make_user(["applicant"])
    return {"authority": authority, "people": people, "applicant": applicant,
            "org": make_organisation([applicant]), "communes": 0}


def _grow(metropole, to: int) -> None:
    """Communes under the métropole up to ``to``, each running a call with a submitted
    application (submitted by the applicant: no staff needed)."""
    db.session.rollback()  # a fresh snapshot after the requests' commits (logins)
    while metropole["communes"] < to:
        n = metropole["communes"] = metropole["communes"] + 1
        commune = make_authority(f"Commune {n}", parent=metropole["authority"])
        call = make_call(make_fund(authority_id=commune.id, name=f"Fonds {n}"),
                         title=f"Appel {n}")
        bring_to(make_application(call, metropole["org"], title=f"Dossier {n}"),
                 "submitted", {"applicant": metropole["applicant"]})


def _queries(client, url: str, headers: dict) -> int:
    db.session.expire_all()
    with count_queries() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(True)[:300]
    return len(statements)


def _headers(client, url: str, user) -> dict:
    if not url.startswith("/api/"):
        return {}
    token = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": "Ateliers-du-samedi-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.get(url, headers=headers)  # the token's first use records it (once a minute)
    return headers


@pytest.mark.parametrize("where", ["metropole", "platform"])
@pytest.mark.parametrize(("role", "url"), PAGES, ids=[f"{r} {u}" for r, u in PAGES])
def test_lists_cost_the_same_with_many_authorities(client, log_in, metropole, where, role,
                                                   url):
    user = metropole["people"][(role, where)]
    if not url.startswith("/api/"):
        log_in(user)
    headers = _headers(client, url, user)
    _grow(metropole, 3)
    few = _queries(client, url, headers)
    _grow(metropole, 12)
    many = _queries(client, url, headers)
    assert many == few
    if url.startswith("/api/"):  # and it lists all twelve: a parent reads its children's
        assert client.get(url, headers=headers).get_json()["total"] == 12
    else:
        page = client.get(url).get_data(True)
        assert all(f"Appel {n}<" in page or f"Appel {n} " in page for n in range(1, 13))
    assert db.session.scalar(select(func.count(Call.id))) == 12
