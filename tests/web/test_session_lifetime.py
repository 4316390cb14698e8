"""ASVS 3.3.2: a web session ends SESSION_MAX_HOURS (12) after its login however active,
and a remember-me cookie REMEMBER_DAYS (14) after it was issued whatever the browser
keeps. The limits are written here as the oracle; time moves through the app's clock
(``now``) and the session's signing time together, so that the idle limit (8 hours
since the last request) never decides; cookies are replayed by hand, as an attacker
would."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import encode_cookie
from itsdangerous.timed import TimestampSigner

from aap.services import accounts
from aap.timeutil import now
from tests.factories import PASSWORD
from tests.web.conftest import client_with, csrf_token, login, sent_to_login

PROTECTED = "/espace"
MAX_HOURS = 12  # SESSION_MAX_HOURS by default
REMEMBER_DAYS = 14  # REMEMBER_DAYS by default
ENDED = "Votre session a pris fin. Pour votre sécurité, connectez-vous à nouveau."
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock(monkeypatch):
    """``clock(offset)``: the app's time and the session's signing time, moved together
    by ``offset`` from the start of the test."""
    start = now()
    real = TimestampSigner.get_timestamp

    def move(offset: timedelta) -> None:
        monkeypatch.setattr("aap.services.accounts.now", lambda: start + offset)
        monkeypatch.setattr("aap.web.session_lifetime.now", lambda: start + offset)
        monkeypatch.setattr(TimestampSigner, "get_timestamp",
                            lambda self: real(self) + int(offset.total_seconds()))

    move(timedelta(0))
    return move






def _signed_in(response) -> bool:
    """``/espace`` sends a signed-in user to its role's home, never to the login page."""
    return response.status_code == 302 and not sent_to_login(response)


def _keep_using(client, clock, since: timedelta, until: timedelta) -> None:
    """A request every 4 hours from ``since``, the last one two minutes before
    ``until``, each one signed in: the session is never idle for 8 hours
    (SESSION_HOURS)."""
    last = until - timedelta(minutes=2)
    at = since + timedelta(hours=4)
    while at < last:
        clock(at)
        assert _signed_in(client.get(PROTECTED)), at
        at += timedelta(hours=4)
    clock(last)
    assert _signed_in(client.get(PROTECTED)), last


def _remember_cookie(client) -> dict[str, str]:
    return {"remember_token": client.get_cookie("remember_token").value}


def test_the_settings_are_twelve_hours_and_fourteen_days(app):
    assert app.config["SESSION_MAX_HOURS"] == MAX_HOURS
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=REMEMBER_DAYS)


def test_session_max_hours_is_read_from_the_environment():
    code = "from aap.config import Config; print(Config.SESSION_MAX_HOURS)"
    env = {k: v for k, v in os.environ.items() if k != "SESSION_MAX_HOURS"}
    default = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
    chosen = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            env={**env, "SESSION_MAX_HOURS": "3"},
                            capture_output=True, text=True, check=True)
    assert (default.stdout.strip(), chosen.stdout.strip()) == ("12", "3")


def test_a_session_used_every_few_hours_ends_twelve_hours_after_its_login(
        app, client, world, clock):
    login(client, world.users["applicant"])
    for hours, minutes in ((0, 1), (4, 0), (8, 0), (11, 59)):  # never idle 8 hours
        clock(timedelta(hours=hours, minutes=minutes))
        assert _signed_in(client.get(PROTECTED)), (hours, minutes)
    clock(timedelta(hours=MAX_HOURS, minutes=1))  # two minutes after the last request
    refused = client.get(PROTECTED)
    assert sent_to_login(refused)
    assert refused.headers["Location"] == f"/connexion?next={PROTECTED}"
    page = client.get(refused.headers["Location"])
    assert page.status_code == 200 and ENDED in page.text
    assert "Connectez-vous pour accéder" not in page.text  # one message, the reason
    assert sent_to_login(client.get(PROTECTED))  # signed out, not a one-off refusal


