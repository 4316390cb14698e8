"""Rules of SPEC section 4 that had no test, each against a hand computation.

- ``promote`` needs budget available, for the call and for the envelope (422
  ``budget_exceeded``), and a cancellation that frees the unpaid part makes room again;
- ``close`` with a repayment claimed: closed, the repayment recorded, and the budget
  commits only what was paid less what is repaid;
- a later payment in ``report_submitted`` is an audited action that changes no state;
  never more than granted.
"""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from aap.extensions import db
from aap.models import Application, AuditEvent, Payment, Repayment
from aap.services import budget, workflow
from aap.services.calls import set_jury
from tests.api.helpers import ApiClient, assert_error, ok
from tests.factories import make_application, make_call, trigger_data

EUR = 100


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    monkeypatch.setattr("aap.models.accounts.generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


def _transitions(app_id: int) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in db.session.execute(
        select(AuditEvent.trigger, AuditEvent.from_state, AuditEvent.to_state)
        .where(AuditEvent.application_id == app_id, AuditEvent.trigger.is_not(None))
        .order_by(AuditEvent.id))]


def _grant(world, app: Application, amount: int) -> Application:
    app = world.bring_to(app, "proposed")
    data = trigger_data("grant", app)
    data["amount_cents"] = amount
    return world.fire(app, "grant", data)


def _call(world, budget_cents: int, envelopes=()):
    call = make_call(world.fund, budget_cents=budget_cents, envelopes=list(envelopes))
    set_jury(call, [world.users["juror"].id])
    return call


# --- promote ----------------------------------------------------------------------------


def test_promote_is_refused_when_the_call_has_no_budget_left(api, world):
    # 10 000 € budget; 8 000 € granted to A: 2 000 € left, B asks 5 000 €.
    call = _call(world, 10_000 * EUR)
    first = _grant(world, make_application(call, world.org, requested_cents=8_000 * EUR),
                   8_000 * EUR)
    waiting = world.bring_to(make_application(call, world.org, requested_cents=5_000 * EUR),
                             "reviewed")
    waiting = world.fire(waiting, "waitlist")
    before = _transitions(waiting.id)

    error = assert_error(api.fire(waiting.id, "promote", world.users["instructor"],
                                  {"amount_cents": 5_000 * EUR}), 422, "budget_exceeded",
                         ["amount_cents"])
    assert "2 000,00" in error["message"].replace("\u202f", " ").replace("\xa0", " ")
    db.session.rollback()
    assert db.session.get(Application, waiting.id, populate_existing=True).state == "waitlisted"
    assert _transitions(waiting.id) == before

    # 2 000 € fit exactly: a proposal of what is left is accepted.
    ok(api.fire(waiting.id, "promote", world.users["instructor"],
                {"amount_cents": 2_000 * EUR}))
    db.session.rollback()
    assert db.session.get(Application, waiting.id).proposed_cents == 2_000 * EUR

    # Back on the list, then A is cancelled before any payment: its 8 000 € are freed.
    world.fire(db.session.get(Application, first.id), "cancel")
    assert budget.available_cents(db.session.get(type(call), call.id)) == 10_000 * EUR


def test_promote_is_refused_when_the_envelope_is_spent_even_if_the_call_is_not(api, world):
    # The call has 100 000 €, the envelope "nord" 6 000 €, of which 5 000 € are granted.
    call = _call(world, 100_000 * EUR, [("nord", "Quartiers nord", 6_000 * EUR),
                                        ("sud", "Quartiers sud", 50_000 * EUR)])
    nord, sud = (e.id for e in sorted(call.envelopes, key=lambda e: e.key))
    _grant(world, make_application(call, world.org, requested_cents=5_000 * EUR,
                                   envelope_id=nord), 5_000 * EUR)
    waiting = world.bring_to(make_application(call, world.org, requested_cents=4_000 * EUR,
                                              envelope_id=nord), "reviewed")
    waiting = world.fire(waiting, "waitlist")
    other = world.bring_to(make_application(call, world.org, requested_cents=4_000 * EUR,
                                            envelope_id=sud), "reviewed")
    other = world.fire(other, "waitlist")

    assert_error(api.fire(waiting.id, "promote", world.users["instructor"],
                          {"amount_cents": 4_000 * EUR}), 422, "budget_exceeded")
    ok(api.fire(other.id, "promote", world.users["instructor"],
                {"amount_cents": 4_000 * EUR}))  # the other envelope has room
    ok(api.fire(waiting.id, "promote", world.users["instructor"],
                {"amount_cents": 1_000 * EUR}))  # 6 000 − 5 000 = 1 000 € left in "nord"


# --- close with a repayment ---------------------------------------------------------------


def _reported(world, call, granted: int, paid: int) -> Application:
    app = _grant(world, make_application(call, world.org, requested_cents=granted),
                 granted)
    app = workflow.record_payment(app, world.users["finance"], {
        "kind": "advance", "amount_cents": paid, "paid_on": "2026-11-02"})
    app = world.fire(app, "submit_report")
    return world.fire(app, "approve_report")


