"""Invalid data refused by the API with a 422 naming the field: an action that ends before it
starts, e-mail addresses that are not addresses; filenames stored and sent without
bidirectional or control characters."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Organisation, User
from tests import factories
from tests.api.helpers import PREFIX, assert_error, ok
from tests.api.test_organisations import ORG

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REVERSED = "La date de fin précède la date de début."


def test_create_refuses_an_end_before_the_start(api, world):
    error = assert_error(api.post("/applications", as_=world.users["applicant"], json={
        "call_id": world.call.id, "organisation_id": world.org.id, "title": "Inversé",
        "starts_on": "2026-09-01", "ends_on": "2026-08-31"}), 422, "invalid_data",
        ["ends_on"])
    assert error["fields"] == {"ends_on": [REVERSED]}
    assert db.session.scalar(select(func.count(Application.id))) == 0
    ok(api.post("/applications", as_=world.users["applicant"], json={
        "call_id": world.call.id, "organisation_id": world.org.id,
        "starts_on": "2026-09-01", "ends_on": "2026-09-01"}), 201)


@pytest.mark.parametrize("body", [
    {"ends_on": "2026-08-31"},  # before the stored start: the service's check
    {"starts_on": "2027-01-01"},  # after the stored end
    {"starts_on": "2026-12-31", "ends_on": "2026-12-01"},  # the schema's check
])
def test_patch_refuses_an_end_before_the_start(api, world, body):
    from datetime import date

    app = factories.make_application(world.call, world.org, starts_on=date(2026, 9, 1),
                                     ends_on=date(2026, 12, 31))
    error = assert_error(api.patch(f"/applications/{app.id}", as_=world.users["applicant"],
                                   json={**body, "title": "Pas enregistré"}),
                         422, "invalid_data", ["ends_on"])
    assert error["fields"] == {"ends_on": [REVERSED]}
    db.session.rollback()
    stored = db.session.get(Application, app.id)
    assert (stored.starts_on, stored.ends_on) == (date(2026, 9, 1), date(2026, 12, 31))
    assert stored.title != "Pas enregistré"


@pytest.mark.parametrize("email", ["nope", "nope@", "@exemple.fr", "camille@exemple"])
def test_organisation_email(api, world, email):
    error = assert_error(api.post("/organisations", as_=world.users["applicant"],
                                  json={**ORG, "email": email}), 422, "invalid_data", ["email"])
    assert error["fields"] == {"email": ["Adresse électronique invalide."]}
    assert db.session.scalar(select(func.count(Organisation.id))) == 2  # world's


def test_organisation_email_may_be_left_out_and_is_normalised(api, world):
    body = ok(api.post("/organisations", as_=world.users["applicant"],
                       json={**ORG, "email": "Contact@Exemple.FR"}), 201)
    assert body["email"] == "Contact@exemple.fr"


@pytest.mark.parametrize("email", ["nope", "nope@", "camille@exemple"])
def test_registration_email(api, db, email):
    error = assert_error(api.post("/auth/register", json={
        "email": email, "password": "Ateliers-du-samedi-2026", "name": "Camille"}),
        422, "invalid_data", ["email"])
    assert error["fields"]["email"] == ["Adresse électronique invalide."]
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_an_uploaded_name_loses_its_override(api, world):
    app = factories.make_application(world.call, world.org)
    token = api.token(world.users["applicant"])
    response = api.client.post(
        f"{PREFIX}/applications/{app.id}/attachments",
        data={"kind": "statutes", "file": (io.BytesIO(PDF), "facture\u202efdp.exe")},
        content_type="multipart/form-data", headers={"Authorization": f"Bearer {token}"})
    body = ok(response, 201)
    assert body["filename"] == "facturefdp.exe.pdf"
    download = api.client.get(body["url"], headers={"Authorization": f"Bearer {token}"})
    assert download.status_code == 200 and download.data == PDF
    header = unquote(download.headers["Content-Disposition"])
    assert "facturefdp.exe.pdf" in header and "\u202e" not in header
