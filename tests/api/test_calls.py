"""Funds and calls: creation (instructor only), validation, budget figures, the jury."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from aap.models import Call
from tests.api.helpers import assert_error, ok

FUND = {"name": "Fonds d'initiative PMLCD", "owner_name": "Métropole Aix-Marseille-Provence",
        "owner_siret": "20005478100022",
        "imputation": {"chapter": "65", "nature": "65748", "function": "552",
                       "subpolicy": "D110"}}


def call_body(fund: int, **changes) -> dict:
    body = {
        "fund_id": fund, "title": "Appel à projets 2027", "fiscal_year": 2027,
        "opens_at": "2027-01-15T09:00:00+01:00", "closes_at": "2027-03-31T23:59:00+02:00",
        "budget_cents": 100_000_00,
        "envelopes": [{"key": "nord", "label": "Territoire Nord", "budget_cents": 40_000_00},
                      {"key": "sud", "label": "Territoire Sud", "budget_cents": 60_000_00}],
        "rules": {"min_request_cents": 1_000_00, "max_request_cents": 30_000_00,
                  "max_share_of_cost": "0.8"},
        "grid": [{"key": "pertinence", "label": "Pertinence", "weight": "2", "max": 5},
                 {"key": "faisabilite", "label": "Faisabilité", "weight": "1", "max": 5}],
        "scale": 20, "min_total": "10", "min_reviews": 2, "overflow": "skip",
        "partial_min_share": "0.5",
    }
    body.update(changes)
    return body


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


# -- funds ------------------------------------------------------------------------------
def test_instructor_creates_a_fund(api, world):
    body = ok(api.post("/funds", as_=world.users["instructor"], json=FUND), 201)
    assert isinstance(body["id"], int)
    assert body["name"] == FUND["name"]
    assert body["owner_siret"] == "20005478100022"
    assert body["imputation"] == FUND["imputation"]
    assert body["owner_product_line"] == "74_epci"


def test_fund_siret_may_be_typed_with_spaces(api, world):
    body = ok(api.post("/funds", as_=world.users["instructor"],
                       json={**FUND, "owner_siret": "200 054 781 00022"}), 201)
    assert body["owner_siret"] == "20005478100022"


@pytest.mark.parametrize("role", ["applicant", "juror", "finance"])
def test_only_instructors_create_funds_and_calls(api, world, role):
    user = world.users[role]
    assert_error(api.post("/funds", as_=user, json=FUND), 403, "forbidden")
    assert_error(api.post("/calls", as_=user, json=call_body(world.fund.id)), 403, "forbidden")


BAD_FUNDS = [
    ({"owner_siret": "20005478100023"}, ["owner_siret"]),  # bad Luhn key
    ({"owner_siret": "1234"}, ["owner_siret"]),
    ({"owner_siret": "ABCDEFGHIJKLMN"}, ["owner_siret"]),
    ({"owner_siret": ""}, ["owner_siret"]),
    ({"name": ""}, ["name"]),
    ({"owner_product_line": "74_moon"}, ["owner_product_line"]),
    ({"imputation": {"chapter": "65", "colour": "red"}}, ["imputation.colour"]),
]


def test_fund_validation(api, world, subtests):
    for changes, fields in BAD_FUNDS:
        with subtests.test(changes=changes):
            response = api.post("/funds", as_=world.users["instructor"],
                                json={**FUND, **changes})
            assert_error(response, 422, "invalid_data", fields)


# -- calls ------------------------------------------------------------------------------
def test_instructor_creates_a_call(api, world):
    body = ok(api.post("/calls", as_=world.users["instructor"],
                       json=call_body(world.fund.id)), 201)
    assert isinstance(body["id"], int)
    assert body["fund_id"] == world.fund.id
    assert _moment(body["opens_at"]) == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert _moment(body["closes_at"]) == datetime(2027, 3, 31, 21, 59, tzinfo=UTC)
    assert body["budget_cents"] == 100_000_00
    assert [e["key"] for e in body["envelopes"]] == ["nord", "sud"]
    assert [(c["key"], Decimal(c["weight"]), c["max"]) for c in body["grid"]] == [
        ("pertinence", 2, 5), ("faisabilite", 1, 5)]
    assert Decimal(body["rules"]["max_share_of_cost"]) == Decimal("0.8")
    assert body["overflow"] == "skip"
    assert body["budget"] == {"budget_cents": 100_000_00, "proposed_cents": 0,
                              "granted_cents": 0, "committed_cents": 0, "paid_cents": 0,
                              "repaid_cents": 0, "left_to_pay_cents": 0,
                              "available_cents": 100_000_00}
    assert body["juror_ids"] == []
    assert body["is_open"] is False  # opens in 2027
    assert ok(api.get(f"/calls/{body['id']}", as_=world.users["applicant"]))["title"] \
        == "Appel à projets 2027"


def test_a_call_may_record_last_years_dates(api, world):
    body = ok(api.post("/calls", as_=world.users["instructor"], json=call_body(
        world.fund.id, fiscal_year=2020, opens_at="2020-01-01T00:00:00+01:00",
        closes_at="2020-03-01T00:00:00+01:00")), 201)
    assert body["is_open"] is False


BAD_CALLS = [
    ({"closes_at": "2027-01-01T00:00:00+01:00"}, ["closes_at"]),
    ({"closes_at": "2027-01-15T09:00:00+01:00"}, ["closes_at"]),  # equal to opens_at
    ({"envelopes": [{"key": "nord", "label": "Nord", "budget_cents": 70_000_00},
                    {"key": "sud", "label": "Sud", "budget_cents": 40_000_00}]}, ["envelopes"]),
    ({"envelopes": [{"key": "nord", "label": "Nord", "budget_cents": 1},
                    {"key": "nord", "label": "Nord bis", "budget_cents": 1}]}, ["envelopes"]),
    ({"opens_at": "2027-01-15T09:00:00"}, ["opens_at"]),  # naive: no offset
    ({"closes_at": "2027-03-31T23:59:00"}, ["closes_at"]),
    ({"opens_at": "2027-01-15"}, ["opens_at"]),
    ({"opens_at": "15/01/2027 09:00"}, ["opens_at"]),
    ({"fund_id": 999999}, ["fund_id"]),
    ({"budget_cents": "10000000"}, ["budget_cents"]),
    ({"budget_cents": 100000.5}, ["budget_cents"]),
    ({"budget_cents": -1}, ["budget_cents"]),
    ({"fiscal_year": "2027"}, ["fiscal_year"]),
    ({"overflow": "knapsack"}, ["overflow"]),
    ({"grid": [{"key": "a", "label": "A", "max": 5}, {"key": "a", "label": "B", "max": 5}]},
     ["grid"]),
    ({"grid": [{"key": "a", "label": "A", "max": 0}]}, ["grid.0.max"]),
    ({"rules": {"min_request_cents": 5_000_00, "max_request_cents": 1_000_00}}, ["rules"]),
    ({"rules": {"max_share_of_cost": "1.5"}}, ["rules.max_share_of_cost"]),
    ({"title": ""}, ["title"]),
    ({"jury": [1, 2]}, ["jury"]),
]


def test_call_validation(api, world, db, subtests):
    for changes, fields in BAD_CALLS:
        with subtests.test(changes=changes):
            response = api.post("/calls", as_=world.users["instructor"],
                                json=call_body(world.fund.id, **changes))
            assert_error(response, 422, "invalid_data", fields)
    for missing in ("fund_id", "title", "fiscal_year", "opens_at", "closes_at",
                    "budget_cents"):
        with subtests.test(missing=missing):
            body = call_body(world.fund.id)
            del body[missing]
            assert_error(api.post("/calls", as_=world.users["instructor"], json=body), 422,
                         "invalid_data", [missing])
    assert db.session.scalar(select(func.count(Call.id))) == 1  # the world's only


def test_call_problems_are_reported_together(api, world):
    response = api.post("/calls", as_=world.users["instructor"], json=call_body(
        world.fund.id, closes_at="2026-01-01T00:00:00+01:00",
        envelopes=[{"key": "x", "label": "X", "budget_cents": 200_000_00}]))
    assert_error(response, 422, "invalid_data", ["closes_at", "envelopes"])


def test_call_list_includes_budget_figures_for_every_role(api, world):
    ok(api.post("/calls", as_=world.users["instructor"], json=call_body(world.fund.id)), 201)
    for role in ("applicant", "instructor", "finance", "juror", "admin"):
        body = ok(api.get("/calls", as_=world.users[role]))
        assert body["total"] == 2 and body["page"] == 1 and body["pages"] == 1
        assert len(body["items"]) == 2
        for item in body["items"]:
            assert set(item["budget"]) >= {"budget_cents", "granted_cents", "paid_cents",
                                           "available_cents"}
            assert item["budget"]["budget_cents"] == item["budget_cents"]


def _figures(api, world, call_id: int) -> dict:
    single = ok(api.get(f"/calls/{call_id}", as_=world.users["finance"]))["budget"]
    listed = next(c for c in ok(api.get("/calls", as_=world.users["finance"]))["items"]
                  if c["id"] == call_id)["budget"]
    assert single == listed
    return single


def test_budget_figures_move_with_grants_payments_and_cancellation(api, world):
    call_id = world.call.id
    assert _figures(api, world, call_id)["available_cents"] == 100_000_00

    proposed = world.bring_to(world.application(requested_cents=8_000_00), "proposed")
    figures = _figures(api, world, call_id)
    assert figures["granted_cents"] == 0 and figures["available_cents"] == 100_000_00

    app = world.bring_to(world.application(requested_cents=5_000_00), "contracted")
    figures = _figures(api, world, call_id)
    assert (figures["granted_cents"], figures["paid_cents"], figures["available_cents"]) == (
        5_000_00, 0, 95_000_00)

    ok(api.post(f"/applications/{app.id}/payments", as_=world.users["finance"], json={
        "kind": "advance", "amount_cents": 4_000_00, "paid_on": "2026-11-02",
        "mandate": "M-1"}), 201)
    figures = _figures(api, world, call_id)
    assert (figures["granted_cents"], figures["paid_cents"], figures["available_cents"]) == (
        5_000_00, 4_000_00, 95_000_00)

    # a cancelled grant keeps only what was paid: the unpaid 1 000 € is freed
    ok(api.fire(app.id, "cancel", world.users["instructor"], {"comment": "Projet arrêté."}))
    figures = _figures(api, world, call_id)
    assert figures["paid_cents"] == 4_000_00
    assert figures["available_cents"] == 96_000_00

    # a withdrawal before the grant frees nothing, as nothing was committed
    ok(api.fire(proposed.id, "withdraw", world.users["applicant"]))
    assert _figures(api, world, call_id)["available_cents"] == 96_000_00


# -- jury -------------------------------------------------------------------------------
def test_instructor_sets_the_jury(api, world):
    jurors = [world.users["juror"].id, world.users["outside_juror"].id]
    body = ok(api.put(f"/calls/{world.call.id}/jury", as_=world.users["instructor"],
                      json={"juror_ids": jurors}))
    assert body["call_id"] == world.call.id
    assert sorted(j["id"] for j in body["jurors"]) == sorted(jurors)
    assert all(j["email"] for j in body["jurors"])
    call = ok(api.get(f"/calls/{world.call.id}", as_=world.users["instructor"]))
    assert sorted(call["juror_ids"]) == sorted(jurors)


@pytest.mark.parametrize("who", ["applicant", "instructor", "unknown"])
def test_jury_refuses_non_jurors(api, world, who):
    bad = 999999 if who == "unknown" else world.users[who].id
    response = api.put(f"/calls/{world.call.id}/jury", as_=world.users["instructor"],
                       json={"juror_ids": [world.users["outside_juror"].id, bad]})
    error = assert_error(response, 422, "invalid_data", ["juror_ids"])
    assert str(bad) in " ".join(error["fields"]["juror_ids"])
    call = ok(api.get(f"/calls/{world.call.id}", as_=world.users["instructor"]))
    assert sorted(call["juror_ids"]) == sorted([world.users["juror"].id,
                                                world.users["juror2"].id])  # unchanged


@pytest.mark.parametrize("body, field", [({"juror_ids": "1"}, "juror_ids"),
                                         ({"juror_ids": ["a"]}, "juror_ids.0"),
                                         ({}, "juror_ids")])
def test_jury_body_validation(api, world, body, field):
    assert_error(api.put(f"/calls/{world.call.id}/jury", as_=world.users["instructor"],
                         json=body), 422, "invalid_data", [field])


@pytest.mark.parametrize("role", ["applicant", "juror", "finance"])
def test_only_instructors_set_the_jury(api, world, role):
    response = api.put(f"/calls/{world.call.id}/jury", as_=world.users[role],
                       json={"juror_ids": [world.users["juror"].id]})
    assert_error(response, 403, "forbidden")
