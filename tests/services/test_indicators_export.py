"""The indicators workbook, read back with openpyxl: its sheets, the figures of the story
of ``tests/services/test_indicators.py`` (computed by hand there), frozen headers,
filters and number formats."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from aap.services import indicators
from aap.services.exports import indicators as export
from tests.services import indicators_world


@pytest.fixture
def story(world, monkeypatch):
    return indicators_world.build(world, monkeypatch)


def _book(calls, year=None):
    return load_workbook(io.BytesIO(export.build(indicators.compute(calls), year)))


def _rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_the_sheets(story):
    book = _book([story.call])
    assert book.sheetnames == ["Indicateurs", "Par domaine", "Par territoire", "QPV",
                               "Par motif", "États", "Définitions"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")


def test_the_summary_of_a_call(story):
    sheet = _book([story.call])["Indicateurs"]
    (row,) = _rows(sheet)
    assert row["Appel"] == "AAP 2026" and row["Exercice"] == 2026
    assert (row["Dossiers déposés"], row["Dossiers recevables"],
            row["Dossiers financés"]) == (5, 4, 2)
    assert (row["Montant demandé (€)"], row["Montant accordé (€)"],
            row["Montant versé (€)"]) == (28_000, 13_000, 13_000)
    assert (row["Bénéficiaires attendus (dossiers financés)"],
            row["Bénéficiaires atteints (comptes rendus)"]) == (80, 55)
    assert (row["Porteurs"], row["Primo-demandeurs"]) == (3, 2)
    assert row["Part de primo-demandeurs"] == pytest.approx(2 / 3)
    assert row["Dépôt → décision, médiane (jours)"] == 55
    assert row["Dépôt → décision, moyenne (jours)"] == pytest.approx(175 / 3)
    assert row["Décision → 1er versement, médiane (jours)"] == 15
    headers = {c.value: c.column_letter for c in sheet[1]}
    assert sheet[f"{headers['Montant accordé (€)']}2"].number_format == '#,##0.00 "€"'
    assert sheet[f"{headers['Part de primo-demandeurs']}2"].number_format == "0.0 %"


def test_the_year_adds_a_total_row(story):
    rows = _rows(_book([story.call, story.call_2], 2026)["Indicateurs"])
    assert [r["Appel"] for r in rows] == ["AAP 2026", "AAP 2026 bis", "Total des appels"]
    total = rows[-1]
    assert (total["Exercice"], total["Dossiers déposés"], total["Porteurs"],
            total["Primo-demandeurs"]) == (2026, 6, 3, 2)
    assert total["Montant demandé (€)"] == 30_000


def test_the_breakdowns_overlap(story):
    book = _book([story.call])
    domains = {r["Domaine"]: r for r in _rows(book["Par domaine"])}
    assert {k: (v["Dossiers déposés"], v["Dossiers financés"], v["Montant accordé (€)"])
            for k, v in domains.items()} == {
        "Emploi": (2, 1, 8_000), "Logement": (2, 2, 13_000), "Éducation": (1, 0, 0),
        "Citoyenneté": (1, 0, 0)}
    qpv = {r["Quartier prioritaire"]: r["Dossiers déposés"] for r in _rows(book["QPV"])}
    assert qpv == {"En quartier prioritaire (QPV)": 3, "Hors quartier prioritaire": 2}
    grounds = {r["Motif de discrimination"]: r["Montant demandé (€)"]
               for r in _rows(book["Par motif"])}
    assert grounds == {"Origine": 16_000, "Sexe": 15_000, "Handicap": 4_000,
                       "Âge": 3_000}
    territories = {r["Territoire"]: r["Dossiers recevables"]
                   for r in _rows(book["Par territoire"])}
    assert territories["Marseille — QPV Frais Vallon"] == 2
    states = {r["État"]: r["Dossiers"] for r in _rows(book["États"])}
    assert states == {"Irrecevable": 1, "Refusé": 1, "En cours (versement effectué)": 1,
                      "Compte rendu déposé": 1, "Retiré": 1}
    definitions = " ".join(r["Définition"] for r in _rows(book["Définitions"]))
    assert "se recoupent" in definitions and "QPV" in definitions


def test_an_empty_year(db):
    book = _book([], 2031)
    assert _rows(book["Indicateurs"]) == []
    assert _rows(book["Par domaine"]) == []
