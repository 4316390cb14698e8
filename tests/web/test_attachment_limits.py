"""The application form at the limits of its attachments: the upload fieldset says how
many files and how much room are used, and a refused upload says why in French while
the typed form is kept and saved."""

from __future__ import annotations

import hashlib
import io

import pytest

from aap.extensions import db
from aap.models import Attachment
from tests.web.conftest import csrf_token
from tests.web.test_applicant_portal import draft, form_data, fresh, strict, text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MIB = 1024 * 1024


def pdf(size: int) -> bytes:
    return PDF + b"0" * (size - len(PDF))


def hold(world, application, *sizes: int) -> None:
    """Attachment rows of these sizes (their files are not needed to count them)."""
    for index, size in enumerate(sizes):
        db.session.add(Attachment(
            application_id=application.id, kind="statutes", filename=f"piece-{index}.pdf",
            stored_name=f"{application.id}-{index}.pdf", content_type="application/pdf",
            size=size, sha256=hashlib.sha256(b"").hexdigest(),
            uploaded_by_id=world.users["applicant"].id))
    db.session.commit()


def upload(client, app_id: int, content: bytes, **overrides):
    page = client.get(f"/porteur/dossiers/{app_id}/modifier")
    data = {**form_data(**overrides), "csrf_token": csrf_token(page.text), "action": "upload",
            "attachment_kind": "rib", "attachment_file": (io.BytesIO(content), "rib.pdf")}
    return client.post(f"/porteur/dossiers/{app_id}/modifier", data=data,
                       content_type="multipart/form-data")


@pytest.fixture
def limits(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))

    def set_limits(files: int, total: int):
        monkeypatch.setitem(app.config, "MAX_ATTACHMENTS_PER_APPLICATION", files)
        monkeypatch.setitem(app.config, "MAX_APPLICATION_UPLOAD_BYTES", total)
        return tmp_path

    return set_limits


# The sizes held under the default limits (30 files, 100 MiB), the line of the fieldset:
# used space rounds up to the tenth, so that a few bytes never show as « 0 Mo ».
SUMMARIES = [
    ((MIB,), "Pièces du dossier : 1 fichier sur 30, 1 Mo sur 100 Mo."),
    ((MIB, MIB + MIB // 4), "Pièces du dossier : 2 fichiers sur 30, 2,3 Mo sur 100 Mo."),
    ((2048, 100), "Pièces du dossier : 2 fichiers sur 30, 0,1 Mo sur 100 Mo."),
]


@pytest.mark.parametrize(("sizes", "summary"), SUMMARIES)
def test_the_upload_fieldset_shows_what_is_used(client, world, log_in, sizes, summary):
    application = draft(world)
    hold(world, application, *sizes)
    log_in(world.users["applicant"])
    html = text(client.get(f"/porteur/dossiers/{application.id}/modifier"))
    strict(html)
    flat = " ".join(html.replace("<strong>", "").replace("</strong>", "").split())
    assert summary in flat
    assert "10 Mo au maximum par fichier" in html
    assert "a atteint sa limite" not in html


@pytest.mark.parametrize(("files", "total", "sizes"), [
    (2, 100 * MIB, (100, 100)),      # as many files as allowed
    (30, 2 * MIB, (MIB, MIB)),       # all the room taken
])
def test_a_full_application_says_so_before_any_try(client, world, log_in, limits, files,
                                                   total, sizes):
    limits(files=files, total=total)
    application = draft(world)
    hold(world, application, *sizes)
    log_in(world.users["applicant"])
    html = text(client.get(f"/porteur/dossiers/{application.id}/modifier"))
    assert ("Le dossier a atteint sa limite de pièces jointes : retirez-en une pour en "
            "ajouter une autre.") in html


def test_one_file_too_many_is_refused_in_french_and_the_form_kept(client, world, log_in,
                                                                 limits):
    folder = limits(files=2, total=100 * MIB)
    application = draft(world)
    hold(world, application, 100, 100)
    log_in(world.users["applicant"])
    response = upload(client, application.id, pdf(200), title="Titre tapé avant l'envoi")
    assert response.status_code == 422
    html = text(response)
    assert ("Ce dossier a atteint le maximum de 2 pièces jointes : retirez-en une pour en "
            "ajouter une autre.") in html
    assert "Vos saisies sont enregistrées, mais la pièce n'a pas été ajoutée." in html
    assert "Titre tapé avant l'envoi" in html
    assert fresh(application).title == "Titre tapé avant l'envoi"
    assert len(fresh(application).attachments) == 2
    assert list(folder.iterdir()) == []


def test_a_file_larger_than_the_room_left_says_how_much_is_left(client, world, log_in,
                                                               limits):
    # 1 MiB in all, 0,75 MiB held: 0,25 MiB left (shown rounded down, 0,2), a file of
    # 300 KiB (0,29 MiB, shown rounded up, 0,3).
    folder = limits(files=30, total=MIB)
    application = draft(world)
    hold(world, application, 3 * MIB // 4)
    log_in(world.users["applicant"])
    response = upload(client, application.id, pdf(300 * 1024), title="Gardé")
    assert response.status_code == 422
    html = text(response)
    assert ("Place insuffisante : ce fichier fait 0,3 Mo et il reste 0,2 Mo sur les 1 Mo "
            "permis pour les pièces du dossier.") in html
    assert "Gardé" in html and fresh(application).title == "Gardé"
    assert len(fresh(application).attachments) == 1
    assert list(folder.iterdir()) == []


def test_an_upload_that_fits_exactly_is_accepted(client, world, log_in, limits):
    folder = limits(files=2, total=MIB)
    application = draft(world)
    hold(world, application, MIB // 2)
    log_in(world.users["applicant"])
    response = upload(client, application.id, pdf(MIB // 2))
    assert response.status_code == 302, response.text
    assert len(fresh(application).attachments) == 2
    assert len(list(folder.iterdir())) == 1
