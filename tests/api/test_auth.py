"""Authentication: tokens, registration, protected endpoints and login throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from aap.models import ApiToken
from aap.timeutil import now
from tests.api.helpers import assert_error, ok
from tests.factories import PASSWORD, make_user

PROTECTED = [
    ("GET", "/api/v1/calls"),
    ("GET", "/api/v1/calls/1"),
    ("GET", "/api/v1/applications"),
    ("GET", "/api/v1/applications/1"),
    ("POST", "/api/v1/applications"),
    ("PATCH", "/api/v1/applications/1"),
    ("POST", "/api/v1/applications/1/transitions/submit"),
    ("POST", "/api/v1/applications/1/payments"),
    ("POST", "/api/v1/funds"),
    ("POST", "/api/v1/calls"),
    ("PUT", "/api/v1/calls/1/jury"),
    ("POST", "/api/v1/organisations"),
]


# -- tokens ---------------------------------------------------------------------------
def test_token_is_issued_with_the_user(api, world):
    user = world.users["applicant"]
    body = ok(api.login(user.email))
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert body["user"]["id"] == user.id
    assert body["user"]["email"] == user.email
    assert body["user"]["roles"] == ["applicant"]
    assert "password" not in body["user"]
    # the token works
    assert ok(api.get("/calls", token=body["token"]))["total"] == 1


def test_token_login_ignores_the_case_of_the_email(api, world):
    assert api.login(world.users["instructor"].email.upper()).status_code == 200


def test_each_login_gives_a_new_token(api, world):
    email = world.users["finance"].email
    assert ok(api.login(email))["token"] != ok(api.login(email))["token"]


@pytest.mark.parametrize("email_of, password", [
    ("applicant", "wrong-password-1"),
    ("applicant", ""),
    (None, PASSWORD),  # unknown account
])
def test_bad_credentials_are_401_with_the_same_message(api, world, email_of, password):
    email = world.users[email_of].email if email_of else "nobody@example.org"
    error = assert_error(api.login(email, password), 401, "unauthorized")
    assert "token" not in error
    reference = assert_error(api.login(world.users["juror"].email, "nope-nope-1"), 401)
    assert error["message"] == reference["message"]  # no account enumeration


def test_an_inactive_account_cannot_log_in(api, world, db):
    user = world.users["applicant"]
    user.active = False
    db.session.commit()
    assert_error(api.login(user.email), 401, "unauthorized")


@pytest.mark.parametrize("body, fields", [
    ({}, ["email", "password"]),
    ({"email": "a@example.org"}, ["password"]),
    ({"email": "a@example.org", "password": "x", "remember": True}, ["remember"]),
])
def test_token_request_is_validated(api, db, body, fields):
    assert_error(api.post("/auth/token", json=body), 422, "invalid_data", fields)


# -- protected endpoints ----------------------------------------------------------------
BAD_AUTHORIZATIONS = [None, "Bearer", "Bearer garbage-token", "Basic dXNlcjpwYXNz", "garbage"]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_protected_endpoints_need_a_valid_token(client, db, subtests, method, path):
    for authorization in BAD_AUTHORIZATIONS:
        with subtests.test(authorization=authorization):
            headers = {"Authorization": authorization} if authorization else {}
            # a body that would be invalid: authentication is checked before the data
            response = client.open(path, method=method, json={"bogus": 1}, headers=headers)
            assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("spoil", ["expired", "revoked", "inactive"])
def test_expired_revoked_or_inactive_tokens_are_refused(api, world, db, spoil):
    user = world.users["instructor"]
    token = api.token(user)
    assert api.get("/calls", token=token).status_code == 200
    if spoil == "expired":
        db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                           .values(expires_at=now() - timedelta(seconds=1)))
    elif spoil == "revoked":
        db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                           .values(revoked=True))
    else:
        user.active = False
    db.session.commit()
    for method, path in PROTECTED[:4]:
        assert_error(api.request(method, path, token=token), 401, "unauthorized")


# -- registration -------------------------------------------------------------------
def test_register_creates_an_applicant_who_can_log_in(api, db):
    body = ok(api.post("/auth/register", json={
        "email": "Nouvelle.Asso@Example.org", "password": "Un-mot-de-passe-1",
        "name": "Nouvelle Asso"}), 201)
    assert body["email"] == "nouvelle.asso@example.org"
    assert body["roles"] == ["applicant"]
    assert body["name"] == "Nouvelle Asso"
    assert isinstance(body["id"], int)
    assert "password" not in body
    login = ok(api.login("nouvelle.asso@example.org", "Un-mot-de-passe-1"))
    assert login["user"] == {"id": body["id"], "email": body["email"], "roles": ["applicant"],
                             "name": "Nouvelle Asso"}


GOOD = {"email": "porteur@example.org", "password": "Un-mot-de-passe-1", "name": "Porteur"}


@pytest.mark.parametrize("changes, fields", [
    ({"password": "court-1"}, ["password"]),
    ({"password": "aaaaaaaaaaaaaaa"}, ["password"]),
    ({"password": "12345678901234"}, ["password"]),
    ({"password": "porteur-2026-abc"}, ["password"]),  # contains the e-mail's local part
    ({"email": "not-an-email"}, ["email"]),
    ({"email": "a@b"}, ["email"]),
    ({"email": "not-an-email", "password": "court"}, ["email", "password"]),
    ({"name": ""}, ["name"]),
    ({"roles": ["admin"]}, ["roles"]),  # no self-service escalation
    ({"email": None}, ["email"]),
])
def test_register_refuses_bad_data_with_a_message_per_field(api, db, changes, fields):
    body = {**GOOD, **changes}
    error = assert_error(api.post("/auth/register", json=body), 422, None, fields)
    assert set(error["fields"]) == set(fields)
    assert api.login(str(body["email"]), str(body["password"])).status_code == 401


@pytest.mark.parametrize("email", ["awa@example.org", "AWA@Example.org"])
def test_register_refuses_a_duplicate_email(api, db, email):
    make_user(["applicant"], email="awa@example.org")
    error = assert_error(api.post("/auth/register", json={**GOOD, "email": email}), 422,
                         "invalid_data", ["email"])
    assert list(error["fields"]) == ["email"]


# -- throttling (SPEC 7.1: 10 failures per account or 50 per address in 15 minutes) ------
def _fail(throttled_api, email: str):
    return throttled_api.login(email, "wrong-password-1")


def test_the_eleventh_failed_login_of_an_account_is_429(throttled_api, world):
    email = world.users["applicant"].email
    for _ in range(10):
        assert_error(_fail(throttled_api, email), 401, "unauthorized")
    error = assert_error(_fail(throttled_api, email), 429, "too_many_requests")
    response = throttled_api.login(email)  # even the right password, for now
    assert_error(response, 429, "too_many_requests")
    retry_after = response.headers.get("Retry-After")
    assert retry_after and retry_after.isdigit() and 0 < int(retry_after) <= 15 * 60
    assert error["message"] == "Trop de tentatives : réessayez plus tard."
    # other accounts are not locked out
    assert throttled_api.login(world.users["instructor"].email).status_code == 200
    # nor counted under another spelling of the same address
    assert_error(_fail(throttled_api, email.upper()), 429, "too_many_requests")


def test_successful_logins_are_not_counted(throttled_api, world):
    email = world.users["applicant"].email
    for _ in range(9):
        assert_error(_fail(throttled_api, email), 401)
    for _ in range(5):
        assert throttled_api.login(email).status_code == 200
    assert_error(_fail(throttled_api, email), 401)  # the 10th failure
    assert_error(_fail(throttled_api, email), 429, "too_many_requests")


def test_fifty_failures_from_one_address_are_429_whatever_the_account(throttled_api, world):
    for i in range(50):
        assert_error(_fail(throttled_api, f"inconnu{i // 5}@example.org"), 401)
    response = _fail(throttled_api, "encore-un-autre@example.org")
    assert_error(response, 429, "too_many_requests")
    assert response.headers.get("Retry-After", "").isdigit()
    assert_error(throttled_api.login(world.users["finance"].email), 429)


def test_throttling_is_per_address(throttled_api, world):
    email = world.users["applicant"].email
    for i in range(50):
        assert_error(_fail(throttled_api, f"inconnu{i // 5}@example.org"), 401)
    other = throttled_api.client.post(
        "/api/v1/auth/token", json={"email": email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_the_session_app_is_not_throttled(api, world):
    """Throttling is off in the test config: many failures still answer 401."""
    for _ in range(12):
        assert_error(api.login(world.users["applicant"].email, "wrong-password-1"), 401)
    assert api.login(world.users["applicant"].email).status_code == 200


def test_a_short_email_local_part_does_not_forbid_its_letters_in_the_password(api, db):
    body = ok(api.post("/auth/register", json={
        "email": "a@example.org", "password": "Un-mot-de-passe-1", "name": "A"}), 201)
    assert body["roles"] == ["applicant"]
