"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from aap.extensions import db
from aap.models import ApiToken
from aap.security_log import API_TOKEN_REFUSED, security_event
from aap.services import accounts
from aap.timeutil import now

SECURITY = [{"bearerAuth": []}]


def current_api_user():
    return g.get("api_user")


def token_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            _log_refused_token(header)
            abort(401, description="Jeton d'accès absent, invalide ou expiré.")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


def _log_refused_token(header: str) -> None:
    """A presented credential refused (no header at all is an anonymous call, not an
    event): why, and whose token it was when it is one of ours."""
    if header:
        reason, user_id = _token_refusal(header)
        security_event(API_TOKEN_REFUSED, user_id=user_id, reason=reason)


def _token_refusal(header: str) -> tuple[str, int | None]:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "malformed", None
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.digest == accounts.digest(token.strip())))
    if row is None:
        return "unknown", None
    if row.revoked:
        return "revoked", row.user_id
    if not row.active_at(now()):
        return "expired", row.user_id
    return ("inactive_account" if not row.user.active else "refused"), row.user_id


def roles_required(*roles: str) -> Callable:
    """403 unless the caller holds one of ``roles``. Placed under ``@token_required`` and
    above ``@blp.arguments``, so the role is checked before the body is read: a caller
    without the role learns nothing of the schema (SPEC 9)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            require_role(current_api_user(), *roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def application_access(*roles: str) -> Callable:
    """For ``/applications/<application_id>/...`` routes: 404 unless the caller may see
    the application, then 403 unless it acts on it in one of ``roles`` (a member for
    ``applicant``, an assigned unrecused juror for ``juror``), before the body is read:
    the order of SPEC 4. The application is left in ``g.application``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            from aap.services import applications, policies

            user = current_api_user()
            application = applications.get_visible(user, kwargs["application_id"])
            if not any(policies.acts_as(user, application, role) for role in roles):
                abort(403, description="Votre rôle ne permet pas cette action sur ce dossier.")
            g.application = application
            return view(*args, **kwargs)

        return wrapper

    return decorator


def call_access(role: str, *, act: bool) -> Callable:
    """For ``/calls/<call_id>/...`` routes: 404 unless the caller reads the call as
    ``role``, then (``act``) 403 unless it acts on it, before the body is read: a parent
    authority's staff learn nothing of the schema either. The call is left in ``g.call``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            call_id = kwargs["call_id"]
            g.call = call_to_act_on(call_id, role) if act else call_or_404(call_id, role)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_role(user, *roles: str) -> None:
    if not user.has_role(*roles):
        abort(403, description="Votre rôle ne permet pas cette action.")


def call_or_404(call_id: int, *roles: str):
    """The call, if the caller reads it as one of ``roles`` (staff by default): another
    authority's call is 404 (SPEC 2)."""
    from aap.services import policies

    return policies.readable_call(current_api_user(), call_id, *roles)


def call_to_act_on(call_id: int, role: str):
    """The call the caller acts on as ``role``: 404 when it does not read it, 403 when it
    only reads it (a parent authority's staff on a descendant's call)."""
    from aap.services import policies

    return policies.call_to_act_on(current_api_user(), call_id, role)
