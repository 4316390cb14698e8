"""Organisations (*porteurs*) and their members."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from aap.errors import Forbidden, ValidationFailed
from aap.extensions import db
from aap.models import Invitation, Membership, Organisation, User
from aap.models.accounts import Role
from aap.services import identifiers
from aap.timeutil import now

TEXT_FIELDS = {
    "name": ("La raison sociale", 300, True),
    "address": ("L'adresse", 300, True),
    "postcode": ("Le code postal", 10, True),
    "city": ("La commune", 120, True),
    "legal_representative": ("Le représentant légal", 200, True),
    "email": ("Le courriel", 254, False),
    "phone": ("Le téléphone", 30, False),
}
IDENTIFIERS: dict[str, Callable[[str], str | None]] = {
    "siret": identifiers.clean_siret,
    "rna": identifiers.clean_rna,
    "iban": identifiers.clean_iban,
    "bic": identifiers.clean_bic,
}


def clean(data: dict, *, partial: bool = False) -> dict:
    """Validated organisation fields, or ValidationFailed with every problem."""
    out: dict = {}
    fields: dict[str, list[str]] = {}
    for name, (label, size, required) in TEXT_FIELDS.items():
        if name not in data and partial:
            continue
        value = str(data.get(name) or "").strip()
        if required and not value:
            fields[name] = [f"{label} est obligatoire."]
        elif len(value) > size:
            fields[name] = [f"{label} dépasse {size} caractères."]
        else:
            out[name] = value or (None if not required else value)
    if "postcode" in out and out["postcode"] and not (
        out["postcode"].isdigit() and len(out["postcode"]) == 5
    ):
        fields["postcode"] = ["Le code postal compte 5 chiffres."]
    for name, cleaner in IDENTIFIERS.items():
        if name not in data and partial:
            continue
        try:
            out[name] = cleaner(str(data.get(name) or ""))
        except ValueError as exc:
            fields[name] = [str(exc)]
    if fields:
        raise ValidationFailed("L'organisation comporte des erreurs.", fields=fields)
    return out


def create_organisation(actor: User, data: dict) -> Organisation:
    organisation = Organisation(**clean(data))
    db.session.add(organisation)
    db.session.flush()
    db.session.add(Membership(user_id=actor.id, organisation_id=organisation.id))
    db.session.commit()
    return organisation


INVITATION_TTL = timedelta(days=14)


def invite(actor: User, organisation: Organisation, email: str,
           link_for: Callable[[str], str]) -> Invitation:
    """A member invites someone by e-mail; the link lets that address join."""
    from aap.services import accounts, notifications, policies

    if not policies.is_member(actor, organisation.id):
        raise Forbidden("Seuls les membres invitent d'autres personnes.")
    email = accounts.normalise_email(email)
    existing = accounts.find_by_email(email)
    if existing and policies.is_member(existing, organisation.id):
        raise ValidationFailed("Cette personne est déjà membre.",
                               fields={"email": ["Déjà membre de l'organisation."]})
    token, token_digest = accounts.new_secret()
    invitation = Invitation(organisation_id=organisation.id, email=email, digest=token_digest,
                            invited_by_id=actor.id, expires_at=now() + INVITATION_TTL)
    db.session.add(invitation)
    notifications.queue_email(email, "mail/invitation.txt", recipient=existing,
                              organisation=organisation, inviter=actor, invitee=email,
                              link=link_for(token), days=INVITATION_TTL.days)
    db.session.commit()
    return invitation


def accept_invitation(user: User, token: str) -> Organisation:
    from aap.services import accounts, policies

    invitation = db.session.scalar(select(Invitation).where(
        Invitation.digest == accounts.digest(token or "")))
    if invitation is None or invitation.accepted_at or invitation.expires_at <= now():
        raise ValidationFailed("Cette invitation n'est plus valable.", code="invalid_token")
    if invitation.email != user.email.lower():
        raise Forbidden(f"Cette invitation est adressée à {invitation.email}.")
    if not policies.is_member(user, invitation.organisation_id):
        db.session.add(Membership(user_id=user.id, organisation_id=invitation.organisation_id))
    if not user.has_role(Role.APPLICANT):
        user.set_roles([*user.roles, Role.APPLICANT.value])
    invitation.accepted_at = now()
    db.session.commit()
    return invitation.organisation


def get_for_member(actor: User, organisation_id: int) -> Organisation:
    """The organisation, if the actor is one of its members (NotFound otherwise: a
    non-member learns nothing, not even that it exists)."""
    from aap.errors import NotFound
    from aap.services import policies

    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not policies.is_member(actor, organisation.id):
        raise NotFound("Organisation introuvable.")
    return organisation


def of_member(actor: User) -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).join(Membership).where(Membership.user_id == actor.id)
        .order_by(Organisation.name)))


def update_organisation(actor: User, organisation: Organisation, data: dict) -> Organisation:
    from aap.services import policies

    if not policies.is_member(actor, organisation.id):
        raise Forbidden("Vous n'êtes pas membre de cette organisation.")
    for name, value in clean(data).items():
        setattr(organisation, name, value)
    db.session.commit()
    return organisation


def members(organisation: Organisation) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership).where(Membership.organisation_id == organisation.id)
        .order_by(User.name, User.email)))


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.organisation_id == organisation.id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.expires_at > now())
        .order_by(Invitation.created_at.desc())))


def invitation_for(token: str) -> Invitation | None:
    """The invitation a link carries, if it is still valid."""
    from aap.services import accounts

    invitation = db.session.scalar(select(Invitation).where(
        Invitation.digest == accounts.digest(token or "")))
    if invitation is None or invitation.accepted_at or invitation.expires_at <= now():
        return None
    return invitation
