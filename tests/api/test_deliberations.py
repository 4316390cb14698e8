"""The API of decisions and conventions (issue 9, items 5 and 6):
``POST /calls/{id}/deliberations``, ``GET /calls/{id}/deliberations/{reference}/annex.xlsx``,
``GET /applications/{id}/convention.pdf``, and the two thresholds of a call. Expected
values are written by hand; errors follow SPEC 7.1."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from aap.extensions import db
from aap.models import Application, Call
from tests.api.helpers import assert_error, ok
from tests.api.test_strict_fields import call_body
from tests.services.test_deliberations import budget, proposed, reviewed

E = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BODY = {"body": "Bureau de la Métropole", "reference": "DEL-2026-117", "date": "2026-10-12"}


@pytest.fixture
def three(world):
    """Budget 10 000 €: A 4 000 € (rank 1), B 5 000 € (rank 2), C 3 000 € (rank 3),
    proposed; D reviewed only."""
    budget(world, 10_000)
    return (proposed(world, 4000, 5, 4), proposed(world, 5000, 4, 4),
            proposed(world, 3000, 3, 4), reviewed(world, 2000, 5, 5))


def state(app) -> str:
    db.session.rollback()
    return db.session.get(Application, app.id).state


def test_a_deliberation_grants_and_reports_each_refusal(api, world, three):
    a, b, c, d = three
    body = ok(api.post(f"/calls/{world.call.id}/deliberations", as_=world.users["instructor"],
                       json={**BODY, "application_ids": [c.id, d.id, b.id, a.id, 424242]}))
    # A and B take 9 000 €, C finds 1 000 € left; D is not proposed; 424242 is unknown
    assert body["granted"] == [{"application_id": b.id, "amount_cents": 5000 * E},
                               {"application_id": a.id, "amount_cents": 4000 * E}]
    refused = {r["application_id"]: r for r in body["refused"]}
    assert [r["application_id"] for r in body["refused"]] == [c.id, d.id, 424242]
    assert refused[c.id] == {"application_id": c.id, "code": "budget_exceeded",
                             "message": "Budget insuffisant : 3\u202f000,00\xa0€ demandés, "
                                        "1\u202f000,00\xa0€ disponibles sur l'appel."}
    assert refused[d.id]["code"] == "invalid_state"
    assert refused[424242] == {"application_id": 424242, "code": "not_found",
                               "message": "Dossier introuvable dans cet appel."}
    assert [state(x) for x in (a, b, c, d)] == ["granted", "granted", "proposed", "reviewed"]
    granted = ok(api.get(f"/applications/{a.id}", as_=world.users["instructor"]))
    assert granted["granted_cents"] == 4000 * E


@pytest.mark.parametrize("role", ["finance", "applicant", "juror", "admin"])
def test_only_instructors_record_a_deliberation_and_the_role_comes_first(api, world, three,
                                                                        role):
    response = api.post(f"/calls/{world.call.id}/deliberations", as_=world.users[role],
                        json={"no_such_field": 1})
    assert_error(response, 403, "forbidden")
    assert state(three[0]) == "proposed"


@pytest.mark.parametrize(("changes", "fields"), [
    ({"body": ""}, ["body"]),
    ({"reference": "x" * 101}, ["reference"]),
    ({"date": "12/10/2026"}, ["date"]),
    ({"application_ids": []}, ["application_ids"]),
    ({"application_ids": ["1"]}, ["application_ids.0"]),
    ({"application_ids": [0]}, ["application_ids.0"]),
    ({"application_ids": [2**31]}, ["application_ids.0"]),
    ({"amount_cents": 5}, ["amount_cents"]),
])
def test_a_bad_body_is_refused_and_grants_nothing(api, world, three, changes, fields):
    body = {**BODY, "application_ids": [three[0].id], **changes}
    response = api.post(f"/calls/{world.call.id}/deliberations",
                        as_=world.users["instructor"], json=body)
    error = assert_error(response, 422, "invalid_data", fields)
    assert set(error["fields"]) == set(fields)
    assert state(three[0]) == "proposed"


def test_a_missing_body_names_every_field(api, world, three):
    response = api.post(f"/calls/{world.call.id}/deliberations",
                        as_=world.users["instructor"], json={})
    error = assert_error(response, 422, "invalid_data")
    assert set(error["fields"]) == {"body", "reference", "date", "application_ids"}


def test_an_unknown_call_is_404(api, world, three):
    response = api.post("/calls/999999/deliberations", as_=world.users["instructor"],
                        json={**BODY, "application_ids": [three[0].id]})
    assert_error(response, 404, "not_found")


def test_a_reference_already_used_with_another_date_is_refused(api, world, three):
    a, b, *_ = three
    instructor = world.users["instructor"]
    ok(api.post(f"/calls/{world.call.id}/deliberations", as_=instructor,
                json={**BODY, "application_ids": [a.id]}))
    response = api.post(f"/calls/{world.call.id}/deliberations", as_=instructor,
                        json={**BODY, "date": "2026-11-30", "application_ids": [b.id]})
    assert_error(response, 422, "invalid_data", ["reference"])
    assert state(b) == "proposed"


def test_the_annex_of_a_deliberation(api, world, three):
    a, b, *_ = three
    reference = "DEL 2026/117"
    ok(api.post(f"/calls/{world.call.id}/deliberations", as_=world.users["instructor"],
                json={**BODY, "reference": reference, "application_ids": [a.id, b.id]}))
    url = f"/calls/{world.call.id}/deliberations/DEL%202026/117/annex.xlsx"
    for role in ("instructor", "finance"):
        response = api.get(url, as_=world.users[role])
        assert response.status_code == 200 and response.mimetype == XLSX
        assert "annexe-DEL-2026-117.xlsx" in response.headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(response.data), data_only=True)["Annexe"]
        assert sheet["A1"].value == ("Annexe à la délibération DEL 2026/117 du 12/10/2026 — "
                                     "Bureau de la Métropole")
        assert sorted(sheet.cell(row, 5).value for row in (4, 5)) == sorted(
            [a.reference, b.reference])
        assert round(sheet["F6"].value * 100) == 9000 * E  # 4 000 + 5 000
    for role in ("applicant", "juror"):
        assert_error(api.get(url, as_=world.users[role]), 403, "forbidden")
    assert_error(api.get(f"/calls/{world.call.id}/deliberations/DEL-0000/annex.xlsx",
                         as_=world.users["finance"]), 404, "not_found")
    assert_error(api.get(url.replace(f"/calls/{world.call.id}/", "/calls/999999/"),
                         as_=world.users["finance"]), 404, "not_found")


def _text(pdf: bytes) -> str:
    raw = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", raw)


def test_the_convention_of_a_granted_application(api, world):
    app = world.bring_to(world.application(requested_cents=24_000_00), "granted")
    url = f"/applications/{app.id}/convention.pdf"
    for role in ("instructor", "finance", "applicant"):
        response = api.get(url, as_=world.users[role])
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = _text(response.data)
        # 24 000 €: 80 % = 19 200 €, 20 % = 4 800 €
        for expected in ("SIRET 20005478100022", f"SIRET {world.org.siret}", "24 000,00 €",
                         "vingt-quatre mille euros", "19 200,00 €", "4 800,00 €"):
            assert expected in text, expected
    assert_error(api.get(url, as_=world.users["juror"]), 403, "forbidden")
    assert_error(api.get(url, as_=world.users["foreign_applicant"]), 404, "not_found")
    assert_error(api.get("/applications/999999/convention.pdf",
                         as_=world.users["instructor"]), 404, "not_found")


def test_no_convention_before_the_grant(api, world):
    app = world.bring_to(world.application(), "proposed")
    assert_error(api.get(f"/applications/{app.id}/convention.pdf",
                         as_=world.users["instructor"]), 409, "invalid_state")


def test_a_call_carries_its_two_thresholds(api, world):
    instructor = world.users["instructor"]
    created = ok(api.post("/calls", as_=instructor, json=call_body(
        world.fund.id, convention_threshold_cents=30_000_00, report_gap_threshold="0.2")), 201)
    assert (created["convention_threshold_cents"], created["report_gap_threshold"]) == (
        30_000_00, "0.2000")
    call = db.session.get(Call, created["id"])
    assert call.convention_threshold_cents == 30_000_00
    default = ok(api.post("/calls", as_=instructor, json=call_body(world.fund.id)), 201)
    assert (default["convention_threshold_cents"], default["report_gap_threshold"]) == (
        23_000_00, "0.1500")
    shown = ok(api.get(f"/calls/{world.call.id}", as_=world.users["applicant"]))
    assert shown["convention_threshold_cents"] == 23_000_00
    for changes, field in (({"report_gap_threshold": "1.5"}, "report_gap_threshold"),
                           ({"report_gap_threshold": "NaN"}, "report_gap_threshold"),
                           ({"convention_threshold_cents": -1}, "convention_threshold_cents"),
                           ({"convention_threshold_cents": "23000"},
                            "convention_threshold_cents")):
        response = api.post("/calls", as_=instructor, json=call_body(world.fund.id, **changes))
        assert_error(response, 422, "invalid_data", [field])
