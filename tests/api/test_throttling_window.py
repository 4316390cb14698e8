"""Throttling's 15-minute window (SPEC 7.1): 10 failed logins per account, or 50 per
address, within 15 minutes get 429; once the window has passed they are allowed again.

The limiter keeps its counters in memory (``memory://``), whose expiry reads the clock
through its module's ``time``, as does Flask-Limiter for Retry-After: the tests swap both
for a clock they move by hand. All the
failures happen at the window's first second, so the oracle holds for a fixed window as
for a moving one: still refused at 14 min 59 s, allowed again at 15 min 01 s.
"""

from __future__ import annotations

import pytest
from flask_limiter import _extension
from limits.storage import memory

from tests.api.helpers import assert_error, ok
from tests.factories import make_user

START = 1_800_000_000.0  # any instant: only differences matter


class Clock:
    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    def at(self, minutes: float) -> None:
        self.now = START + minutes * 60


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(memory, "time", clock)
    monkeypatch.setattr(_extension, "time", clock)
    return clock


def _fail(api, email: str):
    return api.login(email, "wrong-password-1")


def test_an_account_is_allowed_again_after_fifteen_minutes(throttled_api, world, clock):
    email = world.users["applicant"].email
    for _ in range(10):
        assert_error(_fail(throttled_api, email), 401, "unauthorized")
    assert_error(_fail(throttled_api, email), 429, "too_many_requests")

    clock.at(14.5)  # 14 min 30 s: still inside the window
    response = throttled_api.login(email)
    assert_error(response, 429, "too_many_requests")
    # the window opened at 0 min 0 s and closes at 15 min: 30 s are left (the limiter
    # counts whole seconds and may round the reset up by one)
    assert 30 <= int(response.headers["Retry-After"]) <= 31
    clock.at(14 + 59 / 60)  # 14 min 59 s: still inside
    assert_error(throttled_api.login(email), 429, "too_many_requests")

    clock.at(15 + 1 / 60)  # 15 min 01 s: a new window
    ok(throttled_api.login(email))
    for _ in range(10):  # and a new allowance of ten failures
        assert_error(_fail(throttled_api, email), 401, "unauthorized")
    assert_error(_fail(throttled_api, email), 429, "too_many_requests")


def test_an_address_is_allowed_again_after_fifteen_minutes(throttled_api, world, clock):
    # 50 failures from one address, spread over accounts so none reaches its own limit.
    emails = [f"inconnu{i}@example.org" for i in range(10)]
    for n in range(50):
        assert_error(_fail(throttled_api, emails[n % 10]), 401, "unauthorized")
    newcomer = make_user(["applicant"])
    assert_error(_fail(throttled_api, "jamais-vu@example.org"), 429, "too_many_requests")
    assert_error(throttled_api.login(newcomer.email), 429, "too_many_requests")

    clock.at(14 + 59 / 60)
    assert_error(throttled_api.login(newcomer.email), 429, "too_many_requests")
    clock.at(15 + 1 / 60)
    ok(throttled_api.login(newcomer.email))
    assert_error(_fail(throttled_api, "jamais-vu@example.org"), 401, "unauthorized")
