"""GET /api/v1/calls/{id}/exports/balance.xlsx and GET /api/v1/exports/balance.xlsx?
fiscal_year= (SPEC 7.1: finance, instructor; the balance sheet of SPEC 6): the roles, the
statuses and errors of SPEC 7.1, the workbook."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from aap.models import Call
from tests.api.helpers import assert_error
from tests.factories import make_call

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def call_url(call_id: int) -> str:
    return f"/calls/{call_id}/exports/balance.xlsx"


def year_url(query: str) -> str:
    return f"/exports/balance.xlsx{query}"


@pytest.fixture
def grant(world):
    """One application of the world's call granted 5 000 €."""
    return world.bring_to(world.application(), "granted")


def _attributions(response) -> list[tuple]:
    book = load_workbook(io.BytesIO(response.data), data_only=True)
    rows = list(book["Attributions"].iter_rows(min_row=2, values_only=True))
    return [row for row in rows if row[0] not in (None, "Total")]


@pytest.mark.parametrize("role", ["finance", "instructor"])
def test_finance_and_instructors_download_the_call_workbook(api, world, grant, role):
    response = api.get(call_url(world.call.id), as_=world.users[role])
    assert response.status_code == 200, response.get_data(True)
    assert response.mimetype == XLSX
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=bilan-appel-{world.call.id}.xlsx")
    rows = _attributions(response)
    assert [(r[1], r[3], r[15]) for r in rows] == [(grant.reference, world.org.name, 5000)]


@pytest.mark.parametrize("role", ["finance", "instructor"])
def test_finance_and_instructors_download_the_year_workbook(api, world, grant, role):
    other = make_call(world.fund, title="AAP 2025", fiscal_year=2025)
    response = api.get(year_url("?fiscal_year=2026"), as_=world.users[role])
    assert response.status_code == 200, response.get_data(True)
    assert response.mimetype == XLSX
    assert "filename=bilan-2026.xlsx" in response.headers["Content-Disposition"]
    assert [r[1] for r in _attributions(response)] == [grant.reference]
    synthesis = load_workbook(io.BytesIO(response.data))["Synthèse"]
    titles = {row[9] for row in synthesis.iter_rows(min_row=2, values_only=True)}
    assert world.call.title in titles and other.title not in titles


def test_a_year_without_calls_is_the_sheets_alone(api, world):
    response = api.get(year_url("?fiscal_year=2031"), as_=world.users["finance"])
    assert response.status_code == 200
    assert _attributions(response) == []


def test_authority_id_is_checked(api, world, grant):
    """An unknown authority is 404 (the workbook of an authority: test_balance_authority)."""
    assert_error(api.get(year_url("?fiscal_year=2026&authority_id=1"),
                         as_=world.users["finance"]), 404, "not_found")
    assert_error(api.get(year_url("?fiscal_year=2026&authority_id=x"),
                         as_=world.users["finance"]), 422, fields=["authority_id"])


@pytest.mark.parametrize("role", ["applicant", "juror", "admin"])
def test_other_roles_are_forbidden(api, world, grant, role):
    assert_error(api.get(call_url(world.call.id), as_=world.users[role]), 403, "forbidden")
    assert_error(api.get(year_url("?fiscal_year=2026"), as_=world.users[role]), 403,
                 "forbidden")


def test_other_roles_are_forbidden_before_the_call_or_the_query_is_read(api, world):
    assert_error(api.get(call_url(999_999), as_=world.users["applicant"]), 403, "forbidden")
    assert_error(api.get(year_url("?fiscal_year=abc"), as_=world.users["juror"]), 403,
                 "forbidden")


def test_anonymous_and_bad_tokens_get_401(api, world):
    for url in (call_url(world.call.id), year_url("?fiscal_year=2026")):
        assert_error(api.get(url), 401, "unauthorized")
        assert_error(api.get(url, token="not-a-token"), 401, "unauthorized")


def test_an_unknown_call_is_404(api, world, db):
    unknown = (db.session.query(Call.id).order_by(Call.id.desc()).limit(1).scalar() or 0) + 1
    assert_error(api.get(call_url(unknown), as_=world.users["finance"]), 404, "not_found")


@pytest.mark.parametrize("query", ["", "?fiscal_year=", "?fiscal_year=abc",
                                   "?fiscal_year=2026.5", "?fiscal_year=1999",
                                   "?fiscal_year=99999999999999999999999"])
def test_a_missing_or_bad_fiscal_year_is_422_with_its_field(api, world, query):
    response = api.get(year_url(query), as_=world.users["instructor"])
    error = assert_error(response, 422, "invalid_data", fields=["fiscal_year"])
    assert set(error["fields"]) == {"fiscal_year"}


def test_an_unknown_parameter_is_422_naming_it(api, world):
    response = api.get(year_url("?fiscal_year=2026&year=2026"), as_=world.users["finance"])
    assert_error(response, 422, "invalid_data", fields=["year"])
