"""The dashboards (SPEC 6) of instructors and finance: who may see them, the figures of
their charts and data tables (the story of ``tests/services/test_indicators.py``, whose
figures are computed by hand there and again below), an empty year, the workbook, and a
constant number of queries."""

from __future__ import annotations

import html as html_lib
import io
import re

import pytest
from openpyxl import load_workbook

from aap.extensions import db
from aap.services import reviews
from aap.services.calls import set_jury
from tests import factories
from tests.factories import path_to
from tests.helpers import count_queries
from tests.services import indicators_world

NBSP, NNBSP = "\xa0", "\u202f"


def eur(euros: int) -> str:
    """12 000 € as the French pages write it: 12 000,00 €."""
    return f"{euros:,}".replace(",", NNBSP) + f",00{NBSP}€"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    assert "Content-Security-Policy" in response.headers
    return html_lib.unescape(response.text)


def section(text: str, title_id: str) -> str:
    start = text.index(f'id="{title_id}"')
    return text[start:text.find("</section>", start)]


def row(text: str, header: str) -> list[str]:
    """The cells of the first table row whose header cell is ``header``."""
    for match in re.finditer(r"<tr[^>]*>(.*?)</tr>", text, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)]
        if cells and cells[0] == header:
            return cells
    raise AssertionError(f"no row {header!r}")


def svg_titles(text: str) -> list[str]:
    """The tooltips of the bars and dots of the charts (their <title> elements)."""
    return [t.strip() for t in re.findall(r"<(?:rect|circle)[^>]*><title>(.*?)</title>", text)]


@pytest.fixture
def story(world, monkeypatch):
    return indicators_world.build(world, monkeypatch)


# -- who may see them -----------------------------------------------------------------------

URLS = ["/tableaux-de-bord/", "/tableaux-de-bord/?exercice=2026",
        "/tableaux-de-bord/appels/{call}", "/tableaux-de-bord/indicateurs.xlsx",
        "/tableaux-de-bord/appels/{call}/indicateurs.xlsx"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("role", "status"), [
    ("finance", 200), ("instructor", 200), ("applicant", 403), ("juror", 403),
    ("admin", 403)])
def test_access(client, log_in, world, url, role, status):
    log_in(world.users[role])
    assert client.get(url.format(call=world.call.id)).status_code == status


