"""Sessions end at logout on every process, rotate at login, and carry SameSite (issue:
forgeable and undying sessions). Cookies are replayed by hand, as an attacker would."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from flask.sessions import SecureCookieSessionInterface

from aap import create_app
from aap.extensions import db as _db
from tests.web.conftest import IsolatedClient, csrf_token, login

PROTECTED = "/espace"


def _cookies(client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def _client_with(app, cookies: dict[str, str]):
    """A fresh browser holding only ``cookies`` (captured elsewhere)."""
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _logout(client):
    page = client.get("/porteur/")
    return client.post("/deconnexion", data={"csrf_token": csrf_token(page.text)})


def _is_sent_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith(
        "/connexion")


def test_a_session_cookie_captured_before_logout_no_longer_works(app, client, world):
    login(client, world.users["applicant"])
    captured = _cookies(client)
    assert client.get(PROTECTED).status_code == 302
    assert not _is_sent_to_login(_client_with(app, captured).get(PROTECTED))  # works now
    assert _logout(client).status_code == 302
    replayed = _client_with(app, captured).get(PROTECTED)
    assert _is_sent_to_login(replayed)


def test_the_remember_me_cookie_dies_at_logout_too(app, client, world):
    login(client, world.users["applicant"], remember="y")
    remember = {k: v for k, v in _cookies(client).items() if k == "remember_token"}
    assert remember, "remember-me was asked for: the cookie is set"
    alone = _client_with(app, remember)
    assert not _is_sent_to_login(alone.get(PROTECTED))  # the cookie alone logs in
    _logout(client)
    assert _is_sent_to_login(_client_with(app, remember).get(PROTECTED))


def test_logout_ends_the_session_on_every_process(app, client, world):
    """A second app on the same database stands for another gunicorn worker: no state in
    process memory may keep the old session alive there."""
    other_process = create_app("test", SQLALCHEMY_DATABASE_URI=app.config[
        "SQLALCHEMY_DATABASE_URI"], UPLOAD_DIR=app.config["UPLOAD_DIR"])
    try:
        login(client, world.users["applicant"])
        captured = _cookies(client)
        assert not _is_sent_to_login(_client_with(other_process, captured).get(PROTECTED))
        _logout(client)
        assert _is_sent_to_login(_client_with(other_process, captured).get(PROTECTED))
    finally:
        with other_process.app_context():
            _db.engine.dispose()


def test_a_new_password_ends_the_sessions_opened_before(app, client, world):
    from aap.services import accounts

    user = world.users["applicant"]
    login(client, user)
    captured = _cookies(client)
    token, digest = accounts.new_secret()
    from aap.models import PasswordResetToken
    from aap.timeutil import now

    _db.session.add(PasswordResetToken(user_id=user.id, digest=digest,
                                       expires_at=now() + accounts.RESET_TTL))
    _db.session.commit()
    accounts.reset_password(token, "Un-autre-mot-2026")
    assert _is_sent_to_login(_client_with(app, captured).get(PROTECTED))


def test_login_starts_a_new_session(app, client, world):
    """Nothing planted in the session before login survives it (session fixation)."""
    client.get("/connexion")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "en"
    login(client, world.users["applicant"])
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"  # the language chosen is kept
        # the id, the session version, then the time of issue
        assert session["_user_id"].startswith(f"{world.users['applicant'].id}:0:")


@pytest.mark.parametrize("remember", [False, True])
def test_every_cookie_set_at_login_has_samesite_and_httponly(client, world, remember):
    extra = {"remember": "y"} if remember else {}
    response = login(client, world.users["applicant"], **extra)
    headers = response.headers.getlist("Set-Cookie")
    names = {SimpleCookie(h).popitem()[0] for h in headers}
    assert "session" in names
    assert ("remember_token" in names) is remember
    for header in headers:
        lowered = header.lower()
        assert "samesite=lax" in lowered, header
        assert "httponly" in lowered, header


def test_a_cookie_forged_for_another_user_id_is_refused(app, client, world):
    """Even with the right key, an identity without the current session version (the
    cookies of older releases, or a guessed one) is not a login."""
    admin = world.users["admin"]
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    for identity in (str(admin.id), f"{admin.id}:7", f"{admin.id}:x", "", "1:0:0"):
        forged = serializer.dumps({"_user_id": identity, "_fresh": True})
        assert _is_sent_to_login(_client_with(app, {"session": forged}).get(PROTECTED)), \
            identity
