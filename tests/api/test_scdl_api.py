"""GET /api/v1/calls/{id}/exports/scdl.csv (SPEC 7.1: finance, instructor; the SCDL
subventions CSV of SPEC 6): the roles, the statuses and errors of SPEC 7.1, the file."""

from __future__ import annotations

import csv
import io

import pytest

from aap.models import Call
from tests.api.helpers import assert_error


def url(call_id: int) -> str:
    return f"/calls/{call_id}/exports/scdl.csv"


@pytest.fixture
def grant(world):
    """One application granted 5 000 € by DEL-2026-117 on 12 October 2026."""
    return world.bring_to(world.application(), "granted")


@pytest.mark.parametrize("role", ["finance", "instructor"])
def test_finance_and_instructors_download_the_csv(api, world, grant, role):
    response = api.get(url(world.call.id), as_=world.users[role])
    assert response.status_code == 200, response.get_data(True)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="subventions-appel-{world.call.id}.csv"')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert [(r["nomBeneficiaire"], r["idBeneficiaire"], r["montant"], r["dateConvention"],
             r["referenceDecision"]) for r in rows] == [
        (world.org.name, world.org.siret, "5000.00", "2026-10-12", "DEL-2026-117")]


@pytest.mark.parametrize("role", ["applicant", "juror", "admin"])
def test_other_roles_are_forbidden(api, world, grant, role):
    assert_error(api.get(url(world.call.id), as_=world.users[role]), 403, "forbidden")


def test_other_roles_are_forbidden_before_the_call_is_looked_up(api, world):
    assert_error(api.get(url(999_999), as_=world.users["applicant"]), 403, "forbidden")


def test_anonymous_and_bad_tokens_get_401(api, world):
    error = assert_error(api.get(url(world.call.id)), 401, "unauthorized")
    assert error["message"]
    assert_error(api.get(url(world.call.id), token="not-a-token"), 401, "unauthorized")


def test_an_unknown_call_is_404(api, world, db):
    unknown = (db.session.query(Call.id).order_by(Call.id.desc()).limit(1).scalar() or 0) + 1
    assert_error(api.get(url(unknown), as_=world.users["finance"]), 404, "not_found")


def test_a_call_without_grant_is_the_header_alone(api, world):
    response = api.get(url(world.call.id), as_=world.users["finance"])
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines() == [
        "nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,"
        "idBeneficiaire,rnaBeneficiaire,objet,montant,nature,conditionsVersement,"
        "datesPeriodeVersement,idRAE,notificationUE,pourcentageSubvention,dispositifAide"]


def test_the_operation_is_documented_with_its_errors(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/calls/{call_id}/exports/scdl.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert {"401", "403", "404"} <= set(operation["responses"])
