"""Invitations to an authority's staff: a manager (or an admin) invites an address to hold
staff roles in the authority; the roles are granted when the invitation is accepted, by a
new account made on the spot or by the existing account of that address.

Only the token's SHA-256 digest is stored (the token travels in the mail only). A token
serves once; it expires, and a manager may cancel it before it is used."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import select

from aap.database import lock, write_transaction
from aap.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Authority, StaffInvitation, User
from aap.services import accounts, notifications, policies
from aap.timeutil import now
from aap.vocabulary import N_

INVITATION_TTL = timedelta(days=7)

#: The staff roles of an authority, with the French labels of the team pages and mails.
STAFF_ROLE_LABELS: dict[str, str] = {
    "instructor": N_("instruction"),
    "finance": N_("finances"),
    "juror": N_("jury"),
    "manager": N_("gestion de l'équipe"),
}

NOT_VALID = N_("Ce lien d'invitation n'est pas valable : vérifiez qu'il est complet.")
CANCELLED = N_("Cette invitation a été annulée. Demandez-en une nouvelle à la personne "
               "qui gère l'équipe.")
ACCEPTED = N_("Cette invitation a déjà été acceptée : connectez-vous avec votre compte.")
EXPIRED = N_("Cette invitation a expiré. Demandez-en une nouvelle à la personne qui gère "
             "l'équipe.")
ACCOUNT_EXISTS = N_("Un compte existe déjà avec cette adresse : connectez-vous pour "
                    "accepter l'invitation.")


class InvitationUnusable(ValidationFailed):
    """The token is unknown, or its invitation was cancelled, accepted or has expired;
    ``message`` says which, for the person who followed the link."""

    code = "invalid_token"


def role_labels(roles: Iterable[str]) -> list[str]:
    """The French labels of staff roles, in the order of STAFF_ROLE_LABELS."""
    wanted = set(roles)
    return [label for role, label in STAFF_ROLE_LABELS.items() if role in wanted]


def clean_roles(roles: Iterable[str] | None) -> list[str]:
    """The staff roles asked for (at least one, none platform-wide), else ValidationFailed."""
    chosen = sorted(set(roles or ()))
    if not chosen:
        raise ValidationFailed("Choisissez au moins un rôle.",
                               fields={"roles": ["Choisissez au moins un rôle."]})
    if unknown := [r for r in chosen if r not in STAFF_ROLE_LABELS]:
        message = f"Rôle impossible dans une collectivité : {', '.join(unknown)}."
        raise ValidationFailed(message, fields={"roles": [message]})
    return chosen


def managed_authority(actor: User, authority_id: int) -> Authority:
    """The authority, if ``actor`` may manage its staff (an admin, or one of its managers)."""
    authority = db.session.get(Authority, authority_id)
    if authority is None:
        raise NotFound("Collectivité introuvable.")
    if not policies.is_manager_of(actor, authority.id):
        raise Forbidden("Seuls les gestionnaires de l'équipe de cette collectivité "
                        "invitent des personnes.")
    return authority


def invite(actor: User, authority_id: int, email: str, roles: Iterable[str],
           link_for: Callable[[str], str]) -> StaffInvitation:
    """Invite ``email`` to hold ``roles`` in the authority; the mail carries the link (its
    token is not kept). An earlier invitation still pending for that address is replaced."""
    authority = managed_authority(actor, authority_id)
    chosen = clean_roles(roles)
    email = accounts.normalise_email(email)
    existing = accounts.find_by_email(email)
    if existing is not None and set(chosen) <= set(existing.roles_in(authority.id)):
        message = "Cette personne a déjà ces rôles dans la collectivité."
        raise ValidationFailed(message, fields={"email": [message]})
    for earlier in _pending_for(authority.id, email):
        earlier.cancelled_at = now()
    token, token_digest = accounts.new_secret()
    sent = now()
    invitation = StaffInvitation(authority_id=authority.id, email=email, roles=chosen,
                                 digest=token_digest, invited_by_id=actor.id,
                                 created_at=sent, expires_at=sent + INVITATION_TTL)
    db.session.add(invitation)
    notifications.queue_email(email, "mail/staff_invitation.txt", recipient=existing,
                              authority=authority, inviter=actor, invitee=email,
                              roles=role_labels(chosen), link=link_for(token),
                              days=INVITATION_TTL.days)
    _record(actor, authority.id, "staff_invited", email=email, roles=chosen)
    db.session.commit()
    return invitation


def pending(authority_id: int) -> list[StaffInvitation]:
    """The invitations of the authority that may still be accepted, newest first."""
    return list(db.session.scalars(
        select(StaffInvitation).where(StaffInvitation.authority_id == authority_id,
                                      *_still_pending())
        .order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc())))


def cancel(actor: User, authority_id: int, invitation_id: int) -> StaffInvitation:
    """Withdraw a pending invitation: its link stops working."""
    authority = managed_authority(actor, authority_id)
    with write_transaction():
        invitation = _locked(StaffInvitation.id == invitation_id)
        if invitation is None or invitation.authority_id != authority.id:
            raise NotFound("Invitation introuvable.")
        if _problem(invitation) is not None:
            raise Conflict("Cette invitation n'est plus en attente.")
        invitation.cancelled_at = now()
        _record(actor, authority.id, "staff_invitation_cancelled", email=invitation.email)
    return invitation


def invitation_for(token: str) -> StaffInvitation:
    """The invitation a link carries, if it may still be accepted; InvitationUnusable
    (saying why) otherwise."""
    invitation = db.session.scalar(select(StaffInvitation).where(
        StaffInvitation.digest == accounts.digest(token or "")))
    _refuse_if_unusable(invitation)
    return invitation


def accept_as(user: User, token: str) -> StaffInvitation:
    """The signed-in owner of the invited address accepts: the roles are added to those
    it holds in the authority (nothing elsewhere changes)."""
    with write_transaction():
        invitation = _locked(StaffInvitation.digest == accounts.digest(token or ""))
        _refuse_if_unusable(invitation)
        if user.email.lower() != invitation.email:
            raise Forbidden(f"Cette invitation est adressée à {invitation.email}.")
        held = user.roles_in(invitation.authority_id)
        user.set_roles(sorted({*held, *invitation.roles}), invitation.authority_id)
        _mark_accepted(invitation, user)
    return invitation


def accept_with_new_account(token: str, name: str, password: str) -> User:
    """The invited person has no account: one is made for the invited address, holding
    exactly the invitation's roles in its authority and nothing platform-wide."""
    with write_transaction():
        invitation = _locked(StaffInvitation.digest == accounts.digest(token or ""))
        _refuse_if_unusable(invitation)
        if accounts.find_by_email(invitation.email) is not None:
            raise Conflict(ACCOUNT_EXISTS, code="account_exists")
        if not (name or "").strip():
            raise ValidationFailed("Indiquez votre nom.",
                                   fields={"name": ["Indiquez votre nom."]})
        user = accounts.create_user(invitation.email, password, list(invitation.roles),
                                    name, authority_id=invitation.authority_id)
        _mark_accepted(invitation, user)
    return user


