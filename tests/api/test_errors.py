"""The error body of SPEC 7.1 for every kind of failure: 400, 404, 405, 422."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_error, ok


@pytest.fixture
def draft(world):
    return world.application()


# -- 400 malformed ----------------------------------------------------------------------
@pytest.mark.parametrize("raw", ['{"email": ', "not json at all", '{"a": 1,}', "\xff\xfe"])
def test_malformed_json_is_400_malformed(client, db, raw):
    response = client.post("/api/v1/auth/token", data=raw.encode("latin-1"),
                           content_type="application/json")
    error = assert_error(response, 400, "malformed")
    assert "fields" not in error


def test_malformed_json_on_an_authenticated_endpoint(api, world):
    response = api.post("/applications", as_=world.users["applicant"],
                        data='{"call_id": 1', content_type="application/json")
    assert_error(response, 400, "malformed")


# -- 422 invalid data -------------------------------------------------------------------
def test_unknown_fields_are_422_with_their_names(api, world, draft):
    response = api.patch(f"/applications/{draft.id}", as_=world.users["applicant"],
                         json={"title": "Nouveau titre", "colour": "red", "state": "granted"})
    error = assert_error(response, 422, "invalid_data", ["colour", "state"])
    assert set(error["fields"]) == {"colour", "state"}
    assert ok(api.get(f"/applications/{draft.id}", as_=world.users["applicant"]))["state"] \
        == "draft"


WRONG_TYPES = [
    ({"requested_cents": "500000"}, "requested_cents"),
    ({"requested_cents": 5000.5}, "requested_cents"),
    ({"requested_cents": 5000.0}, "requested_cents"),
    ({"requested_cents": True}, "requested_cents"),
    ({"requested_cents": -100}, "requested_cents"),
    ({"beneficiaries": "soixante"}, "beneficiaries"),
    ({"starts_on": "01/09/2026"}, "starts_on"),
    ({"domains": "emploi"}, "domains"),
    ({"domains": ["astrologie"]}, "domains"),
    ({"title": 12}, "title"),
    ({"budget": {"charges": {"62": 100.5}}}, "budget"),
    ({"budget": {"charges": {"62": "100"}}}, "budget"),
    ({"budget": {"charges": {"99": 100}}}, "budget"),
    ({"budget": {"incomes": {"70": 100}}}, "budget"),
]


def test_wrong_types_are_422_naming_the_field(api, world, draft, subtests):
    for changes, field in WRONG_TYPES:
        with subtests.test(changes=changes):
            response = api.patch(f"/applications/{draft.id}", as_=world.users["applicant"],
                                 json=changes)
            error = assert_error(response, 422, "invalid_data")
            assert any(name == field or name.startswith(f"{field}.")
                       for name in error["fields"]), error


def test_every_invalid_field_is_reported_at_once(api, world, draft):
    response = api.patch(f"/applications/{draft.id}", as_=world.users["applicant"], json={
        "requested_cents": "5000", "beneficiaries": 1.5, "starts_on": "demain"})
    error = assert_error(response, 422, "invalid_data",
                         ["requested_cents", "beneficiaries", "starts_on"])
    assert len(error["fields"]) == 3


@pytest.mark.parametrize("body", [b"[1, 2]", b'"a string"', b"42", b"null"])
def test_a_json_body_that_is_not_an_object_is_refused(api, world, body):
    """Well-formed JSON of the wrong type: invalid data (422), as a wrong type in a field
    is, not a malformed body (400, which is for what is not JSON at all)."""
    response = api.post("/organisations", as_=world.users["applicant"], data=body,
                        content_type="application/json")
    assert_error(response, 422, "invalid_data", ["_schema"])


def test_amount_as_string_in_trigger_data_is_422(api, world):
    app = world.bring_to(world.application(), "proposed")
    response = api.fire(app.id, "grant", world.users["instructor"], {
        "amount_cents": "500000",
        "decision": {"body": "Bureau", "reference": "DEL-1", "date": "2026-10-12"}})
    assert_error(response, 422, "invalid_data", ["amount_cents"])


@pytest.mark.parametrize("query", ["page=0", "page=abc", "per_page=1000", "call_id=x"])
def test_bad_query_arguments_are_422(api, world, query):
    assert_error(api.get(f"/applications?{query}", as_=world.users["instructor"]), 422,
                 "invalid_data")


# -- 404 --------------------------------------------------------------------------------
UNKNOWN_IDS = [
    ("GET", "/applications/999999", "instructor"),
    ("GET", "/applications/999999", "applicant"),
    ("PATCH", "/applications/999999", "applicant"),
    ("POST", "/applications/999999/transitions/submit", "applicant"),
    ("POST", "/applications/999999/transitions/grant", "instructor"),
    ("POST", "/applications/999999/payments", "finance"),
    ("POST", "/applications/999999/report", "applicant"),
    ("PUT", "/applications/999999/review", "juror"),
    ("GET", "/applications/999999/reviews", "instructor"),
    ("GET", "/calls/999999", "applicant"),
    ("PUT", "/calls/999999/jury", "instructor"),
]


def test_unknown_ids_are_404(api, world, subtests):
    for method, path, role in UNKNOWN_IDS:
        with subtests.test(method=method, path=path, role=role):
            body = {"juror_ids": []} if path.endswith("/jury") else {}
            if path.endswith("/payments"):
                body = {"kind": "advance", "amount_cents": 100, "paid_on": "2026-11-02"}
            if path.endswith("/report"):
                body = {"realised": {"charges": {}, "products": {}}, "narrative": "x"}
            response = api.request(method, path, as_=world.users[role], json=body)
            assert_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/applications/abc",
                                  "/api/v1/calls/1/nothing"])
def test_unknown_routes_are_json_404(client, db, path):
    assert_error(client.get(path), 404, "not_found")


# -- 405 --------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("DELETE", "/api/v1/calls"),
    ("PUT", "/api/v1/auth/token"),
    ("GET", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/applications/1"),
    ("GET", "/api/v1/applications/1/transitions/submit"),
])
def test_wrong_methods_are_json_405(client, db, method, path):
    response = client.open(path, method=method)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers.get("Allow")


def test_api_error_responses_carry_security_headers(client, db):
    response = client.get("/api/v1/nowhere")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
