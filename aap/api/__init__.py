"""The JSON API under /api/v1, documented by an OpenAPI 3 document generated from code."""

from __future__ import annotations

from apispec import BasePlugin
from flask import Flask, Response, request
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields
from werkzeug.routing import IntegerConverter

from aap.extensions import csrf


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "Machine-readable reason, e.g. invalid_data, budget_exceeded."})
    message = fields.String(required=True, metadata={"description": "A message in French."})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(),
                          values=fields.List(fields.String()),
                          metadata={"description": "Messages per field (dotted names)."})


class ErrorSchema(Schema):
    """The error body of every API error (SPEC 7.1)."""

    error = fields.Nested(ErrorBodySchema, required=True)


class Api(SmorestApi):
    """flask-smorest, without its app-wide error handlers: the app renders errors in the
    format of SPEC 7.1 for the API and as HTML pages for the web UI (and documents them
    in that format)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


# The errors an operation may answer (SPEC 7.1), declared on each operation that can give
# them: integrators see them in the document, and checks hold the API to them.
ERROR_RESPONSES = {
    "400": ("Malformed", "Malformed request: the body is not JSON, or not the JSON expected "
                         "(code malformed)."),
    "401": ("Unauthorized", "No token, or an invalid or expired one (code unauthorized)."),
    "403": ("Forbidden", "The caller's role or relation to the object does not allow this "
                         "(code forbidden)."),
    "404": ("NotFound", "Unknown, or not visible to the caller (code not_found)."),
    "409": ("InvalidState", "Not allowed in the current state (code invalid_state), or a "
                            "conflict such as a SIRET already registered."),
    "413": ("TooLarge", "The upload is too large (code too_large)."),
    "415": ("UnsupportedMediaType", "The body is not of a type the operation takes "
                                    "(code unsupported_media_type)."),
    "422": ("InvalidData", "Invalid data (code invalid_data, with messages per field) or a "
                           "failing guard (code says which, e.g. budget_exceeded)."),
    "429": ("TooManyRequests", "Throttled (code too_many_requests): retry after "
                               "Retry-After seconds."),
}
ERROR_HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"},
                                 "description": 'Bearer realm="aap"'}},
    "429": {"Retry-After": {"schema": {"type": "integer", "minimum": 0},
                            "description": "seconds to wait"}},
}
THROTTLED = {("/api/v1/auth/token", "post"), ("/api/v1/me/password", "put"),
             ("/api/v1/me", "delete")}
BODY_METHODS = {"post", "put", "patch"}


class ErrorResponses(BasePlugin):
    """Declares on every operation the error statuses it may answer, from what the
    operation is: a body (400, 415, 422), a query string (422), a bearer token (401, 403),
    path ids (404), a change (409), an upload (413), a throttled login (429)."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            codes = set()
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                codes |= {"400", "415", "422"}
            if any(p.get("in") == "query" for p in operation.get("parameters", [])
                   if isinstance(p, dict)):
                codes.add("422")
            if operation.get("security"):
                codes |= {"401", "403"}
            if "{" in (path or ""):
                codes.add("404")
            if method in BODY_METHODS | {"delete"} and operation.get("security"):
                codes.add("409")
            if "multipart/form-data" in body:
                codes.add("413")
            if (path, method) in THROTTLED:
                codes |= {"401", "429"}
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, ERROR_RESPONSES[code][0])


def _path_integer(converter) -> dict:
    """An ``<int:...>`` path id: at most the largest id the database holds."""
    from aap.api.schemas import MAX_ID

    return {"type": "integer", "minimum": max(converter.min or 0, 0),
            "maximum": min(converter.max, MAX_ID) if converter.max is not None else MAX_ID}


api = Api()

#: ASVS 14.4.2: a browser opening an API answer saves it, never renders it as a page.
JSON_DISPOSITION = 'attachment; filename="api.json"'


def json_as_attachment(response: Response) -> Response:
    """Every JSON answer under ``/api/`` (successes and errors) is an attachment; a file
    that names itself (exports, attachments) keeps its own ``Content-Disposition``."""
    if (request.path.startswith("/api/") and response.mimetype == "application/json"
            and "Content-Disposition" not in response.headers):
        response.headers["Content-Disposition"] = JSON_DISPOSITION
    return response


def register_api(app: Flask) -> None:
    from aap.api import (
        allocations,
        applications,
        attachments,
        auth_views,
        authorities,
        calls,
        consolidation,
        deliberations,
        exports,
        funds,
        jury,
        me,
        open_data,
        organisations,
        repayments,
        vocabularies,
    )

    app.after_request(json_as_attachment)
    api.init_app(app, spec_kwargs={
        "info": {"description": "AAP: appels à projets, from the call to the last payment. "
                                "Amounts are integer cents; decimals are strings such as "
                                "\"0.8\"; vocabularies are codes, listed at "
                                "GET /api/v1/vocabularies; errors are "
                                "{error: {code, message, fields}}."},
        "extra_plugins": [ErrorResponses()],
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_converter(IntegerConverter, _path_integer)
    for code, (name, description) in ERROR_RESPONSES.items():
        response = {"description": description,
                    "content": {"application/json": {"schema": ErrorSchema}}}
        if code in ERROR_HEADERS:
            response["headers"] = ERROR_HEADERS[code]
        api.spec.components.response(name, response)
    for module in (auth_views, authorities, funds, calls, organisations, applications, attachments,
                   jury, exports, vocabularies, allocations, repayments, deliberations, open_data,
                   consolidation, me):
        csrf.exempt(module.blp)  # bearer tokens, no cookies: nothing to forge
        api.register_blueprint(module.blp, url_prefix="/api/v1")
