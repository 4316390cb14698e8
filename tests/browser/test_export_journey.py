"""A finance officer exports the year's balance sheet in a browser: the button starts a
background job, the job's page shows its progress and refreshes itself (no script) until
the download link, the workbook downloads, « Mes exports » lists it, and the officer goes
on to the year's dashboard. Screenshots in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from aap.services import jobs
from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from tests.job_kinds import join_export_threads


@pytest.fixture
def held_balance(app, tmp_path, monkeypatch):
    """The real year's balance export, held at its start until the test has seen the job
    running (a small year is written faster than a page loads)."""
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    gate = threading.Event()
    real = jobs.KINDS["balance_year"]

    def write(target, params, user, progress):
        if not gate.wait(30):
            raise RuntimeError("the test never released the export")
        real.write(target, params, user, progress)

    monkeypatch.setitem(jobs.KINDS, "balance_year", jobs.Kind(
        name=real.name, extension=real.extension, authorize=real.authorize, write=write,
        filename=real.filename, describe=real.describe))
    yield gate
    gate.set()
    join_export_threads()


def test_the_year_balance_exported_in_the_background(page, world, held_balance):
    granted = [world.bring_to(world.application(requested_cents=(6_000 + i) * 100), "granted")
               for i in range(3)]
    log_in(page, world.users["finance"].email, PASSWORD)
    page.goto("/finances/")
    button = page.get_by_role("button", name="Exporter le bilan de l'exercice (xlsx)")
    expect(button).to_be_visible()
    page.shots("finance-home-export-button")
    button.click()

    expect(page).to_have_url(re.compile(r"/exports/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bilan de l'exercice 2026")
    status = page.get_by_role("status")
    expect(status).to_contain_text("En cours")
    progress = page.locator("progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_accessible_name(re.compile("Préparation des données"))
    expect(page.get_by_role("link", name="Arrêter l'actualisation automatique")).to_be_visible()
    page.shots("job-running")

    held_balance.set()  # the page refreshes itself until the file is ready
    link = page.get_by_role("link", name="Télécharger bilan-exercice-2026.xlsx")
    expect(link).to_be_visible(timeout=30_000)
    expect(status).to_contain_text("Terminé")
    expect(progress).to_have_attribute("value", re.compile(r"^\d+$"))
    assert progress.get_attribute("value") == progress.get_attribute("max")
    page.shots("job-done")

    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "bilan-exercice-2026.xlsx"
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    assert book.sheetnames[:2] == ["Synthèse", "Attributions"]
    cells = {c for row in book["Attributions"].iter_rows(values_only=True) for c in row}
    assert {a.reference for a in granted} <= cells

    page.get_by_role("link", name="Voir tous mes exports").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mes exports")
    expect(page.get_by_role("row", name=re.compile("Bilan de l'exercice 2026"))) \
        .to_contain_text("Terminé")
    page.shots("my-exports")

    page.get_by_role("navigation", name="Menu principal") \
        .get_by_role("link", name="Tableau de bord").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tableau de bord")
    expect(page.get_by_role("heading", level=1)).to_contain_text("exercice 2026")
    page.shots("dashboard")


@pytest.mark.mobile
def test_an_instructor_exports_a_call_open_data_on_a_phone(page, world, app, tmp_path,
                                                          monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    granted = world.bring_to(world.application(), "granted")
    log_in(page, world.users["instructor"].email, PASSWORD)
    page.goto(f"/instruction/appels/{world.call.id}")
    exports = page.get_by_role("list", name="Exports de l'appel")
    expect(exports.get_by_role("button", name="Bilan de l'appel (xlsx)")).to_be_visible()
    page.shots("call-page-export-buttons")
    exports.get_by_role("button", name="Données ouvertes SCDL (CSV)").click()
    link = page.get_by_role("link", name=f"Télécharger subventions-appel-{world.call.id}.csv")
    expect(link).to_be_visible(timeout=30_000)
    page.shots("scdl-job-done")
    with page.expect_download() as info:
        link.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    assert header.startswith("nomAttribuant,idAttribuant,dateConvention")
    assert len(rows) == 1 and granted.organisation.siret in rows[0]
    join_export_threads()
