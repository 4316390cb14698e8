"""Security events (ASVS 7.1.3, 7.2.1, 7.2.2): each action below, done through the real
web or API client, writes the ``aap.security`` lines of the table (event and account),
JSON like every line, with the method, the path, the client's address and the request
id; and no line carries a typed address, a password or a token."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from aap.models import ApiToken, Notification, User
from aap.services import accounts
from aap.timeutil import now
from tests.api.helpers import ApiClient
from tests.factories import PASSWORD, World, make_user
from tests.web.conftest import IsolatedClient, csrf_token, login

IP = "203.0.113.7"
WRONG = "Pas-le-bon-2026"
NEW = "Une nouvelle phrase de passe 2026"
UNKNOWN = "personne.inconnue@example.org"
RESET_LINK = re.compile(r"/reinitialiser/([A-Za-z0-9_-]+)")


@pytest.fixture(scope="module", autouse=True)
def _fast_password_hashing():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aap.models.accounts.generate_password_hash",
                   partial(generate_password_hash, method="pbkdf2:sha256:1000"))
        yield


@dataclass
class Ctx:
    app: object
    request: pytest.FixtureRequest
    users: dict[str, User] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    @property
    def throttled(self):
        return self.request.getfixturevalue("throttled_app")

    def browser(self, app=None) -> IsolatedClient:
        client = IsolatedClient(app or self.app, (app or self.app).response_class,
                                use_cookies=True)
        client.environ_base["REMOTE_ADDR"] = IP
        return client

    def api(self, app=None) -> ApiClient:
        return ApiClient(self.browser(app))

    def signed_in(self, key: str = "applicant", app=None) -> IsolatedClient:
        client = self.browser(app)
        assert login(client, self.users[key]).status_code == 302
        return client

    def token(self, key: str, **changes) -> str:
        """A token of the account, its row then changed (revoked, expired) in the base."""
        from aap.extensions import db

        value = accounts.issue_token(self.users[key], timedelta(days=1))
        if changes:
            db.session.execute(update(ApiToken).where(
                ApiToken.digest == accounts.digest(value)).values(**changes))
            db.session.commit()
        self.secrets.append(value)
        return value


@pytest.fixture
def ctx(app, db, request) -> Ctx:
    world = World.build()
    users = dict(world.users)
    users["inactive"] = make_user(["applicant"], email="ancienne.porteuse@example.org")
    users["inactive"].active = False
    users["leaver"] = make_user(["applicant"], email="partante@example.org")
    db.session.commit()
    return Ctx(app=app, request=request, users=users)


# -- the actions ------------------------------------------------------------------------

def web_login(c: Ctx, who: str, password: str, app=None):
    email = c.users[who].email if who in c.users else who
    return login(c.browser(app), email, password)


def api_login(c: Ctx, who: str, password: str, app=None):
    email = c.users[who].email if who in c.users else who
    return c.api(app).login(email, password)


def failing_logins(do: Callable, c: Ctx) -> None:
    """Ten failures for the applicant, then an eleventh attempt: 429."""
    app = c.throttled
    statuses = [do(c, "applicant", WRONG, app).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def csrf_signed_out(c: Ctx) -> None:
    response = c.browser().post("/connexion", data={"email": c.users["applicant"].email,
                                                    "password": PASSWORD})
    assert response.status_code == 400


def csrf_signed_in(c: Ctx) -> None:
    assert c.signed_in().post("/deconnexion").status_code == 400


def web_forbidden(c: Ctx) -> None:
    assert c.signed_in().get("/instruction/").status_code == 403


def api_forbidden(c: Ctx) -> None:
    assert c.api().post("/calls", as_=c.users["applicant"], json={}).status_code == 403


def bearer(c: Ctx, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert c.api().get("/auth/tokens", headers=headers).status_code == 401


def reset_request(c: Ctx, email: str, client=None) -> None:
    client = client or c.browser()
    token = csrf_token(client.get("/mot-de-passe-oublie").text)
    response = client.post("/mot-de-passe-oublie", data={"email": email, "csrf_token": token})
    assert response.status_code == 200


def reset_complete(c: Ctx) -> None:
    from aap.extensions import db

    client = c.browser()
    reset_request(c, c.users["applicant"].email, client)
    db.session.rollback()
    mail = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    secret = RESET_LINK.search(mail.body).group(1)
    c.secrets.append(secret)
    page = client.get(f"/reinitialiser/{secret}")
    response = client.post(f"/reinitialiser/{secret}", data={
        "password": NEW, "confirm": NEW, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302


def web_change(c: Ctx, current: str) -> None:
    client = c.signed_in()
    page = client.get("/compte/mot-de-passe")
    response = client.post("/compte/mot-de-passe", data={
        "current_password": current, "new_password": NEW, "confirm": NEW,
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == (303 if current == PASSWORD else 422)


def api_change(c: Ctx, current: str, app=None) -> int:
    return c.api(app).put("/me/password", as_=c.users["applicant"], json={
        "current_password": current, "new_password": NEW}).status_code


def wrong_current_passwords(c: Ctx) -> None:
    api = c.api(c.throttled)
    statuses = [api.put("/me/password", as_=c.users["applicant"], json={
        "current_password": WRONG, "new_password": NEW}).status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]


def web_delete(c: Ctx) -> None:
    client = c.signed_in("leaver")
    page = client.get("/compte/supprimer")
    response = client.post("/compte/supprimer", data={
        "password": PASSWORD, "confirm": "y", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303


def api_delete(c: Ctx) -> None:
    response = c.api().request("DELETE", "/me", as_=c.users["leaver"],
                               json={"password": PASSWORD})
    assert response.status_code == 204


# -- the table: action -> the security lines, in order (event, account, some fields) ----

FAILED = ("login_failed", "applicant", {"reason": "wrong_password"})
THROTTLED_LOGIN = ("login_throttled", "applicant", {"limit": "10 per 15 minute"})
CASES = {
    "web login, right password": (
        lambda c: web_login(c, "applicant", PASSWORD), []),
    "web login, wrong password": (
        lambda c: web_login(c, "applicant", WRONG), [FAILED]),
    "web login, unknown address": (
        lambda c: web_login(c, UNKNOWN, WRONG),
        [("login_failed", None, {"reason": "unknown_account"})]),
    "web login, inactive account": (
        lambda c: web_login(c, "inactive", PASSWORD),
        [("login_failed", "inactive", {"reason": "inactive"})]),
    "api login, right password": (
        lambda c: api_login(c, "applicant", PASSWORD), []),
    "api login, wrong password": (
        lambda c: api_login(c, "applicant", WRONG), [FAILED]),
    "api login, unknown address": (
        lambda c: api_login(c, UNKNOWN, WRONG),
        [("login_failed", None, {"reason": "unknown_account"})]),
    "api login, inactive account": (
        lambda c: api_login(c, "inactive", PASSWORD),
        [("login_failed", "inactive", {"reason": "inactive"})]),
    "web login throttled": (
        partial(failing_logins, web_login), [FAILED] * 10 + [THROTTLED_LOGIN]),
    "api login throttled": (
        partial(failing_logins, api_login), [FAILED] * 10 + [THROTTLED_LOGIN]),
    "csrf, signed out": (csrf_signed_out, [("csrf_refused", None, {})]),
    "csrf, signed in": (csrf_signed_in, [("csrf_refused", "applicant", {})]),
    "web page of another role": (
        web_forbidden, [("access_denied", "applicant", {"status": 403})]),
    "api operation of another role": (
        api_forbidden, [("access_denied", "applicant", {"status": 403})]),
    "api without a token": (lambda c: bearer(c, None), []),
    "api, not a bearer token": (
        lambda c: bearer(c, "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
        [("api_token_refused", None, {"reason": "malformed"})]),
    "api, unknown token": (
        lambda c: bearer(c, "Bearer " + "x" * 43),
        [("api_token_refused", None, {"reason": "unknown"})]),
    "api, revoked token": (
        lambda c: bearer(c, "Bearer " + c.token("applicant", revoked=True)),
        [("api_token_refused", "applicant", {"reason": "revoked"})]),
    "api, expired token": (
        lambda c: bearer(c, "Bearer " + c.token(
            "finance", expires_at=now() - timedelta(minutes=1))),
        [("api_token_refused", "finance", {"reason": "expired"})]),
    "api, token of an inactive account": (
        lambda c: bearer(c, "Bearer " + c.token("inactive")),
        [("api_token_refused", "inactive", {"reason": "inactive_account"})]),
    "reset asked for an account": (
        lambda c: reset_request(c, c.users["applicant"].email),
        [("password_reset_requested", "applicant", {})]),
    "reset asked for an unknown address": (
        lambda c: reset_request(c, UNKNOWN), [("password_reset_requested", None, {})]),
    "reset completed": (
        reset_complete, [("password_reset_requested", "applicant", {}),
                         ("password_reset_completed", "applicant", {})]),
    "web password change": (
        lambda c: web_change(c, PASSWORD), [("password_changed", "applicant", {})]),
    "web password change, wrong current": (
        lambda c: web_change(c, WRONG), [("reauthentication_failed", "applicant", {})]),
    "api password change": (
        lambda c: api_change(c, PASSWORD), [("password_changed", "applicant", {})]),
    "api password change, wrong current": (
        lambda c: api_change(c, WRONG), [("reauthentication_failed", "applicant", {})]),
    "wrong current passwords throttled": (
        wrong_current_passwords,
        [("reauthentication_failed", "applicant", {})] * 10
        + [("throttled", "applicant", {"limit": "10 per 15 minute"})]),
    "web account deletion": (web_delete, [("account_deleted", "leaver", {})]),
    "api account deletion": (api_delete, [("account_deleted", "leaver", {})]),
}


def _security(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "aap.security"]


@pytest.mark.parametrize(("action", "expected"), CASES.values(), ids=CASES.keys())
def test_each_action_writes_its_security_lines(ctx, logs, action, expected):
    ids = {key: user.id for key, user in ctx.users.items()}
    action(ctx)
    _, lines = logs()
    events = _security(lines)
    assert [(e["event"], e["user_id"]) for e in events] == [
        (name, ids[who] if who else None) for name, who, _ in expected]
    paths_by_request = {line["request_id"]: line["path"]
                        for line in lines if line["logger"] == "aap.request"}
    for event, (_, _, fields) in zip(events, expected, strict=True):
        assert event["level"] == "WARNING"
        assert event["ip"] == IP
        assert event["method"] in ("GET", "POST", "PUT", "DELETE")
        assert paths_by_request[event["request_id"]] == event["path"]
        assert {k: event.get(k) for k in fields} == fields


def test_a_hidden_object_is_an_access_denied_that_says_so(app, db, logs):
    """A ``NotVisible`` 404 (an existing object the caller may not see) is logged, marked
    ``hidden``; an unknown path's 404 is not an event."""
    from aap import create_app
    from aap.errors import NotVisible
    from aap.extensions import db as _db

    own = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                     UPLOAD_DIR=app.config["UPLOAD_DIR"])

    @own.get("/api/v1/essai-cache")
    def hidden():
        raise NotVisible("Dossier introuvable.")

    try:
        client = IsolatedClient(own, own.response_class)
        assert client.get("/api/v1/essai-cache").status_code == 404
        assert client.get("/api/v1/rien-ici").status_code == 404
    finally:
        with own.app_context():
            _db.engine.dispose()
    _, lines = logs()
    [event] = _security(lines)
    assert (event["event"], event["status"], event["hidden"], event["path"]) == (
        "access_denied", 404, True, "/api/v1/essai-cache")


