"""Invitations to an authority's staff (SPEC 2, manager): who may invite, which roles, the
mail in the outbox, the token kept as a digest only, and acceptance by a new account or
an existing one; expired, used and cancelled links refused, each with its reason."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from aap.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Notification, StaffInvitation, User
from aap.services import staff_invitations
from aap.services.staff_invitations import InvitationUnusable
from aap.timeutil import now
from tests import factories

LINK = "https://aap.test/invitation-equipe/"
NEWCOMER = "nouvelle.recrue@vitrolles.example.fr"


def link_for(token: str) -> str:
    return LINK + token


def token_in(body: str) -> str:
    match = re.search(re.escape(LINK) + r"([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


@pytest.fixture
def place(db):
    """A métropole over a council, a commune beside them; a manager for each, and an
    admin. The commune's manager also judges for the métropole."""
    metropole = factories.make_authority("Métropole Aix-Marseille-Provence", "metropole")
    council = factories.make_authority("Conseil de territoire du Pays d'Aix", "council",
                                       parent=metropole)
    commune = factories.make_authority("Vitrolles", "commune")
    managers = {a.kind: factories.make_user(["manager"], authority=a)
                for a in (metropole, council, commune)}
    return {"metropole": metropole, "council": council, "commune": commune,
            "managers": managers, "admin": factories.make_user(["admin"])}


def invite(place, roles=("juror", "instructor"), email=NEWCOMER, actor=None):
    actor = actor or place["managers"]["commune"]
    return staff_invitations.invite(actor, place["commune"].id, email, roles, link_for)


def mail_to(email: str) -> Notification:
    rows = db.session.scalars(select(Notification).where(
        Notification.recipient_email == email)).all()
    assert len(rows) == 1, [r.subject for r in rows]
    return rows[0]


def test_the_mail_carries_the_link_and_only_the_digest_is_stored(place):
    invitation = invite(place)
    mail = mail_to(NEWCOMER)
    token = token_in(mail.body)
    assert mail.subject == "Invitation à rejoindre l'équipe de Vitrolles sur AAP"
    assert "instruction, jury" in mail.body  # the French labels, in the page's order
    assert invitation.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.execute(select(StaffInvitation.__table__)).one()
    assert token not in repr(tuple(stored))
    assert invitation.roles == ["instructor", "juror"]
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)


def test_a_new_account_holds_exactly_the_granted_roles_in_that_authority(place):
    invite(place, roles=("juror", "finance"))
    token = token_in(mail_to(NEWCOMER).body)
    user = staff_invitations.accept_with_new_account(token, "Nadia Recrue", "Egalite-2026!")
    db.session.expire_all()
    user = db.session.get(User, user.id)
    commune = place["commune"].id
    assert user.email == NEWCOMER and user.name == "Nadia Recrue"
    assert user.check_password("Egalite-2026!")
    assert sorted((r.role, r.authority_id) for r in user.role_rows) == [
        ("finance", commune), ("juror", commune)]
    assert user.roles_in(None) == []  # nothing platform-wide


def test_the_inviter_is_told_when_the_invitation_is_accepted(place):
    invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    staff_invitations.accept_with_new_account(token, "Nadia Recrue", "Egalite-2026!")
    manager = place["managers"]["commune"]
    told = mail_to(manager.email)
    assert told.subject == "Nadia Recrue a rejoint l'équipe de Vitrolles"
    assert NEWCOMER in told.body


def test_an_existing_account_accepts_once_logged_in_and_keeps_its_other_roles(place):
    someone = factories.make_user(["juror"], email="deja.la@example.org",
                                  authority=place["metropole"])
    someone.set_roles(["finance"], place["commune"].id)
    db.session.commit()
    invite(place, roles=("instructor",), email="Deja.La@example.org")
    assert "connectez-vous" in mail_to("deja.la@example.org").body
    token = token_in(mail_to("deja.la@example.org").body)
    staff_invitations.accept_as(someone, token)
    db.session.expire_all()
    someone = db.session.get(User, someone.id)
    assert someone.roles_in(place["commune"].id) == ["finance", "instructor"]
    assert someone.roles_in(place["metropole"].id) == ["juror"]
    assert someone.roles_in(None) == []


def test_only_the_invited_address_may_accept(place):
    invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    stranger = factories.make_user(["applicant"], email="autre@example.org")
    with pytest.raises(Forbidden, match=NEWCOMER):
        staff_invitations.accept_as(stranger, token)
    db.session.expire_all()
    assert db.session.get(User, stranger.id).roles == ["applicant"]


def _expire(invitation: StaffInvitation) -> None:
    invitation.expires_at = now() - timedelta(seconds=1)


def _use(invitation: StaffInvitation) -> None:
    invitation.accepted_at = now()


def _cancel(invitation: StaffInvitation) -> None:
    invitation.cancelled_at = now()


@pytest.mark.parametrize(("spoil", "token_of", "reason"), [
    (_expire, None, "Cette invitation a expiré."),
    (_use, None, "Cette invitation a déjà été acceptée"),
    (_cancel, None, "Cette invitation a été annulée."),
    (None, lambda token: token[:-1], "Ce lien d'invitation n'est pas valable"),
    (None, lambda token: "", "Ce lien d'invitation n'est pas valable"),
])
def test_unusable_links_are_refused_with_their_reason(place, spoil, token_of, reason):
    invitation = invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    if spoil:
        spoil(invitation)
        db.session.commit()
    token = token_of(token) if token_of else token
    for attempt in (staff_invitations.invitation_for,
                    lambda t: staff_invitations.accept_with_new_account(
                        t, "Nadia Recrue", "Egalite-2026!")):
        with pytest.raises(InvitationUnusable) as refused:
            attempt(token)
        assert refused.value.message.startswith(reason)
        db.session.rollback()
    assert db.session.scalar(select(User).where(User.email == NEWCOMER)) is None


