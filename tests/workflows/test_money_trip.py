"""The full money trip, to the cent (issue: allocation and the money trail), with the
call's figures written out by hand after every step.

The call has a budget of 25 000 €. Three projects are reviewed by both jurors:

- A asks 12 000 € on 17 000 € of charges (62: 3 000 €, 64: 14 000 €), scored 18.667;
- B asks 10 000 €, scored 16;
- C asks 9 000 €, scored 13.333.

The allocation funds A and B (22 000 €); the 3 000 € left are less than half of C's
request, so C is waitlisted. A is granted 12 000 € by the Bureau, its convention pays
80 % in advance (9 600 €) and 20 % as an instalment once the action is under way
(2 400 €). Its report realises 15 300 € of charges (10 % under-spending): the grant is
justified pro rata, 12 000 × 15 300 / 17 000 = 10 800 €, so 1 200 € were overpaid. The
authority claims them back, receives them, and closes: A then commits 10 800 €.

A second trip pays only the 80 % advance before the same report: the report justifies
10 800 €, so nothing is claimed back and the balance due is 1 200 € instead of 2 400 €.
"""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest
from werkzeug.security import generate_password_hash

from aap.extensions import db
from aap.models import Application, Call
from aap.services import allocation, finance, money, repayments, reviews, workflow
from tests.api.helpers import ApiClient, ok

E = 100  # cents per euro
UNDER_SPENT = {"charges": {"62": 2_700 * E, "64": 12_600 * E},
               "products": {"74_epci": 10_800 * E, "74_state": 2_700 * E, "75": 1_800 * E}}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    monkeypatch.setattr("aap.models.accounts.generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


def reviewed(world, euros: int, pertinence: int, faisabilite: int) -> Application:
    """Brought to ``reviewed``, both jurors giving the same marks: (2 p + f) / 15 × 20."""
    app = world.bring_to(world.application(requested_cents=euros * E), "in_review")
    for juror in (world.users["juror"], world.users["juror2"]):
        reviews.save_review(juror, app, {"scores": {"pertinence": pertinence,
                                                    "faisabilite": faisabilite},
                                         "submit": True})
    return world.fire(app, "close_review", {})


def call_figures(call_id: int) -> dict[str, int]:
    """The call's figures in euros, read afresh."""
    db.session.rollback()
    f = money.for_call(db.session.get(Call, call_id))
    assert all(v % E == 0 for v in (f.committed_cents, f.paid_cents, f.repaid_cents))
    return {"budget": f.budget_cents / E, "proposed": f.proposed_cents / E,
            "granted": f.granted_cents / E, "committed": f.committed_cents / E,
            "paid": f.paid_cents / E, "repaid": f.repaid_cents / E,
            "outstanding": f.outstanding_cents / E, "left_to_pay": f.left_to_pay_cents / E,
            "available": f.available_cents / E}


def fresh(app: Application) -> Application:
    db.session.rollback()
    return db.session.get(Application, app.id, populate_existing=True)


def due(call_id: int) -> list[tuple[str, str, float, date]]:
    db.session.rollback()
    return [(d.application.reference, d.kind, d.amount_cents / E, d.since)
            for d in finance.payments_due([db.session.get(Call, call_id)])]


@pytest.fixture
def allocated(world):
    world.call.budget_cents = 25_000 * E
    db.session.commit()
    a = reviewed(world, 12_000, 5, 4)  # (10 + 4) / 15 × 20 = 18.667
    b = reviewed(world, 10_000, 4, 4)  # 12 / 15 × 20 = 16
    c = reviewed(world, 9_000, 3, 4)  # 10 / 15 × 20 = 13.333
    allocation.commit(world.call, world.users["instructor"], seed="s")
    assert [fresh(x).state for x in (a, b, c)] == ["proposed", "proposed", "waitlisted"]
    assert call_figures(world.call.id) == {
        "budget": 25_000, "proposed": 22_000, "granted": 0, "committed": 0, "paid": 0,
        "repaid": 0, "outstanding": 0, "left_to_pay": 0, "available": 25_000}
    a = workflow.fire(fresh(a), "grant", world.users["instructor"], {
        "amount_cents": 12_000 * E, "decision": {
            "body": "Bureau de la Métropole", "reference": "DEL-2026-117",
            "date": "2026-10-12"}})
    assert call_figures(world.call.id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000, "committed": 12_000,
        "paid": 0, "repaid": 0, "outstanding": 0, "left_to_pay": 12_000,
        "available": 13_000}
    return a


def _sign(world, a, schedule) -> Application:
    a = workflow.fire(fresh(a), "sign_convention", world.users["instructor"], {
        "convention": {"reference": "CONV-2026-0117", "signed_on": "2026-10-20",
                       "schedule": schedule}})
    assert a.state == "contracted"
    return a


def _pay(world, a, kind: str, euros: int, on: str) -> Application:
    return workflow.record_payment(fresh(a), world.users["finance"], {
        "kind": kind, "amount_cents": euros * E, "paid_on": on, "mandate": "M-1"})


def _report_and_approve(world, a) -> Application:
    a = workflow.fire(fresh(a), "submit_report", world.users["applicant"], {
        "realised": UNDER_SPENT, "beneficiaries_reached": 54,
        "narrative": "Neuf ateliers sur les dix prévus."})
    assert a.state == "report_submitted"
    a = workflow.fire(fresh(a), "approve_report", world.users["instructor"], {})
    assert a.state == "report_approved"
    return a


def test_the_money_trip_with_a_repayment(world, client, allocated):
    call_id, a = world.call.id, allocated
    ref = fresh(a).reference

    a = _sign(world, a, [{"kind": "advance", "share": "0.8"},
                         {"kind": "instalment", "share": "0.2"}])
    assert call_figures(call_id)["committed"] == 12_000  # a convention moves no money
    assert due(call_id) == [(ref, "advance", 9_600, date(2026, 10, 20))]

    a = _pay(world, a, "advance", 9_600, "2026-11-02")  # 80 % of 12 000
    assert fresh(a).state == "in_progress"
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000, "committed": 12_000,
        "paid": 9_600, "repaid": 0, "outstanding": 0, "left_to_pay": 2_400,
        "available": 13_000}
    # the instalment is due once the action is under way (the first payment)
    assert due(call_id) == [(ref, "instalment", 2_400, date(2026, 11, 2))]

    a = _pay(world, a, "instalment", 2_400, "2027-03-01")
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000, "committed": 12_000,
        "paid": 12_000, "repaid": 0, "outstanding": 0, "left_to_pay": 0,
        "available": 13_000}
    assert due(call_id) == []

    a = _report_and_approve(world, a)
    assert call_figures(call_id)["paid"] == 12_000  # a report moves no money
    proposal = repayments.proposal(fresh(a))
    assert (proposal.justified_cents, proposal.amount_cents, proposal.balance_due_cents) == (
        10_800 * E, 1_200 * E, 0)  # 12 000 paid − 10 800 justified

    claimed = repayments.claim(fresh(a), world.users["finance"], {
        "amount_cents": proposal.amount_cents, "reason": proposal.reason,
        "reference": "TR-2027-0042", "claimed_on": "2027-09-15"})
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000,
        "committed": 12_000,  # the open grant is settled by close
        "paid": 12_000, "repaid": 1_200, "outstanding": 1_200, "left_to_pay": 0,
        "available": 13_000}
    assert repayments.proposal(fresh(a)).amount_cents == 0  # nothing more to claim

    db.session.rollback()
    repayments.mark_received(db.session.get(type(claimed), claimed.id),
                             world.users["finance"], "2027-10-10")
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000, "committed": 12_000,
        "paid": 12_000, "repaid": 1_200, "outstanding": 0, "left_to_pay": 0,
        "available": 13_000}

    a = workflow.fire(fresh(a), "close", world.users["finance"], {})
    assert a.state == "closed"
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000,
        "committed": 10_800,  # 12 000 paid − 1 200 claimed back
        "paid": 12_000, "repaid": 1_200, "outstanding": 0, "left_to_pay": 0,
        "available": 14_200}  # 25 000 − 10 800

    # the API reads the same figures
    api = ApiClient(client)
    budget = ok(api.get(f"/calls/{call_id}", as_=world.users["finance"]))["budget"]
    assert budget == {"budget_cents": 25_000 * E, "proposed_cents": 10_000 * E,
                      "granted_cents": 12_000 * E, "committed_cents": 10_800 * E,
                      "paid_cents": 12_000 * E, "repaid_cents": 1_200 * E,
                      "left_to_pay_cents": 0, "available_cents": 14_200 * E}
    detail = ok(api.get(f"/applications/{a.id}", as_=world.users["applicant"]))
    assert (detail["granted_cents"], detail["paid_cents"], detail["repaid_cents"],
            detail["committed_cents"], detail["left_to_pay_cents"]) == (
        12_000 * E, 12_000 * E, 1_200 * E, 10_800 * E, 0)
    assert [(r["amount_cents"], r["reference"], r["claimed_on"], r["received_on"])
            for r in detail["repayments"]] == [
        (1_200 * E, "TR-2027-0042", "2027-09-15", "2027-10-10")]
    assert [h["trigger"] for h in detail["history"]][-6:] == [
        "grant", "sign_convention", "pay", "submit_report", "approve_report", "close"]
    assert [x["action"] for x in detail["activity"]][-3:] == [
        "payment", "repayment_claimed", "repayment_received"]


