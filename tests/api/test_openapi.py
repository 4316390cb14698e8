"""The OpenAPI 3 document (generated from code), /health and the security headers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.api.helpers import ok

# SPEC 7.1, as (method, path) in the document's notation
SPEC_OPERATIONS = [
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/funds"),
    ("post", "/api/v1/calls"),
    ("get", "/api/v1/calls"),
    ("get", "/api/v1/calls/{call_id}"),
    ("put", "/api/v1/calls/{call_id}/jury"),
    ("post", "/api/v1/organisations"),
    ("post", "/api/v1/applications"),
    ("get", "/api/v1/applications"),
    ("get", "/api/v1/applications/{application_id}"),
    ("patch", "/api/v1/applications/{application_id}"),
    ("post", "/api/v1/applications/{application_id}/attachments"),
    ("get", "/api/v1/applications/{application_id}/attachments/{attachment_id}"),
    ("post", "/api/v1/applications/{application_id}/transitions/{trigger}"),
    ("put", "/api/v1/applications/{application_id}/review"),
    ("get", "/api/v1/applications/{application_id}/reviews"),
    ("post", "/api/v1/applications/{application_id}/payments"),
    ("post", "/api/v1/applications/{application_id}/repayments"),
    ("post", "/api/v1/applications/{application_id}/report"),
    ("get", "/api/v1/calls/{call_id}/exports/jury.xlsx"),
    ("get", "/api/v1/calls/{call_id}/exports/balance.xlsx"),
    ("get", "/api/v1/exports/balance.xlsx"),
    ("get", "/api/v1/calls/{call_id}/exports/scdl.csv"),
    ("get", "/api/v1/vocabularies"),
    ("post", "/api/v1/calls/{call_id}/allocations"),
    ("get", "/api/v1/calls/{call_id}/allocations"),
    ("get", "/api/v1/allocations/{allocation_id}"),
    ("post", "/api/v1/authorities"),
    ("get", "/api/v1/authorities"),
    ("put", "/api/v1/authorities/{authority_id}/members/{user_id}"),
]
# SPEC 7.1 operations not implemented when this list was written. Their test is a strict
# xfail: it fails (XPASS) as soon as the operation is documented, so that the marker is
# removed (and the operation moved to SPEC_OPERATIONS) when the endpoint lands.
NOT_YET: list[tuple[str, str]] = []
PUBLIC = {("post", "/api/v1/auth/token"), ("post", "/api/v1/auth/register"),
          ("get", "/api/v1/vocabularies")}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client, db):
    response = client.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_it_is_an_openapi_3_document(spec):
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]


def _shape(path: str) -> str:
    """The path with its parameters unnamed: ``{call_id}`` and ``{id}`` are the same."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.mark.parametrize("method, path", [
    *SPEC_OPERATIONS,
    *[pytest.param(m, p, marks=pytest.mark.xfail(reason="not implemented yet", strict=True))
      for m, p in NOT_YET],
])
def test_spec_operations_are_documented(spec, method, path):
    documented = {(m, _shape(p)) for m, p, _ in _operations(spec)}
    assert (method, _shape(path)) in documented, sorted(spec["paths"])


