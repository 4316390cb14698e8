"""The API's error body (SPEC 7.1): ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

HTTP_CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_state",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_data",
    429: "too_many_requests",
    503: "unavailable",
}


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"a": {"b": [..]}}}) as dotted fields."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if prefix == "" and key in {"json", "query", "form", "files", "view_args"}:
                name = ""
            out.update(flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def error_response(status: int, code: str, message: str,
                   fields: dict[str, list[str]] | None = None, headers: dict | None = None):
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_http_exception(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    raw_fields = data.get("messages") or data.get("errors")
    fields = flatten(raw_fields) if raw_fields else None
    message = data.get("message") or exc.description or exc.name
    if status == 400 and fields:
        message = "Corps de requête JSON invalide."
        fields = None
    if status == 422 and fields:
        message = "Données invalides."
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)  # required on a 405 (RFC 9110)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="aap"'  # required on a 401 (RFC 9110)
    if status == 429:
        message = "Trop de tentatives : réessayez plus tard."
        if not _limiter_writes_retry_after():
            headers["Retry-After"] = str(FULL_WINDOW_SECONDS)
    return error_response(status, HTTP_CODES.get(status, "error"), message, fields, headers)


#: The throttling window of SPEC 7.1: what a client waits at most.
FULL_WINDOW_SECONDS = 15 * 60


def _limiter_writes_retry_after() -> bool:
    """Flask-Limiter writes ``Retry-After`` from the breached limit's own reset time on
    every response of a throttled route (headers enabled): a value written here would win
    over it (it keeps the later of the two), so only a 429 without it gets the whole
    window."""
    from flask import current_app

    from aap.extensions import limiter

    return bool(current_app.config.get("RATELIMIT_HEADERS_ENABLED")) and \
        limiter.current_limit is not None
