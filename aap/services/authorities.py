"""Authorities (*collectivités attribuantes*) and the staff roles held in them.

The one place the web pages, the API and the CLI go through: an admin creates and edits
authorities; an admin, or a manager of that very authority, sets who holds which staff
role in it (SPEC 2). ``actor=None`` stands for the CLI operator, who may do anything.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aap.errors import Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Authority, User, UserRole
from aap.models.accounts import AUTHORITY_ROLES, Role
from aap.models.authorities import AUTHORITY_KINDS
from aap.services import identifiers, notifications, policies
from aap.services.audit import json_safe
from aap.services.staff_invitations import role_labels
from aap.timeutil import now

NAME_MAX = 200
SIRET_TAKEN = "Une collectivité avec ce SIRET existe déjà."


# -- reading ----------------------------------------------------------------------------

def list_authorities() -> list[Authority]:
    """Every authority, by name (a tree is drawn from ``parent_id``)."""
    return list(db.session.scalars(select(Authority).order_by(Authority.name, Authority.id)))


def get_authority(authority_id: int) -> Authority:
    authority = db.session.get(Authority, authority_id)
    if authority is None:
        raise NotFound("Collectivité introuvable.")
    return authority


def members(authority_id: int) -> list[tuple[User, list[str]]]:
    """The users holding roles in the authority, with those roles (one query for the
    pairs, one for the users' role rows)."""
    get_authority(authority_id)
    rows = db.session.execute(
        select(User, UserRole.role).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.authority_id == authority_id)
        .order_by(User.name, User.email, User.id, UserRole.role)
    ).all()
    grouped: dict[int, tuple[User, list[str]]] = {}
    for user, role in rows:
        grouped.setdefault(user.id, (user, []))[1].append(role)
    return list(grouped.values())


# -- authorities ------------------------------------------------------------------------

def create_authority(actor: User | None, data: dict) -> Authority:
    """A new authority (admin only; ``actor=None``: the CLI operator)."""
    _require_admin(actor)
    values = _checked(data, authority_id=None, partial=False)
    authority = Authority(**values)
    db.session.add(authority)
    _flush_or_siret_taken()
    _record(actor, authority.id, "authority_created", values)
    db.session.commit()
    policies.forget_authorities()
    return authority


def update_authority(actor: User | None, authority_id: int, data: dict) -> Authority:
    """Change an authority's name, kind, SIRET or parent (admin only). A parent below the
    authority itself would make a cycle: refused."""
    _require_admin(actor)
    authority = get_authority(authority_id)
    values = _checked(data, authority_id=authority_id, partial=True)
    changes = {k: v for k, v in values.items() if getattr(authority, k) != v}
    for key, value in changes.items():
        setattr(authority, key, value)
    _flush_or_siret_taken()
    if changes:
        _record(actor, authority.id, "authority_updated", changes)
    db.session.commit()
    policies.forget_authorities()
    return authority


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise Forbidden("Seule l'administration de la plateforme gère les collectivités.")


def _checked(data: dict, *, authority_id: int | None, partial: bool) -> dict:
    """The validated values of ``data``; with ``partial``, only the keys it holds."""
    checks = {"name": _check_name, "kind": _check_kind,
              "siret": lambda value: _check_siret(value, authority_id),
              "parent_id": lambda value: _check_parent(value, authority_id)}
    values: dict = {}
    fields: dict[str, list[str]] = {}
    for key, check in checks.items():
        if partial and key not in data:
            continue
        try:
            values[key] = check(data.get(key))
        except ValueError as exc:
            fields[key] = [str(exc)]
    if fields:
        code = "siret_taken" if fields.get("siret") == [SIRET_TAKEN] else None
        raise ValidationFailed("Collectivité non enregistrée.", code=code, fields=fields)
    return values


def _check_name(value) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"Nom obligatoire, {NAME_MAX} caractères au maximum.")
    return name


def _check_kind(value) -> str:
    if value not in AUTHORITY_KINDS:
        raise ValueError(f"Type inconnu. Types possibles : {', '.join(AUTHORITY_KINDS)}.")
    return value


def _check_siret(value, authority_id: int | None) -> str:
    siret = identifiers.clean_siret(value if isinstance(value, str) else "")
    holder = db.session.scalar(select(Authority.id).where(Authority.siret == siret))
    if holder is not None and holder != authority_id:
        raise ValueError(SIRET_TAKEN)
    return siret


def _check_parent(value, authority_id: int | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or \
            db.session.get(Authority, value) is None:
        raise ValueError("Collectivité parente inconnue.")
    if authority_id is not None:
        policies.forget_authorities()
        if value in policies.with_descendants(frozenset({authority_id})):
            raise ValueError("Une collectivité ne peut pas dépendre d'elle-même ni d'une "
                             "collectivité qui en dépend.")
    return value


def _flush_or_siret_taken() -> None:
    """Flush; a SIRET registered meanwhile by another request is the same 422."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationFailed("Collectivité non enregistrée.", code="siret_taken",
                               fields={"siret": [SIRET_TAKEN]}) from exc


# -- members ----------------------------------------------------------------------------

def set_member_roles(actor: User | None, authority_id: int, user_id: int,
                     roles: list[str]) -> list[str]:
    """Make ``roles`` the user's roles in the authority (``[]`` removes them); its roles
    elsewhere and platform-wide are untouched. An admin, or a manager of this very
    authority (not of its parent, not of another); ``actor=None``: the CLI operator."""
    authority = get_authority(authority_id)
    if actor is not None and not policies.is_manager_of(actor, authority_id):
        raise Forbidden("Seuls l'administration et les gestionnaires de cette collectivité "
                        "attribuent ses rôles.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("Utilisateur introuvable.")
    wanted = _check_roles(roles)
    before = user.roles_in(authority_id)
    user.set_roles(wanted, authority_id)
    after = user.roles_in(authority_id)
    if after != before:
        _record(actor, authority_id, "roles_changed",
                {"user_id": user.id, "from": before, "to": after})
        _tell_roles_changed(actor, user, authority, before, after)
    db.session.commit()
    return after


def _tell_roles_changed(actor: User | None, user: User, authority: Authority,
                        before: list[str], after: list[str]) -> None:
    """A mail to the person whose roles changed, in the same transaction (the outbox):
    a role granted or taken away is never silent."""
    notifications.queue([user], "mail/staff_roles_changed.txt",
                        authority=authority, actor=actor,
                        granted=role_labels(r for r in after if r not in before),
                        removed=role_labels(r for r in before if r not in after),
                        now_held=role_labels(after))


def _check_roles(roles) -> list[str]:
    if not isinstance(roles, list | tuple) or \
            any(role not in AUTHORITY_ROLES for role in roles):
        allowed = ", ".join(AUTHORITY_ROLES)
        raise ValidationFailed(
            "Rôle non attribuable dans une collectivité.",
            fields={"roles": [f"Rôles tenus dans une collectivité : {allowed}."]})
    return sorted(set(roles))


def _record(actor: User | None, authority_id: int, action: str, data: dict) -> None:
    """An audit event on the authority (who changed what, when)."""
    db.session.add(AuditEvent(at=now(), actor_id=getattr(actor, "id", None),
                              object_type="authority", object_id=authority_id,
                              action=action, data=json_safe(data)))
