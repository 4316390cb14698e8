"""Structured JSON logs: one object per line, the request id of the response header on
every line of the request, and no e-mail, password, token or cookie anywhere."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

import pytest
from flask.testing import FlaskClient

from aap.logs import redact
from tests.factories import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RESET_LINK = re.compile(r"/reinitialiser/([A-Za-z0-9_-]+)")
NEW_PASSWORD = "Nouveau-secret-2026"
REQUIRED = {"time", "level", "logger", "message"}


class IsolatedClient(FlaskClient):
    """Each request in a context of its own, as in production (the ``db`` fixture keeps
    an app context pushed, whose ``g`` would carry the user and CSRF token over)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app, db):
    return IsolatedClient(app, app.response_class, use_cookies=True)


def _client(app) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def own_app(app, db):
    """An app of the test's own on the same database, with routes the test adds."""
    from aap import create_app
    from aap.extensions import db as _db

    fresh = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       UPLOAD_DIR=app.config["UPLOAD_DIR"])
    yield fresh
    with fresh.app_context():
        _db.engine.dispose()


def _csrf(client, path: str) -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "aap.request"]


def test_every_line_is_json_and_carries_the_id_of_the_response(client, logs):
    responses = [client.get("/"), client.get("/connexion?next=%2Fespace"),
                 client.get("/api/v1/vocabularies"), client.get("/page-qui-n-existe-pas"),
                 client.post("/api/v1/auth/token", data="{", content_type="application/json")]
    _, lines = logs()
    for line in lines:
        assert line.keys() >= REQUIRED
    requests = _request_lines(lines)
    assert [r["request_id"] for r in requests] == [r.headers["X-Request-ID"] for r in responses]
    assert [r["status"] for r in requests] == [200, 200, 200, 404, 400]
    assert [r["path"] for r in requests][:2] == ["/", "/connexion"]  # no query string
    for line in requests:
        assert line["method"] in ("GET", "POST") and line["duration_ms"] >= 0
        assert line["user_id"] is None
        uuid.UUID(line["request_id"])  # made here: a UUID


def test_a_safe_incoming_request_id_is_kept(client, logs):
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a.2026_01"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.2026_01"
    _, lines = logs()
    assert _request_lines(lines)[-1]["request_id"] == "lb-7f3a.2026_01"


@pytest.mark.parametrize("forged", [
    "abc\ninjected: yes", "abc\r\n{\"level\": \"CRITICAL\"}", "a" * 200, "", "id with spaces",
    "é-unicode", "../../etc/passwd",
])
def test_a_forged_request_id_is_replaced_by_a_new_uuid4(client, logs, forged):
    response = client.get("/", environ_overrides={"HTTP_X_REQUEST_ID": forged})
    rid = response.headers["X-Request-ID"]
    assert rid != forged and uuid.UUID(rid).version == 4
    raw, lines = logs()
    assert _request_lines(lines)[-1]["request_id"] == rid
    if forged:
        assert forged not in raw


def test_lines_written_during_a_request_carry_its_id_and_errors_their_traceback(
        own_app, db, logs):
    @own_app.get("/essai-journal")
    def noisy():
        logging.getLogger("aap.essai").warning("looking at it")
        raise ValueError("boom for alice@example.org password=hunter22")

    response = _client(own_app).get("/essai-journal",
                                         headers={"X-Request-ID": "trace-1"})
    assert response.status_code == 500
    raw, lines = logs()
    during = [line for line in lines if line.get("request_id") == "trace-1"]
    assert [line["logger"] for line in during] == ["aap.essai", "aap", "aap.request"]
    error = during[1]
    assert error["level"] == "ERROR"
    assert "Traceback" in error["exception"] and "ValueError" in error["exception"]
    assert "alice@example.org" not in raw and "hunter22" not in raw


