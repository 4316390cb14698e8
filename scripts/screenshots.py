"""Full-page screenshots of the web UI, per role, at desktop and phone widths.

    .venv/bin/python scripts/screenshots.py [--out test-artifacts/screenshots] [--factories]

Starts the app on a temporary SQLite database filled with the demo (``aap.demo.load_demo``)
or, when the demo is not available (or with ``--factories``), with the test factories;
serves it with werkzeug on 127.0.0.1 and a free port, in a thread; logs in as each role
through the real login form and saves PNGs at 1280 and 375 px wide.

Needs Debian's chromium (``apt-get install chromium``) and the Python package playwright:
the browser is Debian's (``/usr/bin/chromium``), never one downloaded by playwright.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
WIDTHS = {"desktop": 1280, "mobile": 375}
ROLES = ("applicant", "instructor", "juror", "finance", "admin")


def build_app(database: Path):
    from flask_migrate import upgrade

    from aap import create_app

    app = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
                     UPLOAD_DIR=str(database.parent / "uploads"), RATELIMIT_ENABLED=False,
                     SECRET_KEY="screenshots")
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


def load_demo(app) -> dict[str, tuple[str, str]] | None:
    """The demo's logins {role: (email, password)}, or None when it cannot be loaded."""
    try:
        from aap.demo import load_demo as load

        with app.app_context():
            logins = load()
    except Exception as exc:  # the demo is optional here: the factories stand in
        print(f"demo not loaded ({exc!r}): using the test factories", file=sys.stderr)
        return None
    found: dict[str, tuple[str, str]] = {}
    for role, email, password in logins:
        found.setdefault(role, (email, password))
    return found if set(ROLES) <= set(found) else None


def factory_data() -> dict[str, tuple[str, str]]:
    from tests import factories

    world = factories.World.build()
    titles = [
        ("Ateliers contre les discriminations à l'embauche", "submitted"),
        ("Permanences d'accès aux droits à Frais Vallon", "incomplete"),
        ("Médiation sociale et logement à la Busserine", "in_review"),
        ("Théâtre forum : égalité filles-garçons au collège", "granted"),
        ("Sport pour toutes et tous à Vitrolles", "in_progress"),
        ("Cafés citoyens multilingues", "draft"),
        ("Parrainage vers l'emploi des jeunes diplômés des QPV", "rejected"),
    ]
    for title, state in titles:
        world.bring_to(world.application(title=title), state)
    other = [("Accompagnement juridique des victimes de discriminations", "submitted"),
             ("Formation des bailleurs à la non-discrimination", "eligible")]
    for title, state in other:
        world.bring_to(factories.make_application(world.call, world.other_org, title=title),
                       state)
    return {role: (world.actor_for(role).email, factories.PASSWORD) for role in ROLES}


@contextmanager
def serve(app) -> Iterator[str]:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line a request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def shoot(page, url: str, out: Path, name: str) -> None:
    page.goto(url, wait_until="load")
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        path = out / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state("load")


def first_dossier_link(page) -> str | None:
    link = page.query_selector("a[href^='/dossiers/']")
    return link.get_attribute("href") if link else None


def run(out: Path, use_factories: bool) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aap-screens-") as tmp:
        app = build_app(Path(tmp) / "demo.sqlite3")
        logins = None if use_factories else load_demo(app)
        source = "demo"
        if logins is None:  # a fresh database: a failed demo may have left rows behind
            app = build_app(Path(tmp) / "factories.sqlite3")
            with app.app_context():
                logins = factory_data()
            source = "factories"
        print(f"data: {source}")
        with serve(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                anonymous = browser.new_page(locale="fr-FR")
                shoot(anonymous, f"{base}/", out, "public-index")
                anonymous.set_viewport_size({"width": WIDTHS["desktop"], "height": 400})
                anonymous.keyboard.press("Tab")  # the skip link shows when focused
                anonymous.screenshot(path=str(out / "public-index-skip-link-focus.png"))
                shoot(anonymous, f"{base}/?lang=en", out, "public-index-en")
                anonymous.goto(f"{base}/?lang=fr")
                shoot(anonymous, f"{base}/connexion", out, "public-login")
                anonymous.goto(f"{base}/connexion")
                anonymous.fill("#email", logins["applicant"][0])
                anonymous.fill("#password", "pas-le-bon")
                anonymous.click("form.form button[type=submit]")
                for label, width in WIDTHS.items():
                    anonymous.set_viewport_size({"width": width, "height": 900})
                    anonymous.screenshot(path=str(out / f"public-login-error-{label}.png"),
                                         full_page=True)
                shoot(anonymous, f"{base}/page-inexistante", out, "error-404")
                shoot(anonymous, f"{base}/accessibilite", out, "public-accessibility")
                anonymous.close()

                for role in ROLES:
                    context = browser.new_context(locale="fr-FR")
                    page = context.new_page()
                    email, password = logins[role]
                    log_in(page, base, email, password)
                    home = page.url
                    shoot(page, home, out, f"{role}-home")
                    dossier = first_dossier_link(page)
                    if dossier:
                        shoot(page, base + dossier, out, f"{role}-dossier")
                    if role == "applicant":
                        shoot(page, f"{base}/instruction/", out, "error-403")
                    if role == "instructor":
                        shoot(page, f"{home}?page=2", out, "instructor-home-page2")
                        shoot(page, f"{home}?lang=en", out, "instructor-home-en")
                        page.goto(f"{base}/?lang=fr")
                    context.close()
            finally:
                browser.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "screenshots")
    parser.add_argument("--factories", action="store_true",
                        help="use the test factories even when the demo is available")
    args = parser.parse_args()
    return run(args.out, args.factories)


if __name__ == "__main__":
    sys.exit(main())
