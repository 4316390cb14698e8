"""Login costs the same whether the account exists or not (no account enumeration by
timing): an unknown address spends one password hash of the method real accounts use.
Counted in hash computations, not in seconds (no timed tests)."""

from __future__ import annotations

import pytest
import werkzeug.security

from aap.services import accounts
from tests import factories


@pytest.fixture
def hash_calls(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = werkzeug.security._hash_internal

    def counting(method: str, salt: str, password: str):
        calls.append(method.split(":")[0])
        return real(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return calls


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "inactive", "right"])
def test_every_login_attempt_costs_one_hash_of_the_accounts_method(db, hash_calls, case,
                                                                  app):
    user = factories.make_user(["applicant"], email="awa@example.org")
    if case == "inactive":
        user.active = False
        db.session.commit()
    expected_method = user.password_hash.split(":")[0]
    email = "nobody@example.org" if case == "unknown" else user.email
    password = factories.PASSWORD if case in {"right", "inactive"} else "Mauvais-2026"
    accounts.authenticate("warm-up@example.org", "x")  # the dummy hash is made once
    hash_calls.clear()
    result = accounts.authenticate(email, password)
    assert (result is not None) is (case == "right")
    assert hash_calls == [expected_method]


def test_the_dummy_hash_uses_the_configured_method(app, db, hash_calls):
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    try:
        hash_calls.clear()
        assert accounts.authenticate("personne@example.org", "x") is None
        assert hash_calls[-1] == "scrypt"
    finally:
        app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
