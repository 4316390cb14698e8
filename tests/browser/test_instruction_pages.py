"""The instructor's pages in Chromium, at 1280 px and on a phone (375 px): the call's
back-office list with a bulk action, a file with its actions panel (a refused action keeps
its form), and the call configuration with locked fields. Screenshots of each step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from aap.services import reviews
from tests import factories
from tests.browser.conftest import Shots, log_in
from tests.factories import PASSWORD


def _populate(world):
    call = world.call
    from aap.extensions import db
    from aap.models import Envelope

    call.envelopes = [Envelope(key="nord", label="Secteur nord", budget_cents=40_000_00),
                      Envelope(key="sud", label="Secteur sud", budget_cents=40_000_00)]
    db.session.commit()
    titles = ["Ateliers d'accès aux droits", "Théâtre-forum contre le sexisme",
              "Testing à l'embauche", "Permanences juridiques", "Sport pour toutes"]
    apps = []
    for i, title in enumerate(titles):
        org = factories.make_organisation([world.users["applicant"]],
                                          name=f"Association {title.split()[0]} {i}")
        apps.append(factories.make_application(
            call, org, title=title, requested_cents=(3 + i) * 1_000_00,
            envelope_id=call.envelopes[i % 2].id,
            territories=["Marseille — QPV Frais Vallon"] if i % 2 else ["Vitrolles"]))
    world.bring_to(apps[0], "submitted")
    world.bring_to(apps[1], "submitted")
    world.bring_to(apps[2], "eligible")
    reviewed = world.bring_to(apps[3], "in_review")
    for juror, scores in ((world.users["juror"], {"pertinence": 5, "faisabilite": 4}),
                          (world.users["juror2"], {"pertinence": 1, "faisabilite": 1})):
        reviews.save_review(juror, reviewed, {"scores": scores, "comment": "Vu", "submit": True})
    world.bring_to(apps[4], "proposed")
    return apps


@pytest.fixture
def wide_page(browser, live_server, request):
    """Like the harness's ``page``, at the width of the test, and tolerant of the 422
    answers of refused forms (which Chromium logs as failed loads): other console errors
    still fail the test."""
    width = request.node.callspec.params["width"]
    context = browser.new_context(base_url=live_server, locale="fr-FR",
                                  timezone_id="Europe/Paris",
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: msg.type == "error" and "422" not in msg.text
           and errors.append(msg.text))
    tab.shots = Shots(tab, request.node.name)
    yield tab
    context.close()
    assert not errors, f"errors in the browser console: {errors}"


@pytest.mark.parametrize("width", [1280, 375])
def test_instruction_pages(wide_page, world, width):
    page = wide_page
    apps = _populate(world)
    log_in(page, world.users["instructor"].email, PASSWORD)

    page.goto(f"/instruction/appels/{world.call.id}")
    assert page.locator("h1").inner_text() == world.call.title
    page.shots(f"{width}-call-list")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # bulk: declare eligible two submitted files and one that is not submitted
    for app in (apps[0], apps[1], apps[2]):
        page.check(f"input[name=ids][value='{app.id}']")
    page.select_option("#trigger", "declare_eligible")
    page.get_by_role("button", name="Appliquer aux dossiers cochés").click()
    expect(page.locator("body")).to_contain_text("2 dossiers traités")
    expect(page.locator("body")).to_contain_text("Impossible dans l'état « Recevable »")
    page.shots(f"{width}-bulk-result")

    # a refused grant keeps its form and says why
    page.goto(f"/dossiers/{apps[4].id}")
    page.locator("#action-grant > summary").click()
    page.fill("#grant-decision_body", "Bureau de la Métropole")
    page.get_by_role("button", name="Accorder la subvention").last.click()
    expect(page.locator("body")).to_contain_text("Action refusée")
    assert page.input_value("#grant-decision_body") == "Bureau de la Métropole"
    page.shots(f"{width}-dossier-refused")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"/dossiers/{apps[3].id}")
    page.shots(f"{width}-dossier-reviews")

    page.goto(f"/instruction/appels/{world.call.id}/modifier")
    expect(page.locator("body")).to_contain_text("verrouillé")
    page.shots(f"{width}-call-edit-locked")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto("/instruction/appels/nouveau")
    page.get_by_role("button", name="Créer l'appel").click()
    expect(page.locator("body")).to_contain_text("Le formulaire contient des erreurs")
    page.shots(f"{width}-call-new-errors")
