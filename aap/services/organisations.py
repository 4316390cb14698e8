"""Organisations (*porteurs*), their members, and the requests to join them.

A SIRET belongs to one organisation. An applicant who types a SIRET already registered does
not create a second organisation: they are told its name and city (nothing else: no member,
no address, no bank details) and may ask to join it; its members accept or decline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from aap.database import lock, write_transaction
from aap.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Invitation, Membership, Organisation, OrganisationJoinRequest, User
from aap.models.accounts import Role
from aap.services import emails, identifiers
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
    if out.get("email") and "email" not in fields:
        try:
            out["email"] = emails.normalise(out["email"])
        except ValueError as exc:
            fields["email"] = [str(exc)]
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


class SiretTaken(Conflict):
    """The SIRET is already an organisation's: ``organisation`` is that one (only its
    name, city and id may be shown to someone who is not one of its members)."""

    code = "siret_taken"

    def __init__(self, organisation: Organisation) -> None:
        message = (f"Une organisation avec ce SIRET existe déjà sur AAP : "
                   f"{organisation.name} ({organisation.city}).")
        super().__init__(message, fields={"siret": [message]})
        self.organisation = organisation


SIRET_OF_ANOTHER = "Ce SIRET est déjà celui d'une autre organisation sur AAP."


def find_by_siret(siret: str) -> Organisation | None:
    """The organisation holding this SIRET (the oldest, if migration 0004 found several)."""
    return db.session.scalars(
        select(Organisation).where(Organisation.siret == siret)
        .order_by(Organisation.siret_duplicate, Organisation.id).limit(1)).first()


def create_organisation(actor: User, data: dict) -> Organisation:
    """A new organisation, its creator a member; SiretTaken if the SIRET is registered
    (checked first, and by the unique index against a concurrent creation)."""
    values = clean(data)
    existing = find_by_siret(values["siret"])
    if existing is not None:
        raise SiretTaken(existing)
    organisation = Organisation(**values)
    db.session.add(organisation)
    try:
        db.session.flush()
        db.session.add(Membership(user_id=actor.id, organisation_id=organisation.id))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = find_by_siret(values["siret"])
        if existing is None:
            raise
        raise SiretTaken(existing) from None
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
    values = clean(data)
    if values["siret"] != organisation.siret:
        other = find_by_siret(values["siret"])
        if other is not None and other.id != organisation.id:
            raise ValidationFailed(SIRET_OF_ANOTHER, fields={"siret": [SIRET_OF_ANOTHER]})
    for name, value in values.items():
        setattr(organisation, name, value)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if find_by_siret(values["siret"]) is None:
            raise
        raise ValidationFailed(SIRET_OF_ANOTHER,
                               fields={"siret": [SIRET_OF_ANOTHER]}) from None
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


# -- requests to join ----------------------------------------------------------------

JOIN_MESSAGE_MAX = 1000
ALREADY_PENDING = ("Vous avez déjà une demande en attente pour cette organisation : "
                   "ses membres vous répondront par courriel.")


def request_to_join(actor: User, organisation_id: int, message: str = ""
                    ) -> OrganisationJoinRequest:
    """An applicant asks to join an organisation; every member is told by e-mail (the
    requester learns nothing about them). One pending request per user and organisation."""
    from aap.services import notifications, policies

    if not actor.has_role(Role.APPLICANT):
        raise Forbidden("Seuls les porteurs de projet demandent à rejoindre une organisation.")
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("Organisation introuvable.")
    if policies.is_member(actor, organisation.id):
        raise Conflict("Vous êtes déjà membre de cette organisation.", code="already_member")
    text = str(message or "").replace("\x00", "").strip()
    if len(text) > JOIN_MESSAGE_MAX:
        problem = f"{JOIN_MESSAGE_MAX} caractères au maximum ({len(text)} saisis)."
        raise ValidationFailed("Le message est trop long.", fields={"message": [problem]})
    if pending_request(actor, organisation) is not None:
        raise Conflict(ALREADY_PENDING, code="join_request_pending")
    join_request = OrganisationJoinRequest(organisation_id=organisation.id, user_id=actor.id,
                                           message=text, status="pending")
    db.session.add(join_request)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request of the same user (unique index)
        db.session.rollback()
        raise Conflict(ALREADY_PENDING, code="join_request_pending") from None
    notifications.queue(members(organisation), "mail/join_request.txt",
                        organisation=organisation, requester=actor, message=text)
    db.session.commit()
    return join_request


def pending_request(user: User, organisation: Organisation) -> OrganisationJoinRequest | None:
    return db.session.scalar(select(OrganisationJoinRequest).where(
        OrganisationJoinRequest.organisation_id == organisation.id,
        OrganisationJoinRequest.user_id == user.id,
        OrganisationJoinRequest.status == "pending"))


def _organisation_of_member(actor: User, organisation_id: int) -> Organisation:
    """For the members' side of join requests: 404 if there is no such organisation, 403
    for someone who is not one of its members."""
    from aap.services import policies

    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("Organisation introuvable.")
    if not policies.is_member(actor, organisation.id):
        raise Forbidden("Seuls les membres de l'organisation traitent les demandes "
                        "pour la rejoindre.")
    return organisation


def join_requests(actor: User, organisation_id: int, *, pending_only: bool = False
                  ) -> list[OrganisationJoinRequest]:
    """The organisation's join requests, newest first, for its members only."""
    organisation = _organisation_of_member(actor, organisation_id)
    query = select(OrganisationJoinRequest).where(
        OrganisationJoinRequest.organisation_id == organisation.id).options(
        selectinload(OrganisationJoinRequest.user),
        selectinload(OrganisationJoinRequest.organisation))
    if pending_only:
        query = query.where(OrganisationJoinRequest.status == "pending")
    return list(db.session.scalars(query.order_by(OrganisationJoinRequest.created_at.desc(),
                                                  OrganisationJoinRequest.id.desc())))


def decide_join_request(actor: User, organisation_id: int, request_id: int, *,
                        accept: bool) -> OrganisationJoinRequest:
    """A member accepts (the requester becomes a member) or declines a pending request;
    the requester is told by e-mail. A request decided already is a Conflict (two members
    answering at once: the row is locked, the second one is told)."""
    from aap.services import notifications, policies

    organisation = _organisation_of_member(actor, organisation_id)
    with write_transaction():
        join_request = db.session.execute(
            lock(select(OrganisationJoinRequest)
                 .where(OrganisationJoinRequest.id == request_id), OrganisationJoinRequest)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        if join_request is None or join_request.organisation_id != organisation.id:
            raise NotFound("Demande introuvable.")
        if join_request.status != "pending":
            raise Conflict("Cette demande a déjà été traitée.")
        join_request.status = "accepted" if accept else "declined"
        join_request.decided_at = now()
        join_request.decided_by_id = actor.id
        requester = join_request.user
        if accept:
            if not policies.is_member(requester, organisation.id):
                db.session.add(Membership(user_id=requester.id,
                                          organisation_id=organisation.id))
            if not requester.has_role(Role.APPLICANT):
                requester.set_roles([*requester.roles, Role.APPLICANT.value])
        notifications.queue(
            [requester], f"mail/join_request_{join_request.status}.txt",
            organisation=organisation)
    return join_request
