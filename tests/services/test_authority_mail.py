"""Mail isolation between authorities (SPEC 2), checked on what a real SMTP server
receives: mail "to the instructors" or "to finance" about an authority's application
reaches that authority's instructors (or finance officers) and the platform-wide ones,
never another authority's, its parent's or its children's.

The world: a métropole with a child commune, and an unrelated métropole; an instructor,
a finance officer and an applicant in each, plus platform-wide ones. The expected
recipients are written out by hand from SPEC 2 for each case.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest

from aap.services import notifications, workflow
from aap.services.calls import set_jury
from tests.authority_world import bring_to
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
    trigger_data,
)
from tests.services.conftest import Inbox

PEOPLE = ("instructor", "finance")
WHERE = ("metropole", "commune", "other", "platform")




@pytest.fixture
def inbox(smtp_server, smtp_url):
    """A real SMTP server in the process (the outbox tests' own), and the app pointed at it."""
    controller, received = smtp_server
    smtp_url(f"smtp://127.0.0.1:{controller.port}")
    return received


@pytest.fixture
def town(db):
    """Three authorities, their staff, a call in each, and one applicant for all."""
    metropole = make_authority("Métropole du Levant", kind="metropole")
    commune = make_authority("Commune des Collines", parent=metropole)
    other = make_authority("Métropole du Couchant", kind="metropole")
    authorities = {"metropole": metropole, "commune": commune, "other": other,
                   "platform": None}
    staff = {(role, where): make_user([role], email=f"{role}.{where}@example.org",
                                      authority=authorities[where])
             for role in PEOPLE for where in WHERE}
    applicant = make_user(["applicant"], email="porteuse@example.org")
    org = make_organisation([applicant])
    calls = {where: make_call(make_fund(authority_id=authorities[where].id))
             for where in ("metropole", "commune", "other")}
    for where, call in calls.items():  # each jury chosen among the authority's jurors
        set_jury(call, [make_user(["juror"], authority=authorities[where]).id])
    return {"staff": staff, "applicant": applicant, "org": org, "calls": calls}


def _received_by(inbox: Inbox) -> set[str]:
    return {message["To"] for message in inbox.messages}


def _staff_addresses(role: str, *where: str) -> set[str]:
    return {f"{role}.{w}@example.org" for w in where}


def _bring_to(town, application, state: str, acting_in: str):
    """Drive the application to ``state`` by the staff of ``acting_in`` (its own
    authority: they act on it) and the applicant."""
    actors = {role: town["staff"][(role, acting_in)] for role in PEOPLE}
    return bring_to(application, state, {**actors, "applicant": town["applicant"]})


# (where the application is, the recipients SPEC 2 names among the staff, by hand)
SUBMISSION_CASES = [
    ("metropole", {"metropole", "platform"}),  # not its child commune, not the other
    ("commune", {"commune", "platform"}),  # not its parent métropole
    ("other", {"other", "platform"}),
]


@pytest.mark.parametrize(("where", "reached"), SUBMISSION_CASES,
                         ids=[c[0] for c in SUBMISSION_CASES])
def test_mail_to_the_instructors_reaches_the_authoritys_own_only(town, inbox, where,
                                                                 reached):
    """``submit`` notifies the applicant and "the instructors"."""
    application = make_application(town["calls"][where], town["org"])
    _bring_to(town, application, "submitted", where)

    assert notifications.send_pending() == (1 + len(reached), 0)
    expected = {"porteuse@example.org"} | _staff_addresses("instructor", *reached)
    assert _received_by(inbox) == expected
    assert not _received_by(inbox) & _staff_addresses("finance", *WHERE)


@pytest.mark.parametrize(("where", "reached"), SUBMISSION_CASES,
                         ids=[c[0] for c in SUBMISSION_CASES])
def test_mail_to_finance_reaches_the_authoritys_own_only(town, inbox, where, reached):
    """``sign_convention`` notifies the applicant and "finance"; what the path to it
    mailed before is sent first and set aside."""
    application = make_application(town["calls"][where], town["org"])
    application = _bring_to(town, application, "granted", where)
    notifications.send_pending()
    inbox.messages.clear()

    workflow.fire(application, "sign_convention", town["staff"][("instructor", where)],
                  trigger_data("sign_convention", application))

    assert notifications.send_pending() == (1 + len(reached), 0)
    expected = {"porteuse@example.org"} | _staff_addresses("finance", *reached)
    assert _received_by(inbox) == expected
    assert not _received_by(inbox) & _staff_addresses("instructor", *WHERE)


def _text(message) -> str:
    """The plain-text body, decoded as a mail client shows it."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    return parsed.get_body(("plain",)).get_content()


def test_roles_granted_or_removed_are_mailed_to_that_person_only(town, inbox):
    """A manager's direct grant to an existing account is never silent: the person gets
    one mail naming the authority and the roles granted (then removed), and nobody else
    does; setting the same roles again sends nothing."""
    from aap.services import authorities

    metropole = town["calls"]["metropole"].fund.authority
    person = make_user(["applicant"], email="recrue@example.org")
    manager = make_user(["manager"], email="gestion@example.org", authority=metropole)

    authorities.set_member_roles(manager, metropole.id, person.id, ["instructor", "juror"])
    assert notifications.send_pending() == (1, 0)
    [granted] = inbox.messages
    assert granted["To"] == "recrue@example.org"
    assert "Métropole du Levant" in str(make_header(decode_header(granted["Subject"])))
    assert "Rôles attribués : instruction, jury." in _text(granted)

    inbox.messages.clear()
    authorities.set_member_roles(manager, metropole.id, person.id, ["instructor", "juror"])
    assert notifications.send_pending() == (0, 0)

    authorities.set_member_roles(manager, metropole.id, person.id, ["juror"])
    assert notifications.send_pending() == (1, 0)
    [removed] = inbox.messages
    assert removed["To"] == "recrue@example.org"
    assert "Rôles retirés : instruction." in _text(removed)
    assert "Rôles attribués" not in _text(removed)
