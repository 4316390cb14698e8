"""The whole life of an application in Chromium, on one running server, as the people
would live it: each person in a browser of their own (applicant, instructor, three
jurors, finance), a screenshot of every step at 1280 and 375 px in
``test-artifacts/screenshots/full_journey/``.

1. Claire registers, creates her association (valid SIRET, RNA, IBAN), drafts a project
   on the open call, adds its statutes, submits; the instructor asks for the RIB, she
   adds it and sends the file back;
2. the instructor declares it eligible, adds a third juror to the jury and opens the
   review of the call's three eligible files;
3. three jurors score; one declares a conflict of interest on another file;
4. the instructor closes the review, simulates two allocations (the call's budget, then
   a tighter one), compares them, commits the tighter one, and grants the proposed files
   by one deliberation;
5. finance pays the advance and exports the year's balance workbook, read back here
   against the amounts typed along the way;
6. Claire files her final report, the instructor approves it, finance pays the balance
   and closes the file.

The two other files of the call (so that the allocation has something to rank) are
created through the services, submitted and declared eligible there: the journey only
follows Claire's file through the pages, and the others through the jury's and the
instructor's pages.

The oracle of each amount is the hand computation written beside it: a juror's total is
(2 × pertinence + faisabilité) / 15 × 20 on the call's grid (weights 2 and 1, marks out
of 5, shown on 20), a file's score the mean of its jurors' totals.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from aap.extensions import db
from aap.models import Application
from tests import factories
from tests.browser.journey_helpers import Album, People, eur, plain
from tests.browser.test_applicant_journey import attach, fill_application, fill_organisation
from tests.factories import PASSWORD
from tests.job_kinds import join_export_threads

CLAIRE = "claire.porteuse@example.org"
CLAIRE_PASSWORD = "Egalite-2026-projet"
ASSOCIATION = "Association Égalité Vitrolles"
SIRET = "73282932000074"  # Luhn-valid (tests/factories.VALID_SIRETS)
RNA = "W133012345"
OUR_TITLE = "Ateliers « Égalité à l'embauche »"
THEATRE = "Théâtre-forum contre le sexisme"
PERMANENCES = "Permanences juridiques du Vieux-Port"

# Claire's project (tests/browser/test_applicant_journey.fill_application): charges
# 62: 3 000 + 64: 7 000 = 10 000 €; products 74 EPCI 5 000 (the amount requested) +
# 74 État 3 000, balanced by 75: 2 000.
REQUESTED = 5_000
ADVANCE = 4_000  # 80 % of the 5 000 € granted
BALANCE = REQUESTED - ADVANCE  # 1 000 €

# The marks of each juror, (pertinence, faisabilité) → total = (2p + f) / 15 × 20.
MARKS = {
    "juror": {OUR_TITLE: (5, 4), PERMANENCES: (4, 3)},  # 18,67 ; 14,67 ; conflict on the theatre
    "juror2": {OUR_TITLE: (4, 4), PERMANENCES: (4, 5), THEATRE: (3, 3)},  # 16 ; 17,33 ; 12
    "juror3": {OUR_TITLE: (5, 5), PERMANENCES: (3, 4), THEATRE: (4, 2)},  # 20 ; 13,33 ; 13,33
}
# means: ours (18.667 + 16 + 20) / 3 = 18.22; permanences (14.667 + 17.333 + 13.333) / 3
# = 15.11; theatre (12 + 13.333) / 2 = 12.67 (the conflicted juror does not count).
SCORES = {OUR_TITLE: "18,22", PERMANENCES: "15,11", THEATRE: "12,67"}
REQUESTS = {OUR_TITLE: 5_000, PERMANENCES: 6_000, THEATRE: 12_000}
TODAY = datetime.now(ZoneInfo("Europe/Paris")).date()
TIGHT_BUDGET = 12_000  # ours 5 000 + permanences 6 000 fit; 1 000 € left < 50 % of 12 000


@pytest.fixture
def journey_world(world, app, tmp_path, monkeypatch):
    """The world's open call (100 000 €, jury of two), a third juror who is not yet on
    its jury, and two other associations' files declared eligible (through the
    services). Exports run in a thread of the server into a temporary folder."""
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    world.users["juror3"] = factories.make_user(["juror"], name="Nadia Nour")
    others = {}
    for title, city in ((THEATRE, "Marseille"), (PERMANENCES, "Marseille")):
        org = factories.make_organisation([world.users["applicant"]],
                                          name=f"Compagnie {title.split()[0]}", city=city)
        others[title] = world.bring_to(factories.make_application(
            world.call, org, title=title, requested_cents=REQUESTS[title] * 100), "eligible")
    yield world
    join_export_threads()


def _state(page, text: str) -> None:
    expect(page.locator(".page-head .badge").first).to_have_text(re.compile(text, re.I))


def _act(page, trigger: str, label: str, fields: dict[str, str] | None = None) -> None:
    """Open the action ``trigger`` of the dossier page, fill it and send it."""
    page.locator(f"#action-{trigger} > summary").click()
    for selector, value in (fields or {}).items():
        page.fill(selector, value)
    page.locator(f"#action-{trigger}").get_by_role("button", name=label).click()
    expect(page.get_by_text(f"{label} : c'est fait.")).to_be_visible()


def test_the_whole_life_of_an_application(browser, live_server, journey_world, tmp_path):
    world = journey_world
    shoot = Album("full_journey")
    people = People(browser, live_server)
    try:
        _journey(people, shoot, world, tmp_path)
    finally:
        people.close()
    assert not people.errors, f"errors in the browser console: {people.errors}"
    assert not shoot.too_wide, f"pages wider than a phone: {shoot.too_wide}"


def _journey(people: People, shoot: Album, world, tmp_path: Path) -> None:
    claire = people.open()
    reference, dossier = _apply(claire, shoot, tmp_path)
    instructor = people.open(world.users["instructor"].email, PASSWORD)
    _ask_completion(instructor, shoot, dossier)
    _complete(claire, shoot, tmp_path, dossier)
    _open_review(instructor, shoot, world, dossier)
    for key in ("juror", "juror2", "juror3"):
        juror = people.open(world.users[key].email, PASSWORD)
        _score(juror, shoot, key)
    _close_review(instructor, shoot, world)
    _allocate(instructor, shoot, world)
    _deliberate(instructor, shoot, world, reference)
    _granted_seen_by(claire, shoot, dossier)
    finance = people.open(world.users["finance"].email, PASSWORD)
    _pay(finance, shoot, dossier, "pay", "advance", ADVANCE)
    _state(finance, "En cours")
    _check_balance(finance, shoot, reference)
    _report(claire, shoot, dossier)
    instructor.goto(f"/dossiers/{dossier}")
    _state(instructor, "Compte rendu déposé")
    _read_report(instructor)
    _act(instructor, "approve_report", "Approuver le compte rendu")
    _state(instructor, "Compte rendu approuvé")
    shoot(instructor, "instruction-compte-rendu-approuve")
    _pay(finance, shoot, dossier, "payment", "balance", BALANCE)
    _close(finance, shoot, claire, dossier)


# -- 1. the applicant ----------------------------------------------------------------------

def _apply(page, shoot: Album, tmp_path: Path) -> tuple[str, int]:
    page.goto("/")
    page.goto("/connexion")
    page.get_by_role("link", name="Créer un compte porteur").click()
    page.get_by_label("Nom et prénom").fill("Claire Porteuse")
    page.get_by_label("Adresse électronique").fill(CLAIRE)
    page.get_by_label("Mot de passe (12 caractères").fill(CLAIRE_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(CLAIRE_PASSWORD)
    shoot(page, "inscription")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url("**/porteur/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace porteur")

    page.get_by_role("link", name="Créer mon organisation").first.click()
    fill_organisation(page, ASSOCIATION, "732 829 320 00074", RNA)
    shoot(page, "organisation-formulaire")
    page.get_by_role("button", name="Créer l'organisation").click()
    expect(page.get_by_role("heading", name=ASSOCIATION)).to_be_visible()
    shoot(page, "organisation-creee")

    page.get_by_role("link", name="Espace porteur").first.click()
    page.get_by_role("link", name=re.compile("Déposer un projet")).first.click()
    page.get_by_role("button", name="Commencer le dossier").click()
    expect(page.get_by_text("Brouillon créé")).to_be_visible()
    fill_application(page)
    page.get_by_label("75 – Autres produits de gestion courante").fill("2 000")
    expect(page.locator("[data-balance]")).to_contain_text("équilibré : charges = produits")
    page.get_by_role("button", name="Enregistrer le brouillon").first.click()
    expect(page.get_by_text("Brouillon enregistré le")).to_be_visible()

    attach(page, tmp_path, "statutes", "statuts.pdf")
    shoot(page, "brouillon-complet")

    page.get_by_role("button", name="Déposer le dossier").click()
    page.wait_for_url("**/accuse-de-reception")
    expect(page.get_by_role("heading", name="Accusé de réception")).to_be_visible()
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"AAP-2026-\d{4}", reference)
    shoot(page, "accuse-de-reception")
    dossier = int(re.search(r"/dossiers/(\d+)/", page.url).group(1))
    return reference, dossier


def _ask_completion(page, shoot: Album, dossier: int) -> None:
    page.goto(f"/dossiers/{dossier}")
    _state(page, "Déposé")
    expect(page.get_by_role("link", name="statuts.pdf")).to_be_visible()
    _act(page, "request_completion", "Demander des compléments", {
        "#request_completion-comment": "Merci de joindre le RIB de l'association.",
        "#request_completion-deadline": "2099-12-31"})
    _state(page, "À compléter")
    shoot(page, "instruction-complements-demandes")


def _complete(page, shoot: Album, tmp_path: Path, dossier: int) -> None:
    page.goto("/porteur/")
    row = page.get_by_role("row", name=re.compile(re.escape(OUR_TITLE)))
    expect(row).to_contain_text("Compléter avant le 31/12/2099")
    shoot(page, "porteur-a-completer")
    page.goto(f"/porteur/dossiers/{dossier}")
    expect(page.locator(".completion")).to_contain_text("Merci de joindre le RIB")
    page.get_by_role("link", name="Compléter le dossier").click()
    attach(page, tmp_path, "rib", "rib.pdf")
    page.get_by_role("button", name="Renvoyer le dossier complété").click()
    page.wait_for_url("**/accuse-de-reception")
    page.get_by_role("link", name="Suivre mon dossier").click()
    _state(page, "Déposé")
    shoot(page, "porteur-dossier-renvoye")


# -- 2. eligibility, the jury, the review ------------------------------------------------------

def _open_review(page, shoot: Album, world, dossier: int) -> None:
    page.goto(f"/dossiers/{dossier}")
    _state(page, "Déposé")
    expect(page.get_by_role("link", name="rib.pdf")).to_be_visible()
    _act(page, "declare_eligible", "Déclarer recevable")
    _state(page, "Recevable")
    shoot(page, "instruction-recevable")

    page.goto(f"/instruction/appels/{world.call.id}")
    expect(page.get_by_text("jury de 2 membres")).to_be_visible()
    page.get_by_role("link", name="Composition du jury").click()
    page.get_by_label("Nadia Nour").check()
    shoot(page, "composition-du-jury")
    page.get_by_role("button", name="Enregistrer le jury").click()
    expect(page.get_by_text("Composition du jury enregistrée (3 membres).")).to_be_visible()
    expect(page.get_by_text("jury de 3 membres")).to_be_visible()

    page.get_by_label("État").select_option("eligible")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("table.backoffice tbody tr")
    expect(rows).to_have_count(3)
    for title in REQUESTS:
        page.get_by_role("row", name=re.compile(re.escape(title))).get_by_role("checkbox").check()
    page.select_option("#trigger", "open_review")
    shoot(page, "appel-ouverture-evaluation")
    page.get_by_role("button", name="Appliquer aux dossiers cochés").click()
    expect(page.get_by_role("status")).to_contain_text("3 dossiers traités, 0 refus.")
    shoot(page, "evaluation-ouverte")


def _score(page, shoot: Album, key: str) -> None:
    marks = MARKS[key]
    page.goto("/jury/")
    expect(page.get_by_text("0 sur 3 évaluations transmises")).to_be_visible()
    if key == "juror":
        page.get_by_role("link", name=THEATRE).click()
        page.get_by_role("link", name="Déclarer un conflit d'intérêts").click()
        page.get_by_label("Nature du lien (facultatif)").fill(
            "Je suis adhérente de la compagnie.")
        shoot(page, "jure-conflit-d-interets")
        page.get_by_role("button", name="Confirmer : je me déporte").click()
        expect(page.get_by_text("Conflit d'intérêts enregistré")).to_be_visible()
        expect(page.get_by_role("link", name=THEATRE)).to_have_count(0)
    for title, (pertinence, faisabilite) in marks.items():
        page.goto("/jury/")
        page.get_by_role("link", name=title).click()
        page.wait_for_load_state()  # the live total's script is deferred: let it start
        page.locator("#score_pertinence").fill(str(pertinence))
        page.locator("#score_faisabilite").fill(str(faisabilite))
        total = _total(pertinence, faisabilite)
        expect(page.locator("#live-total")).to_have_text(total)
        if key == "juror" and title == OUR_TITLE:
            page.get_by_label("Appréciation générale").fill("Projet solide ; budget réaliste.")
            shoot(page, "jure-grille")
        page.get_by_role("button", name="Transmettre mon évaluation").click()
        page.get_by_role("button", name="Confirmer la transmission").click()
        expect(page.get_by_text(f"Évaluation transmise ({total} / 20)")).to_be_visible()
    page.goto("/jury/")
    done = len(marks)
    expect(page.get_by_text(f"{done} sur {done} évaluations transmises")).to_be_visible()
    if key == "juror":
        shoot(page, "jure-evaluations-transmises")


def _total(pertinence: int, faisabilite: int) -> str:
    """The juror's total on 20 as the pages write it: at most two decimals, comma."""
    value = round((2 * pertinence + faisabilite) / 15 * 20, 2)
    return f"{value:g}".replace(".", ",")