# -- helpers ---------------------------------------------------------------------------

def _still_pending() -> tuple:
    return (StaffInvitation.accepted_at.is_(None), StaffInvitation.cancelled_at.is_(None),
            StaffInvitation.expires_at > now())


def _pending_for(authority_id: int, email: str) -> list[StaffInvitation]:
    return list(db.session.scalars(select(StaffInvitation).where(
        StaffInvitation.authority_id == authority_id, StaffInvitation.email == email,
        *_still_pending())))


def _locked(condition) -> StaffInvitation | None:
    """The invitation matching ``condition``, locked and read afresh: two acceptances of
    one link at once grant its roles once, the second is told it was used."""
    return db.session.execute(
        lock(select(StaffInvitation).where(condition), StaffInvitation)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def _problem(invitation: StaffInvitation | None) -> str | None:
    if invitation is None:
        return NOT_VALID
    if invitation.cancelled_at is not None:
        return CANCELLED
    if invitation.accepted_at is not None:
        return ACCEPTED
    if invitation.expires_at <= now():
        return EXPIRED
    return None


def _refuse_if_unusable(invitation: StaffInvitation | None) -> None:
    if (problem := _problem(invitation)) is not None:
        raise InvitationUnusable(problem)


def _mark_accepted(invitation: StaffInvitation, user: User) -> None:
    invitation.accepted_at = now()
    db.session.flush()
    _record(user, invitation.authority_id, "staff_invitation_accepted",
            email=invitation.email, roles=list(invitation.roles))
    inviter = invitation.invited_by
    if inviter is not None and inviter.id != user.id:
        notifications.queue([inviter], "mail/staff_invitation_accepted.txt",
                            authority=invitation.authority, invitee=user,
                            roles=role_labels(invitation.roles))


def _record(actor: User, authority_id: int, action: str, **data) -> None:
    """An audit event on the authority: who invited, cancelled or accepted what."""
    db.session.add(AuditEvent(at=now(), actor_id=actor.id, object_type="authority",
                              object_id=authority_id, action=action, data=data))
