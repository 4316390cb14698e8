"""« Mon compte » (docs/rgpd.md): the applicant downloads its data, manages its API tokens
and deletes its account (password again, CSRF, every session ended), or reads why it
cannot yet. Through the real login and forms."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import ApiToken, User
from aap.services import accounts
from tests import factories
from tests.web.conftest import IsolatedClient, csrf_token, login
from tests.web.test_applicant_portal import strict, text


@pytest.fixture
def api_client(app, db):
    """A second client, without cookies: what an integrator's software holds."""
    return IsolatedClient(app, app.response_class, use_cookies=False)


def test_the_account_page_is_reached_from_the_header(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get("/porteur/")
    assert 'href="/compte/"' in page.text
    response = client.get("/compte/")
    assert response.status_code == 200
    strict(response.text)
    assert response.text.count("<h1") == 1
    html = text(response)
    assert "Télécharger mes données" in html and "Supprimer mon compte" in html


def test_anonymous_visitors_are_sent_to_login(client, db):
    for path in ("/compte/", "/compte/mes-donnees.json", "/compte/jetons", "/compte/supprimer"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/connexion"), path


def test_the_data_download_is_one_json_file_of_the_users_data(client, world, log_in):
    world.application(title="Notre projet")
    factories.make_application(world.call, world.other_org, title="Le projet des voisins")
    log_in(world.users["applicant"])
    response = client.get("/compte/mes-donnees.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.get_data(True))
    assert body["account"]["email"] == world.users["applicant"].email
    assert [a["title"] for a in body["applications"]] == ["Notre projet"]
    assert "Le projet des voisins" not in response.get_data(True)


def test_a_token_is_created_shown_once_listed_and_revoked(client, world, log_in, api_client):
    user = world.users["applicant"]
    log_in(user)
    page = client.get("/compte/jetons")
    assert page.status_code == 200 and "Aucun jeton" in text(page)
    response = client.post("/compte/jetons", data={
        "label": "Logiciel financier", "days": "90", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 201
    strict(response.text)
    token = _shown_token(response.text)
    db.session.rollback()  # end the test's read transaction: see the request's writes
    row = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.digest == accounts.digest(token) and row.label == "Logiciel financier"
    days = (row.expires_at - row.created_at).days
    assert days in (89, 90)
    assert api_client.get("/api/v1/auth/tokens",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = client.get("/compte/jetons")
    assert token not in listing.text  # never shown again
    assert "Logiciel financier" in text(listing) and "Actif" in text(listing)
    revoked = client.post(f"/compte/jetons/{row.id}/revoquer",
                          data={"csrf_token": csrf_token(listing.text)})
    assert revoked.status_code == 303
    assert api_client.get("/api/v1/auth/tokens",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "Révoqué" in text(client.get("/compte/jetons"))


def _shown_token(html: str) -> str:
    marker = 'id="token-value"'
    assert marker in html
    tail = html.split(marker, 1)[1]
    return tail.split('value="', 1)[1].split('"', 1)[0]


def test_a_token_form_without_a_name_is_refused_with_a_message(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get("/compte/jetons")
    response = client.post("/compte/jetons", data={
        "label": "", "days": "99999", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Nommez le jeton" in text(response)
    assert db.session.scalar(select(ApiToken.id)) is None


def test_another_users_token_cannot_be_revoked(client, world, log_in):
    theirs = accounts.issue_token(world.users["instructor"], accounts.timedelta(days=1))
    row = db.session.scalars(select(ApiToken)).one()
    log_in(world.users["applicant"])
    page = client.get("/compte/jetons")
    response = client.post(f"/compte/jetons/{row.id}/revoquer",
                           data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    db.session.rollback()
    assert not row.revoked and accounts.user_for_token(theirs) is not None


def test_revoking_needs_the_csrf_token(client, world, log_in):
    accounts.issue_token(world.users["applicant"], accounts.timedelta(days=1))
    row = db.session.scalars(select(ApiToken)).one()
    log_in(world.users["applicant"])
    response = client.post(f"/compte/jetons/{row.id}/revoquer", data={})
    assert response.status_code in (302, 400)
    db.session.rollback()
    assert not row.revoked


def test_the_page_says_why_the_account_cannot_be_deleted_yet(client, world, log_in):
    application = world.bring_to(world.application(), "submitted")
    log_in(world.users["applicant"])
    page = client.get("/compte/supprimer")
    assert page.status_code == 200
    strict(page.text)
    html = text(page)
    assert "ne peut pas encore être supprimé" in html
    assert application.reference in html and "après la décision" in html
    assert 'name="password"' not in page.text
    response = client.post("/compte/supprimer", data={
        "password": factories.PASSWORD, "confirm": "y", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 409
    assert db.session.get(User, world.users["applicant"].id).active


def test_a_wrong_password_keeps_the_account(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get("/compte/supprimer")
    response = client.post("/compte/supprimer", data={
        "password": "Pas-le-bon-2026", "confirm": "y", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Mot de passe incorrect." in text(response)
    response = client.post("/compte/supprimer", data={
        "password": factories.PASSWORD, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422 and "Cochez la case" in text(response)
    response = client.post("/compte/supprimer", data={
        "password": factories.PASSWORD, "confirm": "y"})
    assert response.status_code == 400  # no CSRF token
    assert db.session.get(User, world.users["applicant"].id).active


def test_deletion_logs_out_everywhere_and_anonymises(app, client, world, log_in):
    user = world.users["applicant"]
    elsewhere = IsolatedClient(app, app.response_class, use_cookies=True)
    login(elsewhere, user)
    assert elsewhere.get("/compte/").status_code == 200
    log_in(user)
    page = client.get("/compte/supprimer")
    response = client.post("/compte/supprimer", data={
        "password": factories.PASSWORD, "confirm": "y", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Votre compte est supprimé" in text(client.get("/"))
    for browser in (client, elsewhere):
        assert browser.get("/compte/").status_code == 302
    assert login(client, user).status_code == 401
    db.session.rollback()
    account = db.session.get(User, user.id)
    assert account.email.endswith("@anonyme.invalid") and account.name.startswith("compte-")
    assert account.anonymised_at is not None


def test_staff_see_why_they_cannot_delete_themselves(client, world, log_in):
    log_in(world.users["instructor"])
    page = client.get("/compte/supprimer")
    assert "rôles d'agent" in text(page)


def test_posting_the_same_token_form_again_creates_no_second_token(client, world, log_in):
    """A reload of the page that shows the new token posts its form again."""
    log_in(world.users["applicant"])
    page = client.get("/compte/jetons")
    form = {"label": "Logiciel financier", "days": "30", "csrf_token": csrf_token(page.text),
            "once": _hidden(page.text, "once")}
    first = client.post("/compte/jetons", data=form)
    assert first.status_code == 201
    again = client.post("/compte/jetons", data=form)
    assert again.status_code == 303 and again.headers["Location"] == "/compte/jetons"
    listing = client.get("/compte/jetons")
    assert "Ce jeton est déjà créé" in text(listing)
    assert _shown_token(first.text) not in listing.text
    db.session.rollback()
    assert len(db.session.scalars(select(ApiToken)).all()) == 1
    # the form of the answer is a new one: it creates the second token asked for
    second = client.post("/compte/jetons", data={**form, "once": _hidden(first.text, "once")})
    assert second.status_code == 201
    db.session.rollback()
    assert len(db.session.scalars(select(ApiToken)).all()) == 2


def _hidden(html: str, name: str) -> str:
    tail = html.split(f'name="{name}"', 1)[1]
    value = tail.split('value="', 1)[1].split('"', 1)[0]
    assert value
    return value


def test_the_reasons_to_keep_the_account_are_translated(client, world, log_in):
    application = world.bring_to(world.application(), "granted")
    log_in(world.users["applicant"])
    client.get("/langue/en")
    page = text(client.get("/compte/supprimer"))
    assert f"The grant for application {application.reference} is in progress" in page
    assert "La subvention" not in page
