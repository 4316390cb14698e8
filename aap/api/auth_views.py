from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from aap import security_log
from aap.api.auth import SECURITY, current_api_user, token_required
from aap.api.schemas import PageArgs, RegisterIn, TokenIn, TokenOut, UserOut
from aap.api.serializers import user_out
from aap.extensions import limiter
from aap.services import accounts
from aap.timeutil import now

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
        security_log.login_failed(data["email"])
        abort(401, message="Adresse ou mot de passe incorrect.")
    token_value = accounts.issue_token(user, current_app.config["API_TOKEN_TTL"])
    return {"token": token_value, "user": user_out(user)}


@blp.route("/auth/register", methods=["POST"])
@blp.arguments(RegisterIn)
@blp.response(201, UserOut)
def register(data):
    """Create an account with the applicant role."""
    return user_out(accounts.register(data["email"], data["password"], data["name"]))


# -- the owner's tokens -----------------------------------------------------------------

class TokenInfo(Schema):
    """A token as its owner lists it: never its value (only a digest is stored)."""

    id = fields.Integer()
    label = fields.String(metadata={"description": "Chosen at creation on the account "
                                                   "page; empty for POST /auth/token."})
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True, metadata={
        "description": "Recorded at most once a minute."})
    revoked = fields.Boolean()
    active = fields.Boolean(metadata={"description": "Neither revoked nor expired."})
    current = fields.Boolean(metadata={"description": "The token of this request."})


class TokenPage(Schema):
    items = fields.List(fields.Nested(TokenInfo))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


def token_info(row, at, current_digest: str | None = None) -> dict:
    return {"id": row.id, "label": row.label, "created_at": row.created_at,
            "expires_at": row.expires_at, "last_used_at": row.last_used_at,
            "revoked": row.revoked, "active": row.active_at(at),
            "current": row.digest == current_digest}


def _request_digest() -> str:
    return accounts.digest(request.headers.get("Authorization", "").partition(" ")[2].strip())


@blp.route("/auth/tokens", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, TokenPage)
def list_tokens(args):
    """The caller's own tokens, newest first, revoked and expired ones included."""
    page, per_page = args["page"], args["per_page"]
    rows, total = accounts.tokens_of(current_api_user(), page, per_page)
    at, current = now(), _request_digest()
    return {"items": [token_info(r, at, current) for r in rows], "page": page,
            "pages": max(1, -(-total // per_page)), "total": total}


@blp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(204)
def revoke_token(token_id):
    """Revoke one of the caller's tokens (at once, everywhere); another user's is 404.
    Revoking the token of this very request is allowed: the next request gets 401."""
    accounts.revoke_token(current_api_user(), token_id)
