"""Fixtures of the API tests (helpers in ``tests.api.helpers``)."""

from __future__ import annotations

from functools import partial

import pytest
from werkzeug.security import generate_password_hash

from tests.api.helpers import ApiClient


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """scrypt costs ~0.2 s a hash and World builds eight users per test: hash cheaply
    here (check_password_hash reads the method from the stored hash, so logins work)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aap.models.accounts.generate_password_hash",
                   partial(generate_password_hash, method="pbkdf2:sha256:1000"))
        yield


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def throttled_app(app, db):
    """A second app on the same database, with failed logins throttled.

    Flask-Limiter's ``Limiter`` is a module-level singleton: ``init_app`` on this app
    switches it on (with a fresh in-memory storage) for *every* app of the process, the
    session app included. So the storage is emptied and the limiter switched back off
    afterwards, or later logins of other tests would be counted and refused."""
    from aap import create_app
    from aap.extensions import db as _db
    from aap.extensions import limiter

    saved = limiter.enabled, limiter.initialized
    throttled = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                           UPLOAD_DIR=app.config["UPLOAD_DIR"], RATELIMIT_ENABLED=True)
    limiter.reset()
    try:
        yield throttled
    finally:
        limiter.reset()
        limiter.enabled, limiter.initialized = saved
        with throttled.app_context():
            _db.engine.dispose()


@pytest.fixture
def throttled_api(throttled_app) -> ApiClient:
    return ApiClient(throttled_app.test_client())
