"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, request

from aap.services import accounts

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
            abort(401, description="Jeton d'accès absent, invalide ou expiré.")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


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