@pytest.mark.parametrize(("action", "expected"), CASES.values(), ids=CASES.keys())
def test_no_line_carries_a_typed_address_a_password_or_a_token(ctx, logs, action, expected):
    typed = [ctx.users["applicant"].email, ctx.users["inactive"].email,
             ctx.users["leaver"].email, UNKNOWN, PASSWORD, WRONG, NEW]
    action(ctx)
    raw, lines = logs()
    assert len(_security(lines)) == len(expected)
    assert [s for s in typed + ctx.secrets if s in raw] == []
    # nothing was left for the redaction filter to mask: no address was passed at all
    masked = [e for e in _security(lines) if "[email]" in json.dumps(e) or "email" in e]
    assert masked == []


def test_another_organisations_application_is_a_hidden_denial_a_missing_one_is_not(
        app, world, logs):
    """The answer is the same 404 (the application is not shown to exist); only the log
    says that it exists and was refused to this account."""
    from datetime import timedelta

    from aap.services import accounts

    application = world.bring_to(world.application(), "submitted")
    stranger = world.users["foreign_applicant"]
    token = accounts.issue_token(stranger, timedelta(days=1))
    client = IsolatedClient(app, app.response_class, use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    logs()  # forget the set-up's lines
    theirs = client.get(f"/api/v1/applications/{application.id}", headers=headers)
    missing = client.get(f"/api/v1/applications/{application.id + 1000}", headers=headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()  # nothing tells one from the other
    _, lines = logs()
    [event] = _security(lines)
    assert (event["event"], event["status"], event["hidden"], event["user_id"],
            event["path"]) == ("access_denied", 404, True, stranger.id,
                               f"/api/v1/applications/{application.id}")
