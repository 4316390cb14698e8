"""The finance officer's dashboard in a browser, at 1280 and 375 px: the charts are drawn
and visible, fit the screen (no sideways scrolling of the page), and each is followed by
its data table. Screenshots in ``test-artifacts/screenshots/``. (The project runs no axe
audit in its browser tests.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from tests.services import indicators_world

CHARTS = [
    "Budget, accordé et versé par appel et par enveloppe",
    "Dossiers déposés par état",
    "Quartiers prioritaires (QPV) : dossiers déposés, recevables et financés",
    "Domaines : montants demandés, accordés et versés",
    "Motifs de discrimination : montants demandés, accordés et versés",
]


def _dashboard(page, world, monkeypatch) -> None:
    story = indicators_world.build(world, monkeypatch)
    log_in(page, world.users["finance"].email, PASSWORD)
    page.get_by_role("link", name="Tableau de bord", exact=True).click()
    page.get_by_label("Exercice budgétaire").select_option("2026")
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("exercice 2026")
    for name in CHARTS:
        chart = page.get_by_role("img", name=name)
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
    jurors = page.get_by_role("img", name="Totaux donnés par chaque juré — AAP 2026")
    expect(jurors).to_be_visible()
    # finance reads the distributions, not the jurors' names
    expect(page.get_by_role("table", name="Totaux transmis par juré (sur 20)").first
           ).to_contain_text("Juré 1")
    expect(page.get_by_role("table", name="Domaines : dossiers et montants")
           ).to_contain_text("Logement")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"
    page.goto("/tableaux-de-bord/?exercice=2026")
    page.shots("dashboard-year")
    page.goto(f"/tableaux-de-bord/appels/{story.call.id}")
    expect(page.get_by_role("img", name=CHARTS[0])).to_be_visible()
    page.shots("dashboard-call")


def test_the_dashboard_on_a_desktop(page, world, monkeypatch):
    _dashboard(page, world, monkeypatch)


@pytest.mark.mobile
def test_the_dashboard_on_a_phone(page, world, monkeypatch):
    _dashboard(page, world, monkeypatch)
