"""Attachments through the API: content-checked types, size cap, access checks."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.factories import PASSWORD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40


def _odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def _token(client, user) -> dict:
    response = client.post("/api/v1/auth/token", json={"email": user.email,
                                                        "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _upload(client, headers, app_id, content, filename="statuts.pdf", kind="statutes"):
    return client.post(f"/api/v1/applications/{app_id}/attachments", headers=headers,
                       data={"kind": kind, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize(("content", "filename", "expected_type"), [
    (PDF, "statuts.pdf", "application/pdf"),
    (PNG, "rib.png", "image/png"),
    (_odt(), "rapport.odt", "application/vnd.oasis.opendocument.text"),
    (PDF, "statuts-sans-extension", "application/pdf"),
])
def test_accepted_types_are_recognised_by_content(client, world, content, filename,
                                                  expected_type):
    app = world.application()
    headers = _token(client, world.users["applicant"])
    response = _upload(client, headers, app.id, content, filename)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == expected_type
    assert body["size"] == len(content)
    download = client.get(body["url"], headers=headers)
    assert download.status_code == 200
    assert download.data == content


@pytest.mark.parametrize(("content", "filename"), [
    (b"MZ\x90\x00" + b"\0" * 60, "statuts.pdf"),        # an executable named .pdf
    (b"<html><script>alert(1)</script></html>", "rib.pdf"),
    (b"plain text", "notes.txt"),
])
def test_wrong_types_are_refused_whatever_the_name(client, world, content, filename):
    app = world.application()
    response = _upload(client, _token(client, world.users["applicant"]), app.id, content,
                       filename)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unsupported_type"


def test_too_large_is_413(app, client, world):
    application = world.application()
    headers = _token(client, world.users["applicant"])
    limit = app.config["MAX_UPLOAD_BYTES"]
    app.config["MAX_UPLOAD_BYTES"] = 1024
    try:
        response = _upload(client, headers, application.id, PDF + b"0" * 2048)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = limit
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize(("who", "status"), [
    ("foreign_applicant", 404), ("outside_juror", 404), ("instructor", 200),
    ("finance", 200), ("applicant", 200),
])
def test_downloads_are_checked_against_the_application(client, world, who, status):
    app = world.application()
    body = _upload(client, _token(client, world.users["applicant"]), app.id, PDF).get_json()
    world.fire(app, "submit")  # staff see an application once it is submitted
    response = client.get(body["url"], headers=_token(client, world.users[who]))
    assert response.status_code == status
    anonymous = client.get(body["url"])
    assert anonymous.status_code == 401


def test_uploads_are_refused_to_others_and_after_submission(client, world):
    app = world.application()
    foreign = _upload(client, _token(client, world.users["foreign_applicant"]), app.id, PDF)
    assert foreign.status_code == 404
    draft_for_staff = _upload(client, _token(client, world.users["instructor"]), app.id, PDF)
    assert draft_for_staff.status_code == 404  # a draft is invisible to staff
    world.bring_to(app, "incomplete")
    staff = _upload(client, _token(client, world.users["instructor"]), app.id, PDF)
    assert staff.status_code == 403
    answer = _upload(client, _token(client, world.users["applicant"]), app.id, PDF)
    assert answer.status_code == 201  # completing an incomplete file
    world.fire(app, "resubmit")
    late = _upload(client, _token(client, world.users["applicant"]), app.id, PDF)
    assert late.status_code == 409


def test_unknown_kind_and_missing_file(client, world):
    app = world.application()
    headers = _token(client, world.users["applicant"])
    assert _upload(client, headers, app.id, PDF, kind="selfie").status_code == 422
    response = client.post(f"/api/v1/applications/{app.id}/attachments", headers=headers,
                           data={"kind": "rib"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["fields"]


def test_a_draft_and_its_files_stay_private_to_the_organisation(client, world):
    app = world.application()
    body = _upload(client, _token(client, world.users["applicant"]), app.id, PDF).get_json()
    for who in ("instructor", "finance", "admin"):
        response = client.get(body["url"], headers=_token(client, world.users[who]))
        assert response.status_code == 404