def test_bearer_security_scheme(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"].lower() == "bearer"
    for method, path, operation in _operations(spec):
        if (method, path) in PUBLIC:
            assert not operation.get("security"), (method, path)
        elif path != "/api/v1/openapi.json":
            assert {"bearerAuth": []} in operation.get("security", []), (method, path)


def test_every_documented_operation_exists_and_every_api_route_is_documented(app, spec):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    base = (spec.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    documented = {(m, base + p) for m, p, _ in _operations(spec)}
    assert documented == routes


def test_request_and_response_bodies_follow_the_contract(spec):
    call_in = _resolve(spec, spec["paths"]["/api/v1/calls"]["post"]["requestBody"]["content"]
                       ["application/json"]["schema"])
    assert {"fund_id", "title", "fiscal_year", "opens_at", "closes_at", "budget_cents",
            "envelopes", "rules", "grid", "scale", "min_total", "min_reviews", "overflow",
            "partial_min_share"} <= set(call_in["properties"])
    assert set(call_in["required"]) >= {"fund_id", "title", "fiscal_year", "opens_at",
                                        "closes_at", "budget_cents"}
    assert call_in["properties"]["budget_cents"]["type"] == "integer"  # cents, not floats
    assert call_in["properties"]["opens_at"]["format"] == "date-time"
    call_out = _resolve(spec, spec["paths"]["/api/v1/calls/{call_id}"]["get"]["responses"]
                        ["200"]["content"]["application/json"]["schema"])
    budget = _resolve(spec, call_out["properties"]["budget"])
    assert {"budget_cents", "granted_cents", "paid_cents", "available_cents"} <= set(
        budget["properties"])
    token = _resolve(spec, spec["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]
                     ["content"]["application/json"]["schema"])
    assert {"token", "user"} <= set(token["properties"])
    created = spec["paths"]["/api/v1/applications"]["post"]["responses"]
    assert "201" in created
    page = _resolve(spec, spec["paths"]["/api/v1/applications"]["get"]["responses"]["200"]
                    ["content"]["application/json"]["schema"])
    assert {"items", "page", "pages", "total"} <= set(page["properties"])
    application = _resolve(spec, spec["paths"]["/api/v1/applications/{application_id}"]["get"]
                           ["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"id", "reference", "state", "history", "activity", "score"} <= set(
        application["properties"])
    history = _resolve(spec, application["properties"]["history"]["items"])
    assert {"trigger", "from", "to", "actor", "at", "comment"} <= set(history["properties"])


def test_documented_errors_have_the_shape_of_real_errors(spec):
    """Integrators generate clients from this document: the error responses it
    describes must be the ``{"error": {"code", "message", "fields"}}`` actually sent."""
    default = _resolve(spec, spec["paths"]["/api/v1/calls"]["post"]["responses"]["default"])
    schema = _resolve(spec, default["content"]["application/json"]["schema"])
    assert set(schema["properties"]) == {"error"}
    body = _resolve(spec, schema["properties"]["error"])
    assert {"code", "message", "fields"} <= set(body["properties"])
    assert body["properties"]["code"]["type"] == "string"


# -- a valid OpenAPI 3 document -------------------------------------------------------
def test_the_document_validates_as_openapi_3(spec):
    """openapi-spec-validator, against the OpenAPI 3.0 schema: no Swagger 2 ``formData``
    parameter, no string where a number is due (``minimum``, ``maximum``)..."""
    from openapi_spec_validator import OpenAPIV30SpecValidator

    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert not errors, "\n".join(errors)


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def test_numeric_bounds_are_numbers_and_defaults_fit_their_type(spec):
    for path, node in _walk(spec):
        for key in ("minimum", "maximum"):
            if key in node and path[-1:] != ("properties",):
                assert isinstance(node[key], int | float) and not isinstance(
                    node[key], bool), (path, key, node[key])
        if "default" in node and node.get("type") in ("integer", "number"):
            assert isinstance(node["default"], int | float), (path, node)
        if "default" in node and node.get("type") == "string":
            assert isinstance(node["default"], str), (path, node)


def test_the_upload_is_a_multipart_request_body(spec):
    operation = spec["paths"]["/api/v1/applications/{application_id}/attachments"]["post"]
    assert all(p.get("in") != "formData" for p in operation.get("parameters", []))
    schema = _resolve(spec, operation["requestBody"]["content"]["multipart/form-data"]
                      ["schema"])
    assert set(schema["required"]) == {"kind", "file"}
    assert schema["properties"]["file"] == {**schema["properties"]["file"],
                                            "type": "string", "format": "binary"}
    assert schema["properties"]["kind"]["type"] == "string"


# SPEC 3: weights, thresholds, shares and scores are decimals; SPEC 7.1's examples send
# them as strings ("0.8"), and the API returns them as strings.
DECIMAL_INPUTS = [("Rules", "max_share_of_cost"), ("Criterion", "weight"),
                  ("CallIn", "min_total"), ("CallIn", "partial_min_share"),
                  ("ScheduleRow", "share")]
DECIMAL_OUTPUTS = [("CallOut", "min_total"), ("CallOut", "partial_min_share"),
                   ("RulesOut", "max_share_of_cost"), ("CriterionOut", "weight"),
                   ("ApplicationOut", "score"), ("ReviewOut", "total")]


@pytest.mark.parametrize("component, name", DECIMAL_INPUTS)
def test_decimal_inputs_are_strings_or_bounded_numbers(spec, component, name):
    prop = spec["components"]["schemas"][component]["properties"][name]
    assert "type" not in prop, prop  # neither only a number nor only a string
    kinds = {branch["type"]: branch for branch in prop["anyOf"]}
    assert set(kinds) == {"string", "number"}
    pattern = re.compile(kinds["string"]["pattern"])
    for text in ("0.5", "1"):
        assert pattern.search(text), (pattern, text)
    for text in ("NaN", "Infinity", "1e400", "1e-400", "0.12345", "-0.5", "1,5"):
        assert not pattern.search(text), (pattern, text)
    assert isinstance(kinds["number"]["minimum"], int | float)
    assert isinstance(kinds["number"]["maximum"], int | float)


@pytest.mark.parametrize("component, name", DECIMAL_OUTPUTS)
def test_decimal_outputs_are_declared_as_strings(spec, component, name):
    prop = spec["components"]["schemas"][component]["properties"][name]
    assert prop["type"] == "string" and prop["format"] == "decimal", prop
    assert "minimum" not in prop and "maximum" not in prop


@pytest.mark.parametrize("status, paths", [
    ("401", ["/api/v1/calls", "/api/v1/applications/{application_id}"]),
    ("404", ["/api/v1/calls/{call_id}", "/api/v1/applications/{application_id}"]),
    ("422", ["/api/v1/calls", "/api/v1/applications"]),
    ("409", ["/api/v1/applications/{application_id}/transitions/{trigger}"]),
])
def test_error_statuses_are_declared_on_the_operations(spec, status, paths):
    """SPEC 7.1's statuses, each with the error body, on the operations that give them."""
    for path in paths:
        for method, operation in spec["paths"][path].items():
            if method not in METHODS:
                continue
            if status == "422" and method == "get" and "parameters" not in operation:
                continue
            response = _resolve(spec, operation["responses"][status])
            schema = _resolve(spec, response["content"]["application/json"]["schema"])
            assert set(schema["properties"]) == {"error"}, (method, path)


def test_login_declares_its_throttling(spec):
    responses = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    throttled = _resolve(spec, responses["429"])
    assert "Retry-After" in throttled["headers"]


# -- declared response types match the real responses ----------------------------------
def _inline(spec: dict, node):
    """The schema with every $ref replaced by its target (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(spec, _resolve(spec, node))
        return {key: _inline(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(spec, value) for value in node]
    return node


def _undeclared(schema: dict, value, where: str = "") -> list[str]:
    """Keys of ``value`` that its schema does not declare (at any depth)."""
    out = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                out.append(f"{where}.{key}")
            else:
                out += _undeclared(schema["properties"][key], item, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += _undeclared(schema["items"], item, f"{where}[{i}]")
    return out


def _check_response(spec: dict, response, path: str, method: str = "get",
                    status: str = "200") -> None:
    from openapi_schema_validator import OAS30ReadValidator

    assert response.status_code == int(status), (response.status_code, response.get_json())
    declared = spec["paths"][path][method]["responses"][status]
    schema = _inline(spec, _resolve(spec, declared)["content"]["application/json"]["schema"])
    body = response.get_json()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
              for e in OAS30ReadValidator(schema).iter_errors(body)]
    assert not errors, "\n".join(errors)
    assert not _undeclared(schema, body), _undeclared(schema, body)


@pytest.fixture
def reviewed(api, world):
    """An application scored by both jurors and reviewed (its score is shown to staff),
    another asked to complete its file, a granted one and a draft (no reference yet)."""
    app = world.bring_to(world.application(), "in_review")
    for juror, scores in (("juror", {"pertinence": 4, "faisabilite": "3.5"}),
                          ("juror2", {"pertinence": 2, "faisabilite": 5})):
        ok(api.put(f"/applications/{app.id}/review", as_=world.users[juror],
                   json={"scores": scores, "comment": "Solide.", "submit": True}))
    ok(api.fire(app.id, "close_review", world.users["instructor"], {}))
    incomplete = world.bring_to(world.application(), "incomplete")
    granted = world.bring_to(world.application(), "granted")
    return app, incomplete, granted, world.application()


def test_declared_response_types_match_real_responses(api, world, spec, reviewed):
    app, incomplete, granted, draft = reviewed
    world.call.max_share_of_cost = Decimal("0.8")
    from aap.extensions import db

    db.session.commit()
    instructor, applicant = world.users["instructor"], world.users["applicant"]
    call = ok(api.get(f"/calls/{world.call.id}", as_=instructor))
    assert isinstance(call["min_total"], str) and isinstance(call["grid"][0]["weight"], str)
    assert call["rules"]["max_share_of_cost"] == "0.8000"
    _check_response(spec, api.get(f"/calls/{world.call.id}", as_=instructor),
                    "/api/v1/calls/{call_id}")
    _check_response(spec, api.get(f"/calls/{world.call.id}", as_=applicant),
                    "/api/v1/calls/{call_id}")
    _check_response(spec, api.get("/calls", as_=applicant), "/api/v1/calls")
    scored = ok(api.get(f"/applications/{app.id}", as_=instructor))
    assert isinstance(scored["score"], str) and scored["history"]
    for application, user in [(app, instructor), (app, applicant), (incomplete, applicant),
                              (incomplete, instructor), (granted, instructor),
                              (granted, applicant), (draft, applicant)]:
        _check_response(spec, api.get(f"/applications/{application.id}", as_=user),
                        "/api/v1/applications/{application_id}")
    _check_response(spec, api.get("/applications", as_=instructor), "/api/v1/applications")
    _check_response(spec, api.get(f"/applications/{app.id}/reviews", as_=instructor),
                    "/api/v1/applications/{application_id}/reviews")
    _check_response(spec, api.get("/vocabularies"), "/api/v1/vocabularies")
    _check_response(spec, api.get(f"/calls/{10**6}", as_=instructor),
                    "/api/v1/calls/{call_id}", status="404")


# -- /health and security headers -------------------------------------------------------
def test_health(client, db):
    body = ok(client.get("/health"))
    assert body == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/", "/connexion", "/page-qui-n-existe-pas"])
def test_html_responses_carry_security_headers(client, db, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_json_responses_carry_nosniff(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_health_reports_an_unreachable_database(app, db, tmp_path):
    from aap import create_app

    broken = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir.db",
                        UPLOAD_DIR=str(tmp_path))
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": "unavailable"}
