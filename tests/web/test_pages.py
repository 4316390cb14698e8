"""Security headers, strict CSP-compatible markup, friendly error pages, pagination."""

from __future__ import annotations

import re

import pytest
from flask import abort

from aap.errors import Conflict, Forbidden, NotFound
from tests import factories
from tests.web.conftest import IsolatedClient

PUBLIC_PAGES = ["/", "/connexion", "/accessibilite", "/nulle-part"]
ROLE_PAGES = [("applicant", "/porteur/"), ("instructor", "/instruction/"), ("juror", "/jury/"),
              ("finance", "/finances/"), ("admin", "/admin/")]


def assert_security_headers(response):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives.get("frame-ancestors") == "'none'"
    assert directives.get("default-src") == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


def assert_strict_markup(html: str):
    """What the CSP would block, and the basics of an accessible page."""
    assert not re.search(r"<script\b", html, re.I), "no script in pages"
    assert not re.search(r"\sstyle\s*=", html, re.I), "no inline style (CSP style-src 'self')"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "no inline event handler"
    assert html.count("<h1") == 1, "one h1 a page"
    assert re.search(r'<html lang="(fr|en)">', html)
    assert re.search(r"<title>[^<]+ — AAP</title>", html)
    assert '<a class="skip-link" href="#contenu">' in html and 'id="contenu"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for table in re.findall(r"<table.*?</table>", html, re.S):
        assert "<th" in table and all("scope=" in th for th in re.findall(r"<th\b[^>]*>", table))


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_headers_and_strict_markup(client, world, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    assert_security_headers(response)
    assert_strict_markup(response.text)


@pytest.mark.parametrize(("role", "path"), ROLE_PAGES, ids=[r for r, _ in ROLE_PAGES])
def test_role_pages_have_headers_and_strict_markup(client, world, log_in, role, path):
    world.bring_to(world.application(), "in_review")
    world.bring_to(world.application(), "granted")
    log_in(world.actor_for(role))
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)
    assert_strict_markup(response.text)
    # every table scrolls inside its wrapper on a phone
    assert response.text.count("<table") == response.text.count('<div class="table-wrap"')


def test_dossier_page_has_strict_markup(client, world, log_in):
    app = world.bring_to(world.application(), "incomplete")
    log_in(world.users["applicant"])
    response = client.get(f"/dossiers/{app.id}")
    assert_security_headers(response)
    assert_strict_markup(response.text)
    assert 'aria-label="Vous êtes ici :"' in response.text
    assert "Compléments demandés" in response.text
    assert "Merci de joindre les statuts signés." in response.text


@pytest.fixture
def error_app(app, db):
    """A second app on the same database, with routes that fail in every way."""
    from aap import create_app
    from aap.extensions import db as _db

    failing = create_app("test", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         UPLOAD_DIR=app.config["UPLOAD_DIR"])
    failing.config["PROPAGATE_EXCEPTIONS"] = False

    @failing.get("/panne/<int:code>")
    def fail(code: int):
        abort(code)

    @failing.get("/panne/domaine/<kind>")
    def fail_domain(kind: str):
        raise {"conflict": Conflict("Le dossier a déjà été déposé."),
               "forbidden": Forbidden("Vous n'êtes pas membre de cette organisation."),
               "notfound": NotFound("Dossier introuvable.")}[kind]

    @failing.get("/panne/bug")
    def bug():
        raise RuntimeError("secret internal detail")

    yield failing
    with failing.app_context():
        _db.engine.dispose()


