"""Production refuses to start with a guessable secret: through the factory, the ``aap``
CLI, ``aap run`` and gunicorn (subprocesses with the environment an operator would set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from aap import create_app
from aap.config import DEVELOPMENT_SECRET_KEY, ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STRONG_KEY = "k" * 16 + "Q7x!pL2#vR9@zT4$"  # 32 characters, not a known default


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "AAP_ENV"}}
    env.update(values, DATABASE_URL="sqlite:///:memory:")
    return env


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=_env(**env), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("key", [None, "", DEVELOPMENT_SECRET_KEY, "test-secret", "short"])
def test_production_refuses_a_missing_or_known_secret_key(key):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_a_cookie_forged_with_the_development_key_meets_no_production_app(tmp_path):
    """The attack: sign a session for user 1 with the key in the source. A production
    app either refuses to start without its own key, or does not accept the forgery."""
    dev = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/d.db")
    forged = SecureCookieSessionInterface().get_signing_serializer(dev).dumps(
        {"_user_id": "1:0", "_fresh": True})
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=None,
                   SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/p.db")
    prod = create_app("production", SECRET_KEY=STRONG_KEY,
                      SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/p.db")
    serializer = SecureCookieSessionInterface().get_signing_serializer(prod)
    with pytest.raises(BadSignature):
        serializer.loads(forged)


def test_production_refuses_the_outbox_page():
    with pytest.raises(ConfigurationError, match="SHOW_OUTBOX"):
        create_app("production", SECRET_KEY=STRONG_KEY, SHOW_OUTBOX=True,
                   SQLALCHEMY_DATABASE_URI="sqlite://")


def test_a_misspelt_environment_is_refused():
    with pytest.raises(ConfigurationError, match="AAP_ENV"):
        create_app("prod")


def test_production_starts_with_a_real_key():
    app = create_app("production", SECRET_KEY=STRONG_KEY, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"], ["demo"],
                                     ["users", "create", "a@b.fr", "--password", "x",
                                      "--role", "admin"]])
def test_the_cli_refuses_to_start_naming_secret_key(command):
    result = _run([str(BIN / "aap"), *command], AAP_ENV="production")
    assert result.returncode == 2, result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_wsgi_refuses_to_load_naming_secret_key():
    result = _run([sys.executable, "-c", "import wsgi"], AAP_ENV="production")
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr and "SECRET_KEY" in result.stderr


def test_gunicorn_refuses_to_boot_naming_secret_key():
    result = _run([str(BIN / "gunicorn"), "--check-config", "wsgi:app"], AAP_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout


def test_gunicorn_boots_with_a_real_key():
    result = _run([str(BIN / "gunicorn"), "--check-config", "wsgi:app"],
                  AAP_ENV="production", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr


def test_the_demo_is_refused_in_production():
    """The demo's accounts share a published password: never on a production database."""
    result = _run([str(BIN / "aap"), "demo"], AAP_ENV="production", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 1
    assert "AAP_ENV=production" in result.stderr


def test_production_cookies_carry_the_host_prefix(tmp_path):
    """ASVS 3.4.4: over HTTPS the session and remember-me cookies are ``__Host-``: Secure,
    Path=/ and no Domain, as browsers require of the prefix."""
    from aap.extensions import db
    from tests import factories
    from tests.web.conftest import csrf_token

    app = create_app("production", SECRET_KEY=STRONG_KEY, RATELIMIT_ENABLED=False,
                     SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'aap.sqlite3'}")
    with app.app_context():
        db.create_all()
        user = factories.make_user(["applicant"], email="awa.diallo@example.org")
        email = user.email
    client = app.test_client()
    https = {"base_url": "https://aap.example.org"}
    page = client.get("/connexion", **https)
    response = client.post("/connexion", **https, headers={  # CSRF's strict referrer
        "Referer": "https://aap.example.org/connexion"}, data={
        "email": email, "password": factories.PASSWORD, "remember": "y",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    cookies = {header.split("=", 1)[0]: header for header in
               response.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"__Host-session", "__Host-remember_token"}
    for header in cookies.values():
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
        assert "Path=/;" in header + ";"
    assert client.get("/porteur/", **https).status_code == 200  # the cookie signs in
