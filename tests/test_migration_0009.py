"""Migration 0009 (privacy and API tokens) on a database filled at revision 0008, on SQLite
or PostgreSQL (``TEST_DATABASE_URL``): every account and token is kept as it was, with
no last login, not anonymised, an empty label and no last use; a token issued before the
upgrade still opens the API; the downgrade back to 0008 keeps the rows too."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from aap.extensions import db
from aap.services import accounts
from tests.old_revision import MIGRATIONS, database_at

AT = "'2026-01-01 00:00:00+00:00'"
LATER = "'2099-01-01 00:00:00+00:00'"
TOKEN = "jeton-emis-avant-la-migration"


@pytest.fixture
def database_at_0008(app, tmp_path):
    with database_at("0008", tmp_path) as old:
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO user_account (id, email, name, password_hash, active, "
                "session_version, created_at) VALUES (1, 'porteur@example.org', 'Awa', "
                f"'pbkdf2:sha256:1$x$y', TRUE, 0, {AT})"))
            conn.execute(text(
                "INSERT INTO user_role (id, user_id, role) VALUES (1, 1, 'applicant')"))
            conn.execute(text(
                "INSERT INTO api_token (id, user_id, digest, created_at, expires_at, revoked) "
                f"VALUES (1, 1, :digest, {AT}, {LATER}, FALSE)"),
                {"digest": accounts.digest(TOKEN)})
        yield old


def _rows() -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {
            "user_account": [tuple(r) for r in conn.execute(text(
                "SELECT id, email, name, active, session_version FROM user_account"))],
            "api_token": [tuple(r) for r in conn.execute(text(
                "SELECT id, user_id, digest, revoked FROM api_token"))],
        }


def test_the_upgrade_keeps_accounts_and_tokens(database_at_0008):
    before = _rows()
    upgrade(directory=MIGRATIONS, revision="0009")
    assert _rows() == before
    with db.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT last_login_at, anonymised_at FROM user_account")).one() == (None, None)
        assert conn.execute(text(
            "SELECT label, last_used_at FROM api_token")).one() == ("", None)
    assert accounts.user_for_token(TOKEN).email == "porteur@example.org"
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0008")
    assert _rows()["api_token"] == before["api_token"]
    assert _rows()["user_account"] == before["user_account"]
