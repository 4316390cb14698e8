"""Regressions found in review: ids and page numbers beyond a database integer."""

from __future__ import annotations

HUGE = 10**20


def test_huge_id_in_the_url_is_a_404(api, world):
    response = api.get(f"/calls/{HUGE}", as_=world.users["instructor"])
    assert response.status_code == 404


def test_huge_page_is_refused_not_a_500(api, world):
    response = api.get(f"/applications?page={HUGE}", as_=world.users["instructor"])
    assert response.status_code == 422


def test_huge_organisation_id_is_refused_not_a_500(api, world):
    response = api.post("/applications", as_=world.users["applicant"],
                        json={"call_id": world.call.id, "organisation_id": HUGE})
    assert response.status_code == 422


def test_huge_juror_id_is_refused_not_a_500(api, world):
    response = api.put(f"/calls/{world.call.id}/jury", as_=world.users["instructor"],
                       json={"juror_ids": [HUGE]})
    assert response.status_code == 422