@pytest.mark.parametrize("url", URLS)
def test_anonymous_users_are_sent_to_login(client, world, url):
    response = client.get(url.format(call=world.call.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


def test_an_unknown_call_is_404(client, log_in, world):
    log_in(world.users["finance"])
    assert client.get("/tableaux-de-bord/appels/999999").status_code == 404


def test_the_homes_and_the_menu_link_to_it(client, log_in, world):
    log_in(world.users["finance"])
    finances = page(client, "/finances/?exercice=2026")
    assert 'href="/tableaux-de-bord/?exercice=2026"' in finances
    assert '<a href="/tableaux-de-bord/" >Tableau de bord</a>' in finances  # the menu


def test_the_instructor_home_links_to_it(client, log_in, world):
    log_in(world.users["instructor"])
    assert 'href="/tableaux-de-bord/"' in page(client, "/instruction/")


def test_no_link_for_an_applicant(client, log_in, world):
    log_in(world.users["applicant"])
    assert "/tableaux-de-bord/" not in page(client, "/")


# -- the figures ---------------------------------------------------------------------------

def test_budget_consumption(client, log_in, story):
    log_in(story.world.users["finance"])
    text = section(page(client, f"/tableaux-de-bord/appels/{story.call.id}"), "budget-title")
    # budget 100 000; A granted 8 000 and D 5 000, all paid; available 87 000
    assert row(text, "AAP 2026") == ["AAP 2026", eur(100_000), eur(13_000), eur(13_000),
                                     eur(87_000)]
    titles = svg_titles(text)
    assert f"AAP 2026 — Budget : {eur(100_000)}" in titles
    assert f"AAP 2026 — Accordé : {eur(13_000)}" in titles
    assert f"AAP 2026 — Versé : {eur(13_000)}" in titles
    assert f">13{NBSP}%</text>" in text  # the share of the budget granted
    # the bars: granted and paid are 13 % of the axis' 97 % (from 1 % to 98 %)
    assert 'width="12.61%" height="14.0" fill="#000091"' in text


def test_budget_per_envelope(client, log_in, world):
    call = factories.make_call(world.fund, title="Appel à enveloppes", budget_cents=50_000_00,
                               envelopes=[("nord", "Marseille Nord", 30_000_00),
                                          ("sud", "Pays d'Aix", 20_000_00)])
    set_jury(call, [world.users["juror"].id])
    app = factories.make_application(call, world.org, requested_cents=6_000_00,
                                     envelope_id=call.envelope("sud").id)
    world.bring_to(app, "granted")
    db.session.commit()
    log_in(world.users["instructor"])
    text = section(page(client, f"/tableaux-de-bord/appels/{call.id}"), "budget-title")
    assert row(text, "Enveloppe Pays d'Aix") == [
        "Enveloppe Pays d'Aix", eur(20_000), eur(6_000), eur(0), eur(14_000)]
    assert row(text, "Enveloppe Marseille Nord")[2] == eur(0)
    assert f"Pays d'Aix — Accordé : {eur(6_000)}" in svg_titles(text)
    assert f">30{NBSP}%</text>" in text  # 6 000 of 20 000


def test_states(client, log_in, story):
    log_in(story.world.users["instructor"])
    text = section(page(client, f"/tableaux-de-bord/appels/{story.call.id}"), "states-title")
    for label in ("Irrecevable", "Refusé", "En cours (versement effectué)",
                  "Compte rendu déposé", "Retiré"):
        assert row(text, label) == [label, "1"]
        assert f"{label} — Dossiers : 1" in svg_titles(text)
    assert row(text, "Total") == ["Total", "5"]
    assert "Brouillon" not in text  # the draft E was never submitted


def test_per_domain_ground_and_territory_of_the_year(client, log_in, story):
    log_in(story.world.users["finance"])
    text = page(client, "/tableaux-de-bord/?exercice=2026")
    domains = section(text, "domaines-title")
    # emploi: A, B and H (call n°2): 3 submitted, 2 eligible, 1 funded (A)
    assert row(domains, "Emploi") == ["Emploi", "3", "2", "1", eur(18_000), eur(8_000),
                                      eur(8_000)]
    assert row(domains, "Logement") == ["Logement", "2", "2", "2", eur(15_000),
                                        eur(13_000), eur(13_000)]
    assert "se recoupent" in domains
    assert "Emploi — Déposés : 3" in svg_titles(domains)
    assert f"Emploi — Accordé : {eur(8_000)}" in svg_titles(domains)
    assert ">3 · 2 · 1</text>" in domains
    grounds = section(text, "motifs-title")
    assert row(grounds, "Origine")[1:4] == ["3", "2", "1"]  # A, B, H
    assert row(grounds, "Handicap")[1:4] == ["1", "0", "0"]  # C
    qpv = section(text, "qpv-title")
    assert row(qpv, "En quartier prioritaire (QPV)") == [
        "En quartier prioritaire (QPV)", "3", "2", "2", eur(19_000), eur(13_000),
        eur(13_000)]
    assert row(qpv, "Hors quartier prioritaire")[1:5] == ["3", "2", "0", eur(11_000)]
    territories = section(text, "territoires-title")
    assert row(territories, "Vitrolles")[1:4] == ["2", "1", "0"]  # B and H


def test_the_plan_s_indicators(client, log_in, story):
    log_in(story.world.users["finance"])
    text = section(page(client, "/tableaux-de-bord/?exercice=2026"), "indicators-title")
    # columns: the whole year first, then each call
    assert row(text, "Dossiers déposés")[1] == "6"
    assert row(text, "Primo-demandeurs")[1] == f"2 sur 3 porteurs (66,7{NBSP}%)"
    assert row(text, "Du dépôt à la décision, médiane")[1] == "55 j (moyenne 58,3 j)"
    assert row(text, "De la décision au premier versement, médiane")[1] == \
        "15 j (moyenne 15 j)"
    assert row(text, "Bénéficiaires attendus (dossiers financés)")[1] == "80"
    assert row(text, "Bénéficiaires atteints (comptes rendus)")[1] == \
        "55 (1 compte·s rendu·s)"
    assert 'href="/tableaux-de-bord/indicateurs.xlsx?exercice=2026"' in text


def test_the_jurors_distributions_for_an_instructor(client, log_in, story):
    log_in(story.world.users["instructor"])
    text = section(page(client, f"/tableaux-de-bord/appels/{story.call.id}"), "jurors-title")
    # Julie: A 20, B 12, D 12; Jules: A 16, D 10.667 (his 4 on B, recused, never shown)
    julie = row(text, "Julie Jurée")
    assert julie[1:8] == ["3", "12", "12", "12", "16", "20", "14,67"]  # mean 44 / 3
    assert julie[9] == "12 · 12 · 20"
    jules = row(text, "Jules Juré")
    assert jules[1] == "2" and jules[9] == "10,67 · 16"
    assert julie[8] == "+1,33" and jules[8] == "−1,33"  # offsets ± 1.333
    dots = [t for t in svg_titles(text) if t.startswith("Jul")]
    assert sorted(dots) == ["Jules Juré : 10,67", "Jules Juré : 16", "Julie Jurée : 12",
                            "Julie Jurée : 12", "Julie Jurée : 20"]


def test_finance_sees_the_distributions_without_the_names(client, log_in, story):
    log_in(story.world.users["finance"])
    text = section(page(client, f"/tableaux-de-bord/appels/{story.call.id}"), "jurors-title")
    assert "Julie" not in text and "Jules" not in text
    assert row(text, "Juré 1")[9] == "12 · 12 · 20"
    assert row(text, "Juré 2")[9] == "10,67 · 16"


def test_a_year_without_calls(client, log_in, world):
    log_in(world.users["finance"])
    text = page(client, "/tableaux-de-bord/?exercice=2031")
    assert "Aucun appel sur l'exercice 2031" in text
    assert "<svg" not in text.split('id="contenu"')[1]
    assert '<option value="2031" selected>' in text


def test_a_call_without_applications(client, log_in, world):
    log_in(world.users["finance"])
    text = page(client, f"/tableaux-de-bord/appels/{world.call.id}")
    assert "Aucun dossier déposé." in section(text, "states-title")
    assert "Aucune évaluation transmise pour cet appel." in section(text, "jurors-title")


def test_the_workbooks(client, log_in, story):
    log_in(story.world.users["instructor"])
    response = client.get("/tableaux-de-bord/indicateurs.xlsx?exercice=2026")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("indicateurs-2026.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    titles = [r[1] for r in book["Indicateurs"].iter_rows(min_row=2, values_only=True)]
    assert titles[-1] == "Total des appels" and "AAP 2026" in titles
    response = client.get(f"/tableaux-de-bord/appels/{story.call.id}/indicateurs.xlsx")
    summary = list(load_workbook(io.BytesIO(response.data))["Indicateurs"].iter_rows(
        min_row=2, values_only=True))
    assert [(r[1], r[2]) for r in summary] == [("AAP 2026", 5)]


# -- queries --------------------------------------------------------------------------------

def _scored_calls(world, n: int) -> None:
    """n calls, each with one application of its own organisation: scored by the juror,
    granted, paid and reported."""
    for i in range(n):
        call = factories.make_call(world.fund, title=f"Appel {i}",
                                   envelopes=[("e", f"Enveloppe {i}", 50_000_00)])
        set_jury(call, [world.users["juror"].id])
        org = factories.make_organisation([world.users["applicant"]])
        app = factories.make_application(call, org, envelope_id=call.envelope("e").id)
        app = world.bring_to(app, "in_review")
        reviews.save_review(world.users["juror"], app, {
            "scores": {"pertinence": 4, "faisabilite": 3}, "submit": True})
        for trigger in path_to("report_submitted", start="in_review"):
            app = world.fire(app, trigger)
    db.session.commit()


@pytest.mark.parametrize("role", ["finance", "instructor"])
def test_constant_number_of_queries(client, log_in, world, role):
    log_in(world.users[role])

    def queries(url: str) -> int:
        with count_queries() as statements:
            page(client, url)
        return len(statements)

    _scored_calls(world, 3)
    few = queries("/tableaux-de-bord/?exercice=2026")
    _scored_calls(world, 9)
    assert queries("/tableaux-de-bord/?exercice=2026") == few