def test_the_money_trip_with_only_the_advance_paid(world, allocated):
    call_id, a = world.call.id, allocated
    ref = fresh(a).reference
    a = _sign(world, a, [{"kind": "advance", "share": "0.8"},
                         {"kind": "balance", "share": "0.2"}])
    a = _pay(world, a, "advance", 9_600, "2026-11-02")
    assert due(call_id) == []  # the balance waits for the approved report
    a = _report_and_approve(world, a)
    proposal = repayments.proposal(fresh(a))
    assert (proposal.amount_cents, proposal.balance_due_cents) == (0, 1_200 * E)
    [(reference, kind, amount, _since)] = due(call_id)
    assert (reference, kind, amount) == (ref, "balance", 1_200)  # not the scheduled 2 400
    assert call_figures(call_id)["left_to_pay"] == 2_400  # the grant owes it until closed

    a = _pay(world, a, "balance", 1_200, "2027-09-20")
    a = workflow.fire(fresh(a), "close", world.users["finance"], {})
    assert a.state == "closed"
    assert call_figures(call_id) == {
        "budget": 25_000, "proposed": 10_000, "granted": 12_000,
        "committed": 10_800,  # what was paid: the unjustified 1 200 € are freed
        "paid": 10_800, "repaid": 0, "outstanding": 0, "left_to_pay": 0,
        "available": 14_200}
