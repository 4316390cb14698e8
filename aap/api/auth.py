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


def require_role(user, *roles: str) -> None:
    if not user.has_role(*roles):
        abort(403, description="Votre rôle ne permet pas cette action.")


def call_or_404(call_id: int):
    from aap.extensions import db
    from aap.models import Call

    call = db.session.get(Call, call_id)
    if call is None:
        abort(404, description="Appel introuvable.")
    return call