# -- 4. the allocation and the deliberation ----------------------------------------------

def _close_review(page, shoot: Album, world) -> None:
    page.goto(f"/instruction/appels/{world.call.id}/jury")
    progress = page.locator("#avancement table")
    for name, done in (("Julie Jurée", 2), ("Jules Juré", 3), ("Nadia Nour", 3)):
        expect(progress.get_by_role("row", name=re.compile(name))).to_contain_text(str(done))
    expect(page.locator("#matrice")).to_contain_text("Déporté")
    shoot(page, "jury-suivi")
    page.get_by_role("button", name="Clore l'évaluation des dossiers").click()
    expect(page.get_by_text("3 dossiers clos : évaluation terminée.")).to_be_visible()


def _allocate(page, shoot: Album, world) -> None:
    page.goto(f"/instruction/appels/{world.call.id}")
    page.get_by_role("link", name="Répartition du budget").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Répartition du budget")
    budget = page.get_by_label("Budget à répartir (€)")
    expect(budget).to_have_value("100\u202f000,00")  # nothing committed yet
    page.get_by_label("Graine du tirage au sort").fill("Loto du 12 octobre 2026")
    page.get_by_role("button", name="Simuler").click()
    expect(page.get_by_text("Simulation enregistrée : aucun dossier n'a changé d'état."))\
        .to_be_visible()
    rows = page.locator("#rows-title + .table-wrap tbody tr")
    expect(rows).to_have_count(3)
    # ranked by score: ours, the permanences, the theatre; all funded at their request
    for i, title in enumerate((OUR_TITLE, PERMANENCES, THEATRE)):
        row = rows.nth(i)
        expect(row).to_contain_text(title)
        expect(row).to_contain_text(SCORES[title])
        expect(row).to_contain_text("Financé")
    expect(page.locator(".stats")).to_contain_text(eur(23_000))
    shoot(page, "repartition-simulation-1")

    page.get_by_role("link", name="Répartition du budget").first.click()
    budget.fill(f"{TIGHT_BUDGET}")
    page.get_by_role("button", name="Simuler").click()
    expect(rows.nth(0)).to_contain_text("Financé")
    expect(rows.nth(1)).to_contain_text("Financé")
    theatre = rows.nth(2)
    expect(theatre).to_contain_text(THEATRE)
    expect(theatre).to_contain_text("Liste d'attente")
    expect(page.locator(".stats")).to_contain_text(eur(11_000))
    shoot(page, "repartition-simulation-2")

    page.get_by_role("link", name="Répartition du budget").first.click()
    page.get_by_role("button", name="Comparer A et B").click()
    expect(page.locator(".stats")).to_contain_text("1 dossier change de résultat")
    changes = page.locator("#changes-title + .table-wrap tbody tr")
    expect(changes).to_have_count(1)
    expect(changes).to_contain_text(THEATRE)
    expect(changes).to_contain_text(f"Financé · {eur(12_000)}")
    expect(changes).to_contain_text(f"Liste d'attente · {eur(0)}")
    assert re.search(r"[-\u2212]12\u202f000,00\xa0€", changes.inner_text())
    shoot(page, "repartition-comparaison")

    # commit the second, tighter run
    page.get_by_role("link", name="Retour aux répartitions").click()
    page.locator("#runs-title + form tbody tr").first.get_by_role("link").click()
    page.get_by_label(re.compile("^Je confirme")).check()
    page.get_by_role("button", name="Valider la répartition").click()
    expect(page.get_by_text("Répartition validée : chaque dossier a reçu sa proposition."))\
        .to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("En vigueur")
    shoot(page, "repartition-validee")


