"""Lists cost the same number of queries whatever their length (no N+1)."""

from __future__ import annotations

import pytest

from aap.extensions import db
from tests import factories
from tests.factories import PASSWORD
from tests.helpers import count_queries


def _queries_for(client, headers, url: str) -> int:
    db.session.expire_all()
    with count_queries() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data[:300]
    return len(statements)


def _login(client, user) -> dict:
    token = client.post("/api/v1/auth/token", json={"email": user.email,
                                                    "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _spread(world, n: int) -> None:
    """``n`` submitted applications, each of its own organisation, in its own call of its
    own fund: a relation loaded row by row (organisation, call, fund) costs a query per
    row here, where rows sharing one organisation and one call would hide it."""
    for i in range(n):
        fund = factories.make_fund(name=f"Fonds {i}")
        call = factories.make_call(fund, title=f"Appel {i}")
        org = factories.make_organisation([world.users["applicant"]], name=f"Asso {i}")
        world.fire(factories.make_application(call, org, title=f"Dossier {i}"), "submit")


@pytest.mark.parametrize(("role", "url"), [
    ("applicant", "/api/v1/applications?per_page=100"),
    ("instructor", "/api/v1/applications?per_page=100"),
    ("instructor", "/api/v1/calls?per_page=100"),
])
def test_api_lists_do_not_grow_with_the_rows(client, world, role, url):
    headers = _login(client, world.users[role])
    client.get(url, headers=headers)  # a token's first use records it (once a minute)
    _spread(world, 3)
    few = _queries_for(client, headers, url)
    _spread(world, 12)
    many = _queries_for(client, headers, url)
    listed = client.get(url, headers=headers).get_json()
    assert listed["total"] == (16 if url.endswith("calls?per_page=100") else 15)
    assert len(listed["items"]) == listed["total"]
    assert many == few
