"""The applicant portal: home, starting a draft, the application form (save, submit,
problems, closing time, double submission), the acknowledgement, the application page,
completion and resubmission, withdrawal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from aap.extensions import db
from aap.models import Application, AuditEvent, Notification
from aap.timeutil import now
from tests import factories
from tests.web.conftest import csrf_token
from tests.web.test_pages import assert_security_headers


def strict(html: str) -> None:
    """No inline script or style (CSP), one h1; a script only from our static folder."""
    assert not re.search(r"<script(?![^>]*\ssrc=\"/static/js/applicant\.js\")", html)
    assert not re.search(r"\sstyle\s*=", html, re.I)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)
    assert html.count("<h1") == 1


def text(response) -> str:
    """The page with the narrow and non-breaking spaces of French numbers as spaces."""
    html = response if isinstance(response, str) else response.text
    return html.replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")


def form_data(app: Application | None = None, **overrides) -> dict:
    """What the browser posts for a complete application (requested 5 000 €)."""
    data = {
        "title": "Ateliers contre les discriminations à l'embauche",
        "summary": "Des ateliers de simulation d'entretien.",
        "objectives": "Accompagner 60 jeunes.",
        "target_public": "Jeunes de 16 à 25 ans",
        "domains": ["emploi"], "grounds": ["origine", "lieu_residence"],
        "territories": "Marseille — QPV Frais Vallon\nVitrolles",
        "envelope": "", "beneficiaries": "60",
        "starts_on": "2026-09-01", "ends_on": "2027-06-30",
        "requested": "5 000",
        "charges_62": "3 000", "charges_64": "7 000",
        "products_74_epci": "5 000", "products_74_state": "3 000", "products_75": "2 000",
        "attachment_kind": "statutes",
    }
    data.update(overrides)
    return data


def post_form(client, app_id: int, action: str = "save", **overrides):
    page = client.get(f"/porteur/dossiers/{app_id}/modifier")
    data = form_data(**overrides)
    data["csrf_token"] = csrf_token(page.text)
    data["action"] = action
    return client.post(f"/porteur/dossiers/{app_id}/modifier", data=data)


def draft(world, **overrides) -> Application:
    values = dict(title="", summary="", objectives="", target_public="", domains=[],
                  grounds=[], territories=[], beneficiaries=0, starts_on=None, ends_on=None,
                  budget={"charges": {}, "products": {}}, requested_cents=0)
    values.update(overrides)
    return factories.make_application(world.call, world.org, **values)


def fresh(app: Application) -> Application:
    db.session.rollback()
    return db.session.get(Application, app.id)


# -- home ---------------------------------------------------------------------------

def test_home_lists_open_calls_with_deadline_and_a_button(client, world, log_in):
    log_in(world.users["applicant"])
    response = client.get("/porteur/")
    assert response.status_code == 200
    assert_security_headers(response)
    strict(response.text)
    assert world.call.title in text(response)
    assert "Date limite de dépôt" in text(response)
    assert f'href="/porteur/appels/{world.call.id}/nouveau-dossier"' in text(response)
    assert "Déposer un projet" in text(response)


def test_home_links_to_the_applicant_page_with_the_next_step(client, world, log_in):
    mine = draft(world, title="Mon brouillon")
    incomplete = world.bring_to(world.application(title="À compléter"), "incomplete")
    log_in(world.users["applicant"])
    page = text(client.get("/porteur/"))
    assert f'href="/porteur/dossiers/{mine.id}"' in page
    assert f'href="/porteur/dossiers/{incomplete.id}/modifier"' in page
    assert "Finaliser et déposer avant le" in page
    assert "Compléter avant le" in page


def test_home_paginates_the_applications(client, world, log_in):
    for i in range(12):
        draft(world, title=f"Projet {i:02d}")
    log_in(world.users["applicant"])
    first = client.get("/porteur/").text
    assert "Page 1 sur 2" in first
    assert first.count('href="/porteur/dossiers/') >= 10
    second = client.get("/porteur/?page=2").text
    assert "Page 2 sur 2" in second


def test_home_without_organisation_invites_to_create_one(client, db):
    user = factories.make_user(["applicant"])
    from tests.web.conftest import login

    login(client, user)
    page = client.get("/porteur/").text
    assert "Créer mon organisation" in page
    assert 'href="/porteur/organisations/nouvelle"' in page


# -- starting a draft ----------------------------------------------------------------

def test_start_creates_a_draft_and_opens_the_form(client, world, log_in):
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/appels/{world.call.id}/nouveau-dossier")
    assert page.status_code == 200
    strict(page.text)
    assert world.org.name in page.text
    response = client.post(f"/porteur/appels/{world.call.id}/nouveau-dossier", data={
        "csrf_token": csrf_token(page.text), "organisation_id": world.org.id})
    assert response.status_code == 302
    db.session.rollback()
    app = db.session.scalars(db.select(Application)).one()
    assert response.headers["Location"] == f"/porteur/dossiers/{app.id}/modifier"
    assert app.state == "draft" and app.organisation_id == world.org.id


def test_start_asks_for_an_organisation_among_several(client, world, log_in):
    second = factories.make_organisation([world.users["applicant"]], name="Deuxième asso")
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/appels/{world.call.id}/nouveau-dossier")
    assert "Deuxième asso" in page.text and world.org.name in page.text
    assert "checked" not in page.text
    response = client.post(f"/porteur/appels/{world.call.id}/nouveau-dossier",
                           data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Choisissez l'organisation qui porte le projet." in text(response)
    # someone else's organisation is refused the same way
    response = client.post(f"/porteur/appels/{world.call.id}/nouveau-dossier", data={
        "csrf_token": csrf_token(page.text), "organisation_id": world.other_org.id})
    assert response.status_code == 422
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Application.id))) == 0
    response = client.post(f"/porteur/appels/{world.call.id}/nouveau-dossier", data={
        "csrf_token": csrf_token(page.text), "organisation_id": second.id})
    assert response.status_code == 302


def test_start_on_a_closed_call_says_so(client, world, log_in):
    closed = factories.make_call(world.fund, title="Appel 2025", fiscal_year=2025,
                                 opens_at=now() - timedelta(days=60),
                                 closes_at=now() - timedelta(days=1))
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/appels/{closed.id}/nouveau-dossier")
    assert "Cet appel est clos depuis le" in page.text
    assert "Commencer le dossier" not in page.text
    response = client.post(f"/porteur/appels/{closed.id}/nouveau-dossier", data={
        "csrf_token": csrf_token(page.text), "organisation_id": world.org.id})
    assert response.status_code == 422
    assert "Cet appel est clos" in text(response)


def test_start_unknown_call_is_404(client, world, log_in):
    log_in(world.users["applicant"])
    assert client.get("/porteur/appels/999999/nouveau-dossier").status_code == 404


# -- the form ------------------------------------------------------------------------

def test_form_shows_sections_budget_table_rules_and_deadline(client, world, log_in):
    world.call.max_share_of_cost = "0.8"
    db.session.commit()
    app = draft(world)
    log_in(world.users["applicant"])
    response = client.get(f"/porteur/dossiers/{app.id}/modifier")
    assert response.status_code == 200
    html = text(response)
    strict(html)
    for heading in ("Le projet", "Public et territoires", "Budget prévisionnel du projet",
                    "Pièces jointes", "Dépôt"):
        assert heading in html
    assert 'enctype="multipart/form-data"' in html
    assert "60 – Achats" in html and "87 – Contributions volontaires en nature" in html
    assert "Total des charges" in html and "Total des produits" in html
    assert "Montant minimum demandé : 1 000,00" in html
    assert "Montant maximum demandé : 30 000,00" in html
    assert "80,0 %" in html
    assert "Date limite de dépôt" in html and "(heure de Paris)" in html
    assert "Enregistrer le brouillon" in html and "Déposer le dossier" in html


def test_saving_an_incomplete_draft_keeps_it(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, title="Juste un titre", summary="", domains=[],
                         requested="", charges_62="", charges_64="", products_74_epci="",
                         products_74_state="", products_75="", beneficiaries="",
                         starts_on="", ends_on="")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/porteur/dossiers/{app.id}/modifier"
    app = fresh(app)
    assert app.title == "Juste un titre" and app.state == "draft"
    page = client.get(response.headers["Location"]).text
    assert "Brouillon enregistré" in page


def test_saving_shows_totals_balance_and_share(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    post_form(client, app.id)
    app = fresh(app)
    assert app.budget() == {"charges": {"62": 300000, "64": 700000},
                            "products": {"74_epci": 500000, "74_state": 300000, "75": 200000}}
    assert app.requested_cents == 500000
    assert app.territories == ["Marseille — QPV Frais Vallon", "Vitrolles"]
    html = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    assert "Le budget est équilibré" in html
    assert "10 000,00" in html
    assert "50,0 %" in html
    response = post_form(client, app.id, products_75="1 000")
    html = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    assert "n'est pas équilibré" in html
    assert response.status_code == 302


def test_submit_shows_every_problem_at_once_and_keeps_what_was_typed(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, "submit", title="Mon titre à garder", summary="",
                         domains=[], grounds=[], territories="", requested="50 000",
                         products_75="1 000", beneficiaries="")
    assert response.status_code == 422
    html = text(response)
    assert "Le dossier n'a pas été déposé" in html
    for message in ("Le résumé est obligatoire.", "Choisissez au moins un domaine.",
                    "Choisissez au moins un motif de discrimination.",
                    "Indiquez au moins un territoire",
                    "Indiquez le nombre de bénéficiaires attendus.",
                    "Le budget n'est pas équilibré",
                    "Le montant demandé dépasse le maximum"):
        assert message in html, message
    assert 'id="error-summary"' in html
    assert 'href="#summary"' in html and 'href="#requested"' in html
    assert "Mon titre à garder" in html
    assert 'value="50 000"' in html
    app = fresh(app)
    assert app.state == "draft"
    assert app.title == "Mon titre à garder"  # saved even though the submission failed


def test_submit_a_complete_draft_gives_the_acknowledgement(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, "submit")
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == f"/porteur/dossiers/{app.id}/accuse-de-reception"
    app = fresh(app)
    assert app.state == "submitted" and app.reference.startswith("AAP-2026-")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    strict(page.text)
    assert "Accusé de réception" in page.text
    assert app.reference in page.text
    assert "(heure de Paris)" in page.text
    assert "Et maintenant ?" in page.text
    db.session.rollback()
    mails = db.session.scalars(db.select(Notification).where(
        Notification.recipient_email == world.users["applicant"].email)).all()
    assert any(app.reference in m.subject for m in mails)


def test_double_submission_submits_once_and_shows_the_acknowledgement(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/dossiers/{app.id}/modifier")
    data = {**form_data(), "csrf_token": csrf_token(page.text), "action": "submit"}
    first = client.post(f"/porteur/dossiers/{app.id}/modifier", data=data)
    second = client.post(f"/porteur/dossiers/{app.id}/modifier", data=data)
    assert first.status_code == 302 and second.status_code == 302
    assert second.headers["Location"].endswith("/accuse-de-reception")
    db.session.rollback()
    events = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.application_id == app.id, AuditEvent.trigger == "submit")).all()
    assert len(events) == 1
    assert "déjà déposé" in text(client.get(second.headers["Location"]))


def test_submission_is_refused_and_hidden_after_the_closing_time(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/dossiers/{app.id}/modifier")
    token = csrf_token(page.text)
    world.call.closes_at = now() - timedelta(minutes=1)
    db.session.commit()
    html = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    assert "Dépôt clos" in html and "L'appel est clos depuis le" in html
    assert 'value="submit"' not in html
    # a form opened before the closing time and posted after it
    response = client.post(f"/porteur/dossiers/{app.id}/modifier",
                           data={**form_data(), "csrf_token": token, "action": "submit"})
    assert response.status_code == 422
    assert "L'appel est clos depuis le" in text(response)
    assert fresh(app).state == "draft"


def test_invalid_amounts_keep_what_was_typed(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, charges_62="douze", charges_64="-500",
                         requested="99999999999999999")
    assert response.status_code == 422
    html = text(response)
    assert 'value="douze"' in html and 'value="-500"' in html
    assert "Montant invalide" in html
    assert "Le montant ne peut pas être négatif." in html
    assert "Montant invraisemblable." in html
    assert "Rien n'a été enregistré" in html
    assert fresh(app).total("charges") == 0


def test_a_10000_character_title_is_refused_with_a_message(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    long_title = "é" * 10_000
    response = post_form(client, app.id, title=long_title)
    assert response.status_code == 422
    assert "300" in text(response)
    assert long_title in text(response)  # kept
    assert fresh(app).title == ""


def test_html_and_unicode_are_shown_escaped(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    title = '<script>alert("x")</script> Ünïcödé 日本 👩🏽‍🏫'
    assert post_form(client, app.id, title=title, summary="<b>gras</b>").status_code == 302
    assert fresh(app).title == title
    for path in (f"/porteur/dossiers/{app.id}/modifier", f"/porteur/dossiers/{app.id}",
                 "/porteur/"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<b>gras</b>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Ünïcödé 日本 👩🏽‍🏫" in html


def test_invalid_dates_and_choices_have_french_messages(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = post_form(client, app.id, starts_on="31/02/2026", domains=["inconnu"],
                         beneficiaries="beaucoup")
    assert response.status_code == 422
    assert 'value="31/02/2026"' in text(response)
    assert "Not a valid" not in text(response)


def test_missing_csrf_token_is_a_clear_400_and_nothing_changes(client, world, log_in):
    app = draft(world, title="Avant")
    log_in(world.users["applicant"])
    response = client.post(f"/porteur/dossiers/{app.id}/modifier",
                           data={**form_data(title="Après"), "action": "submit"})
    assert response.status_code == 400
    assert "Formulaire expiré" in text(response)
    assert fresh(app).title == "Avant" and fresh(app).state == "draft"


def test_a_submitted_application_is_no_longer_editable(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["applicant"])
    response = client.get(f"/porteur/dossiers/{app.id}/modifier")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/porteur/dossiers/{app.id}"


# -- permissions -----------------------------------------------------------------------

APPLICANT_ROUTES = ["/porteur/dossiers/{id}", "/porteur/dossiers/{id}/modifier",
                    "/porteur/dossiers/{id}/accuse-de-reception",
                    "/porteur/dossiers/{id}/retirer", "/porteur/dossiers/{id}/compte-rendu"]


@pytest.mark.parametrize("path", APPLICANT_ROUTES)
def test_another_organisations_member_gets_404(client, world, log_in, path):
    from aap.services import workflow

    theirs = workflow.fire(factories.make_application(world.call, world.other_org), "submit",
                           world.users["foreign_applicant"])
    log_in(world.users["applicant"])
    response = client.get(path.format(id=theirs.id))
    assert response.status_code == 404
    assert theirs.title not in text(response)
    page = client.get("/porteur/").text
    token = csrf_token(page)
    if not path.endswith(("/accuse-de-reception", "{id}")):
        response = client.post(path.format(id=theirs.id),
                               data={"csrf_token": token, "action": "submit"})
        assert response.status_code == 404
    assert fresh(theirs).state == "submitted"


@pytest.mark.parametrize("role", ["instructor", "juror", "finance", "admin"])
@pytest.mark.parametrize("path", [*APPLICANT_ROUTES, "/porteur/appels/{call}/nouveau-dossier",
                                  "/porteur/organisations/nouvelle"])
def test_other_roles_get_403(client, world, log_in, role, path):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.actor_for(role))
    assert client.get(path.format(id=app.id, call=world.call.id)).status_code == 403


@pytest.mark.parametrize("path", [*APPLICANT_ROUTES, "/porteur/organisations/nouvelle"])
def test_anonymous_is_sent_to_login(client, world, path):
    response = client.get(path.format(id=1))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


# -- the application page, completion, withdrawal -------------------------------------

def test_application_page_shows_the_timeline(client, world, log_in):
    app = world.bring_to(world.application(), "eligible")
    log_in(world.users["applicant"])
    response = client.get(f"/porteur/dossiers/{app.id}")
    assert response.status_code == 200
    html = text(response)
    strict(html)
    assert "Suivi du dossier" in html
    assert "Déposé" in html and "Recevable" in html
    assert "Accusé de réception" in html
    assert "Retirer le dossier" in html


def test_completion_request_is_shown_and_resubmission_works(client, world, log_in):
    app = world.bring_to(world.application(), "incomplete")
    log_in(world.users["applicant"])
    page = text(client.get(f"/porteur/dossiers/{app.id}"))
    assert "Merci de joindre les statuts signés." in page
    assert "À renvoyer avant le" in page
    assert f'href="/porteur/dossiers/{app.id}/modifier"' in page
    form = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    assert "Merci de joindre les statuts signés." in form
    assert "Renvoyer le dossier complété" in form and 'value="resubmit"' in form
    response = post_form(client, app.id, "resubmit", objectives="Objectifs précisés")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/accuse-de-reception")
    app = fresh(app)
    assert app.state == "submitted" and app.objectives == "Objectifs précisés"
    trail = text(client.get(f"/porteur/dossiers/{app.id}"))
    assert "À compléter" in trail


def test_resubmission_after_the_completion_deadline_is_refused(client, world, log_in):
    app = world.bring_to(world.application(), "incomplete")
    log_in(world.users["applicant"])
    token = csrf_token(client.get(f"/porteur/dossiers/{app.id}/modifier").text)
    app.completion_deadline = now() - timedelta(minutes=5)
    db.session.commit()
    html = text(client.get(f"/porteur/dossiers/{app.id}/modifier"))
    assert "Le délai pour compléter le dossier est dépassé" in html
    assert 'value="resubmit"' not in html
    response = client.post(f"/porteur/dossiers/{app.id}/modifier",
                           data={**form_data(), "csrf_token": token, "action": "resubmit"})
    assert response.status_code == 422
    assert "Le délai pour compléter le dossier a expiré" in text(response)
    assert fresh(app).state == "incomplete"


def test_withdraw_asks_for_confirmation_then_withdraws(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/dossiers/{app.id}/retirer")
    assert page.status_code == 200
    strict(page.text)
    assert "Confirmer le retrait" in page.text
    assert fresh(app).state == "submitted"
    response = client.post(f"/porteur/dossiers/{app.id}/retirer", data={
        "csrf_token": csrf_token(page.text), "comment": "Projet reporté à l'an prochain."})
    assert response.status_code == 302
    assert fresh(app).state == "withdrawn"
    html = text(client.get(f"/porteur/dossiers/{app.id}"))
    assert "Retiré" in html and "Projet reporté à l'an prochain." in html
    assert "Retirer le dossier" not in html
    # a replay does not fail
    again = client.post(f"/porteur/dossiers/{app.id}/retirer", data={
        "csrf_token": csrf_token(page.text)})
    assert again.status_code == 302


def test_withdraw_is_impossible_once_decided(client, world, log_in):
    app = world.bring_to(world.application(), "granted")
    log_in(world.users["applicant"])
    assert "Retirer le dossier" not in client.get(f"/porteur/dossiers/{app.id}").text
    response = client.get(f"/porteur/dossiers/{app.id}/retirer")
    assert response.status_code == 302
    assert fresh(app).state == "granted"


def test_acknowledgement_of_a_draft_redirects(client, world, log_in):
    app = draft(world)
    log_in(world.users["applicant"])
    response = client.get(f"/porteur/dossiers/{app.id}/accuse-de-reception")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/porteur/dossiers/{app.id}"
