"""The totals of the application lists follow the authority tree (SPEC 2): a list's count
is computed by a query of its own (the cheaper ``call_id IN`` form), so it is checked
here against hand counts, beside the rows it pages.

The world: the métropole runs 2 submitted applications, its commune 3 and the unrelated
Lille 4; each also has a draft, which no staff list shows. So the commune's instructor
counts 3, the métropole's 2 + 3 = 5 (a parent reads its children's), Lille's 4 and a
platform-wide instructor 9. A search narrows the counts the same way.
"""

from __future__ import annotations

import re

import pytest

from tests.authority_world import bring_to
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
)
from tests.web.conftest import login

#: submitted applications run by each authority (each also has one draft)
SUBMITTED = {"metropole": 2, "commune": 3, "lille": 4}
#: what each instructor counts, by hand from SUBMITTED and the tree
EXPECTED = {"commune": 3, "metropole": 2 + 3, "lille": 4, "platform": 2 + 3 + 4}


@pytest.fixture
def tree(db):
    metropole = make_authority("Métropole du Levant", kind="metropole")
    authorities = {"metropole": metropole,
                   "commune": make_authority("Commune du Levant", parent=metropole),
                   "lille": make_authority("Lille", kind="metropole")}
    applicant = make_user(["applicant"])
    org = make_organisation([applicant])
    for key, authority in authorities.items():
        call = make_call(make_fund(authority_id=authority.id, name=f"Fonds {key}"),
                         title=f"Appel {key}")
        make_application(call, org, title=f"Brouillon {key}")
        for n in range(SUBMITTED[key]):
            bring_to(make_application(call, org, title=f"Dossier {key} {n}"), "submitted",
                     {"applicant": applicant})
    instructors = {key: make_user(["instructor"], authority=authority)
                   for key, authority in authorities.items()}
    instructors["platform"] = make_user(["instructor"])
    return instructors


def _api_total(client, user, query: str = "") -> int:
    token = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": "Ateliers-du-samedi-2026"}).get_json()["token"]
    response = client.get(f"/api/v1/applications?per_page=100{query}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(True)[:300]
    body = response.get_json()
    assert len(body["items"]) == body["total"]  # the count matches the rows it pages
    return body["total"]


def _web_total(client, user, query: str = "") -> int:
    login(client, user)
    page = client.get(f"/instruction/?{query}").get_data(True)
    match = re.search(r'id="apps-title">[^<]*<span class="count">\((\d+)\)', page)
    assert match, page[:500]
    return int(match.group(1))


@pytest.mark.parametrize("who", list(EXPECTED))
def test_api_total_counts_what_the_instructor_reads(client, tree, who):
    assert _api_total(client, tree[who]) == EXPECTED[who]


@pytest.mark.parametrize("who", list(EXPECTED))
def test_back_office_total_counts_what_the_instructor_reads(app, tree, who):
    assert _web_total(app.test_client(), tree[who]) == EXPECTED[who]


@pytest.mark.parametrize("who", list(EXPECTED))
def test_a_search_counts_within_the_scope(app, tree, who):
    """``q=Dossier commune`` matches the commune's 3 submitted applications only: the
    métropole's and the platform's instructors find 3, the others none."""
    expected = 3 if who in ("commune", "metropole", "platform") else 0
    assert _web_total(app.test_client(), tree[who], "q=Dossier+commune") == expected
