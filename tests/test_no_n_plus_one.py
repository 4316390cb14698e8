"""Lists cost the same number of queries whatever their length (no N+1)."""

from __future__ import annotations

import pytest

from aap.extensions import db
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


@pytest.mark.parametrize(("role", "url"), [
    ("applicant", "/api/v1/applications?per_page=100"),
    ("instructor", "/api/v1/applications?per_page=100"),
    ("instructor", "/api/v1/calls"),
])
def test_api_lists_do_not_grow_with_the_rows(client, world, role, url):
    headers = _login(client, world.users[role])
    for _ in range(3):
        world.fire(world.application(), "submit")
    few = _queries_for(client, headers, url)
    for _ in range(12):
        world.fire(world.application(), "submit")
    many = _queries_for(client, headers, url)
    assert many == few