def _deliberate(page, shoot: Album, world, reference: str) -> None:
    page.goto(f"/instruction/appels/{world.call.id}")
    page.get_by_role("link", name="Délibération (2 dossiers proposés)").click()
    proposed = page.locator("#proposed-title + .table-wrap tbody tr")
    expect(proposed).to_have_count(2)
    expect(page.locator("tfoot")).to_contain_text(eur(11_000))
    page.get_by_label("Instance de décision").fill("Bureau de la Métropole")
    page.get_by_label("Référence de la délibération").fill("DEL-2026-117")
    page.get_by_label("Date de la délibération").fill(TODAY.isoformat())
    shoot(page, "deliberation")
    page.get_by_role("button", name="Enregistrer la délibération et accorder").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"2 subventions accordées ({eur(11_000)}), 0 refus.")
    granted = page.get_by_role("row", name=re.compile(reference))
    expect(granted).to_contain_text(eur(REQUESTED))
    shoot(page, "deliberation-enregistree")
    page.goto(f"/instruction/appels/{world.call.id}")
    stats = plain(page.locator(".stats").inner_text())
    assert f"{plain(eur(11_000))} accordé" in stats
    assert f"{plain(eur(89_000))} disponible" in stats


def _granted_seen_by(page, shoot: Album, dossier: int) -> None:
    page.goto("/porteur/")
    row = page.get_by_role("row", name=re.compile(re.escape(OUR_TITLE)))
    expect(row).to_contain_text("Subvention accordée")
    expect(row).to_contain_text("Aucune action : versement à venir")
    page.goto(f"/porteur/dossiers/{dossier}")
    facts = plain(page.locator("main").inner_text())
    assert f"Montant accordé {plain(eur(REQUESTED))}" in facts
    shoot(page, "porteur-subvention-accordee")