def test_no_email_password_token_or_cookie_reaches_the_logs(client, world, db, logs):
    from aap.models.audit import Notification

    applicant = world.users["applicant"]
    secrets: list[str] = [u.email for u in world.users.values()] + [PASSWORD, NEW_PASSWORD]

    # a failed login, then a login through the form
    token = _csrf(client, "/connexion")
    assert client.post("/connexion", data={"email": applicant.email, "password": "Faux-2026",
                                           "csrf_token": token}).status_code in (200, 401, 422)
    assert client.post("/connexion", data={"email": applicant.email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
    assert client.get("/espace").status_code in (200, 302)
    cookie = client.get_cookie("session")
    assert cookie is not None
    secrets += [cookie.value, token]

    # a bearer token through the API, then a request with it
    api = _client(client.application)
    issued = api.post("/api/v1/auth/token",
                      json={"email": applicant.email, "password": PASSWORD}).get_json()
    bearer = issued["token"]
    secrets.append(bearer)
    listing = api.get("/api/v1/applications?call_id=1&page=1",
                      headers={"Authorization": f"Bearer {bearer}"})
    assert listing.status_code == 200

    # a password reset, from the request to the new password
    reset = _client(client.application)
    csrf = _csrf(reset, "/mot-de-passe-oublie")
    assert reset.post("/mot-de-passe-oublie",
                      data={"email": applicant.email, "csrf_token": csrf}).status_code == 200
    db.session.rollback()  # see what the request committed
    mail = db.session.query(Notification).order_by(Notification.id.desc()).first()
    reset_token = RESET_LINK.search(mail.body).group(1)
    secrets.append(reset_token)
    csrf = _csrf(reset, f"/reinitialiser/{reset_token}")
    assert reset.post(f"/reinitialiser/{reset_token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf}).status_code == 302

    # a failed form submission (the confirmation differs) and a query string
    signup = _client(client.application)
    csrf = _csrf(signup, "/inscription")
    failed = signup.post("/inscription", data={
        "name": "Zoé Formulaire", "email": "zoe.formulaire@example.org",
        "password": "Mot-de-passe-Zoe-1", "confirm": "Autre-chose-Zoe-2", "csrf_token": csrf})
    assert failed.status_code == 422
    secrets += ["zoe.formulaire@example.org", "Mot-de-passe-Zoe-1", "Autre-chose-Zoe-2"]
    signup.get(f"/?email={applicant.email}&token={bearer}")
    # a link cut or lengthened in a mail client: no route, a 404, the token in the path
    assert signup.get(f"/reinitialiser/{reset_token}/suite").status_code == 404
    assert signup.get(f"/invitation/{reset_token}").status_code == 404

    raw, lines = logs()
    requests = _request_lines(lines)
    assert len(requests) >= 12
    assert applicant.id in {line["user_id"] for line in requests}  # the id, not the e-mail
    assert "/reinitialiser/[redacted]" in {line["path"] for line in requests}
    leaked = [secret for secret in secrets if secret in raw]
    assert leaked == []


@pytest.mark.parametrize(("text", "secret"), [
    ("mail to jean.dupont+aap@mairie-vitrolles.fr failed", "jean.dupont+aap@mairie-vitrolles.fr"),
    ("Authorization: Bearer eyJhbGciOi.J9abc", "eyJhbGciOi.J9abc"),
    ("login password=Tr0ub4dor&3 refused", "Tr0ub4dor"),
    ('{"token": "s3cr3t-t0k3n"}', "s3cr3t-t0k3n"),
    ("Cookie: session=.eJwlzj0OwjAM", ".eJwlzj0OwjAM"),
    ("GET https://aap.example.org/espace?next=/x&code=123", "code=123"),
    ("[SQL: INSERT ...]\n[parameters: ('Zoé', 'FR7630006000011234567890189')]", "FR76300060"),
    ("link /reinitialiser/Q2hhbmdlIG1lIHRvIGEgcmFuZG9tIHZhbHVlIQ and more", "Q2hhbmdlIG1l"),
])
def test_the_redaction_filter_masks_what_a_message_might_carry(text, secret):
    masked = redact(text)
    assert secret not in masked
    assert masked != ""


def test_the_request_line_costs_no_query(client, world, db, logs):
    """The same signed-in request runs the same SQL with its log line as without it (the
    user id comes from the identity map)."""
    from sqlalchemy import event

    from aap.extensions import db as _db

    token = _csrf(client, "/connexion")
    client.post("/connexion", data={"email": world.users["applicant"].email,
                                    "password": PASSWORD, "csrf_token": token})
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        assert client.get("/porteur/").status_code == 200
        return len(statements)

    request_log = logging.getLogger("aap.request")
    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        logged = queries()
        request_log.disabled = True
        silent = queries()
    finally:
        request_log.disabled = False
        event.remove(_db.engine, "before_cursor_execute", count)
    _, lines = logs()
    assert logged == silent > 0
    assert _request_lines(lines)[-1]["user_id"] == world.users["applicant"].id
