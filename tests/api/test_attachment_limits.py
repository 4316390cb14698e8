"""POST /applications/{id}/attachments at the limits of an application (docs/api.md):
422 ``too_many_attachments`` when the files are as many as allowed, 422
``attachment_quota_exceeded`` when the file does not fit in the room left, 413
``too_large`` for one file over MAX_UPLOAD_BYTES whatever the room."""

from __future__ import annotations

import io

import pytest

from tests.api.helpers import assert_error, ok

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MIB = 1024 * 1024


def pdf(size: int) -> bytes:
    return PDF + b"0" * (size - len(PDF))


@pytest.fixture
def limits(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))

    def set_limits(files: int, total: int, per_file: int = 10 * MIB):
        monkeypatch.setitem(app.config, "MAX_ATTACHMENTS_PER_APPLICATION", files)
        monkeypatch.setitem(app.config, "MAX_APPLICATION_UPLOAD_BYTES", total)
        monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", per_file)
        return tmp_path

    return set_limits


def upload(api, world, application_id: int, size: int):
    return api.post(f"/applications/{application_id}/attachments",
                    as_=world.users["applicant"],
                    data={"kind": "statutes", "file": (io.BytesIO(pdf(size)), "statuts.pdf")},
                    content_type="multipart/form-data")


# Limits of 2 files, 3 MiB in all, 2 MiB a file: the sizes held, the size sent, the answer.
CASES = [
    ((MIB,), 2 * MIB, 201, None),                                 # exactly the 3 MiB
    ((MIB,), 2 * MIB + 1, 413, "too_large"),                      # over the file limit
    ((2 * MIB,), MIB + 1, 422, "attachment_quota_exceeded"),      # one byte over the total
    ((MIB, MIB), 100, 422, "too_many_attachments"),               # a third file
    ((MIB, MIB), 2 * MIB + 1, 422, "too_many_attachments"),       # full: refused unread
]


@pytest.mark.parametrize(("held", "size", "status", "code"), CASES)
def test_the_answer_at_each_limit(api, world, limits, held, size, status, code):
    folder = limits(files=2, total=3 * MIB, per_file=2 * MIB)
    application = world.application()
    for existing in held:
        ok(upload(api, world, application.id, existing), 201)
    response = upload(api, world, application.id, size)
    if code is None:
        assert ok(response, 201)["size"] == size
    else:
        assert_error(response, status, code, fields=["file"] if status == 422 else None)
    listed = len(held) + (code is None)
    assert len(list(folder.iterdir())) == listed


def test_the_messages_say_what_is_allowed_and_what_is_left(api, world, limits):
    limits(files=2, total=3 * MIB, per_file=2 * MIB)
    application = world.application()
    ok(upload(api, world, application.id, 2 * MIB), 201)
    room = assert_error(upload(api, world, application.id, MIB + MIB // 2), 422,
                        "attachment_quota_exceeded")
    assert room["message"] == ("Place insuffisante : le fichier fait 1,5 Mo et il reste "
                               "1 Mo sur les 3 Mo permis pour les pièces du dossier.")
    ok(upload(api, world, application.id, MIB // 2), 201)
    count = assert_error(upload(api, world, application.id, 100), 422,
                         "too_many_attachments")
    assert count["message"] == ("Ce dossier a atteint le nombre maximal de pièces jointes "
                                "(2) : retirez-en une pour en ajouter une autre.")


def test_deleting_an_attachment_makes_room_again(api, world, limits):
    limits(files=1, total=3 * MIB)
    application = world.application()
    first = ok(upload(api, world, application.id, 100), 201)
    assert_error(upload(api, world, application.id, 100), 422, "too_many_attachments")
    deleted = api.request("DELETE", f"/applications/{application.id}/attachments/{first['id']}",
                          as_=world.users["applicant"])
    assert deleted.status_code == 204
    ok(upload(api, world, application.id, 100), 201)


def test_the_openapi_document_names_the_limit_codes(api):
    document = ok(api.get("/openapi.json"))
    operation = document["paths"]["/api/v1/applications/{application_id}/attachments"]["post"]
    assert "422" in operation["responses"] and "413" in operation["responses"]
    description = operation.get("description", "") + operation.get("summary", "")
    assert "too_many_attachments" in description
    assert "attachment_quota_exceeded" in description
