"""The API of a SIRET already registered: 409 ``siret_taken`` naming the organisation, then
``/organisations/{id}/join-requests`` to ask, list (members), accept and decline."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Membership, Notification, Organisation, OrganisationJoinRequest
from tests import factories
from tests.api.helpers import assert_error, ok
from tests.api.test_organisations import ORG

SIRET = ORG["siret"]


@pytest.fixture
def registered(world):
    first = world.users["applicant"]
    second = factories.make_user(["applicant"], name="Bruno Second")
    org = factories.make_organisation(
        [first, second], siret=SIRET, name="Égalité 13", city="Vitrolles",
        address="7 impasse Secrète", email="bureau@egalite13.example.org",
        legal_representative="Paule Présidente")
    return org, [first, second]


@pytest.fixture
def newcomer(world):
    return factories.make_user(["applicant"], name="Nina Nouvelle",
                               email="nina.nouvelle@example.org")


def mails_to(user) -> list[Notification]:
    db.session.rollback()
    return list(db.session.scalars(select(Notification).where(
        Notification.recipient_email == user.email).order_by(Notification.id)))


def is_member(user, org) -> bool:
    db.session.rollback()
    return db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.organisation_id == org.id)) is not None


def path(org_id: int, suffix: str = "") -> str:
    return f"/organisations/{org_id}/join-requests{suffix}"


def test_a_taken_siret_is_409_naming_the_organisation_only(api, registered, newcomer):
    org, members = registered
    before = db.session.scalar(select(func.count(Organisation.id)))
    response = api.post("/organisations", as_=newcomer,
                        json={**ORG, "siret": "732 829 320 00074"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    message = "Une organisation avec ce SIRET existe déjà sur AAP : Égalité 13 (Vitrolles)."
    assert error == {"code": "siret_taken", "message": message,
                     "fields": {"siret": [message]},
                     "organisation": {"id": org.id, "name": "Égalité 13", "city": "Vitrolles"}}
    body = response.get_data(as_text=True)
    for secret in ("7 impasse Secrète", "bureau@egalite13.example.org", "Paule Présidente",
                   *(m.email for m in members)):
        assert secret not in body
    db.session.rollback()
    assert db.session.scalar(select(func.count(Organisation.id))) == before
    assert not is_member(newcomer, org)


def test_the_whole_flow_ask_list_accept(api, world, registered, newcomer):
    org, members = registered
    org_id = api.post("/organisations", as_=newcomer, json=ORG).get_json()[
        "error"]["organisation"]["id"]
    created = ok(api.post(path(org_id), as_=newcomer,
                          json={"message": "Je suis la trésorière."}), 201)
    assert created["status"] == "pending" and created["decided_at"] is None
    assert created["organisation"] == {"id": org.id, "name": "Égalité 13", "city": "Vitrolles"}
    assert created["requester"]["id"] == newcomer.id
    assert created["message"] == "Je suis la trésorière."
    for member in members:
        [mail] = mails_to(member)
        assert mail.subject == "Demande pour rejoindre Égalité 13 sur AAP"
        assert "Nina Nouvelle" in mail.body and "Je suis la trésorière." in mail.body
    assert mails_to(newcomer) == []

    listed = ok(api.get(path(org.id), as_=members[1]))
    assert [r["id"] for r in listed] == [created["id"]]
    assert listed[0]["requester"] == {"id": newcomer.id, "name": "Nina Nouvelle",
                                      "email": "nina.nouvelle@example.org"}

    accepted = ok(api.post(path(org.id, f"/{created['id']}/accept"), as_=members[1]))
    assert accepted["status"] == "accepted" and accepted["decided_at"]
    assert is_member(newcomer, org)
    [mail] = mails_to(newcomer)
    assert mail.subject == "Vous êtes membre de Égalité 13 sur AAP"
    # now a member: may apply for it, and see the requests
    ok(api.post("/applications", as_=newcomer, json={
        "call_id": world.call.id, "organisation_id": org.id, "title": "Projet"}), 201)
    assert [r["status"] for r in ok(api.get(path(org.id), as_=newcomer))] == ["accepted"]
    # decided once only
    assert_error(api.post(path(org.id, f"/{created['id']}/decline"), as_=members[0]), 409)
    assert len(mails_to(newcomer)) == 1


def test_decline_tells_the_requester(api, registered, newcomer):
    org, members = registered
    created = ok(api.post(path(org.id), as_=newcomer, json={}), 201)
    assert created["message"] == ""
    declined = ok(api.post(path(org.id, f"/{created['id']}/decline"), as_=members[0]))
    assert declined["status"] == "declined"
    assert not is_member(newcomer, org)
    [mail] = mails_to(newcomer)
    assert mail.subject == "Votre demande pour rejoindre Égalité 13 sur AAP"
    # one may ask again after a refusal
    ok(api.post(path(org.id), as_=newcomer, json={"message": "Je réessaie"}), 201)


def test_a_duplicate_pending_request_is_409(api, registered, newcomer):
    org, members = registered
    ok(api.post(path(org.id), as_=newcomer, json={"message": "Une"}), 201)
    error = assert_error(api.post(path(org.id), as_=newcomer, json={"message": "Deux"}),
                         409, "join_request_pending")
    assert error["message"].startswith("Vous avez déjà une demande en attente")
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 1
    assert all(len(mails_to(m)) == 1 for m in members)


def test_who_may_ask(api, world, registered):
    org, members = registered
    assert_error(api.post(path(org.id), as_=members[0], json={}), 409, "already_member")
    assert_error(api.post(path(org.id), as_=world.users["instructor"], json={}), 403)
    assert_error(api.post(path(999_999), as_=world.users["foreign_applicant"], json={}), 404)
    assert_error(api.post(path(org.id), json={}), 401)
    assert_error(api.post(path(org.id), as_=world.users["foreign_applicant"],
                          json={"message": "x" * 1001}), 422, "invalid_data", ["message"])
    assert_error(api.post(path(org.id), as_=world.users["foreign_applicant"],
                          json={"message": "x", "members": [1]}), 422, "invalid_data")
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 0


def test_only_members_list_and_decide(api, world, registered, newcomer):
    org, members = registered
    created = ok(api.post(path(org.id), as_=newcomer, json={}), 201)
    outsiders = [newcomer, world.users["foreign_applicant"], world.users["instructor"],
                 world.users["admin"]]
    for outsider in outsiders:
        assert_error(api.get(path(org.id), as_=outsider), 403)
        for decision in ("accept", "decline"):
            assert_error(api.post(path(org.id, f"/{created['id']}/{decision}"),
                                  as_=outsider), 403)
    # a request of another organisation, through one's own: 404; unknown ids: 404
    other_member = world.users["foreign_applicant"]
    assert_error(api.post(path(world.other_org.id, f"/{created['id']}/accept"),
                          as_=other_member), 404)
    assert_error(api.post(path(org.id, "/999999/accept"), as_=members[0]), 404)
    assert_error(api.get(path(999_999), as_=members[0]), 404)
    db.session.rollback()
    assert db.session.get(OrganisationJoinRequest, created["id"]).status == "pending"
    assert not is_member(newcomer, org)
    assert mails_to(newcomer) == []


def test_the_index_catching_a_concurrent_creation_is_409_too(api, registered, newcomer,
                                                             monkeypatch):
    from aap.services import organisations

    org, _ = registered
    real, calls = organisations.find_by_siret, []

    def not_yet(siret):
        calls.append(siret)
        return None if len(calls) == 1 else real(siret)

    monkeypatch.setattr(organisations, "find_by_siret", not_yet)
    response = api.post("/organisations", as_=newcomer, json=ORG)
    assert response.status_code == 409
    assert response.get_json()["error"]["organisation"]["id"] == org.id
    assert len(calls) == 2


def test_the_routes_are_in_the_openapi_document(api):
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    base = "/api/v1/organisations/{organisation_id}/join-requests"
    assert set(paths[base]) >= {"get", "post"}
    assert "post" in paths[base + "/{request_id}/accept"]
    assert "post" in paths[base + "/{request_id}/decline"]


def test_the_list_costs_the_same_queries_for_more_requests(api, registered):
    from tests.helpers import count_queries

    org, members = registered
    org_id, token = org.id, api.token(members[0])

    def ask(n):
        for i in range(n):
            user = factories.make_user(["applicant"], name=f"Demandeuse {i}")
            ok(api.post(path(org_id), as_=user, json={"message": f"n°{i}"}), 201)

    def queries() -> tuple[int, int]:
        db.session.rollback()
        db.session.expunge_all()  # nothing cached from the requests before
        with count_queries() as statements:
            listed = ok(api.get(path(org_id), token=token))
        return len(statements), len(listed)

    ok(api.get(path(org_id), token=token))  # the token's first use records it
    ask(2)
    few, listed = queries()
    assert listed == 2
    ask(6)
    many, listed = queries()
    assert listed == 8 and many == few
