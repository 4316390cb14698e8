"""``POST /applications/{id}/repayments`` (SPEC 7.1) and its receipt (an extension): who,
when, how much, and where the repayment shows (the application, the call's budget).

The application asks and is granted 5 000 € (the factory's budget: 10 000 € of charges);
5 000 € are paid at once, its report realises the provisional budget, and it is approved.
"""

from __future__ import annotations

import pytest

from aap.extensions import db
from aap.models import Repayment
from aap.services import workflow
from aap.timeutil import now, to_paris
from tests.api.helpers import assert_error, ok

E = 100
BODY = {"amount_cents": 1_250 * E, "reason": "Deux ateliers non tenus.",
        "reference": "TR-2027-031", "claimed_on": "2027-09-15"}


@pytest.fixture
def approved(world):
    app = world.bring_to(world.application(requested_cents=5_000 * E), "granted")
    app = workflow.record_payment(app, world.users["finance"], {
        "kind": "advance", "amount_cents": 5_000 * E, "paid_on": "2026-11-02"})
    app = world.fire(app, "submit_report")
    return world.fire(app, "approve_report")


def _claim(api, world, app, **changes):
    return api.post(f"/applications/{app.id}/repayments", as_=world.users["finance"],
                    json={**BODY, **changes})


def test_finance_claims_a_repayment(api, world, approved):
    body = ok(_claim(api, world, approved), 201)
    assert body == {"id": body["id"], "application_id": approved.id,
                    "amount_cents": 1_250 * E, "reason": "Deux ateliers non tenus.",
                    "reference": "TR-2027-031", "claimed_on": "2027-09-15",
                    "received_on": None}
    detail = ok(api.get(f"/applications/{approved.id}", as_=world.users["finance"]))
    assert detail["repayments"] == [body]
    assert (detail["state"], detail["paid_cents"], detail["repaid_cents"],
            detail["left_to_pay_cents"]) == ("report_approved", 5_000 * E, 1_250 * E, 0)
    assert [a["action"] for a in detail["activity"]][-1] == "repayment_claimed"
    budget = ok(api.get(f"/calls/{world.call.id}", as_=world.users["finance"]))["budget"]
    # 100 000 € budget; the open grant commits its 5 000 € until close
    assert budget == {"budget_cents": 100_000 * E, "proposed_cents": 0,
                      "granted_cents": 5_000 * E, "committed_cents": 5_000 * E,
                      "paid_cents": 5_000 * E, "repaid_cents": 1_250 * E,
                      "left_to_pay_cents": 0, "available_cents": 95_000 * E}


def test_the_claim_date_defaults_to_today_and_the_reference_to_none(api, world, approved):
    body = ok(api.post(f"/applications/{approved.id}/repayments", as_=world.users["finance"],
                       json={"amount_cents": 100, "reason": "Trop-perçu."}), 201)
    assert (body["claimed_on"], body["reference"]) == (to_paris(now()).date().isoformat(), "")


def test_never_more_than_paid_less_already_claimed(api, world, approved):
    ok(_claim(api, world, approved, amount_cents=4_000 * E), 201)
    error = assert_error(_claim(api, world, approved, amount_cents=1_000 * E + 1), 422,
                         "repayment_exceeds_paid", ["amount_cents"])
    assert "1\u202f000,00\xa0€" in error["message"]  # 5 000 paid − 4 000 claimed
    ok(_claim(api, world, approved, amount_cents=1_000 * E), 201)
    db.session.rollback()
    assert db.session.query(Repayment).count() == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"amount_cents": 0}, "amount_cents"),
    ({"amount_cents": "12"}, "amount_cents"),
    ({"amount_cents": 1.5}, "amount_cents"),
    ({"reason": ""}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reference": "R" * 61}, "reference"),
    ({"claimed_on": "15/09/2027"}, "claimed_on"),
    ({"amount": 100}, "amount"),
])
def test_bad_bodies_are_422_on_their_field(api, world, approved, change, field):
    body = {**BODY, **change}
    if "amount" in change:
        del body["amount_cents"]
    response = api.post(f"/applications/{approved.id}/repayments",
                        as_=world.users["finance"], json=body)
    error = assert_error(response, 422, "invalid_data", [field])
    assert error["message"]
    db.session.rollback()
    assert db.session.query(Repayment).count() == 0