@pytest.mark.parametrize(("age", "passes"), [
    (timedelta(hours=MAX_HOURS) - timedelta(minutes=1), True),
    (timedelta(hours=MAX_HOURS) + timedelta(minutes=1), False),
])
def test_a_captured_session_serves_until_twelve_hours_after_the_login(
        app, client, world, clock, age, passes):
    """The same cookie replayed: written two minutes before (never idle), its login
    ``age`` ago."""
    login(client, world.users["applicant"])
    _keep_using(client, clock, timedelta(0), age)
    captured = {"session": client.get_cookie("session").value}
    clock(age)
    assert _signed_in(client_with(app, captured).get(PROTECTED)) is passes


def test_the_limit_follows_the_setting(app, client, world, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 2)
    login(client, world.users["applicant"])
    _keep_using(client, clock, timedelta(0), timedelta(hours=2))
    clock(timedelta(hours=2, minutes=1))
    assert sent_to_login(client.get(PROTECTED))


def test_a_new_login_starts_a_new_lifetime(app, client, world, clock):
    login(client, world.users["applicant"])
    _keep_using(client, clock, timedelta(0), timedelta(hours=MAX_HOURS))
    clock(timedelta(hours=MAX_HOURS, minutes=1))
    assert sent_to_login(client.get(PROTECTED))
    login(client, world.users["applicant"])
    clock(timedelta(hours=MAX_HOURS + 7))  # 19 hours after the first login
    assert _signed_in(client.get(PROTECTED))


def test_the_login_page_tells_the_reason_without_a_loop(app, client, world, clock):
    login(client, world.users["applicant"])
    _keep_using(client, clock, timedelta(0), timedelta(hours=MAX_HOURS))
    clock(timedelta(hours=MAX_HOURS, minutes=1))
    page = client.get("/connexion")
    assert page.status_code == 200 and ENDED in page.text
    assert ENDED not in client.get("/connexion").text  # said once


def test_a_form_posted_after_the_limit_is_not_run_and_brings_back_to_its_page(
        app, client, world, clock, db):
    """No form is kept across a new login in AAP: what was posted is not run, and the
    user comes back to the page of the form once signed in again."""
    user = world.users["applicant"]
    login(client, user)
    _keep_using(client, clock, timedelta(0), timedelta(hours=MAX_HOURS))
    token = csrf_token(client.get("/porteur/").text)
    clock(timedelta(hours=MAX_HOURS, minutes=1))
    refused = client.post("/deconnexion", data={"csrf_token": token},
                          headers={"Referer": "http://localhost/porteur/?page=2"})
    assert refused.headers["Location"] == "/connexion?next=/porteur/?page%3D2"
    db.session.refresh(user)
    assert user.session_version == 0  # the logout did not run
    page = client.get(refused.headers["Location"])
    again = client.post(refused.headers["Location"], data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert again.headers["Location"] == "/porteur/?page=2"


def test_a_remembered_user_past_the_session_limit_is_signed_in_by_the_cookie(
        app, client, world, clock):
    login(client, world.users["applicant"], remember="y")
    _keep_using(client, clock, timedelta(0), timedelta(hours=MAX_HOURS))
    clock(timedelta(hours=MAX_HOURS, minutes=1))
    assert _signed_in(client.get(PROTECTED))  # a new login by the remember-me cookie
    clock(timedelta(hours=MAX_HOURS + 7))
    assert _signed_in(client.get(PROTECTED))  # its own 12 hours run from then


@pytest.mark.parametrize(("age", "passes"), [
    (timedelta(days=REMEMBER_DAYS) - timedelta(minutes=1), True),
    (timedelta(days=REMEMBER_DAYS) + timedelta(minutes=1), False),
])
def test_a_remember_me_cookie_serves_until_fourteen_days_after_its_issue(
        app, client, world, clock, age, passes):
    """Replayed by hand, the browser's expiry does not count: the server reads the date
    signed in the cookie."""
    login(client, world.users["applicant"], remember="y")
    captured = _remember_cookie(client)
    clock(age)
    replayed = client_with(app, captured).get(PROTECTED)
    assert _signed_in(replayed) is passes
    if not passes:
        assert replayed.headers["Location"] == f"/connexion?next={PROTECTED}"
        deleted = [h for h in replayed.headers.getlist("Set-Cookie")
                   if h.startswith("remember_token=")]
        assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]  # dropped


