"""A jury is chosen among the authority's jurors (SPEC 2): a juror platform-wide or in the
call's own authority may sit on its jury; a juror of its parent, of its child or of an
unrelated authority may not. Checked on the service, on ``PUT /api/v1/calls/{id}/jury``
and on the jury page (its choice list, and a refusal naming the user).

The world: a métropole with a child commune, an unrelated métropole, a call in the
métropole, one in the commune and a platform-wide one, and a juror in each place.
"""

from __future__ import annotations

import pytest

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Call
from aap.services.calls import set_jury
from tests.api.helpers import ApiClient, assert_error, ok
from tests.factories import make_authority, make_call, make_fund, make_user
from tests.web.conftest import csrf_token

PLACES = ("metropole", "commune", "other", "platform")

#: (the call's authority, the juror's, may sit on the jury): SPEC 2, by hand.
CASES = [
    ("metropole", "metropole", True),
    ("metropole", "platform", True),
    ("metropole", "commune", False),  # its child's juror
    ("metropole", "other", False),
    ("commune", "commune", True),
    ("commune", "platform", True),
    ("commune", "metropole", False),  # its parent's juror
    ("platform", "platform", True),
    ("platform", "metropole", False),  # a platform-wide call: platform-wide jurors only
]
IDS = [f"{call}-call-{juror}-juror" for call, juror, _ in CASES]




@pytest.fixture
def places(db):
    metropole = make_authority("Métropole du Levant", kind="metropole")
    commune = make_authority("Commune des Collines", parent=metropole)
    other = make_authority("Métropole du Couchant", kind="metropole")
    authorities = {"metropole": metropole, "commune": commune, "other": other,
                   "platform": None}
    jurors = {p: make_user(["juror"], name=f"Juré {p}", authority=authorities[p])
              for p in PLACES}
    instructors = {p: make_user(["instructor"], authority=authorities[p]) for p in PLACES}
    calls = {p: make_call(make_fund(authority_id=a.id if a else None))
             for p, a in authorities.items() if p != "other"}
    return {"authorities": authorities, "jurors": jurors, "instructors": instructors,
            "calls": calls}


def _jury(call_id: int) -> set[int]:
    db.session.rollback()  # a fresh snapshot: the request's commit
    return {m.user_id for m in db.session.get(Call, call_id).jury}


@pytest.mark.parametrize(("call_in", "juror_in", "accepted"), CASES, ids=IDS)
def test_the_service_takes_the_authoritys_jurors_only(places, call_in, juror_in,
                                                      accepted):
    call, juror = places["calls"][call_in], places["jurors"][juror_in]
    if accepted:
        set_jury(call, [juror.id])
        assert _jury(call.id) == {juror.id}
        return
    with pytest.raises(ValidationFailed) as refused:
        set_jury(call, [juror.id])
    assert refused.value.code == "juror_outside_authority"
    assert f"Juré {juror_in}" in refused.value.message
    assert refused.value.fields["juror_ids"] == [
        f"Juré {juror_in} ({juror.email}) n'est pas juré·e "
        + (f"de « {places['authorities'][call_in].name} »." if call_in != "platform"
           else "de toute la plateforme.")]
    db.session.rollback()
    assert _jury(call.id) == set()


def test_a_juror_of_two_authorities_sits_on_either_jury(places):
    both = make_user(["juror"], name="Jurée double", authority=places["authorities"]["other"])
    both.set_roles(["juror"], authority_id=places["authorities"]["commune"].id)
    db.session.commit()
    set_jury(places["calls"]["commune"], [both.id])
    assert _jury(places["calls"]["commune"].id) == {both.id}
    with pytest.raises(ValidationFailed):
        set_jury(places["calls"]["metropole"], [both.id])  # not in the métropole itself


@pytest.mark.parametrize(("call_in", "juror_in", "accepted"), CASES, ids=IDS)
def test_the_api_refuses_a_juror_of_another_authority_by_name(client, places, call_in,
                                                              juror_in, accepted):
    api = ApiClient(client)
    call, juror = places["calls"][call_in], places["jurors"][juror_in]
    response = api.put(f"/calls/{call.id}/jury", as_=places["instructors"][call_in],
                       json={"juror_ids": [juror.id]})
    if accepted:
        assert [j["id"] for j in ok(response)["jurors"]] == [juror.id]
        return
    error = assert_error(response, 422, "juror_outside_authority", fields=["juror_ids"])
    assert f"Juré {juror_in}" in error["message"]
    assert _jury(call.id) == set()


@pytest.mark.parametrize("call_in", ["metropole", "commune", "platform"])
def test_the_jury_page_offers_the_authoritys_jurors_only(log_in, places, call_in):
    offered = {"metropole": {"metropole", "platform"}, "commune": {"commune", "platform"},
               "platform": {"platform"}}[call_in]
    client = log_in(places["instructors"][call_in])
    page = client.get(f"/instruction/appels/{places['calls'][call_in].id}"
                      "/composition-du-jury")
    assert page.status_code == 200
    shown = {p for p in PLACES if f"Juré {p} (" in page.text}
    assert shown == offered


@pytest.mark.parametrize(("call_in", "juror_in", "accepted"), CASES, ids=IDS)
def test_the_jury_page_refuses_a_juror_of_another_authority_by_name(
        log_in, places, call_in, juror_in, accepted):
    call, juror = places["calls"][call_in], places["jurors"][juror_in]
    client = log_in(places["instructors"][call_in])
    url = f"/instruction/appels/{call.id}/composition-du-jury"
    token = csrf_token(client.get(url).text)
    response = client.post(url, data={"csrf_token": token, "juror_ids": [str(juror.id)]})
    if accepted:
        assert response.status_code == 302
        assert _jury(call.id) == {juror.id}
        return
    assert response.status_code == 422
    assert f"Juré {juror_in} ({juror.email})" in response.text
    assert "se choisit parmi les jurés" in response.text
    assert f"Juré {juror_in} (" not in response.text.split('id="juror-list"')[1]
    assert _jury(call.id) == set()
