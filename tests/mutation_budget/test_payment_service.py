"""``aap.services.workflow.record_payment``: who may record a payment, in which states,
and what a refusal leaves (nothing); the first payment is the ``pay`` transition, a later
one an audited action with its payment's id."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from aap.extensions import db
from aap.models import Application, AuditEvent, Payment
from aap.services import workflow
from workflows import NotVisible, RoleNotAllowed, StateNotAllowed

PAYMENT = {"kind": "advance", "amount_cents": 1_000_00, "paid_on": "2026-11-02"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    monkeypatch.setattr("aap.models.accounts.generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


def _payments(app_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Payment.id)).where(
        Payment.application_id == app_id))


def test_only_finance_records_a_payment(world):
    app = world.bring_to(world.application(), "granted")
    with pytest.raises(NotVisible) as hidden:
        workflow.record_payment(app, world.users["foreign_applicant"], PAYMENT)
    assert (hidden.value.status, hidden.value.message) == (404, "Dossier introuvable.")
    with pytest.raises(RoleNotAllowed) as role:
        workflow.record_payment(app, world.users["instructor"], PAYMENT)
    assert (role.value.status, role.value.message) == (
        403, "Seul un agent des finances enregistre un versement.")
    assert _payments(app.id) == 0


def test_no_payment_before_the_grant(world):
    app = world.bring_to(world.application(), "proposed")
    with pytest.raises(StateNotAllowed) as refused:
        workflow.record_payment(app, world.users["finance"], PAYMENT)
    assert (refused.value.status, refused.value.message) == (
        409, "Aucun versement possible dans l'état « Proposé au financement ».")
    assert _payments(app.id) == 0


def test_first_payment_fires_pay_and_a_later_one_is_an_action(world):
    app = world.bring_to(world.application(requested_cents=5_000_00), "granted")
    finance = world.users["finance"]
    first = workflow.record_payment(app, finance, PAYMENT)
    assert first.state == "in_progress"
    later = workflow.record_payment(db.session.get(Application, app.id), finance,
                                    {**PAYMENT, "kind": "balance", "mandate": "M-2"})
    assert later.state == "in_progress"
    db.session.rollback()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == app.id).order_by(AuditEvent.id)).all()
    payments = db.session.scalars(select(Payment).where(
        Payment.application_id == app.id).order_by(Payment.id)).all()
    assert [(e.action, e.trigger, e.actor_id) for e in events[-2:]] == [
        ("transition", "pay", finance.id), ("payment", None, finance.id)]
    assert events[-1].data == {**PAYMENT, "kind": "balance", "mandate": "M-2",
                               "payment_id": payments[1].id}
    assert [(p.kind, p.amount_cents, p.mandate, p.created_by_id) for p in payments] == [
        ("advance", 1_000_00, "", finance.id), ("balance", 1_000_00, "M-2", finance.id)]
