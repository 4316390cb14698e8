"""Every JSON endpoint, every class of malformed input (SPEC 9): 400, 415 or 422 with the
error body, never a 500 and never a silent coercion. The endpoints come from the URL map,
so a new endpoint is covered without editing this file."""

from __future__ import annotations

import re

import pytest

from tests.api.helpers import assert_error

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DEEP = 5_000


def _json_endpoints(app) -> list[tuple[str, str]]:
    """(method, path) of every /api/v1 route that takes a body, path ids filled with 1."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<(?:string:)?[^>]+>", "submit", path)
        out.extend((m, path) for m in sorted(rule.methods & set(BODY_METHODS)))
    return sorted(out)


def _get_endpoints(app) -> list[str]:
    return sorted({re.sub(r"<(?:string:)?[^>]+>", "submit", re.sub(r"<int:[^>]+>", "1", r.rule))
                   for r in app.url_map.iter_rules()
                   if r.rule.startswith("/api/v1/") and "GET" in r.methods})


# (name, raw body, content type, status, code, field that the message names)
CASES = [
    ("deep_list", b"[" * DEEP + b"]" * DEEP, "application/json", 400, "malformed", None),
    ("deep_object", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json", 400,
     "malformed", None),
    ("nested_beyond_limit", b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", 400,
     "malformed", None),
    ("not_json", b"title=hello", "application/json", 400, "malformed", None),
    ("not_utf8", b'{"title": "\xff\xfe"}', "application/json", 400, "malformed", None),
    ("nan", b'{"amount_cents": NaN}', "application/json", 400, "malformed", None),
    ("infinity", b'{"amount_cents": -Infinity}', "application/json", 400, "malformed", None),
    ("lone_surrogate", b'{"title": "abc\\ud800"}', "application/json", 400, "malformed",
     None),
    ("int_beyond_64_bits", b'{"amount_cents": 18446744073709551616}', "application/json",
     422, "invalid_data", "amount_cents"),
    ("huge_int_in_list", b'{"juror_ids": [1, 99999999999999999999999999]}',
     "application/json", 422, "invalid_data", "juror_ids.1"),
    ("float_overflow", b'{"weight": 1e400}', "application/json", 422, "invalid_data",
     "weight"),
    ("float_underflow", b'{"weight": 1e-400}', "application/json", 422, "invalid_data",
     "weight"),
    ("nul_in_string", b'{"title": "a\\u0000b"}', "application/json", 422, "invalid_data",
     "title"),
    ("nul_in_nested_string", b'{"decision": {"body": "\\u0000"}}', "application/json", 422,
     "invalid_data", "decision.body"),
    ("text_plain", b'{"title": "x"}', "text/plain", 415, "unsupported_media_type", None),
    ("form_encoded", b"title=x", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type", None),
]


def test_the_endpoint_list_is_not_empty(app):
    """A guard on the generator: the URL map yields the API's body routes."""
    endpoints = _json_endpoints(app)
    assert ("POST", "/api/v1/calls") in endpoints
    assert ("PATCH", "/api/v1/applications/1") in endpoints
    assert ("PUT", "/api/v1/applications/1/review") in endpoints
    assert ("POST", "/api/v1/auth/token") in endpoints


@pytest.mark.parametrize("as_role", [None, "instructor"])
@pytest.mark.parametrize(("name", "body", "content_type", "status", "code", "field"), CASES,
                         ids=[c[0] for c in CASES])
def test_every_body_endpoint_refuses_each_malformed_class(
        app, api, world, as_role, name, body, content_type, status, code, field):
    """Unauthenticated callers included: the input layer answers before anything else."""
    user = world.users[as_role] if as_role else None
    for method, path in _json_endpoints(app):
        if name == "form_encoded" and path.endswith("/attachments") and method == "POST":
            continue  # a file upload is multipart; an urlencoded body is still refused below
        response = api.request(method, path, as_=user, data=body,
                               headers={"Content-Type": content_type})
        assert response.status_code == status, (method, path, response.get_data(True)[:300])
        assert_error(response, status, code, fields=[field] if field else None)


def test_a_multipart_body_is_taken_only_where_files_are(app, api, world):
    for method, path in _json_endpoints(app):
        response = api.request(method, path, as_=world.users["applicant"],
                               data={"kind": "statutes"}, content_type="multipart/form-data")
        if path.endswith("/attachments") and method == "POST":
            assert response.status_code != 415, path
        else:
            assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("query", ["q=a%00b", "page=1%00", "state=%01", "%00=1"])
def test_every_get_endpoint_refuses_control_characters_in_the_query(app, api, world, query):
    for path in _get_endpoints(app):
        response = api.get(f"{path}?{query}", as_=world.users["instructor"])
        assert_error(response, 400, "malformed")


@pytest.mark.parametrize("query", ["page=18446744073709551616", "per_page=-99999999999999999999",
                                   "call_id=99999999999999999999999"])
def test_list_endpoints_refuse_numbers_beyond_64_bits_in_the_query(api, world, query):
    for path in ("/applications", "/calls"):
        response = api.get(f"{path}?{query}", as_=world.users["instructor"])
        if "call_id" in query and path == "/calls":
            continue  # /calls takes no call_id
        assert_error(response, 422, "invalid_data")


def test_an_empty_body_where_one_is_optional_is_fine(api, world):
    """A trigger without data keeps working with no body at all (no Content-Type)."""
    app_ = world.bring_to(world.application(), "submitted")
    response = api.post(f"/applications/{app_.id}/transitions/declare_eligible",
                        as_=world.users["instructor"])
    assert response.status_code == 200, response.get_data(True)
    assert response.get_json()["state"] == "eligible"


def test_valid_json_with_a_charset_passes_the_layer(api, world):
    response = api.post("/auth/token", data=b'{"email": "x@example.org", "password": "y"}',
                        headers={"Content-Type": "application/json; charset=utf-8"})
    assert_error(response, 401)


def test_a_patch_in_text_plain_is_refused_not_ignored(api, world):
    """It used to be answered 200 with nothing changed."""
    draft = world.application(title="Titre d'origine")
    response = api.patch(f"/applications/{draft.id}", as_=world.users["applicant"],
                         data=b'{"title": "Nouveau titre"}',
                         headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")
    from aap.extensions import db

    db.session.refresh(draft)
    assert draft.title == "Titre d'origine"
