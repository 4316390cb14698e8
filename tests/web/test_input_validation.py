"""Invalid data refused on the web pages with a French message, what was typed kept: an action
that ends before it starts, filenames with bidirectional or control characters, e-mail
addresses that are not addresses (every e-mail field of the UI)."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select, text

from aap.extensions import db
from aap.models import Attachment, Invitation, Organisation, User
from aap.services import attachments
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_organisations import VALID, create
from tests.web.test_applicant_portal import draft, fresh, post_form, strict
from tests.web.test_applicant_portal import text as page_text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INVALID_EMAIL = "Adresse électronique invalide."
# the characters of a filename that must reach no page and no header
FORBIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
             "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\ufeff", "\x00", "\x1b",
             "\x85"]


# -- an action may not end before it starts -----------------------------------------------

def test_the_form_refuses_an_end_before_the_start_and_keeps_what_was_typed(
        client, world, log_in, monkeypatch):
    app = draft(world)
    log_in(world.users["applicant"])
    with monkeypatch.context() as patched:  # the form refuses it before the service
        patched.setattr("aap.services.applications.update", None)
        response = post_form(client, app.id, title="Titre tapé", starts_on="2026-09-01",
                             ends_on="2026-08-31")
    assert response.status_code == 422
    html = page_text(response)
    strict(html)
    assert "La date de fin précède la date de début." in html
    assert 'id="ends_on-error"' in html
    assert "Titre tapé" in html and 'value="2026-08-31"' in html
    assert 'value="2026-09-01"' in html
    stored = fresh(app)
    assert stored.title != "Titre tapé" and stored.ends_on is None
    # the same day is fine
    response = post_form(client, app.id, starts_on="2026-09-01", ends_on="2026-09-01")
    assert response.status_code == 302
    assert fresh(app).ends_on == fresh(app).starts_on


def test_the_service_refuses_it_when_the_form_cannot_see_the_other_date(
        client, world, log_in, monkeypatch):
    """The service is the last word: a form that let it through still gets the message."""
    from forms.application import ApplicationForm

    monkeypatch.setattr(ApplicationForm, "validate_ends_on", lambda self, field: None)
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, title="Titre tapé", starts_on="2026-09-01",
                         ends_on="2026-08-31")
    assert response.status_code == 422
    html = page_text(response)
    assert "La date de fin précède la date de début." in html
    assert 'id="ends_on-error"' in html and "Titre tapé" in html
    assert fresh(app).ends_on is None


# -- filenames ----------------------------------------------------------------------------

def upload(client, app_id: int, filename: str):
    page = client.get(f"/porteur/dossiers/{app_id}/modifier")
    from tests.web.test_applicant_portal import form_data

    data = {**form_data(), "csrf_token": csrf_token(page.text), "action": "upload",
            "attachment_kind": "statutes", "attachment_file": (io.BytesIO(PDF), filename)}
    return client.post(f"/porteur/dossiers/{app_id}/modifier", data=data,
                       content_type="multipart/form-data")


def assert_clean(value: str, name: str) -> None:
    assert name in value, (name, value)
    decoded = unquote(value)
    for char in FORBIDDEN:
        assert char not in decoded, f"U+{ord(char):04X} in {value!r}"


def download_name(response) -> str:
    """Both names of a Content-Disposition header: ``filename=`` and ``filename*=``."""
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment")
    return header


def test_an_uploaded_name_loses_its_override_everywhere(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = upload(client, app.id, "facture\u202efdp.exe")
    assert response.status_code == 302, response.text
    page = client.get(response.headers["Location"])
    assert_clean(page.text, "facturefdp.exe.pdf")  # in the list and the flash message
    db.session.rollback()
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.filename == "facturefdp.exe.pdf"
    download = client.get(f"/porteur/dossiers/{app.id}/pieces/{attachment.id}")
    assert_clean(download_name(download), "facturefdp.exe.pdf")
    assert download.data == PDF


def test_a_name_with_nothing_left_is_piece(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    assert upload(client, app.id, "\u202e\u2066\u200b.pdf").status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(Attachment)).one().filename == "piece.pdf"


def test_a_name_stored_before_is_shown_and_sent_clean(client, world, log_in):
    """A row written before the names were cleaned: every page and download cleans it."""
    app = world.application()
    attachment = attachments.add_attachment(
        world.users["applicant"], app.id, "statutes",
        attachments.Upload("statuts.pdf", io.BytesIO(PDF)))
    db.session.execute(text("UPDATE attachment SET filename = :name WHERE id = :id"),
                       {"name": "statuts\u202e\u2066fdp.exe.pdf", "id": attachment.id})
    db.session.commit()
    log_in(world.users["applicant"])
    clean = "statutsfdp.exe.pdf"
    assert_clean(client.get(f"/porteur/dossiers/{app.id}/modifier").text, clean)
    assert_clean(download_name(client.get(
        f"/porteur/dossiers/{app.id}/pieces/{attachment.id}")), clean)
    world.fire(app, "submit")
    assert_clean(client.get(f"/porteur/dossiers/{app.id}").text, clean)
    client.post("/deconnexion", data={"csrf_token": csrf_token(client.get("/porteur/").text)})
    log_in(world.users["instructor"])
    assert_clean(client.get(f"/dossiers/{app.id}").text, clean)
    assert_clean(download_name(client.get(f"/dossiers/{app.id}/pieces/{attachment.id}")),
                 clean)


# -- e-mail addresses: every field of the UI ------------------------------------------------

def test_registration(client, db):
    page = client.get("/inscription")
    response = client.post("/inscription", data={
        "name": "Camille Martin", "email": "nope", "password": "Ateliers-du-samedi-2026",
        "confirm": "Ateliers-du-samedi-2026", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    html = page_text(response)
    assert INVALID_EMAIL in html and 'value="nope"' in html and "Camille Martin" in html
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_login(client, db):
    page = client.get("/connexion")
    response = client.post("/connexion", data={"email": "nope", "password": "x",
                                                "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert INVALID_EMAIL in page_text(response) and 'value="nope"' in response.text


def test_forgotten_password(client, db):
    page = client.get("/mot-de-passe-oublie")
    response = client.post("/mot-de-passe-oublie", data={
        "email": "nope", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert INVALID_EMAIL in page_text(response) and 'value="nope"' in response.text


def test_organisation_creation(client, world, log_in):
    log_in(factories.make_user(["applicant"]))
    before = db.session.scalar(select(func.count(Organisation.id)))
    response = create(client, email="nope", name="Nom gardé")
    assert response.status_code == 422
    html = page_text(response)
    assert INVALID_EMAIL in html and 'id="email-error"' in html
    assert 'value="Nom gardé"' in html and 'value="nope"' in html
    db.session.rollback()
    assert db.session.scalar(select(func.count(Organisation.id))) == before


def test_organisation_profile(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/organisations/{world.org.id}")
    response = client.post(f"/porteur/organisations/{world.org.id}", data={
        **VALID, "siret": world.org.siret, "email": "nope", "name": "Nom gardé",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert INVALID_EMAIL in page_text(response) and 'value="Nom gardé"' in response.text
    db.session.rollback()
    assert db.session.get(Organisation, world.org.id).name != "Nom gardé"


@pytest.mark.parametrize("typed", ["nope", "nope@", "camille@exemple"])
def test_invitation(client, world, log_in, typed):
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/organisations/{world.org.id}")
    response = client.post(f"/porteur/organisations/{world.org.id}/invitations", data={
        "invite-email": typed, "invite-csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert INVALID_EMAIL in page_text(response) and f'value="{typed}"' in response.text
    db.session.rollback()
    assert db.session.scalar(select(func.count(Invitation.id))) == 0
