"""French by default, English through ?lang=en or /langue/en; complete catalogues."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from aap.vocabulary import BUDGET_LINES, DOMAINS, GROUNDS
from workflows import get_workflow

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
POT = ROOT / "translations" / "messages.pot"


def english_catalog() -> dict[str, object]:
    with PO.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string
                for m in read_po(f) if m.id}


def test_french_is_the_default(client, db):
    page = client.get("/").text
    assert '<html lang="fr">' in page
    assert "Appels à projets" in page
    assert 'hreflang="en"' in page and ">English</a>" in page


@pytest.mark.parametrize(("path", "french", "english"), [
    ("/", "Appels ouverts ou à venir", "Open and upcoming calls"),
    ("/connexion", "Connexion à AAP", "Sign in to AAP"),
    ("/accessibilite", "Déclaration d'accessibilité", "Accessibility statement"),
    ("/nulle-part", "Page introuvable", "Page not found"),
])
def test_lang_query_switches_to_english(client, db, path, french, english):
    page = client.get(path, query_string={"lang": "en"}).text
    assert '<html lang="en">' in page
    assert english in page
    assert french not in page
    assert 'hreflang="fr"' in page and ">Français</a>" in page


def test_lang_query_is_remembered_in_the_session(client, db):
    client.get("/", query_string={"lang": "en"})
    assert "Sign in to AAP" in client.get("/connexion").text
    client.get("/", query_string={"lang": "fr"})
    assert "Connexion à AAP" in client.get("/connexion").text


def test_language_route_switches_and_returns_to_the_page(client, db):
    response = client.get("/langue/en", query_string={"next": "/connexion"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"
    assert "Sign in to AAP" in client.get("/connexion").text
    client.get("/langue/fr")
    assert "Connexion à AAP" in client.get("/connexion").text


def test_language_route_ignores_an_unknown_language_and_a_foreign_next(client, db):
    response = client.get("/langue/de", query_string={"next": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert '<html lang="fr">' in client.get("/").text


def test_language_switch_link_drops_the_lang_argument(client, db):
    """A ``lang`` left in ``next`` would switch the language straight back."""
    page = client.get("/", query_string={"lang": "en", "page": "2"}).text
    assert 'href="/langue/fr?next=/?page%3D2"' in page


def test_logged_in_user_keeps_its_language(app, client, world, log_in):
    from aap.extensions import db
    from tests.web.conftest import IsolatedClient, login

    user = world.users["applicant"]
    log_in(user)
    client.get("/langue/en")
    db.session.rollback()  # end the test's read transaction: see the request's commit
    assert user.locale == "en"
    page = client.get("/porteur/").text
    assert "<h1>Applicant area</h1>" in page
    assert "My applications" in page
    assert ">Sign out</button>" in page
    # a new session (another browser) starts in French, then follows the account's choice
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    assert "Connexion à AAP" in other.get("/connexion").text
    login(other, user)
    assert "<h1>Applicant area</h1>" in other.get("/porteur/").text


def test_english_login_errors(client, db):
    from tests.web.conftest import csrf_token

    page = client.get("/connexion?lang=en")
    response = client.post("/connexion", data={"email": "", "password": "",
                                                "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text
    assert "The form contains errors" in response.text


def test_english_dossier_translates_vocabulary_states_and_budget_lines(client, world, log_in):
    app = world.bring_to(world.application(), "submitted")
    log_in(world.users["instructor"])
    page = client.get(f"/dossiers/{app.id}", query_string={"lang": "en"}).text
    assert "Employment" in page            # domain "emploi"
    assert "Place of residence" in page    # ground "lieu_residence"
    assert "64 – Staff costs" in page      # CERFA budget line
    assert "Submitted" in page             # state label of the workflow
    assert "Provisional budget" in page
    assert "Déposé" not in page


def test_every_msgid_has_an_english_translation():
    with POT.open("rb") as f:
        msgids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    english = english_catalog()
    missing = sorted(msgids - set(english))
    assert not missing, f"run scripts/i18n: not in the English catalogue: {missing}"
    empty = sorted(m for m in msgids
                   if not (all(english[m]) if isinstance(english[m], tuple) else english[m]))
    assert not empty, f"untranslated: {empty}"


def test_catalogue_is_up_to_date_with_the_sources():
    pybabel = Path(sys.executable).with_name("pybabel")
    result = subprocess.run([str(ROOT / "scripts" / "i18n"), "check"], cwd=ROOT,
                            env={**os.environ, "PYBABEL": str(pybabel)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, "run scripts/i18n and translate the new strings:\n" + (
        result.stdout + result.stderr)


@pytest.mark.parametrize("label", [
    *(s["label"] for s in get_workflow().states),
    *(str(v._args[0]) for v in (*DOMAINS.values(), *GROUNDS.values())),
    *(label for side in BUDGET_LINES.values() for label in side.values()),
], ids=lambda label: label[:30])
def test_labels_shown_in_the_ui_are_translated(label):
    """State labels (from the workflow definition), vocabularies and budget lines."""
    english = english_catalog()
    assert english.get(label), f"no English for {label!r}"
    assert english[label] != label or label in {"Budget", "Total", "Religion", "Handicap"}


@pytest.mark.parametrize(("locale", "count", "expected"), [
    # French: the singular for 0 and 1 (« 0 dossier »), the plural from 2
    ("fr", 0, "0 dossier vous est attribué."),
    ("fr", 1, "1 dossier vous est attribué."),
    ("fr", 2, "2 dossiers vous sont attribués."),
    ("fr", 1_000_000, "1000000 dossiers vous sont attribués."),
    # English: the plural for 0
    ("en", 0, "0 applications are assigned to you."),
    ("en", 1, "1 application is assigned to you."),
    ("en", 2, "2 applications are assigned to you."),
])
def test_counts_take_the_plural_rule_of_the_language(app, locale, count, expected):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale(locale):
        assert ngettext("%(num)s dossier vous est attribué.",
                        "%(num)s dossiers vous sont attribués.", count) == expected


def test_a_juror_with_nothing_assigned_reads_the_singular(client, world, log_in):
    log_in(world.users["outside_juror"])
    page = client.get("/jury/")
    assert page.status_code == 200
    assert "0 dossier vous est attribué." in page.text
