"""« Mon compte » → « Changer mon mot de passe » (ASVS 2.1.5, 2.1.6): the current password
and the new one twice; the other browsers are signed out, this one stays signed in, the
API tokens issued before die, the owner gets one mail. Wrong, weak or mismatched input is
refused in French, and the page gives back none of the passwords typed. Through the real
login and form; cookies and tokens are replayed as another device would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import AuditEvent, Notification
from aap.services import accounts
from tests import factories
from tests.web.conftest import IsolatedClient, csrf_token, login
from tests.web.test_applicant_portal import strict, text

PAGE = "/compte/mot-de-passe"
NEW = "Une nouvelle phrase de passe 2026"
PROTECTED = "/compte/"


def _browser(app) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)


def _change(client, current=factories.PASSWORD, new=NEW, confirm=None):
    page = client.get(PAGE)
    assert page.status_code == 200, page.status_code
    return client.post(PAGE, data={
        "current_password": current, "new_password": new,
        "confirm": new if confirm is None else confirm,
        "csrf_token": csrf_token(page.text)})


def _signed_in(client) -> bool:
    return client.get(PROTECTED).status_code == 200


def _api_works(app, token: str) -> bool:
    response = _browser(app).get("/api/v1/auth/tokens",
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 401)
    return response.status_code == 200


def test_the_account_home_links_to_the_page(client, world, log_in):
    log_in(world.users["applicant"])
    assert f'href="{PAGE}"' in client.get(PROTECTED).text
    page = client.get(PAGE)
    assert page.status_code == 200
    strict(page.text)
    html = text(page)
    assert "Changer mon mot de passe" in html
    assert 'autocomplete="current-password"' in html
    assert html.count('autocomplete="new-password"') == 2


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_a_change_signs_out_the_other_browsers_and_keeps_this_one(app, client, world):
    user = world.users["applicant"]
    other = _browser(app)
    assert login(other, user).status_code == 302  # a second device, signed in before
    assert login(client, user).status_code == 302
    token = accounts.issue_token(user, timedelta(days=30))
    assert _signed_in(other) and _api_works(app, token)

    response = _change(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/compte/"
    home = client.get(PROTECTED)
    assert home.status_code == 200  # this browser is still signed in
    assert "Votre mot de passe est changé" in text(home)
    assert not _signed_in(other)
    assert not _api_works(app, token)
    assert login(_browser(app), user, password=factories.PASSWORD).status_code == 401
    assert login(_browser(app), user, password=NEW).status_code == 302

    [mail] = db.session.scalars(select(Notification)).all()
    assert (mail.recipient_email, mail.subject) == (
        user.email, "Votre mot de passe AAP a été changé")
    assert "sauf celle d'où le changement a été fait" in mail.body
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "password_changed")).all()
    assert (event.object_type, event.object_id, event.actor_id, event.data) == (
        "user", user.id, user.id, {"how": "change"})


def test_remember_me_is_renewed_here_and_dead_elsewhere(app, client, world):
    """A remember-me cookie of another device dies; this browser, which had one, gets a
    new one that signs it in alone."""
    user = world.users["applicant"]
    other = _browser(app)
    login(other, user, remember="y")
    login(client, user, remember="y")
    stolen = other.get_cookie("remember_token").value
    assert _change(client).status_code == 303
    replayed = _browser(app)
    replayed.set_cookie("remember_token", stolen)
    assert not _signed_in(replayed)
    renewed = _browser(app)
    renewed.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert _signed_in(renewed)


REFUSALS = [
    pytest.param("Pas-le-bon-secret-2026", NEW, None, "current_password",
                 ["Le mot de passe actuel est incorrect."], id="wrong-current"),
    pytest.param(factories.PASSWORD, "Kzq7-court", None, "new_password",
                 ["Au moins 12 caractères."], id="too-short"),
    pytest.param(factories.PASSWORD, "abcdefghijklmnopq", None, "new_password",
                 ["Trop prévisible (répétitions ou suite de caractères) : une phrase de "
                  "quelques mots convient."], id="a-run"),
    pytest.param(factories.PASSWORD, "motdepasse123", None, "new_password",
                 ["Ce mot de passe est trop courant ou trop facile à deviner : choisissez "
                  "une phrase de plusieurs mots."], id="common"),
    pytest.param(factories.PASSWORD, "Marcel porteur de projets", None, "new_password",
                 ["Le mot de passe ne doit pas contenir votre identifiant."],
                 id="the-identifier"),
    pytest.param(factories.PASSWORD, NEW, "Une autre phrase de passe 2027", "confirm",
                 ["Les deux mots de passe diffèrent."], id="mismatch"),
    pytest.param("", NEW, None, "current_password",
                 ["Saisissez votre mot de passe actuel."], id="no-current"),
]


@pytest.mark.parametrize(("current", "new", "confirm", "field", "messages"), REFUSALS)
def test_refusals_say_why_in_french_and_give_back_no_password(
        app, client, world, current, new, confirm, field, messages):
    user = factories.make_user(["applicant"], email="marcel@example.org")
    other = _browser(app)
    login(other, user)
    login(client, user)
    response = _change(client, current, new, confirm)
    assert response.status_code == 422
    html = text(response)
    assert f'id="{field}-error"' in html
    error = html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert error == " ".join(messages)
    assert "Le formulaire contient des erreurs" in html
    for typed in {current, new, confirm} - {None, ""}:
        assert typed not in html and typed not in response.text
    assert _signed_in(client) and _signed_in(other)  # nothing ended
    assert login(_browser(app), user).status_code == 302  # the password is unchanged
    assert db.session.scalars(select(Notification)).all() == []


def test_every_problem_shows_at_once(client, world):
    """A wrong current password and a weak new one: both fields say why."""
    login(client, world.users["applicant"])
    response = _change(client, "Pas-le-bon-secret-2026", "trop-court")
    assert response.status_code == 422
    html = text(response)
    assert "Le mot de passe actuel est incorrect." in html
    assert "Au moins 12 caractères." in html


def test_the_page_speaks_english_when_chosen(client, world):
    login(client, world.users["applicant"])
    client.get("/langue/en")
    response = _change(client, "Pas-le-bon-secret-2026")
    assert response.status_code == 422
    html = text(response)
    assert "Le mot de passe actuel est incorrect." not in html
    assert "Changer mon mot de passe" not in html


def test_wrong_current_passwords_are_throttled_like_failed_logins(throttled_app, world):
    """10 wrong current passwords per account in 15 minutes, then 429 even with the right
    one; a weak new password with the right current one does not count."""
    user = world.users["applicant"]
    client = throttled_app.test_client()
    assert login(client, user).status_code == 302
    weak = [_change(client, new="trop-court").status_code for _ in range(12)]
    assert weak == [422] * 12
    wrong = [_change(client, current="Pas-le-bon-2026").status_code for _ in range(10)]
    assert wrong == [422] * 10
    throttled = _change(client)
    assert throttled.status_code == 429
    assert "Trop de tentatives" in throttled.text
    assert throttled.headers.get("Retry-After")
    assert login(throttled_app.test_client(), user).status_code == 302  # unchanged
