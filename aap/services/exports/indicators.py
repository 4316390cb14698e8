"""The plan's indicators as an xlsx workbook (xlsxwriter), from
:mod:`aap.services.indicators`: one row per call (and the year's total), the breakdowns per
domain, territory, QPV and ground, the states, and the definitions. Headers are frozen,
filters set, amounts in euros with a euro format, shares in per cent, durations in days."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import xlsxwriter

from aap.services.indicators import Group, Indicators, Sheet
from workflows import get_workflow

MONEY, COUNT, SHARE, DAYS, TEXT = "money", "count", "share", "days", "text"
TOTAL = "Total des appels"


@dataclass(frozen=True)
class Column:
    title: str
    kind: str
    width: int = 14


SUMMARY = [
    Column("Exercice", COUNT, 10), Column("Appel", TEXT, 48),
    Column("Dossiers déposés", COUNT), Column("Dossiers recevables", COUNT),
    Column("Dossiers financés", COUNT), Column("Montant demandé (€)", MONEY, 16),
    Column("Montant accordé (€)", MONEY, 16), Column("Montant versé (€)", MONEY, 16),
    Column("Bénéficiaires attendus (dossiers financés)", COUNT, 18),
    Column("Bénéficiaires atteints (comptes rendus)", COUNT, 18),
    Column("Comptes rendus déposés", COUNT), Column("Porteurs", COUNT),
    Column("Primo-demandeurs", COUNT), Column("Part de primo-demandeurs", SHARE),
    Column("Décisions", COUNT), Column("Dépôt → décision, médiane (jours)", DAYS, 18),
    Column("Dépôt → décision, moyenne (jours)", DAYS, 18),
    Column("Premiers versements", COUNT),
    Column("Décision → 1er versement, médiane (jours)", DAYS, 18),
    Column("Décision → 1er versement, moyenne (jours)", DAYS, 18),
]


def _breakdown_columns(what: str) -> list[Column]:
    return [Column("Exercice", COUNT, 10), Column("Appel", TEXT, 40), Column(what, TEXT, 36),
            Column("Dossiers déposés", COUNT), Column("Dossiers recevables", COUNT),
            Column("Dossiers financés", COUNT), Column("Montant demandé (€)", MONEY, 16),
            Column("Montant accordé (€)", MONEY, 16), Column("Montant versé (€)", MONEY, 16)]


#: The breakdown sheets: name, the column of the value, and where its groups are.
BREAKDOWNS: list[tuple[str, str, Callable[[Indicators], list[Group]]]] = [
    ("Par domaine", "Domaine", lambda i: i.by_domain),
    ("Par territoire", "Territoire", lambda i: i.by_territory),
    ("QPV", "Quartier prioritaire", lambda i: i.by_qpv),
    ("Par motif", "Motif de discrimination", lambda i: i.by_ground),
]

DEFINITIONS = [
    ("Dossiers déposés", "Les dossiers transmis par leur porteur (un brouillon retiré "
     "avant d'être déposé ne compte pas)."),
    ("Dossiers recevables", "Les dossiers déclarés recevables par l'instruction, même "
     "retirés ensuite."),
    ("Dossiers financés", "Les dossiers auxquels une délibération a accordé une subvention "
     "(subventions annulées comprises)."),
    ("Montants", "Demandé : ce que demandent les dossiers déposés ; accordé : le montant "
     "des délibérations ; versé : la somme des versements."),
    ("Domaines, territoires, motifs", "Un dossier compte une fois sous chacune des valeurs "
     "qu'il indique, avec tous ses montants : les lignes se recoupent et leur somme peut "
     "dépasser le total."),
    ("Quartier prioritaire (QPV)", "Un dossier est en QPV quand l'un de ses territoires en "
     "nomme un : son libellé contient « QPV » ou « quartier prioritaire » (par exemple "
     "« Marseille — QPV Frais Vallon »). Chaque dossier est soit en QPV, soit hors QPV."),
    ("Bénéficiaires", "Attendus : la somme des bénéficiaires annoncés par les dossiers "
     "financés ; atteints : la somme déclarée dans les comptes rendus financiers déposés."),
    ("Primo-demandeurs", "Les porteurs qui n'avaient déposé aucun dossier à un appel "
     "ouvert auparavant ; la part est rapportée au nombre de porteurs ayant déposé."),
    ("Délais", "En jours calendaires (heure de Paris) : du dépôt à la décision (date de "
     "la délibération pour une subvention, jour du refus pour un dossier refusé), et de "
     "la décision au premier versement (sa date)."),
]


class _Writer:
    """A workbook whose sheets share the formats of their column kinds."""

    def __init__(self, buffer: io.BytesIO) -> None:
        self.book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        self.header = self.book.add_format({"bold": True, "text_wrap": True,
                                            "valign": "top", "bg_color": "#E3E3FD",
                                            "border": 1})
        self.formats = {
            MONEY: self.book.add_format({"num_format": '#,##0.00 "€"'}),
            COUNT: self.book.add_format({"num_format": "0"}),
            SHARE: self.book.add_format({"num_format": "0.0 %"}),
            DAYS: self.book.add_format({"num_format": "0.0"}),
            TEXT: self.book.add_format({"text_wrap": False}),
        }

    def sheet(self, name: str, columns: list[Column], rows: list[list]) -> None:
        sheet = self.book.add_worksheet(name)
        for col, column in enumerate(columns):
            sheet.write(0, col, column.title, self.header)
            sheet.set_column(col, col, column.width, self.formats[column.kind])
        for r, row in enumerate(rows, start=1):
            for col, (column, value) in enumerate(zip(columns, row, strict=True)):
                if value is None:
                    sheet.write_blank(r, col, None, self.formats[column.kind])
                elif column.kind == MONEY:
                    sheet.write_number(r, col, value / 100, self.formats[MONEY])
                elif column.kind == TEXT:
                    sheet.write_string(r, col, str(value))
                else:
                    sheet.write_number(r, col, value, self.formats[column.kind])
        sheet.set_row(0, 45)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)

    def close(self) -> None:
        self.book.close()


def _scopes(sheet: Sheet, year: int | None) -> list[tuple[int | None, str, Indicators]]:
    """(fiscal year, title, indicators) of each call, then of all of them."""
    scopes = [(c.fiscal_year, c.title, sheet.by_call[c.id]) for c in sheet.calls]
    if len(sheet.calls) > 1:
        scopes.append((year, TOTAL, sheet.total))
    return scopes


def _summary_row(year: int | None, title: str, ind: Indicators) -> list:
    t = ind.tally
    return [year, title, t.submitted, t.eligible, t.funded, t.requested_cents,
            t.granted_cents, t.paid_cents, ind.beneficiaries_expected,
            ind.beneficiaries_reached, ind.reports, ind.applicants, ind.first_time,
            ind.first_time_share, ind.to_decision.count, ind.to_decision.median_days,
            ind.to_decision.mean_days, ind.to_payment.count, ind.to_payment.median_days,
            ind.to_payment.mean_days]


def _group_rows(scopes, groups: Callable[[Indicators], list[Group]]) -> list[list]:
    return [[year, title, g.label, g.tally.submitted, g.tally.eligible, g.tally.funded,
             g.tally.requested_cents, g.tally.granted_cents, g.tally.paid_cents]
            for year, title, ind in scopes for g in groups(ind)]


def build(sheet: Sheet, year: int | None = None) -> bytes:
    """The workbook of the calls of ``sheet`` (a call, or a fiscal year's calls)."""
    buffer = io.BytesIO()
    writer = _Writer(buffer)
    scopes = _scopes(sheet, year)
    writer.sheet("Indicateurs", SUMMARY, [_summary_row(*s) for s in scopes])
    for name, what, groups in BREAKDOWNS:
        writer.sheet(name, _breakdown_columns(what), _group_rows(scopes, groups))
    workflow = get_workflow()
    writer.sheet("États", [Column("Exercice", COUNT, 10), Column("Appel", TEXT, 40),
                           Column("État", TEXT, 30), Column("Dossiers", COUNT)],
                 [[y, title, workflow.label(state), n]
                  for y, title, ind in scopes for state, n in ind.states])
    writer.sheet("Définitions", [Column("Indicateur", TEXT, 30),
                                 Column("Définition", TEXT, 120)],
                 [list(d) for d in DEFINITIONS])
    writer.close()
    return buffer.getvalue()
