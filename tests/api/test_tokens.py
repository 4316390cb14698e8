"""API tokens (SPEC 7.1 ``POST /auth/token``; docs/api.md): they expire, their owner lists
and revokes them, another user's token is 404, and the value is never shown again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from aap.extensions import db
from aap.models import ApiToken
from aap.services import accounts
from aap.timeutil import now
from tests.api.helpers import assert_error, ok


def _row(token: str) -> ApiToken:
    return db.session.scalars(select(ApiToken).where(
        ApiToken.digest == accounts.digest(token))).one()


def test_an_expired_token_is_401(api, world):
    token = api.token(world.users["applicant"])
    assert api.get("/auth/tokens", token=token).status_code == 200
    db.session.execute(update(ApiToken).where(ApiToken.id == _row(token).id)
                       .values(expires_at=now() - timedelta(seconds=1)))
    db.session.commit()
    assert_error(api.get("/auth/tokens", token=token), 401, "unauthorized")


def test_a_token_lives_api_token_ttl(api, world, app):
    """The TTL is API_TOKEN_TTL (30 days by default), counted from the login."""
    before = now()
    token = api.token(world.users["applicant"])
    row = _row(token)
    ttl = app.config["API_TOKEN_TTL"]
    assert before + ttl <= row.expires_at <= now() + ttl


def test_the_owner_lists_its_tokens_without_any_secret(api, world):
    user = world.users["applicant"]
    first = api.login(user.email).get_json()["token"]
    second = api.login(user.email).get_json()["token"]
    api.token(world.users["instructor"])  # someone else's: never listed
    body = ok(api.get("/auth/tokens", token=second))
    assert body["total"] == 2 and body["page"] == 1 and body["pages"] == 1
    assert [i["id"] for i in body["items"]] == [_row(second).id, _row(first).id]
    assert [i["current"] for i in body["items"]] == [True, False]
    assert all(i["active"] and not i["revoked"] for i in body["items"])
    text = api.get("/auth/tokens", token=second).get_data(True)
    for secret in (first, second, _row(first).digest, _row(second).digest):
        assert secret not in text
    page = ok(api.get("/auth/tokens?per_page=1&page=2", token=second))
    assert page["pages"] == 2 and [i["id"] for i in page["items"]] == [_row(first).id]


def test_revoking_a_token_makes_it_401_at_once(api, world):
    user = world.users["applicant"]
    keep = api.login(user.email).get_json()["token"]
    lost = api.login(user.email).get_json()["token"]
    response = api.request("DELETE", f"/auth/tokens/{_row(lost).id}", token=keep)
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(api.get("/auth/tokens", token=lost), 401, "unauthorized")
    listed = ok(api.get("/auth/tokens", token=keep))["items"]
    assert {i["id"]: (i["revoked"], i["active"]) for i in listed} == {
        _row(keep).id: (False, True), _row(lost).id: (True, False)}


def test_another_users_token_is_404_and_stays_valid(api, world):
    theirs = api.token(world.users["instructor"])
    mine = api.token(world.users["applicant"])
    response = api.request("DELETE", f"/auth/tokens/{_row(theirs).id}", token=mine)
    assert_error(response, 404, "not_found")
    assert api.get("/auth/tokens", token=theirs).status_code == 200
    assert_error(api.request("DELETE", "/auth/tokens/999999", token=mine), 404, "not_found")


def test_the_token_routes_need_a_token(api, world):
    assert_error(api.get("/auth/tokens"), 401, "unauthorized")
    assert_error(api.request("DELETE", "/auth/tokens/1"), 401, "unauthorized")


def test_last_use_is_written_at_most_once_a_minute(api, world):
    """Not one write per request: a second request within the minute leaves it alone; a
    use more than a minute after the last recorded one moves it."""
    token = api.token(world.users["applicant"])
    assert _row(token).last_used_at is None  # issued, not used yet
    api.get("/auth/tokens", token=token)
    db.session.expire_all()
    first = _row(token).last_used_at
    assert first is not None
    api.get("/auth/tokens", token=token)
    db.session.expire_all()
    assert _row(token).last_used_at == first
    earlier = first - timedelta(seconds=61)
    db.session.execute(update(ApiToken).where(ApiToken.id == _row(token).id)
                       .values(last_used_at=earlier))
    db.session.commit()
    api.get("/auth/tokens", token=token)
    db.session.expire_all()
    assert _row(token).last_used_at > first


def test_a_login_records_the_last_login_to_the_day(api, world):
    """At most one write a day: an account created or seen less than a day ago is not
    written again (the dormant rule counts from its creation when no login is known)."""
    user = world.users["applicant"]
    api.login(user.email)
    db.session.expire_all()
    assert user.last_login_at is None  # created just now
    two_days_ago = now() - timedelta(days=2)
    user.created_at = two_days_ago
    db.session.commit()
    before = now()
    api.login(user.email)
    db.session.expire_all()
    assert before <= user.last_login_at <= now()
    seen = user.last_login_at
    api.login(user.email)
    db.session.expire_all()
    assert user.last_login_at == seen
    user.last_login_at = two_days_ago
    db.session.commit()
    api.login(user.email)
    db.session.expire_all()
    assert user.last_login_at > two_days_ago + timedelta(days=1)
