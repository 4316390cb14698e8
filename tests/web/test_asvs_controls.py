"""Controls listed in docs/security.md (ASVS 4.0.3 level 2) that no other test proved:
the web session's idle limit checked by the server, the remember-me cookie's lifetime,
the API ignoring the web session (its routes carry no CSRF check), passwords stored with
scrypt, a search that stays a search with SQL metacharacters, mail headers that refuse
line breaks, and a password reset revoking the API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import pytest
from itsdangerous.timed import TimestampSigner
from werkzeug.security import check_password_hash, generate_password_hash

from aap.models import ApiToken
from aap.services import accounts
from tests.web.conftest import client_with, login, sent_to_login

PROTECTED = "/espace"






def test_a_session_idle_longer_than_session_hours_is_refused(app, client, world, monkeypatch):
    """The signed session carries its signing time; the server refuses it once older than
    PERMANENT_SESSION_LIFETIME (SESSION_HOURS, 8 by default), whatever the browser keeps."""
    assert app.permanent_session_lifetime == timedelta(hours=8)
    login(client, world.users["applicant"])
    captured = {"session": client.get_cookie("session").value}
    real = TimestampSigner.get_timestamp

    def later(by: timedelta):
        monkeypatch.setattr(TimestampSigner, "get_timestamp",
                            lambda self: real(self) + int(by.total_seconds()))

    later(timedelta(hours=7, minutes=59))
    assert not sent_to_login(client_with(app, captured).get(PROTECTED))
    later(timedelta(hours=8, minutes=1))
    assert sent_to_login(client_with(app, captured).get(PROTECTED))


def test_the_remember_me_cookie_expires_after_remember_days(client, world):
    response = login(client, world.users["applicant"], remember="y")
    cookies = [SimpleCookie(h) for h in response.headers.getlist("Set-Cookie")]
    remember = next(c["remember_token"] for c in cookies if "remember_token" in c)
    expires = parsedate_to_datetime(remember["expires"])
    expected = datetime.now(UTC) + timedelta(days=14)
    assert abs(expires - expected) < timedelta(minutes=5)


def test_a_web_session_does_not_open_the_api(app, client, world, db):
    """The API is exempt from CSRF because it reads bearer tokens only: a browser's
    session cookie, sent along by a cross-site request, must not authenticate it."""
    user = world.users["applicant"]
    token = accounts.issue_token(user, timedelta(days=1))
    row = db.session.query(ApiToken).filter_by(user_id=user.id).one()
    login(client, user)
    assert not sent_to_login(client.get(PROTECTED))  # the session works for the pages
    assert client.get("/api/v1/auth/tokens").status_code == 401
    assert client.delete(f"/api/v1/auth/tokens/{row.id}").status_code == 401
    assert client.get("/api/v1/me/export").status_code == 401
    assert accounts.user_for_token(token) is not None  # the token was not revoked


def test_passwords_are_stored_with_scrypt_unless_configured(app, world, monkeypatch):
    """Only the tests choose a cheaper method (PASSWORD_HASH_METHOD); production and
    development configurations leave werkzeug's scrypt with a random salt."""
    from aap.config import DevelopmentConfig, ProductionConfig

    assert not hasattr(ProductionConfig, "PASSWORD_HASH_METHOD")
    assert not hasattr(DevelopmentConfig, "PASSWORD_HASH_METHOD")
    monkeypatch.setattr("aap.models.accounts.generate_password_hash", generate_password_hash)
    monkeypatch.delitem(app.config, "PASSWORD_HASH_METHOD")
    user = world.users["applicant"]
    user.set_password("Un-mot-de-passe-2026")
    first = user.password_hash
    user.set_password("Un-mot-de-passe-2026")
    assert first.startswith("scrypt:") and user.password_hash.startswith("scrypt:")
    assert first != user.password_hash  # salted
    assert check_password_hash(first, "Un-mot-de-passe-2026")
    assert "Un-mot-de-passe-2026" not in first


@pytest.mark.parametrize("query", ["' OR '1'='1", "%", "_", "\\", "x') --", '"; DROP TABLE'])
def test_sql_metacharacters_in_a_search_are_searched_for(client, world, query):
    world.bring_to(world.application(title="Ateliers mémoire"), "submitted")
    login(client, world.users["instructor"])
    response = client.get(f"/instruction/appels/{world.call.id}", query_string={"q": query})
    assert response.status_code == 200
    assert "Ateliers mémoire" not in response.text
    found = client.get(f"/instruction/appels/{world.call.id}", query_string={"q": "mémoire"})
    assert "Ateliers mémoire" in found.text


@pytest.mark.parametrize("subject", ["Dossier\r\nBcc: x@example.org", "Dossier\u2028Bcc: x"])
def test_a_line_break_never_reaches_a_mail_header(db, subject):
    from aap.models.audit import Notification
    from aap.services.notifications import _message

    row = Notification(recipient_email="a@example.org", subject=subject, body="corps")
    message = _message(row)
    assert message["Subject"] == " ".join(subject.split())  # one line, the break a space
    assert message["Bcc"] is None


def test_a_password_reset_revokes_every_api_token_too(client, world, db):
    """A new password ends the sessions (tests/web/test_sessions.py) and the bearer
    tokens issued before it: a stolen token dies with the old password."""
    from aap.models import PasswordResetToken
    from aap.timeutil import now

    user = world.users["applicant"]
    bearer = accounts.issue_token(user, timedelta(days=30))
    headers = {"Authorization": f"Bearer {bearer}"}
    assert client.get("/api/v1/auth/tokens", headers=headers).status_code == 200
    secret, digest = accounts.new_secret()
    db.session.add(PasswordResetToken(user_id=user.id, digest=digest,
                                      expires_at=now() + accounts.RESET_TTL))
    db.session.commit()
    accounts.reset_password(secret, "Un-autre-mot-2026")
    assert client.get("/api/v1/auth/tokens", headers=headers).status_code == 401


def test_a_password_reset_is_mailed_to_the_account_owner(world, db):
    """ASVS 2.5.5: the owner is told at once that the password changed, so a reset made
    by someone else (a mailbox taken over) does not go unnoticed."""
    from sqlalchemy import select

    from aap.models import Notification, PasswordResetToken
    from aap.timeutil import now

    user = world.users["applicant"]
    secret, digest = accounts.new_secret()
    db.session.add(PasswordResetToken(user_id=user.id, digest=digest,
                                      expires_at=now() + accounts.RESET_TTL))
    db.session.commit()
    accounts.reset_password(secret, "Un-autre-mot-2026")
    [notice] = db.session.scalars(select(Notification)).all()
    assert notice.recipient_email == user.email
    assert notice.subject == "Votre mot de passe AAP a été changé"
    assert "toutes vos sessions ouvertes ont été fermées" in notice.body


def test_personal_responses_are_never_stored(client, world):
    """ASVS 8.2.1: a page for a signed-in user or an API answer to a bearer token says
    ``no-store``; a public page and the static files keep their own caching."""
    public = client.get("/")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    login(client, world.users["applicant"])
    assert client.get(PROTECTED).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get(
        "Cache-Control", "")
    bearer = accounts.issue_token(world.users["instructor"], timedelta(days=1))
    api = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {bearer}"})
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
