"""Login, logout and CSRF through the real forms."""

from __future__ import annotations

import html

import pytest

from tests import factories
from tests.web.conftest import csrf_token, login

ROLE_HOME = {
    "applicant": "/porteur/",
    "instructor": "/instruction/",
    "juror": "/jury/",
    "finance": "/finances/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("role", sorted(ROLE_HOME))
def test_login_sends_each_role_to_its_home(client, world, role):
    response = login(client, world.actor_for(role))
    assert response.status_code == 302
    assert response.headers["Location"] == "/espace"
    dashboard = client.get("/espace")
    assert dashboard.status_code == 302
    assert dashboard.headers["Location"] == ROLE_HOME[role]
    home = client.get(ROLE_HOME[role])
    assert home.status_code == 200
    assert "Bienvenue, " + html.escape(world.actor_for(role).display_name) in home.text


def test_a_user_with_several_roles_chooses_a_space(client, db):
    user = factories.make_user(["instructor", "finance"], name="Double Casquette")
    login(client, user)
    page = client.get("/espace")
    assert page.status_code == 200
    assert "<h1>Mes espaces</h1>" in page.text
    assert 'href="/instruction/"' in page.text and 'href="/finances/"' in page.text
    assert 'href="/jury/"' not in page.text


def test_login_follows_a_local_next(client, world):
    response = login_with_next(client, world.users["instructor"], "/dossiers/1")
    assert response.headers["Location"] == "/dossiers/1"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)",
])
def test_login_ignores_a_foreign_next(client, world, target):
    response = login_with_next(client, world.users["instructor"], target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/espace"


def login_with_next(client, user, target):
    page = client.get("/connexion", query_string={"next": target})
    return client.post("/connexion", query_string={"next": target}, data={
        "email": user.email, "password": factories.PASSWORD,
        "csrf_token": csrf_token(page.text)})


@pytest.mark.parametrize("email_case", ["known", "unknown"])
def test_failed_login_is_a_french_401_that_keeps_the_email(client, world, email_case):
    email = world.users["applicant"].email if email_case == "known" else "personne@example.org"
    response = login(client, email, password="pas-le-bon-mot-de-passe")
    assert response.status_code == 401
    page = response.text
    # one message for both cases (no account enumeration), announced and tied to the fields
    assert "Adresse électronique ou mot de passe incorrect." in page
    assert 'role="alert" id="login-error"' in page
    assert f'value="{email}"' in page
    assert "pas-le-bon-mot-de-passe" not in page
    assert page.count('aria-invalid="true"') == 2
    assert 'aria-describedby="login-error email-hint"' in page
    assert 'aria-describedby="login-error"' in page
    assert client.get("/espace").status_code == 302  # still anonymous


def test_invalid_login_form_lists_the_errors_linked_to_the_fields(client, db):
    page = client.get("/connexion")
    response = client.post("/connexion", data={"email": "pas-une-adresse", "password": "",
                                                "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    text = response.text
    assert 'role="alert" id="error-summary"' in text
    assert '<a href="#email">' in text and '<a href="#password">' in text
    assert "Adresse électronique invalide." in text
    assert "Indiquez votre mot de passe." in text
    assert 'aria-describedby="email-hint email-error"' in text
    assert 'aria-describedby="password-error"' in text
    assert 'id="password-error"' in text
    assert 'value="pas-une-adresse"' in text


def test_login_page_is_accessible_markup(client, db):
    page = client.get("/connexion").text
    assert page.count("<h1") == 1
    assert '<label class="label" for="email">' in page
    assert '<label class="label" for="password">' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    assert "<title>Connexion — AAP</title>" in page


def test_login_without_csrf_token_is_a_clear_400(client, world):
    response = client.post("/connexion", data={
        "email": world.users["applicant"].email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "Formulaire expiré" in response.text
    assert "Rechargez la page" in response.text
    assert client.get("/espace").status_code == 302  # not logged in


def test_logout_is_post_only(client, world, log_in):
    log_in(world.users["applicant"])
    assert client.get("/deconnexion").status_code == 405
    assert client.get("/porteur/").status_code == 200  # a GET did not log out


def test_logout_needs_the_csrf_token(client, world, log_in):
    log_in(world.users["applicant"])
    response = client.post("/deconnexion")
    assert response.status_code == 400
    assert "Formulaire expiré" in response.text
    assert client.get("/porteur/").status_code == 200  # still logged in


def test_logout_with_the_token_logs_out(client, world, log_in):
    log_in(world.users["applicant"])
    token = csrf_token(client.get("/porteur/").text)
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Vous êtes déconnecté." in client.get("/").text
    assert client.get("/porteur/").status_code == 302


def test_a_logged_in_user_visiting_login_goes_to_its_space(client, world, log_in):
    log_in(world.users["finance"])
    response = client.get("/connexion")
    assert response.status_code == 302
    assert response.headers["Location"] == "/espace"


def test_failed_logins_are_throttled_with_a_french_429(throttled_app, world):
    """10 failures for one account within 15 minutes: the 11th answer is 429."""
    client = throttled_app.test_client()
    email = world.users["applicant"].email
    statuses = [login(client, email, password="mauvais").status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    response = login(client, email, password="mauvais")
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text
    assert "per 15 minutes" not in response.text
