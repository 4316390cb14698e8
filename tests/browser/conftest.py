"""Browser journeys: the app served on 127.0.0.1 in a thread, driven by Playwright in
Debian's headless Chromium (``/usr/bin/chromium``; no browser is ever downloaded).

Screenshots of each step go to ``test-artifacts/screenshots/<test name>/``.
Without Chromium the tests are skipped, unless ``AAP_REQUIRE_BROWSER=1`` (CI) makes that
a failure.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("AAP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required for the browser journeys: {CHROMIUM} missing")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_server(app, db):
    """The app, served by werkzeug on a free port of 127.0.0.1 for this test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Shots:
    """Numbered full-page screenshots of a journey, one folder per test."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (French, phone-sized when the test asks for ``mobile``)."""
    mobile = request.node.get_closest_marker("mobile") is not None
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", timezone_id="Europe/Paris",
        viewport={"width": 375, "height": 812} if mobile else {"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors = watch_errors(tab)
    tab.shots = Shots(tab, request.node.name)
    yield tab
    context.close()
    assert not errors, f"errors in the browser console: {errors}"


def watch_errors(tab, errors: list[str] | None = None) -> list[str]:
    """Collect the uncaught exceptions and console errors of a page into ``errors``."""
    errors = [] if errors is None else errors
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(msg) -> None:
        # A form answered 4xx on purpose (422 with its errors, 413...) is logged by Chromium
        # as "Failed to load resource" for the page itself: that is not a fault of the page.
        # A failing script, style or image (another URL) still counts.
        if msg.type != "error":
            return
        if msg.text.startswith("Failed to load resource") and \
                (msg.location or {}).get("url") == tab.url:
            return
        errors.append(f"{msg.text} ({(msg.location or {}).get('url')})")

    tab.on("console", console)
    return errors


def log_in(page, email: str, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("networkidle")
