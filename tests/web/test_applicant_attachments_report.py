"""Attachments on the application form (upload, list, download, remove, wrong type, too
large) and the final report (CERFA 15059)."""

from __future__ import annotations

import io

import pytest

from aap.extensions import db
from aap.models import Application, Attachment
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_applicant_portal import draft, form_data, fresh, strict, text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client, app_id: int, content: bytes, filename: str = "statuts.pdf",
           kind: str = "statutes", **overrides):
    page = client.get(f"/porteur/dossiers/{app_id}/modifier")
    data = {**form_data(**overrides), "csrf_token": csrf_token(page.text), "action": "upload",
            "attachment_kind": kind, "attachment_file": (io.BytesIO(content), filename)}
    return client.post(f"/porteur/dossiers/{app_id}/modifier", data=data,
                       content_type="multipart/form-data")


def test_upload_saves_the_draft_and_lists_the_file(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = upload(client, app.id, PDF, title="Titre tapé avant l'envoi")
    assert response.status_code == 302, response.text
    assert fresh(app).title == "Titre tapé avant l'envoi"
    db.session.rollback()
    html = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    strict(html)
    assert "statuts.pdf" in html and "Statuts" in html and "PDF" in html
    assert "ajoutée" in html
    att = db.session.scalars(db.select(Attachment)).one()
    assert f'href="/porteur/dossiers/{app.id}/pieces/{att.id}"' in html
    download = client.get(f"/porteur/dossiers/{app.id}/pieces/{att.id}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]


def test_wrong_type_is_refused_by_content_with_a_french_message(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = upload(client, app.id, b"MZ\x90\x00 not a pdf at all", filename="virus.pdf",
                      title="Gardé")
    assert response.status_code == 422
    assert "Type de fichier refusé" in text(response)
    assert "Gardé" in text(response)
    assert fresh(app).title == "Gardé"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_too_large_file_is_a_french_message_not_a_raw_413(app, client, world, log_in):
    application = draft(world)
    log_in(world.users["applicant"])
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    try:
        response = upload(client, application.id, PDF + b"0" * (1024 * 1024),
                          title="Titre conservé")
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 10 * 1024 * 1024
    assert response.status_code == 413
    html = text(response)
    assert "Fichier trop volumineux : 1 Mo au maximum." in html
    assert "Titre conservé" in html
    assert "<h1" in html and "Application form" not in html
    assert fresh(application).title == "Titre conservé"


def test_request_over_the_content_length_shows_the_form_again(app, client, world, log_in):
    application = draft(world, title="Titre enregistré")
    log_in(world.users["applicant"])
    app.config["MAX_CONTENT_LENGTH"] = 2048
    try:
        response = upload(client, application.id, PDF + b"0" * 10_000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    assert response.status_code == 413
    html = text(response)
    assert "Fichier trop volumineux" in html
    assert "Titre enregistré" in html
    assert 'id="application-form"' in html


def test_upload_without_a_file_says_so(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/dossiers/{app.id}/modifier")
    response = client.post(f"/porteur/dossiers/{app.id}/modifier", data={
        **form_data(), "csrf_token": csrf_token(page.text), "action": "upload"},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choisissez un fichier à joindre." in text(response)


def test_remove_an_attachment_while_editable(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    upload(client, app.id, PDF)
    db.session.rollback()
    att = db.session.scalars(db.select(Attachment)).one()
    page = client.get(f"/porteur/dossiers/{app.id}/modifier")
    response = client.post(f"/porteur/dossiers/{app.id}/modifier", data={
        **form_data(), "csrf_token": csrf_token(page.text), "remove": str(att.id)})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_attachments_are_listed_read_only_after_submission(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    upload(client, app.id, PDF)
    page = client.get(f"/porteur/dossiers/{app.id}/modifier")
    client.post(f"/porteur/dossiers/{app.id}/modifier", data={
        **form_data(), "csrf_token": csrf_token(page.text), "action": "submit"})
    assert fresh(app).state == "submitted"
    html = text(client.get(f"/porteur/dossiers/{app.id}"))
    assert "statuts.pdf" in html and "Retirer</button>" not in html


def test_download_is_refused_to_another_organisation(client, world, log_in):
    theirs = factories.make_application(world.call, world.other_org)
    log_in(world.users["foreign_applicant"])
    upload(client, theirs.id, PDF)
    db.session.rollback()
    att = db.session.scalars(db.select(Attachment)).one()
    db.session.rollback()  # end the test's read snapshot: logout writes (session version)
    client.post("/deconnexion", data={"csrf_token": csrf_token(client.get("/porteur/").text)})
    log_in(world.users["applicant"])
    assert client.get(f"/porteur/dossiers/{theirs.id}/pieces/{att.id}").status_code == 404
    mine = draft(world)
    # an attachment id of another application through my application: 404 too
    assert client.get(f"/porteur/dossiers/{mine.id}/pieces/{att.id}").status_code == 404


@pytest.mark.parametrize("role", ["instructor", "juror"])
def test_download_route_is_for_applicants(client, world, log_in, role):
    log_in(world.actor_for(role))
    assert client.get("/porteur/dossiers/1/pieces/1").status_code == 403


# -- the final report ----------------------------------------------------------------

def report_data(app: Application, **overrides) -> dict:
    data = {"narrative": "Douze ateliers menés.", "beneficiaries_reached": "55",
            "gap_explanation": "", "charges_62": "3 000", "charges_64": "7 000",
            "products_74_epci": "5 000", "products_74_state": "3 000", "products_75": "2 000"}
    data.update(overrides)
    return data


def post_report(client, app, **overrides):
    page = client.get(f"/porteur/dossiers/{app.id}/compte-rendu")
    return client.post(f"/porteur/dossiers/{app.id}/compte-rendu", data={
        **report_data(app, **overrides), "csrf_token": csrf_token(page.text)})


def test_report_form_is_available_once_paid(client, world, log_in):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["applicant"])
    detail = text(client.get(f"/porteur/dossiers/{app.id}"))
    assert "Déposer le compte rendu financier" in detail
    page = client.get(f"/porteur/dossiers/{app.id}/compte-rendu")
    assert page.status_code == 200
    strict(page.text)
    html = text(page)
    assert "CERFA 15059" in html and "Prévu" in html and "Réalisé (€)" in html
    assert "15,0 %" in html


def test_report_is_submitted_and_shown_read_only(client, world, log_in):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["applicant"])
    response = post_report(client, app)
    assert response.status_code == 302, text(response)
    app = fresh(app)
    assert app.state == "report_submitted"
    assert app.report.beneficiaries_reached == 55
    html = text(client.get(f"/porteur/dossiers/{app.id}/compte-rendu"))
    assert "Douze ateliers menés." in html
    assert "Déposer le compte rendu</button>" not in html
    assert 'name="charges_62"' not in html


def test_report_gap_over_15_percent_needs_an_explanation(client, world, log_in):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["applicant"])
    response = post_report(client, app, charges_64="4 000", products_75="0",
                           products_74_state="2 000", narrative="Texte gardé")
    assert response.status_code == 422
    html = text(response)
    assert "dépasse 15" in html and "expliquez-le" in html
    assert 'id="gap_explanation-error"' in html
    assert "Texte gardé" in html and 'value="4 000,00"' in html
    assert "(-30,0 %)" in html  # charges: 3 000 + 4 000 realised against 10 000 planned
    assert fresh(app).state == "in_progress"
    response = post_report(client, app, charges_64="4 000", products_75="0",
                           products_74_state="2 000", gap_explanation="Moins d'ateliers.")
    assert response.status_code == 302
    assert fresh(app).state == "report_submitted"


def test_report_unbalanced_and_bad_amounts_are_explained(client, world, log_in):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["applicant"])
    response = post_report(client, app, products_75="1 000")
    assert response.status_code == 422
    assert "pas équilibré" in text(response)
    response = post_report(client, app, charges_62="-3", beneficiaries_reached="beaucoup")
    assert response.status_code == 422
    assert "Le montant ne peut pas être négatif." in text(response)
    assert 'value="beaucoup"' in text(response)
    assert fresh(app).state == "in_progress"


def test_report_is_editable_again_after_a_change_request(client, world, log_in):
    app = world.bring_to(world.application(), "in_progress")
    log_in(world.users["applicant"])
    post_report(client, app)
    world.fire(fresh(app), "request_report_changes")
    html = text(client.get(f"/porteur/dossiers/{app.id}/compte-rendu"))
    assert "Détaillez la ligne 64." in html
    assert 'name="charges_62"' in html and "Douze ateliers menés." in html
    assert post_report(client, app, narrative="Détail ajouté.").status_code == 302
    assert fresh(app).report.narrative == "Détail ajouté."


def test_report_before_payment_redirects(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["applicant"])
    response = client.get(f"/porteur/dossiers/{app.id}/compte-rendu")
    assert response.status_code == 302
