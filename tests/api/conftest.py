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
def throttled_api(throttled_app) -> ApiClient:
    return ApiClient(throttled_app.test_client())
