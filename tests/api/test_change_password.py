"""``PUT /api/v1/me/password`` (ASVS 2.1.5, 2.1.6, docs/api.md): the current password and
the new one; 204, then every token of the account is refused (the one of the call too),
the web sessions end, the old password fails and the new one logs in, and the owner gets
one mail. A wrong current password or a weak new one is 422 on its field, in French, and
changes nothing; wrong current passwords are throttled like failed logins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import Notification
from aap.services import accounts
from tests import factories
from tests.api.helpers import assert_error
from tests.web.conftest import IsolatedClient, login

NEW = "Une nouvelle phrase de passe 2026"


def _put(api, token, current=factories.PASSWORD, new=NEW):
    return api.put("/me/password", token=token,
                   json={"current_password": current, "new_password": new})


def _works(api, token) -> bool:
    status = api.get("/auth/tokens", token=token).status_code
    assert status in (200, 401)
    return status == 200


def test_a_change_ends_every_token_and_session(app, api, world):
    user = world.users["applicant"]
    browser = IsolatedClient(app, app.response_class, use_cookies=True)
    assert login(browser, user).status_code == 302  # a browser signed in before
    assert browser.get("/compte/").status_code == 200
    caller = api.token(user)
    other = accounts.issue_token(user, timedelta(days=30), "logiciel financier")
    assert _works(api, caller) and _works(api, other)

    response = _put(api, caller)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert not _works(api, caller)  # the token of the call too
    assert not _works(api, other)
    assert browser.get("/compte/").status_code == 302  # the browser is signed out
    assert api.login(user.email, factories.PASSWORD).status_code == 401
    assert api.login(user.email, NEW).status_code == 200
    [mail] = db.session.scalars(select(Notification)).all()
    assert (mail.recipient_email, mail.subject) == (
        user.email, "Votre mot de passe AAP a été changé")
    assert "toutes vos sessions ouvertes ont été fermées et vos jetons" in mail.body


@pytest.mark.parametrize(("current", "new", "fields", "message"), [
    pytest.param("Pas-le-bon-2026", NEW, {"current_password"},
                 "Le mot de passe actuel est incorrect.", id="wrong-current"),
    pytest.param(factories.PASSWORD, "trop-court", {"new_password"},
                 "Au moins 12 caractères.", id="too-short"),
    pytest.param(factories.PASSWORD, "marseille2026", {"new_password"},
                 "Ce mot de passe est trop courant ou trop facile à deviner : choisissez "
                 "une phrase de plusieurs mots.", id="common"),
    pytest.param("Pas-le-bon-2026", "trop-court", {"current_password", "new_password"},
                 "Le mot de passe actuel est incorrect.", id="both-at-once"),
])
def test_refusals_are_422_on_their_field_and_change_nothing(api, world, current, new,
                                                            fields, message):
    user = world.users["applicant"]
    token = api.token(user)
    error = assert_error(_put(api, token, current, new), 422, "invalid_data",
                         fields=sorted(fields))
    assert set(error["fields"]) == fields
    assert message in [m for messages in error["fields"].values() for m in messages]
    assert current not in str(error) and new not in str(error)
    assert _works(api, token)
    assert api.login(user.email, factories.PASSWORD).status_code == 200
    assert db.session.scalars(select(Notification)).all() == []


def test_a_body_is_required_and_strict(api, world):
    token = api.token(world.users["applicant"])
    assert_error(api.put("/me/password", token=token, json={}), 422, "invalid_data",
                 fields=["current_password", "new_password"])
    assert_error(api.put("/me/password", token=token, json={
        "current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW}),
        422, "invalid_data", fields=["confirm"])
    assert_error(api.put("/me/password", json={
        "current_password": factories.PASSWORD, "new_password": NEW}), 401, "unauthorized")
    assert _works(api, token)


def test_wrong_current_passwords_are_throttled_per_account(throttled_api, world):
    """10 wrong current passwords in 15 minutes, then 429 with Retry-After, even with the
    right one; a weak new password does not count. The page and the API share the count
    (tests/web/test_change_password.py for the page)."""
    user = world.users["applicant"]
    token = throttled_api.token(user)
    assert [_put(throttled_api, token, new="trop-court").status_code
            for _ in range(12)] == [422] * 12
    assert [_put(throttled_api, token, current="Pas-le-bon-2026").status_code
            for _ in range(10)] == [422] * 10
    response = _put(throttled_api, token)
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0
    # another account is not held back
    other = world.users["juror"]
    assert _put(throttled_api, throttled_api.token(other)).status_code == 204


def test_the_page_and_the_api_share_the_count(throttled_app, throttled_api, world):
    from tests.web.test_change_password import _change

    user = world.users["applicant"]
    browser = throttled_app.test_client()
    assert login(browser, user).status_code == 302
    token = throttled_api.token(user)
    assert [_change(browser, current="Pas-le-bon-2026").status_code
            for _ in range(5)] == [422] * 5
    assert [_put(throttled_api, token, current="Pas-le-bon-2026").status_code
            for _ in range(5)] == [422] * 5
    assert _put(throttled_api, token).status_code == 429
    assert _change(browser).status_code == 429


def test_the_route_is_in_the_openapi_document(api):
    document = api.get("/openapi.json").get_json()
    operation = document["paths"]["/api/v1/me/password"]["put"]
    assert {"204", "401", "422", "429"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/ChangePasswordIn")
    schema = document["components"]["schemas"]["ChangePasswordIn"]
    assert set(schema["required"]) == {"current_password", "new_password"}