# -- 5. finance ------------------------------------------------------------------------

def _pay(page, shoot: Album, dossier: int, trigger: str, kind: str, euros: int) -> None:
    page.goto(f"/dossiers/{dossier}")
    page.locator(f"#action-{trigger} > summary").click()
    form = page.locator(f"#action-{trigger}")
    # the form offers what is left to pay of the grant, and the right kind of payment
    left = REQUESTED if trigger == "pay" else BALANCE
    expect(form.get_by_label("Montant versé (€)")).to_have_value(eur(left).split("\xa0")[0])
    expect(form.get_by_label("Nature du versement")).to_have_value(kind)
    form.get_by_label("Montant versé (€)").fill(f"{euros}")
    form.get_by_label("Date du versement").fill(TODAY.isoformat())
    form.get_by_label("Numéro de mandat").fill(f"M-2026-{euros}")
    shoot(page, f"finances-versement-{kind}")
    form.get_by_role("button", name="Enregistrer un versement").click()
    expect(page.get_by_text("Enregistrer un versement : c'est fait.")).to_be_visible()
    payments = page.locator("#payments-title + .table-wrap tbody")
    expect(payments).to_contain_text(f"M-2026-{euros}")
    expect(payments).to_contain_text(eur(euros))


def _check_balance(page, shoot: Album, reference: str) -> None:
    page.goto("/finances/")
    page.get_by_role("button", name="Exporter le bilan de l'exercice (xlsx)").click()
    link = page.get_by_role("link", name="Télécharger bilan-exercice-2026.xlsx")
    expect(link).to_be_visible(timeout=30_000)
    shoot(page, "finances-export-pret")
    with page.expect_download() as info:
        link.click()
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()), data_only=True)
    sheet = book["Attributions"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if "Référence" in r and "Montant accordé (€)" in r)
    lines = {r[header.index("Référence")]: dict(zip(header, r, strict=True)) for r in rows
             if r is not header and r[header.index("Référence")]}
    ours = lines[reference]
    assert ours["Organisation"] == ASSOCIATION
    assert ours["SIRET"] == SIRET and ours["RNA"] == RNA
    assert ours["Intitulé du projet"] == OUR_TITLE
    assert ours["État"] == "En cours (versement effectué)"
    assert ours["Rang"] == 1
    assert round(ours["Score"], 2) == 18.22
    assert ours["Montant demandé (€)"] == REQUESTED
    assert not ours["Montant proposé (€)"]  # granted: no proposal pending any more
    assert ours["Montant accordé (€)"] == REQUESTED
    assert ours["Versé (€)"] == ADVANCE
    assert ours["Reste à verser (€)"] == BALANCE
    assert not ours["Reversé (€)"]
    assert ours["Instance de décision"] == "Bureau de la Métropole"
    assert ours["Délibération"] == "DEL-2026-117"
    decided = ours["Date de décision"]
    assert (decided.date() if isinstance(decided, datetime) else decided) == TODAY
    by_title = {line["Intitulé du projet"]: line for line in lines.values()}
    assert by_title[PERMANENCES]["Montant accordé (€)"] == 6_000
    assert not by_title[PERMANENCES]["Versé (€)"]
    assert by_title[THEATRE]["État"] == "Sur liste d'attente"
    assert not by_title[THEATRE]["Montant accordé (€)"]


