"""Who is told what by each transition of the workflow (SPEC sections 3 and 4).

The table below is written from SPEC's meaning of each step, not from the workflow's
``notify`` lists: the applicant's members get the receipt, the decisions and their
motivation; the instructors learn what the applicant did (a submission, a completion, a
report, a withdrawal); finance learns what commits or moves money (grant, convention,
approved report, cancellation); the assigned, non-recused jurors learn that they have a
file to score. Each mail is an outbox row written with the change; it names the file and
carries what the recipient needs (the motivation, the amount, the deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Membership, Notification
from aap.services import jury, workflow
from tests.factories import make_user, trigger_data
from workflows import GuardFailed

INELIGIBLE = "Le porteur n'est pas une association déclarée."
COMPLETION = "Joignez les statuts signés et le dernier bilan."
REPORT_CHANGES = "Détaillez les dépenses de la ligne 64."
CANCEL_REASON = "Le projet n'a pas pu démarrer faute de local."
REJECT_REASON = "Projet hors du champ de l'appel."


@dataclass
class Case:
    trigger: str
    state: str
    # audience -> phrases every mail to that audience carries (subject + body); the
    # placeholders are filled from the application after the transition
    mails: dict[str, list[str]]
    data: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.trigger}-from-{self.state}"


CASES = [
    Case("submit", "draft", {"applicant": ["{reference}", "accusé de réception"],
                             "instructors": ["{reference}", "{title}"]}),
    Case("request_completion", "submitted",
         {"applicant": ["{reference}", COMPLETION, "31/05/2030"]},
         {"comment": COMPLETION, "deadline": "2030-05-31"}),
    Case("resubmit", "incomplete", {"applicant": ["{reference}"],
                                    "instructors": ["{reference}", "{title}"]}),
    Case("declare_ineligible", "submitted",
         {"applicant": ["{reference}", "pas recevable", INELIGIBLE]}, {"comment": INELIGIBLE}),
    Case("declare_eligible", "submitted", {"applicant": ["{reference}", "recevable"]}),
    Case("open_review", "eligible", {"jurors": ["{reference}", "{title}", "conflit"]}),
    # a proposal or a waitlist is no decision yet: the applicant hears of the decision
    Case("close_review", "in_review", {},
         {"force": True, "comment": "Jury réuni, notes orales."}),
    Case("propose", "reviewed", {}),
    Case("waitlist", "reviewed", {}),
    Case("promote", "waitlisted", {}),
    Case("reject", "reviewed", {"applicant": ["{reference}", "{title}", "pas été retenu"]}),
    Case("reject", "waitlisted", {"applicant": ["{reference}", "pas été retenu"]}),
    Case("reject", "proposed", {"applicant": ["{reference}", "pas été retenu", REJECT_REASON]},
         {"comment": REJECT_REASON}),
    Case("grant", "proposed", {"applicant": ["{reference}", "{granted}", "DEL-2026-117"],
                               "finance": ["{reference}", "{granted}", "{siret}"]}),
    Case("sign_convention", "granted", {"applicant": ["{reference}", "{convention}"],
                                        "finance": ["{reference}", "{convention}"]}),
    Case("pay", "contracted", {"applicant": ["{reference}", "{granted}", "02/11/2026"]}),
    Case("submit_report", "in_progress", {"applicant": ["{reference}", "compte rendu"],
                                          "instructors": ["{reference}", "compte rendu"]}),
    Case("request_report_changes", "report_submitted",
         {"applicant": ["{reference}", REPORT_CHANGES]}, {"comment": REPORT_CHANGES}),
    Case("approve_report", "report_submitted",
         {"applicant": ["{reference}", "approuvé"], "finance": ["{reference}", "approuvé"]}),
    Case("close", "report_approved", {"applicant": ["{reference}", "clos"]}),
    Case("withdraw", "submitted", {"instructors": ["{reference}", "{title}", "retiré"]}),
    Case("withdraw", "proposed", {"instructors": ["{reference}", "retiré"]}),
    Case("cancel", "granted", {"applicant": ["{reference}", "annulée", CANCEL_REASON],
                               "finance": ["{reference}", "annulée", CANCEL_REASON]},
         {"comment": CANCEL_REASON}),
    Case("cancel", "in_progress", {"applicant": ["{reference}", "annulée", CANCEL_REASON],
                                   "finance": ["{reference}", CANCEL_REASON]},
         {"comment": CANCEL_REASON}),
]

ROLE_OF_TRIGGER = {
    "submit": "applicant", "resubmit": "applicant", "submit_report": "applicant",
    "withdraw": "applicant", "pay": "finance", "close": "finance",
}


def _flat(text: str) -> str:
    """Babel writes amounts with narrow no-break spaces: compare on plain spaces."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.fixture