def test_a_link_serves_once(place):
    invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    user = staff_invitations.accept_with_new_account(token, "Nadia Recrue", "Egalite-2026!")
    with pytest.raises(InvitationUnusable, match="déjà été acceptée"):
        staff_invitations.accept_as(user, token)


@pytest.mark.parametrize(("who", "refusal"), [
    ("admin", None),
    ("manager of it", None),
    ("manager of another", Forbidden),
    ("manager of the parent", Forbidden),
    ("instructor of it", Forbidden),
    ("applicant", Forbidden),
])
def test_who_may_invite_to_the_council(place, who, refusal):
    council = place["council"]
    actor = {
        "admin": place["admin"],
        "manager of it": place["managers"]["council"],
        "manager of another": place["managers"]["commune"],
        "manager of the parent": place["managers"]["metropole"],
        "instructor of it": factories.make_user(["instructor"], authority=council),
        "applicant": factories.make_user(["applicant"]),
    }[who]
    if refusal is None:
        staff_invitations.invite(actor, council.id, NEWCOMER, ["juror"], link_for)
        assert mail_to(NEWCOMER)
    else:
        with pytest.raises(refusal):
            staff_invitations.invite(actor, council.id, NEWCOMER, ["juror"], link_for)
        assert db.session.scalar(select(StaffInvitation)) is None


def test_an_unknown_authority_is_not_found(place):
    with pytest.raises(NotFound):
        staff_invitations.invite(place["admin"], 999_999, NEWCOMER, ["juror"], link_for)


@pytest.mark.parametrize("roles", [
    [], ["admin"], ["applicant"], ["juror", "admin"], ["superviseur"]])
def test_only_staff_roles_of_an_authority_may_be_granted(place, roles):
    with pytest.raises(ValidationFailed) as refused:
        invite(place, roles=roles)
    assert "roles" in refused.value.fields
    assert db.session.scalar(select(StaffInvitation)) is None
    assert db.session.scalar(select(Notification)) is None


def test_a_new_invitation_replaces_the_pending_one_for_that_address(place):
    invite(place, roles=("juror",))
    first = token_in(mail_to(NEWCOMER).body)
    invite(place, roles=("instructor",))
    mails = db.session.scalars(select(Notification).where(
        Notification.recipient_email == NEWCOMER).order_by(Notification.id)).all()
    second = token_in(mails[1].body)
    with pytest.raises(InvitationUnusable, match="annulée"):
        staff_invitations.invitation_for(first)
    assert staff_invitations.invitation_for(second).roles == ["instructor"]
    assert [i.roles for i in staff_invitations.pending(place["commune"].id)] == [
        ["instructor"]]


def test_roles_already_held_are_not_invited_again(place):
    held = factories.make_user(["juror"], email="jure@example.org",
                               authority=place["commune"])
    with pytest.raises(ValidationFailed, match="déjà ces rôles"):
        invite(place, roles=("juror",), email=held.email)


def test_a_new_account_cannot_take_an_address_that_has_one_now(place):
    invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    factories.make_user(["applicant"], email=NEWCOMER)
    with pytest.raises(Conflict, match="connectez-vous"):
        staff_invitations.accept_with_new_account(token, "Nadia Recrue", "Egalite-2026!")


@pytest.mark.parametrize(("name", "password", "field"), [
    ("Nadia Recrue", "court1", "password"),
    ("Nadia Recrue", "abcdefghijklmnop", "password"),  # a keyboard run
    ("  ", "Egalite-2026!", "name"),
])
def test_a_refused_account_leaves_the_invitation_pending(place, name, password, field):
    invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    with pytest.raises(ValidationFailed) as refused:
        staff_invitations.accept_with_new_account(token, name, password)
    assert field in refused.value.fields
    assert staff_invitations.invitation_for(token).accepted_at is None
    assert db.session.scalar(select(User).where(User.email == NEWCOMER)) is None


def test_cancelling(place):
    invitation = invite(place)
    token = token_in(mail_to(NEWCOMER).body)
    with pytest.raises(Forbidden):
        staff_invitations.cancel(place["managers"]["metropole"], place["commune"].id,
                                 invitation.id)
    with pytest.raises(NotFound):  # the invitation of another authority
        staff_invitations.cancel(place["managers"]["council"], place["council"].id,
                                 invitation.id)
    staff_invitations.cancel(place["managers"]["commune"], place["commune"].id,
                             invitation.id)
    assert staff_invitations.pending(place["commune"].id) == []
    with pytest.raises(InvitationUnusable, match="annulée"):
        staff_invitations.invitation_for(token)
    with pytest.raises(Conflict):
        staff_invitations.cancel(place["admin"], place["commune"].id, invitation.id)


def test_invitations_and_acceptances_are_audited_on_the_authority(place):
    invite(place, roles=("juror",))
    token = token_in(mail_to(NEWCOMER).body)
    user = staff_invitations.accept_with_new_account(token, "Nadia Recrue", "Egalite-2026!")
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.object_type, e.object_id, e.action, e.actor_id) for e in events] == [
        ("authority", place["commune"].id, "staff_invited", place["managers"]["commune"].id),
        ("authority", place["commune"].id, "staff_invitation_accepted", user.id),
    ]
    assert events[0].data == {"email": NEWCOMER, "roles": ["juror"]}
