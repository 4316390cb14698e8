"""Structured logs: one JSON object per line on stderr, with a request id on every line
written during a request, and no secret or personal data.

Each request gets an id (the incoming ``X-Request-ID`` when it is a safe token, else a
new UUID4), echoed in the ``X-Request-ID`` response header. One line per request gives
its method, path (never the query string; URL tokens masked), status, duration and user
id (never the e-mail). Headers, bodies and form values are never logged; a redaction
filter masks e-mail addresses, bearer tokens, ``password=…``-like pairs, query strings
and SQL parameters that would reach a message or a traceback anyway.

The per-request cost is a ``perf_counter`` pair, one regex match of the incoming id and
one JSON line: no query (the user id is read from the identity map, never loaded).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from datetime import UTC, datetime
from time import perf_counter

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_LOG = logging.getLogger("aap.request")
# Load balancers poll these every few seconds: their lines are DEBUG, not INFO noise.
PROBE_PATHS = frozenset({"/health", "/health/ready"})
_ENVIRON_ID = "aap.request_id"
_ENVIRON_START = "aap.request_start"
_SENSITIVE_ARG = re.compile(r"token|secret|key|password", re.IGNORECASE)

# -- redaction: the safety net --------------------------------------------------------
REDACTED = "[redacted]"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLAlchemy errors quote the statement's parameters (form values): drop them
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: " + REDACTED + "]"),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
     r"\1 " + REDACTED),
    (re.compile(r"(?i)\b(password|passwd|pwd|token|secret|api[_-]?key|authorization|"
                r"cookie|set-cookie|session|csrf_token|iban)"
                r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,;}]+"), r"\1\2" + REDACTED),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # a query string after a URL or a path
    (re.compile(r"(?<=[^\s?])\?[^\s#'\"]*=[^\s#'\"]*"), "?" + REDACTED),
    # a long URL-safe token as a path segment (reset and invitation links)
    (re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}"), REDACTED),
)


def redact(text: str) -> str:
    """``text`` with e-mail addresses, credentials, query strings and SQL parameters
    masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactionFilter(logging.Filter):
    """Rewrite each record's message and traceback through :func:`redact`, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_aap_redacted", False):
            return True
        try:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info))
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
        except Exception:  # a malformed record: the handler reports it, never the caller
            return True
        record._aap_redacted = True
        return True


class RequestIdFilter(logging.Filter):
    """Stamp every record written during a request with the request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id() if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, the
    record's ``fields`` (request lines) and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """A stream handler that writes to the *current* ``sys.stderr`` (a server or a test
    runner may replace it after the handler is made)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.addFilter(RedactionFilter())

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def _has_json_handler(logger: logging.Logger) -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers)


def configure_logging(level: str | int = "INFO") -> None:
    """Send the root logger's records to stderr as JSON lines (once per process)."""
    root = logging.getLogger()
    if not _has_json_handler(root):
        root.addHandler(StderrHandler())
    root.setLevel(level if isinstance(level, int) else level.upper())
    # Alembic's env.py runs logging.config.fileConfig, which disables every logger that
    # exists at that moment: the app's own are switched back on.
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.split(".")[0] in ("aap", "workflows"):
            logger.disabled = False


def register_logging(app: Flask) -> None:
    """JSON logs for ``app`` and the request id and request line of each request."""
    from flask.logging import default_handler

    configure_logging(app.config.get("LOG_LEVEL") or "INFO")
    logging.getLogger(app.name).removeHandler(default_handler)  # plain text: not ours
    app.before_request(_start_request)
    app.after_request(_finish_request)


def new_request_id(incoming: str | None) -> str:
    """The incoming id when it is a safe token, else a new UUID4."""
    if incoming and SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def request_id() -> str:
    """The current request's id (made on first use)."""
    environ = request.environ
    rid = environ.get(_ENVIRON_ID)
    if rid is None:
        rid = environ[_ENVIRON_ID] = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
    return rid


def _start_request() -> None:
    request.environ[_ENVIRON_START] = perf_counter()
    request_id()


def _finish_request(response: Response) -> Response:
    rid = request_id()
    response.headers[REQUEST_ID_HEADER] = rid
    level = logging.DEBUG if request.path in PROBE_PATHS else logging.INFO
    if REQUEST_LOG.isEnabledFor(level):
        started = request.environ.get(_ENVIRON_START)
        duration = round((perf_counter() - started) * 1000, 1) if started else None
        path = loggable_path()
        REQUEST_LOG.log(level, "%s %s %s", request.method, path, response.status_code,
                        extra={"request_id": rid, "fields": {
                            "method": request.method, "path": path,
                            "status": response.status_code, "duration_ms": duration,
                            "user_id": loaded_user_id()}})
    return response


def loggable_path() -> str:
    """The path without its query string, its token-like arguments masked; a path no
    route matched (a 404: no arguments known) goes through :func:`redact` too."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if _SENSITIVE_ARG.search(name) and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    return redact(path)


def loaded_user_id() -> int | None:
    """The id of the user this request already loaded (API token or session), read
    from SQLAlchemy's identity key: no query, and no user loaded just for the log."""
    from sqlalchemy import inspect

    user = g.get("api_user") or g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    identity = state.identity if state is not None else None
    return identity[0] if identity else None
