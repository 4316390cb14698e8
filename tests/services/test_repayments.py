"""Repayments (*titres de recette*, SPEC 3 and 7.1): who may claim, when, how much, what
is proposed, the receipt, and ``close`` under the same rules. Figures by hand.

The project of these tests asks 12 000 € on 17 000 € of provisional charges (62: 3 000 €,
64: 14 000 €; products 74_epci 12 000 €, 74_state 3 000 €, 75 2 000 €). Its report with
10 % under-spending realises 15 300 € of charges (62: 2 700 €, 64: 12 600 €), so the
grant is justified pro rata: 12 000 × 15 300 / 17 000 = 10 800 €.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.errors import Conflict, ValidationFailed
from aap.extensions import db
from aap.models import Application, AuditEvent, Notification, Repayment
from aap.services import repayments, workflow
from workflows.engine import GuardFailed, NotVisible, RoleNotAllowed, StateNotAllowed

E = 100
UNDER_SPENT = {"charges": {"62": 2_700 * E, "64": 12_600 * E},
               "products": {"74_epci": 10_800 * E, "74_state": 2_700 * E, "75": 1_800 * E}}
CLAIM = {"amount_cents": 1_200 * E, "reason": "Sous-réalisation de 10 %.",
         "reference": "TR-2027-014", "claimed_on": "2027-09-15"}


def _paid(world, paid_euros: int, state: str = "in_progress") -> Application:
    app = world.bring_to(world.application(requested_cents=12_000 * E), "granted")
    app = workflow.record_payment(app, world.users["finance"], {
        "kind": "advance", "amount_cents": paid_euros * E, "paid_on": "2026-11-02"})
    assert app.state == "in_progress"
    return app


def _approved(world, paid_euros: int, realised=UNDER_SPENT) -> Application:
    app = _paid(world, paid_euros)
    app = world.fire(app, "submit_report", {
        "realised": realised, "beneficiaries_reached": 50,
        "narrative": "Neuf ateliers sur dix."})
    return world.fire(app, "approve_report")


def _fresh(app: Application) -> Application:
    db.session.rollback()
    return db.session.get(Application, app.id, populate_existing=True)


# -- the rule of the proposal --------------------------------------------------------------

@pytest.mark.parametrize(("granted", "provisional", "realised", "justified"), [
    (12_000_00, 17_000_00, 15_300_00, 10_800_00),  # 10 % under-spending
    (1_000_00, 3, 1, 333_33),  # 333.333... cents: down
    (1_000_00, 3, 2, 666_67),  # 666.666... cents: up
    (5, 2, 1, 3),  # 2.5 cents: half up
    (12_000_00, 17_000_00, 20_000_00, 12_000_00),  # over-spending: never above the grant
    (12_000_00, 17_000_00, 0, 0),
])
def test_the_grant_is_justified_pro_rata_of_the_realised_charges(granted, provisional,
                                                                 realised, justified):
    assert repayments.pro_rata(granted, provisional, realised) == justified


def test_an_approved_report_with_under_spending_proposes_the_unjustified_part(world):
    app = _approved(world, 12_000)  # paid in full before the report
    proposal = repayments.proposal(app)
    assert (proposal.justified_cents, proposal.amount_cents, proposal.balance_due_cents) == (
        10_800 * E, 1_200 * E, 0)
    assert "trop-perçu de 1\u202f200,00\xa0€" in proposal.reason


def test_with_only_the_advance_paid_nothing_is_proposed_and_a_balance_is_due(world):
    app = _approved(world, 9_600)  # the 80 % advance
    proposal = repayments.proposal(app)
    assert (proposal.justified_cents, proposal.amount_cents, proposal.balance_due_cents) == (
        10_800 * E, 0, 1_200 * E)


def test_a_cancellation_after_payments_proposes_the_paid_part(world):
    app = world.fire(_paid(world, 3_000), "cancel")
    proposal = repayments.proposal(app)
    assert (proposal.amount_cents, proposal.justified_cents) == (3_000 * E, None)
    assert repayments.proposal(_paid(world, 1_000)) is None  # in progress: no claim yet


# -- claims ----------------------------------------------------------------------------------

def test_a_claim_is_recorded_audited_and_mailed_to_the_members(world):
    app = _approved(world, 12_000)
    repayment = repayments.claim(app, world.users["finance"], CLAIM)
    app = _fresh(app)
    row = db.session.get(Repayment, repayment.id)
    assert (row.amount_cents, row.reason, row.reference, row.claimed_on.isoformat(),
            row.received_on, row.created_by_id) == (
        1_200 * E, "Sous-réalisation de 10 %.", "TR-2027-014", "2027-09-15", None,
        world.users["finance"].id)
    assert app.state == "report_approved"  # no state change
    assert app.committed_cents == 12_000 * E  # the open grant is settled by close
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == app.id).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.trigger, event.actor_id, event.data["amount_cents"],
            event.data["repayment_id"], event.comment) == (
        "repayment_claimed", None, world.users["finance"].id, 1_200 * E, row.id,
        "Sous-réalisation de 10 %.")
    mails = db.session.scalars(select(Notification).where(
        Notification.subject.like("Titre de reversement%"))).all()
    assert [m.recipient_email for m in mails] == [world.users["applicant"].email]
    assert "1\u202f200,00\xa0€" in mails[0].body and "TR-2027-014" in mails[0].body


def test_never_more_than_paid_less_already_claimed(world):
    app = _approved(world, 9_600)
    finance = world.users["finance"]
    with pytest.raises(GuardFailed) as refused:
        repayments.claim(app, finance, {**CLAIM, "amount_cents": 9_600 * E + 1})
    assert refused.value.code == "repayment_exceeds_paid"
    assert list(refused.value.fields) == ["amount_cents"]
    db.session.rollback()
    repayments.claim(app, finance, {**CLAIM, "amount_cents": 6_000 * E})
    app = _fresh(app)
    with pytest.raises(GuardFailed) as again:  # 9 600 − 6 000 = 3 600 left
        repayments.claim(app, finance, {**CLAIM, "amount_cents": 3_600 * E + 1})
    assert again.value.code == "repayment_exceeds_paid"
    assert "3\u202f600,00\xa0€" in again.value.message
    db.session.rollback()
    repayments.claim(_fresh(app), finance, {**CLAIM, "amount_cents": 3_600 * E})
    assert _fresh(app).repaid_cents == 9_600 * E


@pytest.mark.parametrize(("change", "fields"), [
    ({"amount_cents": 0}, ["amount_cents"]),
    ({"reason": "  "}, ["reason"]),
    ({"reference": "T" * 61}, ["reference"]),
    ({"claimed_on": "15/09/2027"}, ["claimed_on"]),
    ({"amount_cents": 0, "reason": ""}, ["amount_cents", "reason"]),
])
def test_bad_claims_are_refused_field_by_field(world, change, fields):
    app = _approved(world, 12_000)
    with pytest.raises(ValidationFailed) as refused:
        repayments.claim(app, world.users["finance"], {**CLAIM, **change})
    assert (refused.value.status, refused.value.code) == (422, "invalid_data")
    assert sorted(refused.value.fields) == fields
    db.session.rollback()
    assert db.session.scalar(select(Repayment.id)) is None


def test_only_finance_claims(world):
    app = _approved(world, 12_000)
    with pytest.raises(RoleNotAllowed):
        repayments.claim(app, world.users["instructor"], CLAIM)
    with pytest.raises(RoleNotAllowed):
        repayments.claim(app, world.users["applicant"], CLAIM)
    with pytest.raises(NotVisible):
        repayments.claim(app, world.users["foreign_applicant"], CLAIM)


@pytest.mark.parametrize("state", ["granted", "in_progress", "report_submitted"])
def test_no_claim_before_the_use_of_the_money_is_known(world, state):
    app = _paid(world, 1_000)
    if state == "granted":
        app = world.bring_to(world.application(), "granted")
    elif state == "report_submitted":
        app = world.fire(app, "submit_report")
    with pytest.raises(StateNotAllowed) as refused:
        repayments.claim(app, world.users["finance"], {**CLAIM, "amount_cents": 100})
    assert refused.value.status == 409


def test_a_claim_on_a_cancelled_grant_frees_it_at_once(world):
    app = world.fire(_paid(world, 3_000), "cancel")
    assert _fresh(app).committed_cents == 3_000 * E
    repayments.claim(_fresh(app), world.users["finance"],
                     {**CLAIM, "amount_cents": 3_000 * E})
    assert _fresh(app).committed_cents == 0


def test_a_claim_on_a_closed_file_frees_what_it_claims(world):
    app = world.fire(_approved(world, 12_000), "close", {})  # paid in full: closes
    assert _fresh(app).committed_cents == 12_000 * E
    repayments.claim(_fresh(app), world.users["finance"], CLAIM)  # a later check
    assert _fresh(app).committed_cents == 10_800 * E


# -- receipt ---------------------------------------------------------------------------------

def test_receipt_is_recorded_once_and_never_before_the_claim(world):
    app = _approved(world, 12_000)
    finance = world.users["finance"]
    repayment = repayments.claim(app, finance, CLAIM)
    repayment = db.session.get(Repayment, repayment.id)
    with pytest.raises(ValidationFailed) as early:
        repayments.mark_received(repayment, finance, "2027-09-14")
    assert list(early.value.fields) == ["received_on"]
    db.session.rollback()
    with pytest.raises(RoleNotAllowed):
        repayments.mark_received(repayment, world.users["instructor"], "2027-10-01")
    repayments.mark_received(db.session.get(Repayment, repayment.id), finance, "2027-10-01")
    db.session.rollback()
    row = db.session.get(Repayment, repayment.id)
    assert row.received_on.isoformat() == "2027-10-01"
    with pytest.raises(Conflict):
        repayments.mark_received(row, finance, "2027-10-02")
    db.session.rollback()
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.application_id == app.id, AuditEvent.trigger.is_(None))
        .order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["repayment_claimed", "repayment_received"]
    assert db.session.scalar(select(Notification.recipient_email).where(
        Notification.subject.like("Reversement encaissé%"))) == world.users["applicant"].email


# -- close under the same rules --------------------------------------------------------------

def test_close_counts_a_repayment_claimed_beforehand(world):
    app = _approved(world, 9_600, )
    repayments.claim(app, world.users["finance"], {**CLAIM, "amount_cents": 500 * E})
    app = world.fire(_fresh(app), "close", {})
    assert (app.state, _fresh(app).committed_cents) == ("closed", 9_100 * E)  # 9 600 − 500


def test_close_once_the_justified_amount_is_paid(world):
    """Advance 9 600 €, justified 10 800 €: closing is refused until the 1 200 € balance
    is paid, then the unjustified 1 200 € of the grant are freed."""
    app = _approved(world, 9_600)
    with pytest.raises(GuardFailed) as refused:
        world.fire(app, "close", {})
    assert refused.value.code == "balance_unsettled"
    assert "1\u202f200,00\xa0€" in refused.value.message
    db.session.rollback()
    app = workflow.record_payment(_fresh(app), world.users["finance"], {
        "kind": "balance", "amount_cents": 1_200 * E, "paid_on": "2027-09-20"})
    app = world.fire(app, "close", {})
    assert (app.state, _fresh(app).committed_cents) == ("closed", 10_800 * E)


def test_close_with_a_repayment_uses_the_claim_rules_and_records_the_claim(world):
    app = _approved(world, 12_000)
    with pytest.raises(GuardFailed) as refused:
        world.fire(app, "close", {"repayment": {"amount_cents": 12_000 * E + 1}})
    assert (refused.value.code, list(refused.value.fields)) == (
        "invalid_data", ["repayment.amount_cents"])
    db.session.rollback()
    app = world.fire(_fresh(app), "close", {"comment": "Trop-perçu.",
                                            "repayment": {"amount_cents": 1_200 * E}})
    app = _fresh(app)
    assert [(r.amount_cents, r.reason) for r in app.repayments] == [(1_200 * E, "Trop-perçu.")]
    assert app.committed_cents == 10_800 * E
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.application_id == app.id, AuditEvent.action == "repayment_claimed"))
