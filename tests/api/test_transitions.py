"""Transitions through the API: the check order of SPEC section 4 (404 not visible,
404 unknown trigger, 403 role, 409 state, 422 guard), guards with their codes, refusals
that write nothing, payments, and a full trip from registration to closing by API only."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from aap.models import AuditEvent, Decision, Notification, Payment
from aap.services.calls import set_jury
from aap.timeutil import now
from tests.api.helpers import assert_error, ok
from tests.factories import make_application, make_call, trigger_data

DECISION = {"body": "Bureau de la Métropole", "reference": "DEL-2026-117", "date": "2026-10-12"}


def snapshot(api, world, db, app_id: int) -> tuple:
    """What a refused trigger must leave untouched: the state, the trail, the outbox.
    Read by the instructor, or by the applicant while a draft (staff do not see drafts)."""
    db.session.expire_all()
    response = api.get(f"/applications/{app_id}", as_=world.users["instructor"])
    if response.status_code == 404:
        response = api.get(f"/applications/{app_id}", as_=world.users["applicant"])
    body = ok(response)
    return (body["state"], body["reference"], body["history"], body["activity"],
            body["proposed_cents"], body["committed_cents"], body["paid_cents"],
            db.session.scalar(select(func.count(AuditEvent.id))),
            db.session.scalar(select(func.count(Notification.id))),
            db.session.scalar(select(func.count(Payment.id))),
            db.session.scalar(select(func.count(Decision.id))))


# -- the check order --------------------------------------------------------------------
CHECK_ORDER = [
    # 1. not visible: 404 before anything else, even for an unknown trigger
    ("submitted", "foreign_applicant", "fly_away", {}, 404, "not_found"),
    ("submitted", "foreign_applicant", "withdraw", {}, 404, "not_found"),
    ("in_review", "outside_juror", "close_review", {}, 404, "not_found"),
    # 2. unknown trigger
    ("draft", "applicant", "fly_away", {}, 404, "unknown_trigger"),
    ("submitted", "instructor", "approve", {}, 404, "unknown_trigger"),
    ("granted", "finance", "payment", {}, 404, "unknown_trigger"),
    # 3. role (before the state)
    ("submitted", "applicant", "declare_eligible", {}, 403, "forbidden"),
    ("draft", "applicant", "declare_eligible", {}, 403, "forbidden"),
    ("in_review", "juror", "close_review", {}, 403, "forbidden"),
    ("in_review", "juror", "submit", {}, 403, "forbidden"),
    ("granted", "instructor", "pay", {}, 403, "forbidden"),
    ("submitted", "finance", "declare_eligible", {}, 403, "forbidden"),
    ("proposed", "admin", "grant", {}, 403, "forbidden"),
    # 4. state (before the guards)
    ("submitted", "instructor", "grant", {}, 409, "invalid_state"),
    ("submitted", "instructor", "grant",
     {"amount_cents": 10**12, "decision": DECISION}, 409, "invalid_state"),
    ("draft", "instructor", "declare_eligible", {}, 404, "not_found"),  # drafts are private
    ("draft", "finance", "fly_away", {}, 404, "not_found"),
    ("incomplete", "instructor", "declare_eligible", {}, 409, "invalid_state"),
    ("submitted", "applicant", "submit", {}, 409, "invalid_state"),
    ("granted", "applicant", "withdraw", {}, 409, "invalid_state"),
    ("rejected", "applicant", "withdraw", {}, 409, "invalid_state"),
    ("in_progress", "finance", "pay", {}, 409, "invalid_state"),
    ("reviewed", "instructor", "request_completion", {}, 409, "invalid_state"),
    # 5. guards
    ("submitted", "instructor", "request_completion", {}, 422, "comment_required"),
    ("submitted", "instructor", "request_completion", {"comment": "   "}, 422,
     "comment_required"),
    ("submitted", "instructor", "declare_ineligible", {}, 422, "comment_required"),
    ("submitted", "instructor", "request_completion",
     {"comment": "Statuts ?", "deadline": "2001-01-01"}, 422, "invalid_data"),
    ("in_review", "instructor", "close_review", {}, 422, "reviews_missing"),
    ("in_review", "instructor", "close_review", {"force": True}, 422, "comment_required"),
    ("reviewed", "instructor", "propose", {"amount_cents": 5_000_01}, 422,
     "amount_exceeds_request"),
    ("proposed", "instructor", "grant", {"amount_cents": 5_000_01, "decision": DECISION},
     422, "amount_exceeds_request"),
    ("proposed", "instructor", "grant", {"amount_cents": 5_000_00}, 422, "invalid_data"),
    ("proposed", "instructor", "grant",
     {"amount_cents": 0, "decision": DECISION}, 422, "invalid_data"),
    ("granted", "instructor", "sign_convention", {}, 422, "invalid_data"),
    ("granted", "instructor", "cancel", {}, 422, "comment_required"),
    ("report_submitted", "instructor", "request_report_changes", {}, 422, "comment_required"),
    ("in_progress", "applicant", "submit_report", {"narrative": "Fait."}, 422, "invalid_data"),
]


@pytest.mark.parametrize("state, who, trigger, data, status, code", CHECK_ORDER)
def test_check_order(api, world, db, state, who, trigger, data, status, code):
    app = world.bring_to(world.application(), state)
    before = snapshot(api, world, db, app.id)
    response = api.fire(app.id, trigger, world.users[who], data)
    assert_error(response, status, code)
    assert snapshot(api, world, db, app.id) == before  # a refused trigger writes nothing


def test_a_guard_failure_names_the_field(api, world):
    app = world.bring_to(world.application(), "submitted")
    error = assert_error(api.fire(app.id, "request_completion", world.users["instructor"]),
                         422, "comment_required", ["comment"])
    assert error["message"] == "Un message (motivation) est obligatoire."
    assert error["fields"] == {"comment": ["Un message est obligatoire."]}


def test_accepted_trigger_answers_with_the_application(api, world):
    app = world.bring_to(world.application(), "submitted")
    body = ok(api.fire(app.id, "declare_eligible", world.users["instructor"],
                       {"comment": "Dossier complet."}))
    assert body["id"] == app.id and body["state"] == "eligible"
    assert body["history"][-1]["trigger"] == "declare_eligible"
    assert body["history"][-1]["comment"] == "Dossier complet."


# -- submit -----------------------------------------------------------------------------
def test_submit_an_incomplete_application_lists_every_problem(api, world, db):
    applicant = world.users["applicant"]
    created = ok(api.post("/applications", as_=applicant, json={
        "call_id": world.call.id, "organisation_id": world.org.id, "title": "Un titre"}), 201)
    before = snapshot(api, world, db, created["id"])
    error = assert_error(api.fire(created["id"], "submit", applicant), 422,
                         "invalid_application")
    assert set(error["fields"]) >= {"summary", "domains", "grounds", "territories",
                                    "beneficiaries", "starts_on", "ends_on", "budget",
                                    "requested_cents"}
    assert "title" not in error["fields"]
    assert snapshot(api, world, db, created["id"]) == before
    assert before[1] is None  # no reference given


@pytest.mark.parametrize("changes, field", [
    ({"budget": {"charges": {"64": 10_000_00}, "products": {"74_epci": 5_000_00}}}, "budget"),
    ({"budget": {"charges": {"64": 5_000_00}, "products": {"75": 5_000_00}}}, "budget"),
    ({"requested_cents": 500_00}, "requested_cents"),  # below the call's minimum
    ({"ends_on": None}, "ends_on"),  # an end before the start is refused at once
    ({"domains": []}, "domains"),
])
def test_submit_checks_the_form(api, world, changes, field):
    app = world.application()
    applicant = world.users["applicant"]
    ok(api.patch(f"/applications/{app.id}", as_=applicant, json=changes))
    error = assert_error(api.fire(app.id, "submit", applicant), 422, "invalid_application",
                         [field])
    assert field in error["fields"]


def test_submit_checks_the_share_of_the_cost(api, world, db):
    world.call.max_share_of_cost = 0.4
    db.session.commit()
    app = world.application()  # 5 000 € requested of 10 000 € of charges: 50 %
    assert_error(api.fire(app.id, "submit", world.users["applicant"]), 422,
                 "invalid_application", ["requested_cents"])


def test_submit_after_the_closing_is_refused(api, world, db):
    app = world.application()
    world.call.closes_at = now() - timedelta(seconds=1)
    db.session.commit()
    before = snapshot(api, world, db, app.id)
    error = assert_error(api.fire(app.id, "submit", world.users["applicant"]), 422,
                         "call_closed")
    assert "Paris" in error["message"]
    assert snapshot(api, world, db, app.id) == before


def test_submit_before_the_opening_is_refused(api, world, db):
    app = world.application()
    world.call.opens_at = now() + timedelta(days=1)
    db.session.commit()
    assert_error(api.fire(app.id, "submit", world.users["applicant"]), 422, "call_not_open")


def test_resubmit_after_the_completion_deadline_is_refused(api, world, db):
    app = world.bring_to(world.application(), "incomplete")
    app.completion_deadline = now() - timedelta(seconds=1)
    db.session.commit()
    assert_error(api.fire(app.id, "resubmit", world.users["applicant"]), 422,
                 "deadline_passed")


def test_references_are_numbered_per_fiscal_year(api, world):
    call_2025 = make_call(world.fund, fiscal_year=2025)
    refs = []
    for call in (world.call, world.call, call_2025):
        app = make_application(call, world.org)
        refs.append(ok(api.fire(app.id, "submit", world.users["applicant"]))["reference"])
    assert refs == ["AAP-2026-0001", "AAP-2026-0002", "AAP-2025-0001"]


# -- review and decision ----------------------------------------------------------------
def test_close_review_with_missing_reviews_needs_force_and_a_reason(api, world):
    app = world.bring_to(world.application(), "in_review")
    instructor = world.users["instructor"]
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
               json={"scores": {"pertinence": 4, "faisabilite": 4}, "submit": True}))
    error = assert_error(api.fire(app.id, "close_review", instructor), 422, "reviews_missing")
    assert "Jules Juré" in error["message"] and "Julie Jurée" not in error["message"]
    body = ok(api.fire(app.id, "close_review", instructor,
                       {"force": True, "comment": "Jury réuni, Jules absent."}))
    assert body["state"] == "reviewed"
    assert body["history"][-1]["comment"] == "Jury réuni, Jules absent."


def test_close_review_is_not_blocked_by_a_recused_juror(api, world):
    app = world.bring_to(world.application(), "in_review")
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
               json={"conflict": True}))
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror2"],
               json={"scores": {"pertinence": 4, "faisabilite": 4}, "submit": True}))
    assert ok(api.fire(app.id, "close_review", world.users["instructor"]))["state"] \
        == "reviewed"


def test_open_review_needs_a_jury(api, world, db):
    app = world.bring_to(world.application(), "eligible")
    world.call.jury = []
    db.session.commit()
    assert_error(api.fire(app.id, "open_review", world.users["instructor"]), 422, "no_jury")


def test_grant_above_the_available_budget_is_refused(api, world, db):
    world.call.budget_cents = 8_000_00
    db.session.commit()
    first = world.bring_to(world.application(), "proposed")
    second = world.bring_to(world.application(), "proposed")
    instructor = world.users["instructor"]
    ok(api.fire(first.id, "grant", instructor, {"amount_cents": 5_000_00,
                                                 "decision": DECISION}))
    before = snapshot(api, world, db, second.id)
    error = assert_error(api.fire(second.id, "grant", instructor, {
        "amount_cents": 5_000_00, "decision": DECISION}), 422, "budget_exceeded",
        ["amount_cents"])
    assert "3 000,00" in error["message"].replace("\u202f", " ").replace("\xa0", " ")
    assert snapshot(api, world, db, second.id) == before
    # what is left can still be granted
    body = ok(api.fire(second.id, "grant", instructor, {"amount_cents": 3_000_00,
                                                         "decision": DECISION}))
    assert body["state"] == "granted" and body["granted_cents"] == 3_000_00
    call = ok(api.get(f"/calls/{world.call.id}", as_=instructor))
    assert call["budget"]["available_cents"] == 0


def test_grant_above_an_envelope_is_refused(api, world, db):
    call = make_call(world.fund, envelopes=[("nord", "Nord", 4_000_00),
                                            ("sud", "Sud", 50_000_00)])
    set_jury(call, [world.users["juror"].id])
    app = make_application(call, world.org)
    app.envelope_id = call.envelope("nord").id
    db.session.commit()
    app = world.bring_to(app, "proposed")
    assert_error(api.fire(app.id, "grant", world.users["instructor"], {
        "amount_cents": 5_000_00, "decision": DECISION}), 422, "budget_exceeded")


# -- payments ---------------------------------------------------------------------------
def pay(api, world, app_id: int, amount: int, kind: str = "advance", who: str = "finance"):
    return api.post(f"/applications/{app_id}/payments", as_=world.users[who], json={
        "kind": kind, "amount_cents": amount, "paid_on": "2026-11-02", "mandate": "M-1"})


def test_payments_fire_pay_then_are_audited_actions(api, world, db):
    app = world.bring_to(world.application(), "contracted")
    first = ok(pay(api, world, app.id, 4_000_00), 201)
    assert first["state"] == "in_progress"
    assert (first["amount_cents"], first["paid_total_cents"], first["left_to_pay_cents"]) == (
        4_000_00, 4_000_00, 1_000_00)
    history = ok(api.get(f"/applications/{app.id}", as_=world.users["finance"]))["history"]
    second = ok(pay(api, world, app.id, 1_000_00, "balance"), 201)
    assert second["state"] == "in_progress"
    assert (second["paid_total_cents"], second["left_to_pay_cents"]) == (5_000_00, 0)
    body = ok(api.get(f"/applications/{app.id}", as_=world.users["finance"]))
    assert body["history"] == history  # no state change
    payments = [a for a in body["activity"] if a["action"] == "payment"]
    assert len(payments) == 1 and payments[0]["data"]["amount_cents"] == 1_000_00
    assert body["paid_cents"] == 5_000_00


@pytest.mark.parametrize("state, paid_first, amount", [
    ("granted", 0, 5_000_01),
    ("contracted", 0, 10_000_00),
    ("in_progress", None, 1),  # the advance paid everything already
    ("report_approved", None, 1),
])
def test_overpayment_is_refused(api, world, db, state, paid_first, amount):
    app = world.bring_to(world.application(), state)
    before = snapshot(api, world, db, app.id)
    error = assert_error(pay(api, world, app.id, amount), 422, "overpayment", ["amount_cents"])
    # 5 000 € granted; the advance of the world's trip paid all of it from in_progress on
    left = "5 000,00 €" if state in ("granted", "contracted") else "0,00 €"
    asked = {5_000_01: "5 000,01 €", 10_000_00: "10 000,00 €", 1: "0,01 €"}[amount]
    assert " ".join(error["message"].replace("\u202f", " ").replace("\xa0", " ").split()) == (
        f"Versement refusé : {asked} dépasse le reste à payer ({left} sur 5 000,00 € "
        "accordés).")
    assert snapshot(api, world, db, app.id) == before


@pytest.mark.parametrize("state", ["submitted", "proposed", "closed", "cancelled", "rejected"])
def test_payment_in_a_wrong_state_is_409(api, world, db, state):
    app = world.bring_to(world.application(), state)
    before = snapshot(api, world, db, app.id)
    assert_error(pay(api, world, app.id, 100), 409, "invalid_state")
    assert snapshot(api, world, db, app.id) == before


@pytest.mark.parametrize("state", ["granted", "in_progress"])
def test_only_finance_records_payments(api, world, db, subtests, state):
    app = world.bring_to(world.application(), state)
    before = snapshot(api, world, db, app.id)
    for who in ("instructor", "applicant", "admin", "juror"):
        with subtests.test(who=who):
            assert_error(pay(api, world, app.id, 100, who=who), 403, "forbidden")
    assert snapshot(api, world, db, app.id) == before


BAD_PAYMENTS = [
    ({"kind": "advance", "amount_cents": 0, "paid_on": "2026-11-02"}, "amount_cents"),
    ({"kind": "advance", "amount_cents": -5, "paid_on": "2026-11-02"}, "amount_cents"),
    ({"kind": "advance", "amount_cents": "100", "paid_on": "2026-11-02"}, "amount_cents"),
    ({"kind": "advance", "amount_cents": 100.0, "paid_on": "2026-11-02"}, "amount_cents"),
    ({"kind": "gift", "amount_cents": 100, "paid_on": "2026-11-02"}, "kind"),
    ({"kind": "advance", "amount_cents": 100, "paid_on": "02/11/2026"}, "paid_on"),
    ({"kind": "advance", "amount_cents": 100}, "paid_on"),
]


def test_payment_validation(api, world, db, subtests):
    app = world.bring_to(world.application(), "granted")
    before = snapshot(api, world, db, app.id)
    for body, field in BAD_PAYMENTS:
        with subtests.test(body=body):
            response = api.post(f"/applications/{app.id}/payments",
                                as_=world.users["finance"], json=body)
            assert_error(response, 422, "invalid_data", [field])
    assert snapshot(api, world, db, app.id) == before


def test_a_convention_is_required_above_23000_euros(api, world):
    app = world.bring_to(world.application(requested_cents=25_000_00), "granted")
    assert_error(pay(api, world, app.id, 1_000_00), 422, "convention_required")
    ok(api.fire(app.id, "sign_convention", world.users["instructor"],
                trigger_data("sign_convention", app)))
    assert ok(pay(api, world, app.id, 1_000_00), 201)["state"] == "in_progress"


def test_close_needs_the_balance_settled(api, world):
    app = world.bring_to(world.application(), "contracted")
    ok(pay(api, world, app.id, 4_000_00), 201)
    ok(api.post(f"/applications/{app.id}/report", as_=world.users["applicant"],
                json=trigger_data("submit_report", app)))
    ok(api.fire(app.id, "approve_report", world.users["instructor"]))
    finance = world.users["finance"]
    assert_error(api.fire(app.id, "close", finance), 422, "balance_unsettled")
    body = ok(api.fire(app.id, "close", finance, {"release_unpaid": True,
                                                  "comment": "Reliquat non dépensé."}))
    assert body["state"] == "closed"
    call = ok(api.get(f"/calls/{world.call.id}", as_=finance))
    assert call["budget"]["available_cents"] == world.call.budget_cents - 4_000_00


# -- the full trip, by API only ---------------------------------------------------------
def test_full_trip_by_api(api, world, db):
    instructor, finance = world.users["instructor"], world.users["finance"]
    juror, juror2 = world.users["juror"], world.users["juror2"]

    # the instructor configures a fund, a call and its jury
    fund = ok(api.post("/funds", as_=instructor, json={
        "name": "Fonds d'initiative", "owner_name": "Métropole", "owner_siret": "20005478100022",
        "imputation": {"chapter": "65", "nature": "65748", "function": "552",
                       "subpolicy": "D110"}}), 201)
    year = now().year
    call = ok(api.post("/calls", as_=instructor, json={
        "fund_id": fund["id"], "title": f"AAP {year}", "fiscal_year": year,
        "opens_at": (now() - timedelta(days=1)).isoformat(),
        "closes_at": (now() + timedelta(days=30)).isoformat(),
        "budget_cents": 60_000_00,
        "rules": {"min_request_cents": 1_000_00, "max_request_cents": 20_000_00,
                  "max_share_of_cost": "0.8"},
        "grid": [{"key": "pertinence", "label": "Pertinence", "weight": "2", "max": 5},
                 {"key": "faisabilite", "label": "Faisabilité", "weight": "1", "max": 5}],
        "scale": 20, "min_reviews": 2}), 201)
    assert call["is_open"] is True
    ok(api.put(f"/calls/{call['id']}/jury", as_=instructor,
               json={"juror_ids": [juror.id, juror2.id]}))

    # a new association registers, logs in, describes itself and applies
    ok(api.post("/auth/register", json={"email": "contact@egalite13.example.org",
                                        "password": "Egalite-13-asso", "name": "Égalité 13"}),
       201)
    applicant = "contact@egalite13.example.org"
    api.token(applicant, "Egalite-13-asso")
    org = ok(api.post("/organisations", as_=applicant, json={
        "name": "Égalité 13", "siret": "73282932000074", "rna": "W133012345",
        "address": "1 rue de la République", "postcode": "13001", "city": "Marseille",
        "legal_representative": "Nadia Haddad", "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP"}), 201)
    app = ok(api.post("/applications", as_=applicant, json={
        "call_id": call["id"], "organisation_id": org["id"], "title": "Brouillon"}), 201)
    app_id = app["id"]
    ok(api.patch(f"/applications/{app_id}", as_=applicant, json={
        "title": "Ateliers d'accès aux droits",
        "summary": "Permanences juridiques contre les discriminations au logement.",
        "domains": ["logement"], "grounds": ["origine"], "territories": ["Marseille"],
        "beneficiaries": 120, "starts_on": f"{year}-09-01", "ends_on": f"{year + 1}-06-30",
        "budget": {"charges": {"61": 4_000_00, "64": 8_000_00},
                   "products": {"74_epci": 9_000_00, "75": 3_000_00}},
        "requested_cents": 9_000_00}))
    submitted = ok(api.fire(app_id, "submit", applicant))
    assert submitted["state"] == "submitted"
    assert re.fullmatch(rf"AAP-{call['fiscal_year']}-\d{{4}}", submitted["reference"])
    assert submitted["reference"] == f"AAP-{year}-0001"

    # instruction and jury
    ok(api.fire(app_id, "declare_eligible", instructor))
    assert ok(api.fire(app_id, "open_review", instructor))["state"] == "in_review"
    for who, scores in ((juror, {"pertinence": 4, "faisabilite": 5}),
                        (juror2, {"pertinence": 5, "faisabilite": 3})):
        review = ok(api.put(f"/applications/{app_id}/review", as_=who,
                            json={"scores": scores, "comment": "Solide", "submit": True}))
        # (2 × 4 + 5) / 15 × 20 and (2 × 5 + 3) / 15 × 20: both 17.333
        assert review["submitted"] is True and Decimal(review["total"]) == Decimal("17.333")
    ok(api.fire(app_id, "close_review", instructor))
    ok(api.fire(app_id, "propose", instructor, {"amount_cents": 8_000_00}))
    granted = ok(api.fire(app_id, "grant", instructor, {"amount_cents": 8_000_00,
                                                         "decision": DECISION}))
    assert granted["state"] == "granted" and granted["granted_cents"] == 8_000_00
    ok(api.fire(app_id, "sign_convention", instructor, {"convention": {
        "reference": "CONV-1", "signed_on": f"{year}-10-20",
        "schedule": [{"kind": "advance", "share": "0.8"}, {"kind": "balance", "share": "0.2"}]}}))

    # payments: the advance fires pay, the balance is an audited action
    assert ok(pay(api, world, app_id, 6_400_00), 201)["state"] == "in_progress"
    assert ok(pay(api, world, app_id, 1_600_00, "balance"), 201)["state"] == "in_progress"
    figures = ok(api.get(f"/calls/{call['id']}", as_=finance))["budget"]
    assert (figures["granted_cents"], figures["paid_cents"], figures["available_cents"]) == (
        8_000_00, 8_000_00, 52_000_00)

    # the report, its approval, the closing
    report = ok(api.post(f"/applications/{app_id}/report", as_=applicant, json={
        "realised": {"charges": {"61": 4_000_00, "64": 7_500_00},
                     "products": {"74_epci": 8_000_00, "75": 3_500_00}},
        "beneficiaries_reached": 104, "narrative": "Quarante permanences tenues."}))
    assert report["state"] == "report_submitted"
    ok(api.fire(app_id, "approve_report", instructor))
    closed = ok(api.fire(app_id, "close", finance))
    assert closed["state"] == "closed"

    final = ok(api.get(f"/applications/{app_id}", as_=applicant))
    assert [h["trigger"] for h in final["history"]] == [
        "submit", "declare_eligible", "open_review", "close_review", "propose", "grant",
        "sign_convention", "pay", "submit_report", "approve_report", "close"]
    states = ["draft"] + [h["to"] for h in final["history"]]
    assert all(h["from"] == states[i] for i, h in enumerate(final["history"]))
    assert [h["at"] for h in final["history"]] == sorted(h["at"] for h in final["history"])
    actors = {h["trigger"]: h["actor"] for h in final["history"]}
    assert actors["submit"] == "Égalité 13" and actors["pay"] == "Fabien Finances"
    assert [a["action"] for a in final["activity"]] == ["create", "edit", "payment"]
    staff = ok(api.get(f"/applications/{app_id}", as_=instructor))
    assert [a["action"] for a in staff["activity"]].count("review_submitted") == 2
    assert staff["history"] == final["history"]
    assert Decimal(final["score"]) == Decimal("17.333")  # decided: the applicant sees it
    assert final["available_triggers"] == []
    # the applicant hears of each step that concerns it; staff of what they act on
    # (the per-trigger detail is in tests/workflows/test_notifications.py)
    mails = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    to_applicant = [m.subject.split(" — ")[0] for m in mails if m.recipient_email == applicant]
    assert to_applicant == [
        "Accusé de réception", f"Votre dossier AAP-{year}-0001 est recevable",
        "Subvention accordée", "Convention signée", "Versement", "Compte rendu reçu",
        "Compte rendu approuvé", "Dossier clos"]
    assert Counter(m.recipient_email for m in mails if m.recipient_email != applicant) == {
        instructor.email: 2, finance.email: 3, juror.email: 1, juror2.email: 1}


def test_a_report_sent_back_for_changes_can_be_submitted_again(api, world):
    app = world.bring_to(world.application(), "in_progress")
    applicant, instructor = world.users["applicant"], world.users["instructor"]
    first = trigger_data("submit_report", app)
    ok(api.post(f"/applications/{app.id}/report", as_=applicant, json=first))
    ok(api.fire(app.id, "request_report_changes", instructor,
                {"comment": "Détaillez la ligne 64."}))
    charges = dict(first["realised"]["charges"])
    charges["61"] = charges.pop("62")  # a line moved, the others kept with new amounts
    charges["64"] -= 100
    products = {**first["realised"]["products"]}
    products["75"] -= 100
    again = {**first, "realised": {"charges": charges, "products": products},
             "narrative": "Douze ateliers ; la ligne 64 couvre deux animateurs."}
    report = ok(api.post(f"/applications/{app.id}/report", as_=applicant, json=again))
    assert report["state"] == "report_submitted"
    assert report["narrative"] == again["narrative"]
    lines = {(line["side"], line["code"]): line["amount_cents"] for line in report["lines"]}
    assert lines == {(side, code): cents for side, amounts in again["realised"].items()
                     for code, cents in amounts.items()}
