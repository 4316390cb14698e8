"""The applicant's whole journey in French, in Chromium: register → create the
organisation → draft → upload a PDF → submit → acknowledgement → (the instructor asks for
completion) → answer it → resubmit. Screenshots of each step in test-artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from aap.extensions import db
from aap.models import Application
from aap.services import workflow

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EMAIL = "claire.porteuse@example.org"
PASSWORD = "Egalite-2026-projet"


def fill_organisation(page, name: str, siret: str, rna: str | None = None) -> None:
    """The organisation form of an association of Vitrolles (its bank details valid)."""
    page.get_by_label("Raison sociale").fill(name)
    page.get_by_label("SIRET (14 chiffres)").fill(siret)
    if rna:
        page.get_by_label("RNA").fill(rna)
    page.get_by_label("Adresse", exact=True).fill("2 place de la Mairie")
    page.get_by_label("Code postal").fill("13127")
    page.get_by_label("Commune").fill("Vitrolles")
    page.get_by_label("Représentant légal").fill("Claire Porteuse")
    page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 189")
    page.get_by_label("BIC").fill("AGRIFRPP")


def attach(page, folder, kind: str, name: str) -> None:
    """Upload a small PDF as the attachment of ``kind`` and wait for it in the list."""
    path = folder / name
    path.write_bytes(PDF)
    page.get_by_label("Nature de la pièce").select_option(kind)
    page.get_by_label("Fichier", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Ajouter la pièce").click()
    expect(page.get_by_role("link", name=name)).to_be_visible()


def fill_application(page) -> None:
    page.get_by_label("Titre du projet").fill("Ateliers « Égalité à l'embauche »")
    page.get_by_label("Résumé").fill("Des simulations d'entretien avec des employeurs "
                                     "du territoire et des jeunes des quartiers prioritaires.")
    page.get_by_label("Objectifs").fill("Accompagner 60 jeunes ; sensibiliser 20 employeurs.")
    page.get_by_label("Public visé").fill("Jeunes de 16 à 25 ans")
    page.get_by_role("checkbox", name="Emploi", exact=True).check()
    page.get_by_role("checkbox", name="Origine", exact=True).check()
    page.get_by_role("checkbox", name="Lieu de résidence", exact=True).check()
    page.get_by_role("textbox", name="Territoires").fill("Marseille — QPV Frais Vallon")
    page.get_by_label("Bénéficiaires attendus").fill("60")
    page.get_by_label("Début de l'action").fill("2026-09-01")
    page.get_by_label("Fin de l'action").fill("2027-06-30")
    page.get_by_label("62 – Autres services extérieurs").fill("3 000")
    page.get_by_label("64 – Charges de personnel").fill("7 000")
    page.get_by_label("74 – Subvention Intercommunalité(s) / EPCI").fill("5 000")
    page.get_by_label("74 – Subvention État").fill("3 000")
    page.get_by_label("Montant demandé (€)").fill("5 000")


def journey(page, world, tmp_path, mobile: bool = False) -> None:
    shots = page.shots
    page.goto("/connexion")
    page.get_by_role("link", name="Créer un compte porteur").click()
    shots("inscription")
    page.get_by_label("Nom et prénom").fill("Claire Porteuse")
    page.get_by_label("Adresse électronique").fill(EMAIL)
    page.get_by_label("Mot de passe (12 caractères").fill(PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/porteur/")
    assert page.locator("h1").inner_text() == "Espace porteur"
    shots("espace-porteur-vide")

    page.get_by_role("link", name="Créer mon organisation").first.click()
    fill_organisation(page, "Association Égalité Vitrolles", "732 829 320 00075")  # wrong key
    page.get_by_role("button", name="Créer l'organisation").click()
    expect(page.get_by_text("Ce SIRET n'est pas valide").first).to_be_visible()
    assert page.get_by_label("Raison sociale").input_value() == "Association Égalité Vitrolles"
    shots("organisation-siret-invalide")
    page.get_by_label("SIRET (14 chiffres)").fill("732 829 320 00074")
    page.get_by_role("button", name="Créer l'organisation").click()
    expect(page.get_by_role("heading", name="Association Égalité Vitrolles")).to_be_visible()
    shots("organisation-creee")

    page.get_by_role("link", name="Espace porteur").first.click()
    page.get_by_role("link", name=re.compile("Déposer un projet")).first.click()
    shots("nouveau-dossier")
    page.get_by_role("button", name="Commencer le dossier").click()
    expect(page.get_by_text("Brouillon créé")).to_be_visible()
    shots("formulaire-vide")

    # an early submission lists every problem at once
    page.get_by_label("Titre du projet").fill("Ateliers « Égalité à l'embauche »")
    page.get_by_role("button", name="Déposer le dossier").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert "Le résumé est obligatoire." in summary.inner_text()
    assert page.get_by_label("Titre du projet").input_value().startswith("Ateliers")
    shots("depot-refuse-problemes")

    fill_application(page)
    # the running totals follow the typing (JavaScript enhancement)
    assert page.locator("#total-charges").inner_text().replace("\u202f", " ") \
        .startswith("10 000,00")
    assert "n'est pas équilibré" in page.locator("[data-balance]").inner_text()
    page.get_by_label("75 – Autres produits de gestion courante").fill("2 000")
    assert "équilibré : charges = produits" in page.locator("[data-balance]").inner_text()
    assert page.locator("#share").inner_text().startswith("50,0")
    page.locator("#budget").scroll_into_view_if_needed()
    shots("budget-equilibre")
    page.get_by_role("button", name="Enregistrer le brouillon").first.click()
    expect(page.get_by_text("Brouillon enregistré le")).to_be_visible()

    attach(page, tmp_path, "statutes", "statuts.pdf")
    shots("piece-jointe-ajoutee")

    page.get_by_role("button", name="Déposer le dossier").click()
    page.wait_for_url("**/accuse-de-reception")
    expect(page.get_by_role("heading", name="Accusé de réception")).to_be_visible()
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"AAP-2026-\d{4}", reference)
    shots("accuse-de-reception")

    # the instructor asks for completion (through the service, as the instruction UI would)
    db.session.rollback()
    app = db.session.scalars(db.select(Application).where(
        Application.reference == reference)).one()
    workflow.fire(app, "request_completion", world.users["instructor"],
                  {"comment": "Merci de joindre le RIB de l'association.",
                   "deadline": "2099-12-31"})

    page.get_by_role("link", name="Suivre mon dossier").click()
    expect(page.locator(".completion")).to_contain_text("Merci de joindre le RIB")
    expect(page.get_by_text("À renvoyer avant le 31/12/2099")).to_be_visible()
    shots("demande-de-complements")
    page.get_by_role("link", name="Compléter le dossier").click()
    attach(page, tmp_path, "rib", "rib.pdf")
    shots("complements-ajoutes")
    page.get_by_role("button", name="Renvoyer le dossier complété").click()
    page.wait_for_url("**/accuse-de-reception")
    page.get_by_role("link", name="Suivre mon dossier").click()
    expect(page.locator(".timeline")).to_be_visible()
    assert page.locator(".page-head .badge").inner_text().lower() == "déposé"
    assert "Merci de joindre le RIB" in page.locator(".timeline").inner_text()
    assert page.locator(".completion").count() == 0
    shots("dossier-renvoye-historique")
    if mobile:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="Espace porteur").click()
        step = page.locator(".table-apps td[data-label='Prochaine étape']").first
        expect(step).to_contain_text("en cours d'instruction")
        box = step.bounding_box()  # in view on the phone, not scrolled off to the right
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    db.session.rollback()
    assert db.session.get(Application, app.id).state == "submitted"


def test_applicant_journey(page, world, tmp_path):
    journey(page, world, tmp_path)


@pytest.mark.mobile
def test_applicant_journey_on_a_phone(page, world, tmp_path):
    journey(page, world, tmp_path, mobile=True)
