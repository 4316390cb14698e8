"""ASVS 14.4.2: every JSON answer of the API, success or error, is an attachment named
api.json (a browser saves it, never renders it); a file the API sends keeps its own name;
the web pages and /health are not API answers."""

from __future__ import annotations

import io

import pytest

API_JSON = 'attachment; filename="api.json"'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _granted(world):
    return world.bring_to(world.application(), "granted")


# (request made, expected status, expected Content-Disposition: None when absent)
CASES = {
    "public success": (lambda api, w: api.get("/vocabularies"), 200, API_JSON),
    "signed-in success": (
        lambda api, w: api.get(f"/calls/{w.call.id}", as_=w.users["instructor"]),
        200, API_JSON),
    "login success": (lambda api, w: api.login(w.users["applicant"].email), 200, API_JSON),
    "no token": (lambda api, w: api.get("/auth/tokens"), 401, API_JSON),
    "another role": (
        lambda api, w: api.post("/calls", as_=w.users["applicant"], json={}), 403, API_JSON),
    "unknown object": (
        lambda api, w: api.get("/calls/999999", as_=w.users["instructor"]), 404, API_JSON),
    "unknown route": (lambda api, w: api.get("/nulle-part"), 404, API_JSON),
    "invalid data": (lambda api, w: api.client.post(
        "/api/v1/auth/token", json={"email": 3}), 422, API_JSON),
    "malformed body": (lambda api, w: api.client.post(
        "/api/v1/auth/token", data="{", content_type="application/json"), 400, API_JSON),
    "health": (lambda api, w: api.get("/health"), 200, None),
    "web page": (lambda api, w: api.client.get("/"), 200, None),
}


@pytest.mark.parametrize(("make", "status", "disposition"), CASES.values(), ids=CASES.keys())
def test_api_json_answers_are_attachments(api, world, make, status, disposition):
    response = make(api, world)
    assert response.status_code == status, response.get_data(True)
    assert response.headers.getlist("Content-Disposition") == (
        [disposition] if disposition else [])


def test_a_file_keeps_its_own_name(api, world):
    call_id = _granted(world).call_id
    response = api.get(f"/calls/{call_id}/exports/scdl.csv", as_=world.users["finance"])
    assert response.status_code == 200
    assert response.headers.getlist("Content-Disposition") == [
        f'attachment; filename="subventions-appel-{call_id}.csv"']


def test_an_attachment_download_keeps_its_own_name(api, world):
    application = world.application()
    token = api.token(world.users["applicant"])
    upload = api.client.post(
        f"/api/v1/applications/{application.id}/attachments",
        data={"kind": "statutes", "file": (io.BytesIO(PDF), "statuts-2026.pdf")},
        content_type="multipart/form-data", headers={"Authorization": f"Bearer {token}"})
    assert upload.status_code == 201, upload.get_data(True)
    assert upload.headers.getlist("Content-Disposition") == [API_JSON]  # a JSON answer
    download = api.client.get(upload.get_json()["url"],
                              headers={"Authorization": f"Bearer {token}"})
    assert download.status_code == 200 and download.data == PDF
    assert download.headers.getlist("Content-Disposition") == [
        "attachment; filename=statuts-2026.pdf"]


def test_a_json_file_that_names_itself_keeps_its_name(app, db):
    """A JSON file sent by the API with its own name (none today: the guard for one)."""
    from flask import jsonify

    from aap import create_app
    from aap.extensions import db as _db

    own = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                     UPLOAD_DIR=app.config["UPLOAD_DIR"])

    @own.get("/api/v1/essai-fichier")
    def named_file():
        response = jsonify({"data": []})
        response.headers["Content-Disposition"] = 'attachment; filename="donnees.json"'
        return response

    try:
        response = own.test_client().get("/api/v1/essai-fichier")
    finally:
        with own.app_context():
            _db.engine.dispose()
    assert response.headers.getlist("Content-Disposition") == [
        'attachment; filename="donnees.json"']
