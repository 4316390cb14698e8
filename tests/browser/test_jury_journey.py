"""The jury in a browser: a juror declares a conflict on one application, scores another
and submits; an instructor follows the progress, reminds, and closes the review."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from aap.extensions import db
from aap.models import Application
from aap.services import reviews
from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from tests.web.test_jury_juror import attach_pdf


def _log_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state("networkidle")


class Statuses:
    """The real status of each form post, while the browser is shown a 200: Chromium logs
    every 4xx page load as a console error, which the harness counts as a failure, and a
    form sent back with its errors is a 422 (a recused page a 404) on purpose."""

    def __init__(self, page) -> None:
        self.seen: list[int] = []
        page.route(re.compile(r".*/(jury|instruction)/.*"), self._handle)

    def _handle(self, route) -> None:
        response = route.fetch(max_redirects=0)
        self.seen.append(response.status)
        route.fulfill(response=response,
                      status=200 if response.status in (404, 422) else response.status)

    def last(self) -> int:
        return self.seen[-1]


def _fits(page, width: int = 375) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.fixture
def two_in_review(world):
    first = world.bring_to(world.application(title="Maison des droits de Frais Vallon"),
                           "in_review")
    second = world.bring_to(world.application(title="Ateliers égalité à l'embauche"),
                            "in_review")
    attach_pdf(second, "statuts-association.pdf")
    return first, second


def test_juror_conflict_then_scores_and_submits_then_instructor_closes(page, world,
                                                                       two_in_review):
    conflicted, _scored = two_in_review
    juror = world.users["juror"]

    # -- the juror: the list, a conflict on the first application
    statuses = Statuses(page)
    log_in(page, juror.email, PASSWORD)
    page.goto("/jury/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes évaluations")
    expect(page.get_by_text("0 sur 2 évaluations transmises")).to_be_visible()
    page.shots("juror-list")
    page.get_by_role("link", name="Maison des droits de Frais Vallon").click()
    expect(page.get_by_role("heading", name="Grille d'évaluation")).to_be_visible()
    page.get_by_role("link", name="Déclarer un conflit d'intérêts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclarer un conflit d'intérêts")
    page.get_by_label("Nature du lien (facultatif)").fill("Je siège au bureau de l'association.")
    page.shots("conflict-confirmation")
    page.get_by_role("button", name="Confirmer : je me déporte").click()
    expect(page.get_by_text("Conflit d'intérêts enregistré")).to_be_visible()
    expect(page.get_by_role("link", name="Maison des droits de Frais Vallon")).to_have_count(0)
    page.shots("juror-list-after-conflict")
    page.goto(f"/jury/dossiers/{conflicted.id}")
    assert statuses.last() == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")

    # -- the second application: the file, a wrong score, then a draft, then submission
    page.goto("/jury/")
    page.get_by_role("link", name="Ateliers égalité à l'embauche").click()
    expect(page.get_by_role("link", name="statuts-association.pdf")).to_be_visible()
    pertinence = page.locator("#score_pertinence")
    pertinence.fill("7")
    page.locator("#score_faisabilite").fill("4")
    expect(page.locator("#live-total")).to_have_text("—")  # live total: an invalid score
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("La note doit être comprise entre 0 et 5.").first).to_be_visible()
    assert statuses.last() == 422
    expect(page.locator("#score_pertinence")).to_have_value("7")  # the form is kept
    page.shots("grid-error")
    page.locator("#score_pertinence").fill("3,5")
    expect(page.locator("#live-total")).to_have_text("14,67")  # (2*3.5+4)/15*20
    page.locator("#comment_pertinence").fill("Public bien ciblé, partenariats solides.")
    page.get_by_label("Appréciation générale").fill("Projet solide ; budget réaliste.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Brouillon enregistré. Total provisoire : 14,67 / 20.")).to_be_visible()
    page.shots("grid-draft-saved")
    page.get_by_role("button", name="Transmettre mon évaluation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Transmettre mon évaluation")
    expect(page.get_by_text("Public bien ciblé, partenariats solides.")).to_be_visible()
    page.shots("submit-confirmation")
    page.get_by_role("button", name="Confirmer la transmission").click()
    expect(page.get_by_text("Évaluation transmise (14,67 / 20)")).to_be_visible()
    expect(page.get_by_role("heading", name="Mon évaluation")).to_be_visible()
    expect(page.get_by_text("Aucun autre juré n'a encore transmis son évaluation.")).to_be_visible()
    page.shots("review-submitted")
    _log_out(page)

    # -- the instructor: progress, reminder, closing (refused, then forced with a reason)
    log_in(page, world.users["instructor"].email, PASSWORD)
    page.goto(f"/instruction/appels/{world.call.id}/jury")
    progress = page.locator("#avancement table")
    expect(progress.get_by_role("row", name=re.compile("Julie Jurée"))).to_contain_text("1")
    expect(page.locator("#matrice")).to_contain_text("Déporté")
    page.shots("instructor-progress")
    page.get_by_role("button", name="Relancer les jurés en retard").click()
    expect(page.get_by_text("1 juré en retard relancé par courriel.")).to_be_visible()
    page.get_by_role("button", name="Clore l'évaluation des dossiers").click()
    expect(page.get_by_text(re.compile("2 dossiers non clos"))).to_be_visible()
    page.shots("close-refused")
    page.get_by_label("Clore aussi les dossiers dont des évaluations manquent").check()
    page.get_by_role("button", name="Clore l'évaluation des dossiers").click()
    expect(page.get_by_text("Indiquez pourquoi vous closez").first).to_be_visible()
    assert statuses.last() == 422
    page.shots("close-reason-required")
    page.get_by_label(re.compile("^Motif")).fill("Jury réuni en séance le 12 octobre.")
    page.get_by_role("button", name="Clore l'évaluation des dossiers").click()
    expect(page.get_by_text("2 dossiers clos : évaluation terminée.")).to_be_visible()
    page.shots("closed")
    db.session.commit()  # end the test's read transaction: see the server's writes
    states = set(db.session.scalars(select(Application.state)))
    assert states == {"reviewed"}
    page.get_by_role("link", name="Classement et graphiques").click()
    expect(page.locator("svg[role=img]")).to_have_count(2)
    page.shots("ranking")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Télécharger le rapport du jury")).click()
    assert download.value.suggested_filename == f"jury-appel-{world.call.id}.xlsx"


@pytest.mark.mobile
def test_the_grid_and_the_jury_pages_fit_a_phone(page, world, two_in_review):
    conflicted, scored = two_in_review
    for key, marks in (("juror2", {"pertinence": 5, "faisabilite": 4}),
                       ("juror", {"pertinence": 2, "faisabilite": 3})):
        reviews.save_review(world.users[key], conflicted, {"scores": marks, "submit": True})
    reviews.save_review(world.users["juror2"], scored, {
        "scores": {"pertinence": 4, "faisabilite": 4}, "comment": "Très bon projet.",
        "submit": True})
    log_in(page, world.users["juror"].email, PASSWORD)
    page.goto(f"/jury/dossiers/{scored.id}")
    _fits(page)
    page.shots("grid-mobile")
    page.goto("/jury/")
    _fits(page)
    _log_out(page)
    log_in(page, world.users["instructor"].email, PASSWORD)
    page.goto(f"/instruction/appels/{world.call.id}/jury")
    _fits(page)
    page.shots("instructor-jury-mobile")
    page.goto(f"/instruction/appels/{world.call.id}/jury/classement")
    expect(page.locator("svg[role=img]")).to_have_count(2)
    _fits(page)
    page.shots("ranking-mobile")
