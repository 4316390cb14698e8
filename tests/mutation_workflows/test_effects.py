"""What each transition writes besides the state (the effects), through the real engine:
the reference and the submission time, the completion request and its end, the proposed
amount, the decision, the convention, the payment, the report (updated in place when it
is sent back and resubmitted), each signed by the actor who fired the transition."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from aap.extensions import db
from aap.models import Application, Convention, Decision, Payment, Report
from aap.services import workflow
from aap.timeutil import now


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    monkeypatch.setattr("aap.models.accounts.generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


def _reload(app: Application) -> Application:
    db.session.rollback()
    return db.session.get(Application, app.id, populate_existing=True)


def test_submission_reference_time_and_completion(world):
    before = now()
    first = _reload(world.fire(world.application(), "submit"))
    second = _reload(world.fire(world.application(), "submit"))
    assert (first.reference, second.reference) == ("AAP-2026-0001", "AAP-2026-0002")
    assert before <= first.submitted_at <= now()

    asked = _reload(world.fire(first, "request_completion", {
        "comment": " Joindre les statuts. ", "deadline": "2026-12-01"}))
    assert asked.completion_message == "Joindre les statuts."
    assert asked.completion_deadline.date() in (date(2026, 12, 1), date(2026, 12, 2))
    resubmitted = _reload(world.fire(asked, "resubmit", {}))
    assert (resubmitted.completion_message, resubmitted.completion_deadline) == (None, None)
    assert resubmitted.reference == "AAP-2026-0001"  # kept on resubmission


def test_the_proposed_amount_is_set_then_cleared(world):
    app = world.bring_to(world.application(requested_cents=8_000_00), "reviewed")
    app = _reload(world.fire(app, "propose", {"amount_cents": 6_000_00}))
    assert app.proposed_cents == 6_000_00
    app = _reload(world.fire(app, "reject", {}))
    assert app.proposed_cents == 0
    other = world.bring_to(world.application(requested_cents=8_000_00), "reviewed")
    other = _reload(world.fire(other, "propose", {"amount_cents": 6_000_00}))
    other = _reload(world.fire(other, "withdraw", {}))
    assert other.proposed_cents == 0


def test_decision_convention_and_payment_are_recorded_by_their_actor(world):
    app = world.bring_to(world.application(requested_cents=8_000_00), "proposed")
    instructor, finance = world.users["instructor"], world.users["finance"]
    app = _reload(workflow.fire(app, "grant", instructor, {
        "amount_cents": 7_500_00, "decision": {"body": "Bureau", "reference": "DEL-7",
                                               "date": "2026-10-12"}}))
    decision = db.session.scalars(select(Decision).where(
        Decision.application_id == app.id)).one()
    assert (decision.amount_cents, decision.body, decision.reference, decision.decided_on,
            decision.created_by_id) == (7_500_00, "Bureau", "DEL-7", date(2026, 10, 12),
                                        instructor.id)
    assert app.committed_cents == 7_500_00

    app = _reload(workflow.fire(app, "sign_convention", instructor, {"convention": {
        "reference": "CONV-7", "signed_on": "2026-10-20",
        "schedule": [{"kind": "advance", "share": "0.5"},
                     {"kind": "balance", "share": "0.5"}]}}))
    convention = db.session.scalars(select(Convention).where(
        Convention.application_id == app.id)).one()
    assert (convention.reference, convention.signed_on, convention.schedule) == (
        "CONV-7", date(2026, 10, 20), [{"kind": "advance", "share": "0.5"},
                                       {"kind": "balance", "share": "0.5"}])

    app = _reload(workflow.record_payment(app, finance, {
        "kind": "advance", "amount_cents": 3_750_00, "paid_on": "2026-11-02",
        "mandate": "M-1"}))
    payment = db.session.scalars(select(Payment).where(Payment.application_id == app.id)).one()
    assert (payment.kind, payment.amount_cents, payment.paid_on, payment.mandate,
            payment.created_by_id) == ("advance", 3_750_00, date(2026, 11, 2), "M-1",
                                       finance.id)
    assert app.state == "in_progress"


def _report(charges: int, explanation: str = "") -> dict:
    return {"realised": {"charges": {"62": 3_000_00, "64": charges},
                         "products": {"74_epci": charges, "74_state": 3_000_00}},
            "narrative": "Douze ateliers.", "beneficiaries_reached": 40,
            "gap_explanation": explanation}


def test_the_report_is_recorded_then_updated_in_place(world):
    app = world.bring_to(world.application(requested_cents=5_000_00), "in_progress")
    applicant = world.users["applicant"]
    started = now()
    app = _reload(workflow.fire(app, "submit_report", applicant, _report(7_000_00)))
    report = db.session.scalars(select(Report).where(Report.application_id == app.id)).one()
    assert (report.narrative, report.beneficiaries_reached, report.gap_explanation,
            report.submitted_by_id) == ("Douze ateliers.", 40, "", applicant.id)
    assert started <= report.submitted_at <= now() + timedelta(seconds=1)
    assert sorted((line.side, line.code, line.amount_cents) for line in report.lines) == [
        ("charges", "62", 3_000_00), ("charges", "64", 7_000_00),
        ("products", "74_epci", 7_000_00), ("products", "74_state", 3_000_00)]
    first_id = report.id

    app = _reload(world.fire(app, "request_report_changes"))
    resent = _report(2_000_00, "Moins de séances.")
    del resent["realised"]["charges"]["62"]
    resent["realised"]["products"] = {"74_epci": 2_000_00}
    app = _reload(workflow.fire(app, "submit_report", applicant, resent))
    report = db.session.scalars(select(Report).where(Report.application_id == app.id)).one()
    assert report.id == first_id
    assert report.gap_explanation == "Moins de séances."
    assert sorted((line.side, line.code, line.amount_cents) for line in report.lines) == [
        ("charges", "64", 2_000_00), ("products", "74_epci", 2_000_00)]