# -- 6. the report, the balance, the closing ------------------------------------------

def _report(page, shoot: Album, dossier: int) -> None:
    page.goto("/porteur/")
    row = page.get_by_role("row", name=re.compile(re.escape(OUR_TITLE)))
    expect(row).to_contain_text("En cours (versement effectué)")
    row.get_by_role("link", name="Déposer le compte rendu financier").click()
    page.wait_for_load_state()  # the live totals' script is deferred: let it start
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compte rendu financier")
    # nothing typed yet: no alarm about an unbalanced budget or a gap of -100 %
    balance = page.locator("p.balance")
    expect(balance).to_have_text("Le budget réalisé ne comporte encore aucune ligne.")
    expect(page.get_by_text("L'écart sur le total des charges")).to_have_count(0)
    for label, euros in (("62 – Autres services extérieurs", "2 800"),
                         ("64 – Charges de personnel", "7 200"),
                         ("74 – Subvention Intercommunalité(s) / EPCI", "5 000"),
                         ("74 – Subvention État", "3 000"),
                         ("75 – Autres produits de gestion courante", "2 000")):
        page.get_by_label(label).fill(euros)
    # the totals follow the typing: 2 800 + 7 200 = 5 000 + 3 000 + 2 000 = 10 000 €
    expect(page.locator('[data-total="charges"]')).to_have_text(eur(10_000))
    expect(page.locator('[data-total="products"]')).to_have_text(eur(10_000))
    expect(balance).to_have_text("Le budget est équilibré : charges = produits.")
    page.get_by_label("Actions réalisées").fill(
        "Douze ateliers de simulation d'entretien, 18 employeurs rencontrés.")
    page.get_by_label("Bénéficiaires atteints").fill("55")
    shoot(page, "porteur-compte-rendu")
    page.get_by_role("button", name="Déposer le compte rendu").click()
    expect(page.get_by_text("Votre compte rendu financier est déposé.")).to_be_visible()
    _state(page, "Compte rendu déposé")
    shoot(page, "porteur-compte-rendu-depose")


