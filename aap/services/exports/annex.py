"""The decision annex (SPEC 6): the beneficiaries and amounts a deliberation granted on a
call, with their SIRET, RNA and the budget imputation, as an xlsx workbook to attach to
the deliberation. Its call line names the attribuant (the fund's authority, else the
fund's owner: :mod:`aap.services.exports.attribuant`)."""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from decimal import Decimal

import pandas as pd

from aap.models import Application, Call, Decision
from aap.services import deliberations
from aap.services.exports import attribuant, excel_writer

SHEET = "Annexe"
HEADER_ROW = 2  # row 0: the title line, row 1: the call
EURO_FORMAT = '#,##0.00 "€"'
AMOUNT = "Montant accordé (€)"
COLUMNS = ("Bénéficiaire", "SIRET", "RNA", "Projet", "Référence du dossier", AMOUNT,
           "Chapitre", "Nature", "Fonction", "Sous-politique", "Enveloppe")
MAX_WIDTH = 60
Rows = list[tuple[Application, Decision]]


def _euros(cents: int) -> float:
    return float(Decimal(cents) / 100)


def title(call: Call, reference: str, rows: Rows | None = None) -> tuple[str, str, int]:
    """The title line (body, reference, date), the call's line and the total in cents."""
    rows = rows if rows is not None else deliberations.beneficiaries(call, reference)
    (body, decided_on), _ = Counter((d.body, d.decided_on) for _, d in rows).most_common(1)[0]
    heading = (f"Annexe à la délibération {reference} du {decided_on:%d/%m/%Y} — {body}")
    fund = call.fund
    owner = attribuant.of_fund(fund)
    subtitle = (f"{call.title} — {fund.name} ({owner.name}, SIRET {owner.siret}) — "
                f"exercice {call.fiscal_year}")
    return heading, subtitle, sum(d.amount_cents for _, d in rows)


def frame(call: Call, reference: str, rows: Rows | None = None) -> pd.DataFrame:
    """One row per beneficiary of the deliberation, by name (NotFound if none)."""
    rows = rows if rows is not None else deliberations.beneficiaries(call, reference)
    imputation = call.fund.imputation
    envelopes = {e.id: e.label for e in call.envelopes}
    rows = [{
        "Bénéficiaire": app.organisation.name, "SIRET": app.organisation.siret,
        "RNA": app.organisation.rna or "", "Projet": app.title,
        "Référence du dossier": app.reference or "", AMOUNT: _euros(decision.amount_cents),
        "Chapitre": imputation["chapter"], "Nature": imputation["nature"],
        "Fonction": imputation["function"], "Sous-politique": imputation["subpolicy"],
        "Enveloppe": envelopes.get(app.envelope_id, ""),
    } for app, decision in rows]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def build(call: Call, reference: str) -> bytes:
    rows = deliberations.beneficiaries(call, reference)
    heading, subtitle, total_cents = title(call, reference, rows)
    data = frame(call, reference, rows)
    buffer = io.BytesIO()
    with excel_writer(buffer) as writer:
        data.to_excel(writer, sheet_name=SHEET, index=False, startrow=HEADER_ROW)
        book, sheet = writer.book, writer.sheets[SHEET]
        text = book.add_format({"num_format": "@"})
        euro = book.add_format({"num_format": EURO_FORMAT})
        header = book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                  "bg_color": "#E3E3FD", "border": 1})
        bold = book.add_format({"bold": True, "top": 1})
        bold_euro = book.add_format({"bold": True, "top": 1, "num_format": EURO_FORMAT})
        sheet.write(0, 0, heading, book.add_format({"bold": True, "font_size": 14}))
        sheet.write(1, 0, subtitle, book.add_format({"italic": True}))
        amount_col = COLUMNS.index(AMOUNT)
        for col, name in enumerate(COLUMNS):
            sheet.write(HEADER_ROW, col, name, header)
            sheet.set_column(col, col, _width(name, data[name]),
                             euro if col == amount_col else text)
        first, last = HEADER_ROW + 1, HEADER_ROW + len(data)
        total_row = last + 1
        sheet.write(total_row, 0, f"Total ({len(data)} bénéficiaires)", bold)
        for col in range(1, len(COLUMNS)):
            sheet.write_blank(total_row, col, None, bold)
        column = chr(ord("A") + amount_col)
        sheet.write_formula(total_row, amount_col, f"=SUM({column}{first + 1}:{column}{last + 1})",
                            bold_euro, _euros(total_cents))
        sheet.freeze_panes(HEADER_ROW + 1, 0)
        sheet.autofilter(HEADER_ROW, 0, last, len(COLUMNS) - 1)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(HEADER_ROW)
    return buffer.getvalue()


def _width(name: str, values: pd.Series) -> int:
    """Wide enough for the header and the longest value (amounts as displayed)."""
    if name == AMOUNT:
        lengths = [len(f"{v:,.2f} €") for v in values]
    else:
        lengths = [len(str(v)) for v in values]
    return min(MAX_WIDTH, max([len(name), *lengths]) + 2)


def filename(reference: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", reference).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")[:60] or "deliberation"
    return f"annexe-{slug}.xlsx"
