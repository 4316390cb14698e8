from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint, abort

from aap.api.schemas import RegisterIn, TokenIn, TokenOut, UserOut
from aap.api.serializers import user_out
from aap.extensions import limiter
from aap.services import accounts

blp = Blueprint("api_auth", __name__, description="Authentication")

FAILED = lambda response: response.status_code == 401  # noqa: E731


def _login_key() -> str:
    body = request.get_json(silent=True) or {}
    email = body.get("email") if isinstance(body, dict) else None
    return f"login:{str(email or '').strip().lower()}"


@blp.route("/auth/token", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=_login_key, deduct_when=FAILED)
@limiter.limit("50 per 15 minutes", deduct_when=FAILED)
@blp.arguments(TokenIn)
@blp.response(200, TokenOut)
def token(data):
    """Exchange an e-mail and password for a bearer token (failed logins are throttled)."""
    user = accounts.authenticate(data["email"], data["password"])
    if user is None:
        abort(401, message="Adresse ou mot de passe incorrect.")
    token_value = accounts.issue_token(user, current_app.config["API_TOKEN_TTL"])
    return {"token": token_value, "user": user_out(user)}


@blp.route("/auth/register", methods=["POST"])
@blp.arguments(RegisterIn)
@blp.response(201, UserOut)
def register(data):
    """Create an account with the applicant role."""
    return user_out(accounts.register(data["email"], data["password"], data["name"]))
