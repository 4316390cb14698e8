"""Authorities (*collectivités attribuantes*) and the staff roles held in them (SPEC 7.1)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_smorest import Blueprint

from aap.api.auth import SECURITY, current_api_user, require_role, roles_required, token_required
from aap.api.schemas import (
    AuthorityIn,
    AuthorityOut,
    AuthorityPage,
    MemberRolesIn,
    MemberRolesOut,
    PageArgs,
)
from aap.models import Authority
from aap.models.accounts import Role
from aap.services import authorities, policies

blp = Blueprint("api_authorities", __name__, description="Authorities (collectivités)")

#: Who lists the authorities: every staff role, wherever it is held (SPEC 7.1).
STAFF = (Role.INSTRUCTOR, Role.FINANCE, Role.JUROR, Role.MANAGER, Role.ADMIN)


def authority_out(authority: Authority) -> dict:
    return {"id": authority.id, "name": authority.name, "kind": authority.kind,
            "siret": authority.siret, "parent_id": authority.parent_id}


def manages_authority(view: Callable) -> Callable:
    """For ``/authorities/<authority_id>/...``: 403 unless the caller is an admin or a
    manager somewhere, 404 for an unknown authority, 403 unless it manages this one;
    all before the body is read."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_api_user()
        require_role(user, Role.ADMIN, Role.MANAGER)
        authorities.get_authority(kwargs["authority_id"])
        if not policies.is_manager_of(user, kwargs["authority_id"]):
            abort(403, description="Vous ne gérez pas cette collectivité.")
        return view(*args, **kwargs)

    return wrapper


@blp.route("/authorities", methods=["POST"])
@blp.doc(security=SECURITY)
@token_required
@roles_required(Role.ADMIN)
@blp.arguments(AuthorityIn)
@blp.response(201, AuthorityOut)
def create_authority(data):
    return authority_out(authorities.create_authority(current_api_user(), data))


@blp.route("/authorities", methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@roles_required(*STAFF)
@blp.arguments(PageArgs, location="query")
@blp.response(200, AuthorityPage)
def list_authorities(args):
    """Every authority, by name; ``parent_id`` draws the tree."""
    page, per_page = args["page"], args["per_page"]
    everything = authorities.list_authorities()
    items = everything[(page - 1) * per_page:page * per_page]
    return {"items": [authority_out(a) for a in items], "page": page,
            "pages": max(1, -(-len(everything) // per_page)), "total": len(everything)}


@blp.route("/authorities/<int:authority_id>/members/<int:user_id>", methods=["PUT"])
@blp.doc(security=SECURITY)
@token_required
@manages_authority
@blp.arguments(MemberRolesIn)
@blp.response(200, MemberRolesOut)
def put_member_roles(data, authority_id, user_id):
    roles = authorities.set_member_roles(current_api_user(), authority_id, user_id,
                                         data["roles"])
    return {"authority_id": authority_id, "user_id": user_id, "roles": roles}
