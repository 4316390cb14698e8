"""The web flow of a SIRET already registered: the creation form keeps what was typed and
offers to ask to join; the members accept or decline on the organisation's page; each step
is a mail in the outbox."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Membership, Notification, Organisation, OrganisationJoinRequest
from aap.services import organisations
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_organisations import VALID, create
from tests.web.test_applicant_portal import strict, text

SIRET = "73282932000074"  # VALID's, typed there as "732 829 320 00074"
TAKEN = "Une organisation avec ce SIRET existe déjà sur AAP : Égalité 13 (Vitrolles)."


@pytest.fixture
def registered(world):
    """Égalité 13 holds the SIRET; two members, private details a stranger must not see."""
    first = world.users["applicant"]
    second = factories.make_user(["applicant"], name="Bruno Second",
                                 email="bruno.second@example.org")
    org = factories.make_organisation(
        [first, second], siret=SIRET, name="Égalité 13", city="Vitrolles",
        address="7 impasse Secrète", email="bureau@egalite13.example.org",
        phone="04 91 00 00 00", iban="FR1420041010050500013M02606",
        legal_representative="Paule Présidente")
    return org, [first, second]


@pytest.fixture
def newcomer(world):
    return factories.make_user(["applicant"], name="Nina Nouvelle",
                               email="nina.nouvelle@example.org")


def mails_to(email: str) -> list[Notification]:
    db.session.rollback()
    return list(db.session.scalars(select(Notification).where(
        Notification.recipient_email == email).order_by(Notification.id)))


def join_form_token(html: str) -> str:
    match = re.search(r'name="join-csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no join form in the page"
    return match.group(1)


def ask(client, org_id: int, page_html: str, message: str = ""):
    return client.post(f"/porteur/organisations/{org_id}/rejoindre", data={
        "join-csrf_token": join_form_token(page_html), "join-message": message})


def decide(client, org_id: int, request_id: int, decision: str):
    page = client.get(f"/porteur/organisations/{org_id}")
    return client.post(f"/porteur/organisations/{org_id}/demandes/{request_id}/{decision}",
                       data={"csrf_token": csrf_token(page.text)})


def only_request() -> OrganisationJoinRequest:
    db.session.rollback()
    return db.session.scalars(select(OrganisationJoinRequest)).one()


def test_taken_siret_keeps_the_form_names_the_organisation_and_leaks_nothing(
        client, registered, newcomer, log_in):
    org, members = registered
    log_in(newcomer)
    before = db.session.scalar(select(func.count(Organisation.id)))
    response = create(client, name="Mon asso à moi", city="Marseille")
    assert response.status_code == 409
    html = text(response)
    strict(html)
    assert TAKEN in html
    assert 'id="siret-error"' in html  # the message is next to the field, too
    # what was typed is still there
    assert 'value="Mon asso à moi"' in html and 'value="732 829 320 00074"' in html
    assert 'value="contact@egalite.example.org"' in html
    # the way to ask to join, and nothing private of the organisation
    assert f'action="/porteur/organisations/{org.id}/rejoindre"' in html
    assert "Demander à rejoindre l'organisation" in html
    for secret in (*(m.email for m in members), *(m.display_name for m in members),
                   "7 impasse Secrète", "bureau@egalite13.example.org", "04 91 00 00 00",
                   "Paule Présidente", "FR1420041010050500013M02606", "20041010"):
        assert secret not in html, secret
    db.session.rollback()
    assert db.session.scalar(select(func.count(Organisation.id))) == before


def test_whole_flow_ask_then_accept(client, registered, newcomer, log_in):
    org, members = registered
    log_in(newcomer)
    page = create(client)
    response = ask(client, org.id, page.text, "Je suis la nouvelle trésorière.")
    assert response.status_code == 302 and response.headers["Location"] == "/porteur/"
    home = text(client.get("/porteur/"))
    assert "Votre demande est envoyée aux membres de « Égalité 13 »" in home
    # each member is told, with the requester's name and message; the requester is not
    for member in members:
        [mail] = mails_to(member.email)
        assert mail.subject == "Demande pour rejoindre Égalité 13 sur AAP"
        assert "Nina Nouvelle" in mail.body and "nina.nouvelle@example.org" in mail.body
        assert "Je suis la nouvelle trésorière." in mail.body
    assert mails_to(newcomer.email) == []
    # the requester still cannot open the organisation
    assert client.get(f"/porteur/organisations/{org.id}").status_code == 404

    client.post("/deconnexion", data={"csrf_token": csrf_token(client.get("/porteur/").text)})
    log_in(members[1])
    page = client.get(f"/porteur/organisations/{org.id}")
    html = text(page)
    strict(html)
    assert "Demandes pour rejoindre l'organisation" in html
    assert "Nina Nouvelle" in html and "Je suis la nouvelle trésorière." in html
    request = only_request()
    response = decide(client, org.id, request.id, "accepter")
    assert response.status_code == 302
    assert "Nina Nouvelle est désormais membre" in text(client.get(response.headers["Location"]))
    request = only_request()
    assert request.status == "accepted" and request.decided_by_id == members[1].id
    assert db.session.scalar(select(Membership).where(
        Membership.user_id == newcomer.id, Membership.organisation_id == org.id))
    [mail] = mails_to(newcomer.email)
    assert mail.subject == "Vous êtes membre de Égalité 13 sur AAP"
    assert all(len(mails_to(m.email)) == 1 for m in members)  # nothing more for them
    # the request has left the list; a second decision is refused with a message
    assert "Demandes pour rejoindre" not in text(client.get(f"/porteur/organisations/{org.id}"))
    again = decide(client, org.id, request.id, "refuser")
    assert "Cette demande a déjà été traitée." in text(client.get(again.headers["Location"]))
    assert only_request().status == "accepted"

    client.post("/deconnexion", data={"csrf_token": csrf_token(client.get("/porteur/").text)})
    log_in(newcomer)
    assert client.get(f"/porteur/organisations/{org.id}").status_code == 200


def test_decline_tells_the_requester(client, registered, newcomer, log_in):
    org, members = registered
    organisations.request_to_join(newcomer, org.id, "")
    log_in(members[0])
    request = only_request()
    response = decide(client, org.id, request.id, "refuser")
    assert "La demande de Nina Nouvelle est refusée" in text(
        client.get(response.headers["Location"]))
    assert only_request().status == "declined"
    [mail] = mails_to(newcomer.email)
    assert mail.subject == "Votre demande pour rejoindre Égalité 13 sur AAP"
    assert not db.session.scalar(select(Membership).where(Membership.user_id == newcomer.id))


def test_a_second_pending_request_is_refused_with_a_message(client, registered, newcomer,
                                                             log_in):
    org, members = registered
    log_in(newcomer)
    page = create(client)
    assert ask(client, org.id, page.text).status_code == 302
    # the creation form now says a request is pending, instead of offering another
    page = create(client)
    assert page.status_code == 409
    html = text(page)
    assert "Vous avez demandé à la rejoindre le" in html
    assert "join-csrf_token" not in html
    # posting anyway (a second tab): refused, the typed message kept
    again = client.post(f"/porteur/organisations/{org.id}/rejoindre", data={
        "join-csrf_token": csrf_token(client.get("/porteur/").text),
        "join-message": "Message tapé deux fois"})
    assert again.status_code == 409
    html = text(again)
    strict(html)
    assert "Vous avez déjà une demande en attente pour cette organisation" in html
    assert "Message tapé deux fois" in html
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 1
    assert all(len(mails_to(m.email)) == 1 for m in members)


def test_a_too_long_message_is_kept_with_a_message(client, registered, newcomer, log_in):
    org, _ = registered
    log_in(newcomer)
    page = create(client)
    response = ask(client, org.id, page.text, "é" * 1001)
    assert response.status_code == 422
    html = text(response)
    assert "1 000 caractères au maximum." in html
    assert "é" * 1001 in html
    db.session.rollback()
    assert db.session.scalar(select(func.count(OrganisationJoinRequest.id))) == 0


def test_a_member_typing_the_siret_is_sent_to_the_organisation(client, registered, log_in):
    org, members = registered
    log_in(members[0])
    response = create(client)
    assert response.status_code == 409
    html = text(response)
    assert "Vous en êtes déjà membre." in html
    assert f'href="/porteur/organisations/{org.id}"' in html
    assert "join-csrf_token" not in html


def test_a_non_member_may_not_decide(client, world, registered, newcomer, log_in):
    org, _ = registered
    request = organisations.request_to_join(newcomer, org.id, "")
    outsider = world.users["foreign_applicant"]  # member of another organisation
    log_in(outsider)
    token = csrf_token(client.get("/porteur/").text)
    for decision in ("accepter", "refuser"):
        response = client.post(
            f"/porteur/organisations/{org.id}/demandes/{request.id}/{decision}",
            data={"csrf_token": token})
        assert response.status_code == 404
        # nor through their own organisation
        response = client.post(
            f"/porteur/organisations/{world.other_org.id}/demandes/{request.id}/{decision}",
            data={"csrf_token": token})
        assert response.status_code == 404
    assert only_request().status == "pending"
    assert not db.session.scalar(select(Membership).where(Membership.user_id == newcomer.id))
    # and the requester neither
    client.post("/deconnexion", data={"csrf_token": token})
    log_in(newcomer)
    response = client.post(f"/porteur/organisations/{org.id}/demandes/{request.id}/accepter",
                           data={"csrf_token": csrf_token(client.get("/porteur/").text)})
    assert response.status_code == 404
    assert only_request().status == "pending"


def test_the_index_catching_a_concurrent_creation_is_the_friendly_page(
        client, registered, newcomer, log_in, monkeypatch):
    """The SIRET was free when checked, taken when written: the unique index refuses the
    row, and the page is the same 409 as above, not a 500."""
    real, calls = organisations.find_by_siret, []

    def not_yet(siret):
        calls.append(siret)
        return None if len(calls) == 1 else real(siret)

    monkeypatch.setattr(organisations, "find_by_siret", not_yet)
    log_in(newcomer)
    response = create(client, name="Course")
    assert response.status_code == 409
    assert TAKEN in text(response) and 'value="Course"' in response.text
    assert len(calls) == 2


def test_an_edit_to_a_taken_siret_is_refused_next_to_the_field(client, world, registered,
                                                               log_in):
    log_in(world.users["foreign_applicant"])
    page = client.get(f"/porteur/organisations/{world.other_org.id}")
    response = client.post(f"/porteur/organisations/{world.other_org.id}", data={
        **VALID, "name": "Nom tapé", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    html = text(response)
    assert "Ce SIRET est déjà celui d'une autre organisation sur AAP." in html
    assert 'value="Nom tapé"' in html
    db.session.rollback()
    assert db.session.get(Organisation, world.other_org.id).siret != SIRET


def test_unknown_organisation_and_other_roles(client, world, log_in):
    log_in(world.users["foreign_applicant"])
    token = csrf_token(client.get("/porteur/").text)
    assert client.post("/porteur/organisations/999999/rejoindre",
                       data={"join-csrf_token": token}).status_code == 404
    client.post("/deconnexion", data={"csrf_token": token})
    log_in(world.users["instructor"])
    token = csrf_token(client.get("/instruction/").text)
    assert client.post(f"/porteur/organisations/{world.org.id}/rejoindre",
                       data={"join-csrf_token": token}).status_code == 403
