"""Several authorities in a browser (issue #11): a commune's instructor sees only the
commune's calls and files; the métropole's instructor, its parent, opens the consolidated
dashboard where the commune is a line beside the métropole's own calls, and the other
métropole is nowhere. At 1280 and 375 px, with screenshots in ``test-artifacts/``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import log_in
from tests.factories import PASSWORD

METROPOLE, COMMUNE, OTHER = ("Métropole Aix-Marseille-Provence", "Ville de Vitrolles",
                             "Métropole Européenne de Lille")
CALLS = {METROPOLE: "Appel métropolitain contre les discriminations 2026",
         COMMUNE: "Vitrolles : 21 mars et 17 mai 2026",
         OTHER: "Lille : logement, emploi, santé, éducation 2026"}


def _three_authorities(world) -> dict[str, object]:
    """The métropole, its commune and an unrelated métropole, each with a call and one
    submitted file (requests of 5 000, 7 000 and 9 000 €), and two instructors."""
    metropole = factories.make_authority(METROPOLE, "metropole")
    commune = factories.make_authority(COMMUNE, "commune", parent=metropole)
    other = factories.make_authority(OTHER, "metropole")
    for authority, requested in ((metropole, 5_000_00), (commune, 7_000_00),
                                 (other, 9_000_00)):
        fund = factories.make_fund(authority_id=authority.id, name=f"Fonds — {authority.name}")
        call = factories.make_call(fund, title=CALLS[authority.name])
        application = factories.make_application(call, world.org, requested_cents=requested,
                                                 title=f"Projet soutenu par {authority.name}")
        world.bring_to(application, "submitted")
    return {
        "commune": factories.make_user(["instructor"], "instruction@vitrolles.example.org",
                                       "Chloé Commune", authority=commune),
        "metropole": factories.make_user(["instructor"], "instruction@ampmetropole.example.org",
                                         "Marc Métropole", authority=metropole),
    }


def _journey(page, world) -> None:
    instructors = _three_authorities(world)

    log_in(page, instructors["commune"].email, PASSWORD)
    page.goto("/instruction/")
    main = page.get_by_role("main")
    expect(main).to_contain_text(CALLS[COMMUNE])
    for foreign in (METROPOLE, OTHER):
        expect(main).not_to_contain_text(CALLS[foreign])
    page.shots("commune-instructor-home")
    page.get_by_role("link", name=CALLS[COMMUNE]).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CALLS[COMMUNE])
    page.shots("commune-call")
    page.context.clear_cookies()  # the next person on this browser

    log_in(page, instructors["metropole"].email, PASSWORD)
    page.goto("/tableaux-de-bord/?exercice=2026")
    page.get_by_role("link", name=f"{METROPOLE} et ses collectivités rattachées").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(METROPOLE)
    lines = page.get_by_role("table", name="Appels, dossiers, budget, accordé, versé et "
                                           "disponible par collectivité")
    expect(lines).to_contain_text(f"{METROPOLE} (appels propres)")
    expect(lines).to_contain_text(COMMUNE)
    expect(lines).not_to_contain_text(OTHER)
    # one submitted file per authority it reads: its own and the commune's
    total = lines.get_by_role("row").filter(has_text="Total consolidé")
    expect(total.get_by_role("cell").nth(1)).to_have_text("2")
    page.shots("metropole-consolidated-dashboard")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def test_authorities_on_a_desktop(page, world):
    _journey(page, world)


@pytest.mark.mobile
def test_authorities_on_a_phone(page, world):
    _journey(page, world)