def _read_report(page) -> None:
    """The instructor reads the report before approving it: each line planned against
    realised (62: 3 000 → 2 800, -200 €, -6,7 %; 64: 7 000 → 7 200, +200 €, +2,9 %),
    the totals equal, the beneficiaries and the narrative."""
    report = page.locator("#compte-rendu")
    charges = report.locator("table").first
    line_62 = charges.get_by_role("row", name=re.compile("^62"))
    expect(line_62).to_contain_text(eur(3_000))
    expect(line_62).to_contain_text(eur(2_800))
    assert re.search(r"[-\u2212]200,00\xa0€", line_62.inner_text())
    expect(line_62).to_contain_text(re.compile(r"[-\u2212]6,7 %"))
    expect(charges.get_by_role("row", name=re.compile("^64"))).to_contain_text("+2,9 %")
    total = charges.locator("tr.total")
    expect(total).to_contain_text(eur(10_000))
    expect(total).to_contain_text("+0,0 %")
    expect(report).to_contain_text("55 (prévu : 60)")
    expect(report).to_contain_text("Douze ateliers de simulation d'entretien")


def _close(page, shoot: Album, claire, dossier: int) -> None:
    expect(page.locator("dl.facts").first).to_contain_text(f"{eur(REQUESTED)} / {eur(REQUESTED)}")
    _act(page, "close", "Clore le dossier")
    _state(page, "Clos")
    # no action left: the file takes the page's whole width, no empty column beside it
    assert page.locator(".dossier-actions").count() == 0
    assert page.locator(".dossier-main").bounding_box()["width"] > 1000
    shoot(page, "finances-dossier-clos")
    claire.goto(f"/porteur/dossiers/{dossier}")
    _state(claire, "Clos")
    assert f"Versé {plain(eur(REQUESTED))}" in plain(claire.locator("main").inner_text())
    shoot(claire, "porteur-dossier-clos")
    db.session.commit()  # end the test's read transaction: see the server's writes
    app = db.session.get(Application, dossier)
    assert app.state == "closed"
    assert app.paid_cents == REQUESTED * 100