@pytest.mark.parametrize(("path", "status", "title"), [
    ("/panne/400", 400, "Requête incorrecte"),
    ("/panne/403", 403, "Accès refusé"),
    ("/panne/404", 404, "Page introuvable"),
    ("/panne/405", 405, "Action non autorisée"),
    ("/panne/409", 409, "Action impossible dans l'état actuel du dossier"),
    ("/panne/413", 413, "Fichier trop volumineux"),
    ("/panne/429", 429, "Trop de tentatives"),
    ("/panne/503", 503, "Service momentanément indisponible"),
    ("/panne/domaine/conflict", 409, "Action impossible dans l'état actuel du dossier"),
    ("/panne/domaine/forbidden", 403, "Accès refusé"),
    ("/panne/domaine/notfound", 404, "Page introuvable"),
    ("/panne/bug", 500, "Une erreur inattendue est survenue"),
])
def test_error_pages_are_friendly_french_pages(error_app, path, status, title):
    client = IsolatedClient(error_app, error_app.response_class)
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.text
    assert f"<h1>{title}</h1>" in html
    assert f"Erreur {status}" in html
    assert "Retour à l'accueil" in html
    assert f"<title>{title} — AAP</title>" in html
    # no English boilerplate of werkzeug, no internals
    assert "The requested URL" not in html and "The server" not in html
    assert "secret internal detail" not in html and "Traceback" not in html
    assert_security_headers(response)
    assert_strict_markup(html)


@pytest.mark.parametrize(("kind", "detail"), [
    ("conflict", "Le dossier a déjà été déposé."),
    ("forbidden", "Vous n&#39;êtes pas membre de cette organisation."),
])
def test_domain_error_pages_show_the_reason(error_app, kind, detail):
    client = IsolatedClient(error_app, error_app.response_class)
    assert detail in client.get(f"/panne/domaine/{kind}").text


def test_error_pages_in_english(error_app):
    client = IsolatedClient(error_app, error_app.response_class)
    html = client.get("/panne/domaine/notfound?lang=en").text
    assert "<h1>Page not found</h1>" in html
    assert "Application not found." in html


def test_api_errors_stay_json(error_app, client):
    response = client.get("/api/v1/nulle-part")
    assert response.status_code == 404
    assert response.is_json


def make_applications(world, count: int):
    """Submitted applications (staff never list drafts)."""
    for n in range(count):
        app = factories.make_application(world.call, world.org, title=f"Projet numéro {n:02d}")
        world.fire(app, "submit", {})


def rows(html: str) -> list[str]:
    return re.findall(r'href="/dossiers/\d+">(Projet numéro \d+)</a>', html)


def test_instructor_list_is_paginated(client, world, log_in):
    make_applications(world, 30)
    log_in(world.users["instructor"])
    first = client.get("/instruction/").text
    assert len(rows(first)) == 25
    assert rows(first)[0] == "Projet numéro 29"  # newest first
    assert "Page 1 sur 2" in first
    assert 'href="/instruction/?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = client.get("/instruction/?page=2").text
    assert len(rows(second)) == 5
    assert "Page 2 sur 2" in second
    assert 'rel="next"' not in second and 'href="/instruction/?page=1" rel="prev"' in second
    assert not set(rows(first)) & set(rows(second))


@pytest.mark.parametrize("page", ["abc", "0", "-1", ""])
def test_a_bad_page_number_is_the_first_page(client, world, log_in, page):
    make_applications(world, 26)
    log_in(world.users["instructor"])
    html = client.get(f"/instruction/?page={page}").text
    assert len(rows(html)) == 25 and "Page 1 sur 2" in html


def test_pagination_keeps_the_filter(client, world, log_in):
    make_applications(world, 27)
    log_in(world.users["instructor"])
    html = client.get("/instruction/?state=submitted").text
    assert "Page 1 sur 2" in html
    assert 'href="/instruction/?state=submitted&amp;page=2" rel="next"' in html
    assert '<option value="submitted" selected>' in html
    eligible = client.get("/instruction/?state=eligible").text
    assert rows(eligible) == [] and "Aucun dossier." in eligible


def test_no_pagination_for_a_short_list(client, world, log_in):
    make_applications(world, 3)
    log_in(world.users["instructor"])
    html = client.get("/instruction/").text
    assert len(rows(html)) == 3
    assert 'class="pagination"' not in html
