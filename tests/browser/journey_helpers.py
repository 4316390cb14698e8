"""Helpers of the long browser journeys: one browser context per person on the same live
server (each with its own session, like several people at their desks), screenshots of
each step at desktop and phone widths, French money as the pages write it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser.conftest import ARTIFACTS, log_in, watch_errors

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def eur(euros: int | str) -> str:
    """``4000`` → ``4 000,00 €`` as the pages print it (narrow no-break space between
    thousands, no-break space before the sign): typed from the French convention, not
    from the code's filter."""
    if isinstance(euros, str):
        return euros
    units = f"{euros:,}".replace(",", "\u202f")
    return f"{units},00\xa0€"


def plain(text: str) -> str:
    """The text with every kind of space made one plain space (for ``in`` checks)."""
    return re.sub(r"[\s\u202f\xa0]+", " ", text).strip()


class Album:
    """Numbered full-page screenshots of one journey, each step at 1280 and 375 px, in
    ``test-artifacts/screenshots/<name>/``; the phone shot also records whether the page
    scrolls sideways (a page wider than the phone)."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0
        self.too_wide: list[str] = []

    def __call__(self, page, label: str) -> list[Path]:
        self.count += 1
        paths = []
        for size, suffix in ((DESKTOP, "1280"), (PHONE, "375")):
            page.set_viewport_size(size)
            path = self.folder / f"{self.count:02d}-{label}-{suffix}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.too_wide.append(f"{label} ({width} px)")
        page.set_viewport_size(DESKTOP)
        return paths


@dataclass
class People:
    """Browser contexts of the people of a journey (French, Paris time), each logged in
    once; console errors and uncaught exceptions of every page are collected. A 4xx of
    the page itself (a refused form, on purpose) is not a console error of the page."""

    browser: object
    base_url: str
    errors: list[str] = field(default_factory=list)
    contexts: list = field(default_factory=list)

    def open(self, email: str | None = None, password: str | None = None):
        context = self.browser.new_context(base_url=self.base_url, locale="fr-FR",
                                           timezone_id="Europe/Paris", viewport=DESKTOP,
                                           accept_downloads=True)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        tab = context.new_page()
        watch_errors(tab, self.errors)
        if email:
            log_in(tab, email, password)
        return tab

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()
