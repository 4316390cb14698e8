"""Registration, forgotten password and reset, invitations to join an organisation."""

from __future__ import annotations

import re

from aap.extensions import db
from aap.models import Membership, Notification, User
from tests import factories
from tests.web.conftest import csrf_token, login
from tests.web.test_applicant_portal import strict, text

LINK_RE = re.compile(r"http://localhost/(reinitialiser|invitations)/[\w-]+")


def register(client, **overrides):
    page = client.get("/inscription")
    data = {"name": "Awa Nouvelle", "email": "awa.nouvelle@example.org",
            "password": "Lutte-2026-ensemble", "confirm": "Lutte-2026-ensemble",
            "csrf_token": csrf_token(page.text)}
    data.update(overrides)
    return client.post("/inscription", data=data)


def last_mail(email: str) -> Notification:
    db.session.rollback()
    return db.session.scalars(db.select(Notification).where(
        Notification.recipient_email == email).order_by(Notification.id.desc())).first()


def test_register_page_is_accessible(client, db):
    response = client.get("/inscription")
    assert response.status_code == 200
    strict(response.text)
    assert 'autocomplete="new-password"' in response.text
    assert "12 caractères au moins" in text(response)


def test_register_creates_an_applicant_and_logs_in(client, db):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/porteur/"
    db.session.rollback()
    user = db.session.scalars(db.select(User).where(
        User.email == "awa.nouvelle@example.org")).one()
    assert user.roles == ["applicant"]
    assert client.get("/porteur/").status_code == 200


def test_register_shows_the_password_policy_and_keeps_the_fields(client, db):
    response = register(client, password="court", confirm="court")
    assert response.status_code == 422
    html = text(response)
    assert "Au moins 12 caractères." in html
    assert 'value="awa.nouvelle@example.org"' in html and 'value="Awa Nouvelle"' in html
    response = register(client, password="awa.nouvelle-2026", confirm="awa.nouvelle-2026")
    assert "ne doit pas contenir votre identifiant" in text(response)
    response = register(client, confirm="Autre-chose-2026")
    assert "Les deux mots de passe diffèrent." in text(response)


def test_register_refuses_an_existing_address(client, world):
    response = register(client, email=world.users["applicant"].email.upper())
    assert response.status_code == 422
    assert "Un compte existe déjà avec cette adresse." in text(response)


def test_register_bad_email_and_missing_csrf(client, db):
    assert "Adresse électronique invalide." in text(register(client, email="pas-une-adresse"))
    response = client.post("/inscription", data={"email": "x@example.org"})
    assert response.status_code == 400 and "Formulaire expiré" in response.text


def test_forgot_password_sends_a_link_that_resets_it(client, world):
    user = world.users["applicant"]
    page = client.get("/mot-de-passe-oublie")
    strict(page.text)
    response = client.post("/mot-de-passe-oublie", data={
        "email": user.email, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 200
    assert "Si un compte existe" in text(response)
    mail = last_mail(user.email)
    link = LINK_RE.search(mail.body).group(0)
    path = link.removeprefix("http://localhost")
    reset_page = client.get(path)
    assert reset_page.status_code == 200
    strict(reset_page.text)
    weak = client.post(path, data={"password": "123", "confirm": "123",
                                   "csrf_token": csrf_token(reset_page.text)})
    assert weak.status_code == 422 and "Au moins 12 caractères." in text(weak)
    done = client.post(path, data={"password": "Nouveau-mdp-2026", "confirm": "Nouveau-mdp-2026",
                                   "csrf_token": csrf_token(reset_page.text)})
    assert done.status_code == 302 and done.headers["Location"] == "/connexion"
    assert login(client, user, "Nouveau-mdp-2026").status_code == 302
    # the link serves once
    assert client.get(path).status_code == 404


def test_forgot_password_says_the_same_for_an_unknown_address(client, db):
    page = client.get("/mot-de-passe-oublie")
    response = client.post("/mot-de-passe-oublie", data={
        "email": "personne@example.org", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 200
    assert "Si un compte existe" in text(response)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_a_bad_reset_token_is_explained(client, db):
    response = client.get("/reinitialiser/faux-jeton")
    assert response.status_code == 404
    assert "Ce lien n'est plus valable" in text(response)
    assert 'href="/mot-de-passe-oublie"' in response.text


def test_login_page_links_to_register_and_forgotten_password(client, db):
    html = client.get("/connexion").text
    assert 'href="/mot-de-passe-oublie"' in html and 'href="/inscription' in html


# -- invitations ---------------------------------------------------------------------

def invite(client, world, email: str) -> str:
    page = client.get(f"/porteur/organisations/{world.org.id}")
    response = client.post(f"/porteur/organisations/{world.org.id}/invitations", data={
        "invite-email": email, "invite-csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, text(response)
    return LINK_RE.search(last_mail(email).body).group(0).removeprefix("http://localhost")


def test_invitation_then_register_then_join(app, client, world, log_in):
    log_in(world.users["applicant"])
    path = invite(client, world, "benevole@example.org")
    assert "benevole@example.org" in text(client.get(f"/porteur/organisations/{world.org.id}"))
    from tests.web.conftest import IsolatedClient

    other = IsolatedClient(app, app.response_class, use_cookies=True)
    page = other.get(path)
    assert page.status_code == 200
    strict(page.text)
    assert world.org.name in text(page) and "benevole@example.org" in page.text
    register_link = re.search(r'href="(/inscription[^"]+)"', page.text).group(1)
    form = other.get(register_link.replace("&amp;", "&"))
    assert 'value="benevole@example.org"' in form.text
    response = other.post(register_link.replace("&amp;", "&"), data={
        "name": "Bénévole", "email": "benevole@example.org", "password": "Benevolat-2026",
        "confirm": "Benevolat-2026", "csrf_token": csrf_token(form.text)})
    assert response.status_code == 302 and response.headers["Location"] == path
    page = other.get(path)
    assert "Rejoindre l'organisation" in text(page)
    joined = other.post(path, data={"csrf_token": csrf_token(page.text)})
    assert joined.status_code == 302
    assert joined.headers["Location"] == f"/porteur/organisations/{world.org.id}"
    db.session.rollback()
    user = db.session.scalars(db.select(User).where(
        User.email == "benevole@example.org")).one()
    assert db.session.scalar(db.select(Membership).where(
        Membership.user_id == user.id, Membership.organisation_id == world.org.id))
    assert other.get(path).status_code == 404  # used


def test_invitation_for_another_address_is_refused(client, world, log_in):
    log_in(world.users["applicant"])
    path = invite(client, world, "quelquun@example.org")
    response = client.get(path)
    assert response.status_code == 403
    assert "l'invitation est adressée à quelquun@example.org" in text(response)
    response = client.post(path, data={"csrf_token": csrf_token(response.text)})
    assert response.status_code == 403


def test_unknown_invitation_is_404(client, db):
    response = client.get("/invitations/inconnue")
    assert response.status_code == 404
    assert "n'est plus valable" in text(response)


def test_inviting_a_member_again_is_refused(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/organisations/{world.org.id}")
    response = client.post(f"/porteur/organisations/{world.org.id}/invitations", data={
        "invite-email": world.users["applicant"].email,
        "invite-csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Déjà membre de l'organisation." in text(response)
    response = client.post(f"/porteur/organisations/{world.org.id}/invitations", data={
        "invite-email": "pas une adresse", "invite-csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Adresse électronique invalide." in text(response)
    _ = factories