def test_a_claim_needs_an_approved_report_a_closing_or_a_cancellation(api, world):
    app = world.bring_to(world.application(), "granted")
    app = workflow.record_payment(app, world.users["finance"], {
        "kind": "advance", "amount_cents": 1_000 * E, "paid_on": "2026-11-02"})
    assert_error(_claim(api, world, app, amount_cents=500 * E), 409, "invalid_state")
    world.fire(app, "cancel")
    ok(_claim(api, world, app, amount_cents=1_000 * E), 201)  # all that was paid


@pytest.mark.parametrize(("role", "status"), [
    ("instructor", 403), ("applicant", 403), ("admin", 403), ("juror", 403),
    ("outside_juror", 404),
    ("foreign_applicant", 404)])
def test_only_finance_claims(api, world, approved, role, status):
    response = api.post(f"/applications/{approved.id}/repayments", as_=world.users[role],
                        json={"bad": 1})  # the role is checked before the body
    assert_error(response, status)
    assert "bad" not in response.get_data(True)


def test_unknown_application_is_404(api, world):
    assert_error(api.post("/applications/999999/repayments", as_=world.users["finance"],
                          json=BODY), 404, "not_found")


def test_receipt_is_recorded_once(api, world, approved):
    claimed = ok(_claim(api, world, approved), 201)
    url = f"/applications/{approved.id}/repayments/{claimed['id']}/received"
    assert_error(api.post(url, as_=world.users["finance"], json={"received_on": "2027-09-14"}),
                 422, "invalid_data", ["received_on"])  # before the claim
    assert_error(api.post(url, as_=world.users["finance"], json={}), 422, "invalid_data",
                 ["received_on"])
    assert_error(api.post(url, as_=world.users["instructor"], json={"x": 1}), 403,
                 "forbidden")
    body = ok(api.post(url, as_=world.users["finance"], json={"received_on": "2027-10-01"}))
    assert body == {**claimed, "received_on": "2027-10-01"}
    assert_error(api.post(url, as_=world.users["finance"], json={"received_on": "2027-10-02"}),
                 409, "invalid_state")
    detail = ok(api.get(f"/applications/{approved.id}", as_=world.users["applicant"]))
    assert detail["repayments"][0]["received_on"] == "2027-10-01"


def test_receipt_of_another_applications_repayment_is_404(api, world, approved):
    claimed = ok(_claim(api, world, approved), 201)
    other = world.bring_to(world.application(), "submitted")
    response = api.post(f"/applications/{other.id}/repayments/{claimed['id']}/received",
                        as_=world.users["finance"], json={"received_on": "2027-10-01"})
    assert_error(response, 404, "not_found")


def test_close_counts_the_claim_and_frees_it(api, world, approved):
    ok(_claim(api, world, approved), 201)
    body = ok(api.fire(approved.id, "close", world.users["finance"], {}))
    assert (body["state"], body["committed_cents"], body["left_to_pay_cents"]) == (
        "closed", 3_750 * E, 0)  # 5 000 paid − 1 250 claimed back
    budget = ok(api.get(f"/calls/{world.call.id}", as_=world.users["finance"]))["budget"]
    assert (budget["committed_cents"], budget["available_cents"]) == (3_750 * E, 96_250 * E)


def test_the_payment_answer_says_what_is_left_to_pay(api, world):
    app = world.bring_to(world.application(requested_cents=5_000 * E), "granted")
    body = ok(api.post(f"/applications/{app.id}/payments", as_=world.users["finance"],
                       json={"kind": "advance", "amount_cents": 4_000 * E,
                             "paid_on": "2026-11-02"}), 201)
    assert (body["paid_total_cents"], body["left_to_pay_cents"]) == (4_000 * E, 1_000 * E)
