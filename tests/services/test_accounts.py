"""Password reset and organisation invitations, through the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from aap.errors import Forbidden, ValidationFailed
from aap.extensions import db
from aap.models import Notification, PasswordResetToken
from aap.services import accounts, organisations, policies
from tests.factories import PASSWORD, make_user


def _link(token: str) -> str:
    return f"https://aap.example/lien/{token}"


def _token_in_last_mail(email: str) -> str:
    row = db.session.scalars(select(Notification).where(
        Notification.recipient_email == email).order_by(Notification.id.desc())).first()
    return re.search(r"/lien/(\S+)", row.body).group(1)


def test_a_reset_link_changes_the_password_once(world):
    user = world.users["applicant"]
    accounts.request_password_reset(user.email.upper(), _link)
    token = _token_in_last_mail(user.email)
    accounts.reset_password(token, "Nouvelle-phrase-2027")
    assert accounts.authenticate(user.email, "Nouvelle-phrase-2027")
    assert accounts.authenticate(user.email, PASSWORD) is None
    with pytest.raises(ValidationFailed) as used:
        accounts.reset_password(token, "Encore-une-autre-99")
    assert used.value.code == "invalid_token"


def test_reset_links_expire_and_unknown_addresses_get_no_mail(world):
    accounts.request_password_reset("personne@example.org", _link)
    assert db.session.scalars(select(Notification)).all() == []
    user = world.users["applicant"]
    accounts.request_password_reset(user.email, _link)
    token = _token_in_last_mail(user.email)
    row = db.session.scalar(select(PasswordResetToken))
    row.expires_at = row.expires_at - timedelta(hours=2)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        accounts.reset_password(token, "Nouvelle-phrase-2027")


@pytest.mark.parametrize(("password", "problem"), [
    ("court1", "Au moins 12 caractères."),
    ("Onze-chars1", "Au moins 12 caractères."),  # 11: one short of ASVS 2.1.1
    ("x" * 129, "Au plus 128 caractères."),
    ("aaaaaaaaaaaaaa", "Trop prévisible"),
    ("abababababab", "Trop prévisible"),  # 2 distinct characters
    ("12345678901234", "Trop prévisible"),
    ("abcdefghijklmn", "Trop prévisible"),
    ("azerzaerazer", "Trop prévisible"),  # 4 distinct characters
])
def test_password_policy(world, password, problem):
    user = world.users["applicant"]
    accounts.request_password_reset(user.email, _link)
    with pytest.raises(ValidationFailed) as refused:
        accounts.reset_password(_token_in_last_mail(user.email), password)
    assert any(problem in message for message in refused.value.fields["password"])


@pytest.mark.parametrize("password", [
    "seulementdeslettres",  # no composition rule (ASVS 2.1.9): a passphrase of words
    "cheval agrafe pile correcte",
    "Douze-carac1",  # exactly 12
    "é" * 2 + "ñ" * 2 + "ü" * 2 + "çàèù" + "œæ",  # any Unicode: 12 characters, 9 distinct
    "passphrase " * 11 + "finale",  # 127 characters, within 128
])
def test_passphrases_are_welcome(world, password):
    user = world.users["applicant"]
    accounts.request_password_reset(user.email, _link)
    accounts.reset_password(_token_in_last_mail(user.email), password)
    assert user.check_password(password)


def test_an_invited_person_joins_the_organisation(world):
    inviter = world.users["applicant"]
    newcomer = make_user(["applicant"], email="tresoriere@example.org")
    organisations.invite(inviter, world.org, "Tresoriere@Example.org", _link)
    token = _token_in_last_mail("tresoriere@example.org")
    assert not policies.is_member(newcomer, world.org.id)
    organisations.accept_invitation(newcomer, token)
    assert policies.is_member(newcomer, world.org.id)
    with pytest.raises(ValidationFailed):
        organisations.accept_invitation(newcomer, token)  # used once


def test_invitations_are_checked(world):
    stranger = world.users["foreign_applicant"]
    with pytest.raises(Forbidden):
        organisations.invite(stranger, world.org, "x@example.org", _link)
    with pytest.raises(ValidationFailed):
        organisations.invite(world.users["applicant"], world.org,
                             world.users["applicant"].email, _link)
    organisations.invite(world.users["applicant"], world.org, "destinataire@example.org",
                         _link)
    token = _token_in_last_mail("destinataire@example.org")
    with pytest.raises(Forbidden):
        organisations.accept_invitation(stranger, token)  # addressed to someone else
