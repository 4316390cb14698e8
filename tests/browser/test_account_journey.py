"""« Mon compte » in Chromium: an applicant creates an API token (shown once), revokes
it, downloads its data, and deletes its account; a phone shows the pages without
scrolling sideways."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD


def test_an_applicant_manages_tokens_downloads_its_data_and_leaves(page, world):
    user = world.users["applicant"]
    log_in(page, user.email, PASSWORD)
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    page.shots("account")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mes données").click()
    data = json.loads(download.value.path().read_text())
    assert data["account"]["email"] == user.email

    page.get_by_role("link", name="Gérer mes jetons").click()
    page.get_by_label("Nom du jeton").fill("Logiciel financier")
    page.get_by_label("Durée de validité").select_option("90")
    page.get_by_role("button", name="Créer le jeton").click()
    value = page.get_by_label("Jeton", exact=True)
    expect(value).to_have_value(value.input_value())
    assert len(value.input_value()) > 30
    page.shots("token-created")
    page.get_by_role("button", name="Révoquer Logiciel financier").click()
    expect(page.get_by_role("status")).to_contain_text("est révoqué")
    expect(page.get_by_role("cell", name="Révoqué")).to_be_visible()
    page.shots("token-revoked")

    page.goto("/compte/supprimer")
    page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    page.get_by_label("Je comprends que la suppression est définitive.").check()
    page.shots("delete")
    page.get_by_role("button", name="Supprimer définitivement mon compte").click()
    expect(page.get_by_role("status")).to_contain_text("Votre compte est supprimé")
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()


@pytest.mark.mobile
def test_the_account_pages_fit_a_phone(page, world):
    world.bring_to(world.application(), "submitted")
    log_in(page, world.users["applicant"].email, PASSWORD)
    for path, label in (("/compte/", "account"), ("/compte/jetons", "tokens"),
                        ("/compte/supprimer", "delete-refused")):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        page.shots(f"{label}-mobile")
    expect(page.locator("#deletion-blockers")).to_contain_text("en cours d'instruction")
