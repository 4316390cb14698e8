"""Fixtures of the web UI tests: compiled translations, cheap password hashes, and a
``login`` helper that goes through the real form (CSRF token included)."""

from __future__ import annotations

import contextvars
import re
from functools import partial
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from tests.factories import PASSWORD

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """The .mo files are git-ignored (setup compiles them with ``pybabel compile``): compile
    a missing or stale one here too, so that the English UI is tested on a fresh checkout."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """scrypt costs ~0.2 s a hash and World builds eight users per test: hash cheaply here
    (check_password_hash reads the method from the stored hash, so logins still work)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aap.models.accounts.generate_password_hash",
                   partial(generate_password_hash, method="pbkdf2:sha256:1000"))
        yield


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh context, as in production.

    The ``db`` fixture keeps an application context pushed for the whole test, and Flask
    reuses it for the requests of the test client: ``g`` (hence Flask-Login's cached user
    and Flask-Babel's cached locale) would leak from one request to the next, and a test
    could pass on a stale login or language. Here each request pushes its own context (and
    gets its own database session): objects of the test must be refreshed to see changes."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app, db):
    return IsolatedClient(app, app.response_class, use_cookies=True)


def client_with(app, cookies: dict[str, str]) -> IsolatedClient:
    """A fresh browser holding only ``cookies`` (captured or forged elsewhere)."""
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def sent_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith(
        "/connexion")


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, user_or_email, password: str = PASSWORD, **extra):
    """Log in through the form; returns the (unfollowed) response of the POST."""
    email = getattr(user_or_email, "email", user_or_email)
    page = client.get("/connexion")
    data = {"email": email, "password": password, "csrf_token": csrf_token(page.text)}
    data.update(extra)
    return client.post("/connexion", data=data)


@pytest.fixture
def log_in(client):
    """``log_in(user)``: the test client, logged in as ``user``."""

    def _log_in(user):
        response = login(client, user)
        assert response.status_code == 302, response.text
        return client

    return _log_in