def test_close_with_a_repayment_commits_what_was_paid_less_what_is_repaid(api, world):
    call = _call(world, 50_000 * EUR)
    app = _reported(world, call, 10_000 * EUR, 10_000 * EUR)
    finance = world.users["finance"]

    assert_error(api.fire(app.id, "close", finance, {"repayment": {
        "amount_cents": 10_000 * EUR + 1, "reference": "TR-1"}}), 422, "invalid_data",
        ["repayment.amount_cents"])  # more than was paid
    body = ok(api.fire(app.id, "close", finance, {"repayment": {
        "amount_cents": 2_500 * EUR, "reference": "TR-2027-014",
        "reason": "Actions non réalisées."}}))
    assert body["state"] == "closed"
    db.session.rollback()
    repayments = db.session.scalars(select(Repayment).where(
        Repayment.application_id == app.id)).all()
    assert [(r.amount_cents, r.reference, r.reason, r.created_by_id) for r in repayments] == [
        (2_500 * EUR, "TR-2027-014", "Actions non réalisées.", finance.id)]
    app = db.session.get(Application, app.id, populate_existing=True)
    assert app.committed_cents == 7_500 * EUR  # 10 000 paid − 2 500 repaid
    call = db.session.get(type(call), call.id)
    assert budget.available_cents(call) == 42_500 * EUR
    summary = budget.summary(call)
    assert (summary.granted_cents, summary.paid_cents, summary.repaid_cents) == (
        10_000 * EUR, 10_000 * EUR, 2_500 * EUR)
    assert _transitions(app.id)[-1] == ("close", "report_approved", "closed")


def test_close_without_the_balance_paid_needs_a_repayment_or_a_release(api, world):
    call = _call(world, 50_000 * EUR)
    app = _reported(world, call, 10_000 * EUR, 6_000 * EUR)
    finance = world.users["finance"]
    error = assert_error(api.fire(app.id, "close", finance, {}), 422, "balance_unsettled")
    assert error["message"].replace("\u202f", " ").replace("\xa0", " ") == (
        "Solde non versé (4 000,00 €) : versez le solde, émettez un titre de reversement, "
        "ou libérez le reliquat avec un motif.")
    # releasing the unpaid balance needs both the flag and a reason
    assert_error(api.fire(app.id, "close", finance, {"release_unpaid": True}), 422,
                 "balance_unsettled")
    assert_error(api.fire(app.id, "close", finance, {"comment": "Fin du projet."}), 422,
                 "balance_unsettled")
    ok(api.fire(app.id, "close", finance, {"repayment": {"amount_cents": 1_000 * EUR},
                                            "comment": "Un atelier annulé."}))
    db.session.rollback()
    # without a reason of its own, the repayment takes the closing's comment
    assert db.session.scalars(select(Repayment.reason).where(
        Repayment.application_id == app.id)).all() == ["Un atelier annulé."]
    # The unpaid 4 000 € and the repaid 1 000 € are back in the budget.
    assert db.session.get(Application, app.id).committed_cents == 5_000 * EUR
    assert budget.available_cents(db.session.get(type(call), call.id)) == 45_000 * EUR


# --- a later payment in report_submitted ------------------------------------------------


def test_a_later_payment_in_report_submitted_is_audited_without_a_state_change(api, world):
    call = _call(world, 50_000 * EUR)
    app = _grant(world, make_application(call, world.org, requested_cents=10_000 * EUR),
                 10_000 * EUR)
    finance = world.users["finance"]
    ok(api.post(f"/applications/{app.id}/payments", as_=finance, json={
        "kind": "advance", "amount_cents": 6_000 * EUR, "paid_on": "2026-11-02"}), 201)
    app = world.fire(db.session.get(Application, app.id, populate_existing=True),
                     "submit_report")
    assert app.state == "report_submitted"
    transitions = _transitions(app.id)

    payment = ok(api.post(f"/applications/{app.id}/payments", as_=finance, json={
        "kind": "balance", "amount_cents": 4_000 * EUR, "paid_on": "2027-02-10"}), 201)
    db.session.rollback()
    assert db.session.get(Application, app.id, populate_existing=True).state == \
        "report_submitted"
    assert _transitions(app.id) == transitions  # no transition
    audited = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == app.id, AuditEvent.action == "payment")).all()
    assert [(e.trigger, e.data["amount_cents"], e.data["payment_id"]) for e in audited] == [
        (None, 4_000 * EUR, payment["id"])]
    assert db.session.scalar(select(func.sum(Payment.amount_cents)).where(
        Payment.application_id == app.id)) == 10_000 * EUR

    # 10 000 € of 10 000 € are paid: one more cent is an overpayment.
    assert_error(api.post(f"/applications/{app.id}/payments", as_=finance, json={
        "kind": "balance", "amount_cents": 1, "paid_on": "2027-02-11"}), 422, "overpayment")


def test_no_payment_once_closed(api, world):
    call = _call(world, 50_000 * EUR)
    app = _reported(world, call, 10_000 * EUR, 10_000 * EUR)
    app = world.fire(app, "close", {})
    assert_error(api.post(f"/applications/{app.id}/payments", as_=world.users["finance"],
                          json={"kind": "balance", "amount_cents": 1,
                                "paid_on": "2027-02-11"}), 409, "invalid_state")