def test_a_remember_me_cookie_restores_a_session_until_its_own_limit(
        app, client, world, clock):
    """Restored on day 13, the session serves alone (a login of its own); on day 14 the
    cookie's limit ends it."""
    login(client, world.users["applicant"], remember="y")
    captured = _remember_cookie(client)
    clock(timedelta(days=13))
    browser = client_with(app, captured)
    assert _signed_in(browser.get(PROTECTED))
    session_only = client_with(app, {"session": browser.get_cookie("session").value})
    clock(timedelta(days=13, hours=7))
    assert _signed_in(session_only.get(PROTECTED))
    clock(timedelta(days=REMEMBER_DAYS, minutes=1))
    assert sent_to_login(browser.get(PROTECTED))


def _identities(user) -> list[object]:
    issued = int(now().timestamp())
    return [
        f"{user.id}:{user.session_version}",  # the undated identity of older releases
        f"{user.id}", "", "x", ":::", f"{user.id}:0:abc", f"{user.id}:0:-5",
        f"{user.id}:0:{issued}:1", f"{user.id}:0:{issued + 86400}",  # from tomorrow
        f"{user.id}:0:{issued}\n", f" {user.id}:0:{issued}", f"{user.id}:0:1.5",
        f"{'9' * 18}:0:{issued}", f"{user.id}:{'9' * 9}:{issued}", f"{user.id}:0:{'9' * 12}",
        "١:٠:١",  # Arabic-Indic digits
    ]


def test_a_malformed_remember_me_identity_is_refused_without_a_500(app, client, world):
    user = world.users["applicant"]
    for identity in _identities(user):
        forged = {"remember_token": encode_cookie(identity)}
        response = client_with(app, forged).get(PROTECTED)
        assert sent_to_login(response), identity
    signed = encode_cookie(f"{user.id}:0:{int(now().timestamp())}")
    tampered = signed[:-1] + ("1" if signed.endswith("0") else "0")  # one digit changed
    assert sent_to_login(client_with(app, {"remember_token": tampered}).get(PROTECTED))
    valid = encode_cookie(f"{user.id}:0:{int(now().timestamp())}")
    assert _signed_in(client_with(app, {"remember_token": valid}).get(PROTECTED))


def test_a_malformed_session_is_refused_without_a_500(app, client, world):
    """Signed with the right key (the attacker cannot), still never a 500 nor a login."""
    user = world.users["applicant"]
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    at = int(now().timestamp())
    good = f"{user.id}:0:{at}"
    forged = [{"_user_id": identity, "_login_at": at} for identity in _identities(user)]
    forged += [{"_user_id": value, "_login_at": at} for value in (7, None, [good], {})]
    forged += [{"_user_id": good, "_login_at": value}
               for value in (None, str(at), float(at), True, at + 86400, [at])]
    forged.append({"_user_id": good})  # no login time: a session of an older release
    for data in forged:
        response = client_with(app, {"session": serializer.dumps(data)}).get(PROTECTED)
        assert sent_to_login(response), data
    valid = serializer.dumps({"_user_id": good, "_login_at": at})
    assert _signed_in(client_with(app, {"session": valid}).get(PROTECTED))


def test_the_api_is_not_concerned(app, client, world, clock):
    """A bearer token goes on serving past the web session's limit, beside a stale
    session cookie that the API never reads."""
    user = world.users["applicant"]
    bearer = accounts.issue_token(user, timedelta(days=30))
    login(client, user)
    _keep_using(client, clock, timedelta(0), timedelta(hours=MAX_HOURS))
    clock(timedelta(hours=MAX_HOURS, minutes=1))
    response = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 200
    assert response.is_json


def test_logging_out_with_remember_me_leaves_the_browser_signed_out_quietly(client, world):
    """The logout deletes the remember-me cookie: the next page is served as to anyone,
    with « Vous êtes déconnecté. » and not a « session ended » detour to the login."""
    login(client, world.users["applicant"], remember="y")
    page = client.get(PROTECTED)
    assert _signed_in(page)
    token = csrf_token(client.get("/porteur/").get_data(True))
    client.post("/deconnexion", data={"csrf_token": token})
    assert client.get_cookie("remember_token") is None  # deleted by the response
    landing = client.get("/")
    assert landing.status_code == 200
    assert "Vous êtes déconnecté." in landing.get_data(True)
    assert "Votre session a pris fin" not in landing.get_data(True)
