"""Security events (ASVS 7.1.3, 7.2.1, 7.2.2): one WARNING line per event on the
``aap.security`` logger, JSON like every other line (``aap.logs``).

Each line carries ``event`` (one of the names below: stable, alert rules match them),
``user_id`` when known, ``method``, ``path`` (tokens masked, no query string), ``ip``
(``request.remote_addr``, the client's once ``TRUSTED_PROXIES`` applies) and the request
id. Never a typed address, a password or a token: callers pass ids and reason codes
only, and string fields go through the redaction filter's rules all the same.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request, session

from aap.logs import loaded_user_id, loggable_path, redact

SECURITY_LOG = logging.getLogger("aap.security")

# -- the event names (docs/deploy.md §9 lists them with the alert rules) -----------------
#: a refused e-mail and password; ``reason``: wrong_password, unknown_account, inactive
LOGIN_FAILED = "login_failed"
#: a 429 on the web login or ``POST /api/v1/auth/token``
LOGIN_THROTTLED = "login_throttled"
#: any other 429 (wrong current passwords, reset requests, sign-ups, open data)
THROTTLED = "throttled"
#: a wrong current password given to change the password or delete the account
REAUTHENTICATION_FAILED = "reauthentication_failed"
CSRF_REFUSED = "csrf_refused"
#: a 403, or a 404 that hides an existing object from the caller (``hidden``)
ACCESS_DENIED = "access_denied"
#: ``reason``: malformed, unknown, revoked, expired, inactive_account
API_TOKEN_REFUSED = "api_token_refused"
PASSWORD_RESET_REQUESTED = "password_reset_requested"
PASSWORD_RESET_COMPLETED = "password_reset_completed"
PASSWORD_CHANGED = "password_changed"
ACCOUNT_DELETED = "account_deleted"

EVENTS = frozenset({
    LOGIN_FAILED, LOGIN_THROTTLED, THROTTLED, REAUTHENTICATION_FAILED, CSRF_REFUSED,
    ACCESS_DENIED, API_TOKEN_REFUSED, PASSWORD_RESET_REQUESTED, PASSWORD_RESET_COMPLETED,
    PASSWORD_CHANGED, ACCOUNT_DELETED,
})
LOGIN_ENDPOINTS = frozenset({"public.login", "api_auth.token"})
_UNSET = object()


def security_event(name: str, *, user_id: object = _UNSET, **fields: object) -> None:
    """Write the line of event ``name``; ``user_id`` defaults to the signed-in user's."""
    if name not in EVENTS:
        raise ValueError(f"unknown security event: {name}")
    line: dict[str, object] = {"event": name}
    line["user_id"] = _current_user_id() if user_id is _UNSET else user_id
    if has_request_context():
        line.update(method=request.method, path=loggable_path(), ip=request.remote_addr)
    for key, value in fields.items():
        line[key] = redact(value) if isinstance(value, str) else value
    SECURITY_LOG.warning("security %s", name, extra={"fields": line})


def _current_user_id() -> int | None:
    """The id of the request's user: the one already loaded (no query), else, for a web
    request signed in but not loaded yet (a CSRF refusal), Flask-Login's user."""
    if not has_request_context():
        return None
    known = loaded_user_id()
    if known is not None or request.path.startswith("/api/") or "_user_id" not in session:
        return known
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return current_user.id if current_user.is_authenticated else None
    except SQLAlchemyError:  # the log line never fails the answer
        return None


def _account(email: object):
    """The account of a typed address, if any (its id is logged, never the address)."""
    from aap.services.accounts import find_by_email

    return find_by_email(email.strip()) if isinstance(email, str) and email.strip() else None


def login_failed(email: object) -> None:
    """A refused e-mail and password, from the form or ``POST /auth/token``. An inactive
    account is ``inactive`` whatever the password (checking it again would cost a second
    hash, and time that tells known accounts from unknown ones)."""
    user = _account(email)
    reason = ("unknown_account" if user is None
              else "inactive" if not user.active else "wrong_password")
    security_event(LOGIN_FAILED, user_id=user.id if user else None, reason=reason)


def password_reset_requested(email: object) -> None:
    """A reset asked for an address: ``user_id`` is null when no account has it."""
    user = _account(email)
    security_event(PASSWORD_RESET_REQUESTED, user_id=user.id if user else None)


def http_error(exc) -> None:
    """From the app's ``HTTPException`` handler: a 403 is ``access_denied``, a 429
    ``login_throttled`` on the login endpoints (with the account of the typed address)
    and ``throttled`` elsewhere."""
    if exc.code == 403:
        security_event(ACCESS_DENIED, status=403)
    elif exc.code == 429:
        limit = getattr(getattr(exc, "limit", None), "limit", None)
        extra = {"limit": str(limit)} if limit is not None else {}
        if request.endpoint in LOGIN_ENDPOINTS:
            user = _account(_typed_login_email())
            security_event(LOGIN_THROTTLED, user_id=user.id if user else None, **extra)
        else:
            security_event(THROTTLED, **extra)


def domain_error(exc) -> None:
    """From the app's ``DomainError`` handler: a 403 (``Forbidden``, ``RoleNotAllowed``),
    or a 404 that hides an existing object from the caller (``NotVisible``, ``Hidden``:
    ``hidden``)."""
    from aap.errors import Hidden
    from workflows.engine import NotVisible

    if isinstance(exc, NotVisible | Hidden):
        security_event(ACCESS_DENIED, status=exc.status, hidden=True)
    elif exc.status == 403:
        security_event(ACCESS_DENIED, status=403)


def _typed_login_email() -> object:
    if request.is_json:
        body = request.get_json(silent=True)
        return body.get("email") if isinstance(body, dict) else None
    return request.form.get("email")