def people(world):
    """Two members of the organisation, two instructors, one finance officer, the jury
    of two, and bystanders who must hear nothing."""
    co_member = make_user(["applicant"], name="Binta Co-porteuse")
    db.session.add(Membership(user_id=co_member.id, organisation_id=world.org.id))
    db.session.commit()
    second_instructor = make_user(["instructor"], name="Ivan Instructeur")
    return {
        "applicant": {world.users["applicant"].email, co_member.email},
        "instructors": {world.users["instructor"].email, second_instructor.email},
        "finance": {world.users["finance"].email},
        "jurors": {world.users["juror"].email, world.users["juror2"].email},
    }


def _last_id() -> int:
    return db.session.scalar(select(func.max(Notification.id))) or 0


def _fire(world, app, trigger: str, data: dict):
    actor = world.users[ROLE_OF_TRIGGER.get(trigger, "instructor")]
    return workflow.fire(app, trigger, actor, {**trigger_data(trigger, app), **data})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_who_is_told_what(world, people, case):
    app = world.bring_to(world.application(), case.state)
    since = _last_id()
    app = _fire(world, app, case.trigger, case.data)
    mails = db.session.scalars(
        select(Notification).where(Notification.id > since).order_by(Notification.id)).all()

    expected = {email for audience in case.mails for email in people[audience]}
    received = [m.recipient_email for m in mails]
    assert sorted(received) == sorted(expected), case.id  # each recipient once, no one else
    values = {
        "reference": app.reference, "title": app.title,
        "granted": "5 000,00 €", "siret": app.organisation.siret,
        "convention": app.convention.reference if app.convention else "",
    }
    for audience, phrases in case.mails.items():
        for mail in (m for m in mails if m.recipient_email in people[audience]):
            assert mail.application_id == app.id
            assert mail.status == "pending"
            text = _flat(f"{mail.subject}\n{mail.body}").casefold()
            for phrase in phrases:
                wanted = _flat(phrase.format(**values)).casefold()
                assert wanted and wanted in text, (case.id, audience, phrase, text)


def test_a_refused_transition_tells_no_one(world, people):
    app = world.bring_to(world.application(), "submitted")
    since = _last_id()
    with pytest.raises(GuardFailed):
        workflow.fire(app, "declare_ineligible", world.users["instructor"], {"comment": ""})
    db.session.rollback()
    assert _last_id() == since


def test_open_review_tells_only_the_jurors_who_are_not_recused(world, people):
    """A conflict the instructor recorded before the review opens recuses that juror:
    the others are assigned and told, the recused one is neither."""
    app = world.bring_to(world.application(), "eligible")
    jury.record_conflict(world.users["instructor"], app, world.users["juror2"],
                         "Trésorière de l'association.")
    since = _last_id()
    app = _fire(world, app, "open_review", {})
    mails = db.session.scalars(select(Notification).where(Notification.id > since)).all()
    assert [m.recipient_email for m in mails] == [world.users["juror"].email]
    # and the juror who was told must score before the review closes (unless forced)
    with pytest.raises(GuardFailed):
        workflow.fire(app, "close_review", world.users["instructor"], {})
