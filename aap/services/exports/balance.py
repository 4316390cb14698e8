"""The balance-sheet workbook (SPEC 6): what a fund's calls were asked, proposed, granted,
paid, repaid and justified, for a call or a whole fiscal year.

Sheets, as SPEC 6 names them: *Synthèse* (per call and envelope, with a total per fund,
per authority and per year: the money figures of :mod:`aap.services.money` and the counts
per state; the calls grouped by the authority that runs them, a parent before its
children, its name and SIRET as the *attribuant*), *Attributions* (one row per
submitted application), *Par territoire*, *Par domaine*, *Par motif* (pivots), *Versements*
(payments and repayments) and *Comptes rendus* (CERFA 15059: forecast against realised).

The workbook is a file exchanged with finance systems: its sheet names and headers are the
French ones of SPEC 6, whatever the language of the page that asked for it.

Memory stays bounded whatever the number of applications: xlsxwriter writes in
``constant_memory`` mode (one row in memory per sheet), the rows are streamed from a
handful of queries (``yield_per``), and the pivots are summed in the one pass that writes
*Attributions*. Scores and ranks are those of the one ranking
(:func:`aap.services.allocation.ranking`): the allocation service's candidates (the
jurors' totals aggregated once per call) ordered by the engine, never per application.
Text is written as text (``write_string``): a name starting with ``=`` is never a formula.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from flask_babel import force_locale
from sqlalchemy import (
    BigInteger,
    Date,
    String,
    Text,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from aap.allocation import engine
from aap.allocation.engine import Parameters
from aap.errors import Forbidden, NotFound
from aap.extensions import db
from aap.models import (
    Application,
    Authority,
    BudgetLine,
    Call,
    Convention,
    Decision,
    Envelope,
    Organisation,
    Payment,
    Repayment,
    Report,
    ReportLine,
    User,
)
from aap.services import allocation, consolidation, money, policies
from aap.services.exports import attribuant
from aap.services.exports.attribuant import Attribuant
from aap.timeutil import to_paris
from aap.vocabulary import DOMAINS, GROUNDS
from workflows import get_workflow
from workflows.guards import report_gap

Progress = Callable[[int, int], None]

SYNTHESIS = "Synthèse"
ATTRIBUTIONS = "Attributions"
BY_TERRITORY = "Par territoire"
BY_DOMAIN = "Par domaine"
BY_GROUND = "Par motif"
PAYMENTS = "Versements"
REPORTS = "Comptes rendus"
SHEETS = (SYNTHESIS, ATTRIBUTIONS, BY_TERRITORY, BY_DOMAIN, BY_GROUND, PAYMENTS, REPORTS)

#: The header of the granted amount, as SPEC 6 spells it.
GRANTED = "Montant accordé (€)"
NOT_GIVEN = "(non renseigné)"
OVERALL = "Ensemble des dossiers, sans double compte"
OVERLAP_NOTE = ("Un dossier qui porte sur plusieurs {what} compte une fois pour chacun : "
                "les totaux de ce tableau se recoupent et ne s'additionnent pas.")
BATCH = 2_000  # rows fetched per round trip, and between two progress reports
EXCEL_EPOCH = date(1899, 12, 30)
MAX_WIDTH, MIN_WIDTH = 60, 8
CHART_CATEGORIES = 20  # the largest territories and domains charted

# Column kinds: how a value is written and how wide its column is fitted.
TEXT, EURO, DATE, INT, SCORE, PERCENT = "text", "euro", "date", "int", "score", "percent"


# -- which calls --------------------------------------------------------------------------

def check_exporter(user: User | None) -> None:
    """Forbidden unless the user may export at all (finance, instructor)."""
    if not policies.may_export(user):
        raise Forbidden("Les exports sont réservés aux finances et à l'instruction.")


def call_for(user: User | None, call_id: int) -> Call:
    """The call whose workbook the user asks for: Forbidden unless the user may export,
    NotFound for an unknown call or one the user may not export."""
    check_exporter(user)
    call = db.session.get(Call, call_id)
    if call is None or not policies.may_export_call(user, call):
        raise NotFound("Appel introuvable.")
    return call


def filename(*, call: Call | None = None, year: int | None = None,
             authority_id: int | None = None) -> str:
    """``bilan-appel-12.xlsx``, ``bilan-2026.xlsx`` or ``bilan-2026-collectivite-3.xlsx``."""
    if call is not None:
        return f"bilan-appel-{call.id}.xlsx"
    return f"bilan-{year}-collectivite-{authority_id}.xlsx" if authority_id else \
        f"bilan-{year}.xlsx"


def calls_for_year(user: User | None, fiscal_year: int,
                   authority_id: int | None = None) -> list[Call]:
    """The calls of ``fiscal_year`` whose exports the user may read
    (:func:`aap.services.policies.exportable_calls`); with ``authority_id``, only those of
    that authority and its descendants (NotFound when the user does not read it)."""
    query = policies.exportable_calls(user).where(Call.fiscal_year == fiscal_year)
    if authority_id is not None:
        policies.readable_authority(user, authority_id, policies.EXPORT_ROLES)
        query = consolidation.under(query, authority_id)
    return _calls(query)


def every_call_of_year(fiscal_year: int, authority_id: int | None = None) -> list[Call]:
    """Every call of ``fiscal_year`` (of ``authority_id`` and its descendants, if given):
    the platform operator's scope (the CLI, run on the server, acts for no user)."""
    query = select(Call).where(Call.fiscal_year == fiscal_year)
    return _calls(consolidation.under(query, authority_id) if authority_id is not None
                  else query)


def _calls(query) -> list[Call]:
    return list(db.session.scalars(query.order_by(Call.fiscal_year, Call.fund_id, Call.id)))


# -- entry points -------------------------------------------------------------------------

def build_balance(calls: list[Call]) -> bytes:
    """The workbook as bytes (for small exports; large ones go to a file)."""
    buffer = io.BytesIO()
    write_balance(buffer, calls)
    return buffer.getvalue()


def write_balance(target: str | os.PathLike | IO[bytes], calls: list[Call], *,
                  progress: Progress | None = None) -> None:
    """Write the workbook of ``calls`` to ``target`` (a path or a binary file object).
    ``progress(done, total)`` is called every few thousand rows and once at the end."""
    owners = _Owners(calls)
    calls = sorted(calls, key=owners.sort_key)
    book = xlsxwriter.Workbook(target, {"constant_memory": True})
    try:
        styles = _Styles(book)
        sheets = {name: book.add_worksheet(name) for name in SHEETS}
        counter = _Counter(progress, _row_count(calls))
        with force_locale("fr"):
            pivots = _write_attributions(sheets[ATTRIBUTIONS], styles, calls, counter)
            _write_payments(sheets[PAYMENTS], styles, calls, counter)
            _write_reports(sheets[REPORTS], styles, calls, counter)
            _write_synthesis(book, sheets[SYNTHESIS], styles, calls, owners)
            for name, (pivot, what) in pivots.items():
                _write_pivot(book, sheets[name], styles, pivot, what)
        counter.finish()
    finally:
        book.close()


class _Owners:
    """Who runs each call: the attribuant of its fund, and the order of the authorities
    (a parent before its children, by name; platform-wide funds first). The authorities
    are read in one query (a small table), only when some call has one."""

    def __init__(self, calls: list[Call]) -> None:
        self.authorities: dict[int, Authority] = {}
        if any(c.fund.authority_id is not None for c in calls):
            self.authorities = {a.id: a for a in db.session.scalars(select(Authority))}

    def authority(self, fund) -> Authority | None:
        return self.authorities.get(fund.authority_id) if fund is not None else None

    def of(self, fund) -> Attribuant:
        return attribuant.of(fund, self.authority(fund))

    def path(self, authority_id: int | None) -> tuple[tuple[str, int], ...]:
        """The authority's names from the root down: a parent sorts before its children."""
        names: list[tuple[str, int]] = []
        while authority_id in self.authorities and len(names) < len(self.authorities):
            found = self.authorities[authority_id]
            names.append((found.name.casefold(), found.id))
            authority_id = found.parent_id
        return tuple(reversed(names))

    def sort_key(self, call: Call) -> tuple:
        return (call.fiscal_year, self.path(call.fund.authority_id), call.fund_id, call.id)


# -- writing rows -------------------------------------------------------------------------

class _Styles:
    """The workbook's formats, made once (xlsxwriter keeps one record per format)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                       "bg_color": "#E3E3FD", "border": 1})
        self.note = book.add_format({"italic": True, "font_color": "#555555"})
        euro = '#,##0.00\\ "€";-#,##0.00\\ "€"'
        self.by_kind = {
            TEXT: None,
            EURO: book.add_format({"num_format": euro}),
            DATE: book.add_format({"num_format": "dd/mm/yyyy"}),
            INT: book.add_format({"num_format": "0"}),
            SCORE: book.add_format({"num_format": "0.000"}),
            PERCENT: book.add_format({"num_format": "0.0%"}),
        }
        self.total = {kind: book.add_format({"bold": True, "top": 1,
                                             **({"num_format": fmt.num_format}
                                                if fmt is not None else {})})
                      for kind, fmt in self.by_kind.items()}


@dataclass
class _Table:
    """One table of a sheet written row after row (``constant_memory``): the values are
    written by kind (cents as euros, dates as Excel dates), and the widths are fitted from
    what was written."""

    sheet: Any
    styles: _Styles
    columns: list[tuple[str, str]]  # (header, kind)
    header_row: int = 0
    row: int = field(init=False)
    kinds: list[str] = field(init=False)
    widths: list[int] = field(init=False)
    largest: list[int] = field(init=False)  # the largest magnitude per numeric column

    def __post_init__(self) -> None:
        self.row = self.header_row + 1
        self.kinds = [kind for _title, kind in self.columns]
        self.widths = [0] * len(self.columns)
        self.largest = [0] * len(self.columns)
        for col, (title, _kind) in enumerate(self.columns):
            self.sheet.write_string(self.header_row, col, title, self.styles.header)

    def write(self, values: Iterable[Any], formats: dict | None = None) -> None:
        """One row; ``None`` and ``""`` leave the cell empty. Euro columns take cents."""
        row, widths, largest = self.row, self.widths, self.largest
        write_string, write_number = self.sheet.write_string, self.sheet.write_number
        formats = formats or self.styles.by_kind
        for col, (kind, value) in enumerate(zip(self.kinds, values, strict=True)):
            if value is None or value == "":
                continue
            if kind == TEXT:
                write_string(row, col, value, formats[TEXT])
                if len(value) > widths[col]:
                    widths[col] = len(value)
            elif kind == DATE:
                write_number(row, col, (value - EXCEL_EPOCH).days, formats[DATE])
            else:
                write_number(row, col, value / 100 if kind == EURO else value, formats[kind])
                if abs(value) > largest[col]:
                    largest[col] = abs(value)
        self.row += 1

    def total(self, label: str, sums: dict[int, int]) -> None:
        """A totals line under the table (outside its filter): for each summed column, a
        SUBTOTAL of what is shown (Excel recomputes it when rows are filtered) whose stored
        value is the exact sum of the integer cents."""
        self.sheet.write_string(self.row, 0, label, self.styles.total[TEXT])
        first, last = self.header_row + 2, self.row  # 1-based rows of the data
        for col, cents in sums.items():
            kind = self.columns[col][1]
            letter = xlsxwriter.utility.xl_col_to_name(col)
            value = cents / 100 if kind == EURO else cents
            self.sheet.write_formula(self.row, col,
                                     f"=SUBTOTAL(109,{letter}{first}:{letter}{last})",
                                     self.styles.total[kind], value)
        self.row += 1

    @property
    def last_data_row(self) -> int:
        return self.row - 1

    def finish(self, *, data_rows: int | None = None) -> None:
        """Frozen header, filter over the data, fitted widths."""
        last = self.header_row + (data_rows if data_rows is not None
                                  else self.row - self.header_row - 1)
        self.sheet.freeze_panes(self.header_row + 1, 0)
        self.sheet.autofilter(self.header_row, 0, max(last, self.header_row),
                              len(self.columns) - 1)
        for col, (title, kind) in enumerate(self.columns):
            self.sheet.set_column(col, col, _width(title, kind, self.widths[col],
                                                   self.largest[col]))


def _width(title: str, kind: str, text: int, largest: int) -> int:
    """A column wide enough for its longest value (headers wrap, so their longest word)."""
    content = {TEXT: text, EURO: len(f"{largest / 100:,.2f} €"), DATE: 10,
               PERCENT: 7, SCORE: 7, INT: len(str(largest))}[kind]
    word = max((len(w) for w in title.split()), default=0)
    return min(max(content, word, MIN_WIDTH) + 2, MAX_WIDTH)


class _Counter:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def step(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % BATCH == 0:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def _row_count(calls: list[Call]) -> int:
    """The rows of the streamed sheets (applications, payments and repayments, reports)."""
    if not calls:
        return 0
    ids = [c.id for c in calls]
    submitted = _submitted(ids)
    counts = [
        select(func.count()).select_from(Application).where(submitted),
        select(func.count()).select_from(Payment).join(Application).where(submitted),
        select(func.count()).select_from(Repayment).join(Application).where(submitted),
        select(func.count()).select_from(Report).join(Application).where(submitted),
    ]
    return sum(int(db.session.scalar(query) or 0) for query in counts)


def _submitted(call_ids: list[int]):
    """The applications of the calls that were submitted: not the applicant's draft."""
    return Application.call_id.in_(call_ids) & (Application.state != get_workflow().initial)


def _stream(query) -> Iterator:
    """The rows of a Core query, fetched ``BATCH`` at a time, in the session's transaction
    (on its connection: the ORM's result processing would double the cost of 100 000
    plain rows)."""
    return db.session.connection().execute(query.execution_options(yield_per=BATCH))


def _paris_date(moment: datetime | None) -> date | None:
    return to_paris(moment).date() if moment is not None else None


def _imputation(call: Call) -> str:
    fund = call.fund
    return " / ".join(part for part in (fund.imputation_chapter, fund.imputation_nature,
                                        fund.imputation_function, fund.imputation_subpolicy)
                      if part)


# -- Attributions and the pivots ----------------------------------------------------------

ATTRIBUTION_COLUMNS = [
    ("Appel", TEXT), ("Référence", TEXT), ("État", TEXT), ("Organisation", TEXT),
    ("SIRET", TEXT), ("RNA", TEXT), ("Intitulé du projet", TEXT), ("Enveloppe", TEXT),
    ("Territoires", TEXT), ("Domaines", TEXT), ("Motifs de discrimination", TEXT),
    ("Score", SCORE), ("Rang", INT), ("Montant demandé (€)", EURO),
    ("Montant proposé (€)", EURO), (GRANTED, EURO), ("Versé (€)", EURO),
    ("Reste à verser (€)", EURO), ("Reversé (€)", EURO), ("Instance de décision", TEXT),
    ("Délibération", TEXT), ("Date de décision", DATE), ("Convention", TEXT),
    ("Convention signée le", DATE), ("Imputation budgétaire", TEXT),
]
#: The Attributions columns summed on the totals line: requested … repaid.
ATTRIBUTION_SUMS = range(13, 19)
PIVOT_COLUMNS = [("Dossiers", INT), ("Dossiers subventionnés", INT),
                 ("Montant demandé (€)", EURO), (GRANTED, EURO), ("Versé (€)", EURO)]


class _Pivot:
    """Counts and amounts per value of a multi-valued field, summed in one pass."""

    def __init__(self, title: str, labels: dict[str, str] | None = None) -> None:
        self.title, self.labels = title, labels
        self.cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        self.overall = [0, 0, 0, 0, 0]  # every application once: the total without overlap

    def add(self, values: list[str] | None, granted: bool, amounts: tuple[int, int, int]
            ) -> None:
        for cell in (self.overall, *(self.cells[value] for value in
                                     dict.fromkeys(values or [NOT_GIVEN]))):
            cell[0] += 1
            cell[1] += granted
            cell[2] += amounts[0]
            cell[3] += amounts[1]
            cell[4] += amounts[2]

    def label(self, value: str) -> str:
        return str(self.labels.get(value, value)) if self.labels else value

    def rows(self) -> list[tuple[str, list[int]]]:
        """Largest granted amount first, then by label."""
        return sorted(((self.label(v), c) for v, c in self.cells.items()),
                      key=lambda item: (-item[1][3], -item[1][2], item[0]))


def _sum_of(amount, key, owner, *where):
    """The sum of ``amount`` over the rows whose ``key`` is the outer row's ``owner``, as a
    correlated subquery: one index lookup per row, whatever the planner knows of the
    tables (joined to grouped subqueries, a table without statistics yet made PostgreSQL
    loop over every group for every row)."""
    total = select(func.sum(amount)).where(key == owner, *where).scalar_subquery()
    return cast(func.coalesce(total, 0), BigInteger)


def _application_query(call_ids: list[int]):
    return (
        select(Application.id, Application.call_id, Application.reference,
               Application.state, Application.title, Application.territories,
               Application.domains, Application.grounds, Application.requested_cents,
               Application.proposed_cents, Application.committed_cents,
               Organisation.name.label("organisation"), Organisation.siret,
               Organisation.rna, Envelope.label.label("envelope"),
               Decision.amount_cents.label("granted_cents"),
               Decision.body.label("decision_body"),
               Decision.reference.label("decision_reference"), Decision.decided_on,
               Convention.reference.label("convention"), Convention.signed_on,
               _sum_of(Payment.amount_cents, Payment.application_id,
                       Application.id).label("paid_cents"),
               _sum_of(Repayment.amount_cents, Repayment.application_id,
                       Application.id).label("repaid_cents"))
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(Envelope, Envelope.id == Application.envelope_id)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .outerjoin(Convention, Convention.application_id == Application.id)
        .where(_submitted(call_ids))
        .order_by(Application.call_id, Application.reference, Application.id))


def _scores_and_ranks(calls: list[Call]) -> dict[int, tuple[Decimal | None, int | None]]:
    """The aggregated score (mean, the default method) and the rank of each ranked
    application, in the one ranking of :func:`aap.services.allocation.ranking`: the engine
    over the call's candidates, seeded like the run in force. The candidates (one
    aggregation of the jurors' totals per call) give the score and the rank at once,
    where ``ranking`` and a second aggregation would compute it twice."""
    ranked = sorted(get_workflow().phase("ranked"))
    out: dict[int, tuple[Decimal | None, int | None]] = {}
    for call in calls:
        ids = list(db.session.scalars(select(Application.id).where(
            Application.call_id == call.id, Application.state.in_(ranked))))
        if not ids:
            continue
        candidates = allocation.candidates(call, application_ids=ids)
        order = Parameters(budget_cents=0, seed=allocation.ranking_seed(call),
                           scale=call.scale)
        out.update({row.application_id: (row.score, row.rank)
                    for row in engine.allocate(candidates, order).rows})
    return out


def _write_attributions(sheet, styles: _Styles, calls: list[Call], counter: _Counter
                        ) -> dict[str, tuple[_Pivot, str]]:
    table = _Table(sheet, styles, ATTRIBUTION_COLUMNS)
    pivots = {BY_TERRITORY: (_Pivot("Territoire"), "territoires"),
              BY_DOMAIN: (_Pivot("Domaine", {k: str(v) for k, v in DOMAINS.items()}),
                          "domaines"),
              BY_GROUND: (_Pivot("Motif de discrimination",
                                 {k: str(v) for k, v in GROUNDS.items()}), "motifs")}
    sums = dict.fromkeys(ATTRIBUTION_SUMS, 0)
    if calls:
        _attribution_rows(table, calls, pivots, sums, counter)
    data_rows = table.row - 1
    table.total("Total", sums)
    table.finish(data_rows=data_rows)
    return pivots


def _attribution_rows(table: _Table, calls: list[Call], pivots: dict, sums: dict,
                      counter: _Counter) -> None:
    workflow = get_workflow()
    states = {s: str(workflow.label(s)) for s in workflow.state_names}
    titles = {c.id: c.title for c in calls}
    imputations = {c.id: _imputation(c) for c in calls}
    domain_labels, ground_labels = pivots[BY_DOMAIN][0].label, pivots[BY_GROUND][0].label
    territory, domain, ground = (pivots[name][0] for name in (BY_TERRITORY, BY_DOMAIN,
                                                               BY_GROUND))
    scores = _scores_and_ranks(calls)
    for row in _stream(_application_query([c.id for c in calls])):
        granted = row.granted_cents  # None without a decision: the money trail is blank
        proposed = row.proposed_cents if row.state == money.PROPOSED_STATE else None
        trail = (None, None, None, None) if granted is None else (
            granted, row.paid_cents, money.left_to_pay(row), row.repaid_cents)
        score, rank = scores.get(row.id, (None, None))
        amounts = (row.requested_cents, proposed, *trail)
        table.write((
            titles[row.call_id], row.reference, states.get(row.state, row.state),
            row.organisation, row.siret, row.rna, row.title, row.envelope,
            ", ".join(row.territories or ()),
            ", ".join(domain_labels(d) for d in row.domains or ()),
            ", ".join(ground_labels(g) for g in row.grounds or ()),
            float(score) if score is not None else None, rank, *amounts,
            row.decision_body, row.decision_reference, row.decided_on, row.convention,
            row.signed_on, imputations[row.call_id]))
        for col, cents in zip(ATTRIBUTION_SUMS, amounts, strict=True):
            sums[col] += cents or 0
        shown = (row.requested_cents, granted or 0, row.paid_cents)
        territory.add(row.territories, granted is not None, shown)
        domain.add(row.domains, granted is not None, shown)
        ground.add(row.grounds, granted is not None, shown)
        counter.step()


def _write_pivot(book, sheet, styles: _Styles, pivot: _Pivot, what: str) -> None:
    sheet.write_string(0, 0, OVERLAP_NOTE.format(what=what), styles.note)
    table = _Table(sheet, styles, [(pivot.title, TEXT), *PIVOT_COLUMNS], header_row=1)
    for label, cells in pivot.rows():
        table.write((label, *cells))
    rows = table.row - 2
    table.write((OVERALL, *pivot.overall), styles.total)
    table.finish(data_rows=rows)
    if rows:
        _pivot_chart(book, sheet, pivot.title, min(rows, CHART_CATEGORIES),
                     len(PIVOT_COLUMNS) + 2)


def _pivot_chart(book, sheet, title: str, rows: int, at_col: int) -> None:
    """Requested, granted and paid per value, for the largest ``rows`` values."""
    chart = book.add_chart({"type": "bar"})
    name = sheet.get_name()
    for col in (3, 4, 5):
        chart.add_series({"name": [name, 1, col], "categories": [name, 2, 0, rows + 1, 0],
                          "values": [name, 2, col, rows + 1, col]})
    chart.set_title({"name": f"Montants par {title.lower()}"})
    chart.set_x_axis({"name": "€", "num_format": '#,##0\\ "€"'})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"position": "bottom"})
    sheet.insert_chart(1, at_col, chart, {"x_scale": 1.6, "y_scale": 1.2 + rows / 20})


# -- Versements ---------------------------------------------------------------------------

PAYMENT_COLUMNS = [
    ("Appel", TEXT), ("Référence", TEXT), ("Organisation", TEXT), ("Opération", TEXT),
    ("Nature", TEXT), ("Date", DATE), ("Mandat ou titre de recette", TEXT),
    ("Versé (€)", EURO), ("Reversé (€)", EURO), ("Encaissé le", DATE), ("Motif", TEXT),
]
PAYMENT_KIND_LABELS = {"advance": "Avance", "instalment": "Acompte", "balance": "Solde"}
PAID_COL, REPAID_COL = 7, 8


def _money_movements(call_ids: list[int]):
    """Payments and repayments in one ordered stream (a union of two selects)."""
    def base(model):
        return (select(Application.call_id, Application.reference,
                       Organisation.name.label("organisation"))
                .select_from(model).join(Application, Application.id == model.application_id)
                .join(Organisation, Organisation.id == Application.organisation_id)
                .where(_submitted(call_ids)))

    payments = base(Payment).add_columns(
        literal(0).label("repayment"), cast(Payment.kind, String).label("kind"),
        Payment.paid_on.label("on"), cast(Payment.mandate, String).label("piece"),
        Payment.amount_cents, cast(null(), Date).label("received_on"),
        cast(literal(""), Text).label("reason"), Payment.id)
    repayments = base(Repayment).add_columns(
        literal(1).label("repayment"), cast(literal(""), String).label("kind"),
        Repayment.claimed_on.label("on"), cast(Repayment.reference, String).label("piece"),
        Repayment.amount_cents, Repayment.received_on,
        cast(Repayment.reason, Text).label("reason"), Repayment.id)
    movements = union_all(payments, repayments).subquery()
    return select(movements).order_by(movements.c.call_id, movements.c.reference,
                                      movements.c.on, movements.c.repayment, movements.c.id)


def _write_payments(sheet, styles: _Styles, calls: list[Call], counter: _Counter) -> None:
    table = _Table(sheet, styles, PAYMENT_COLUMNS)
    titles = {c.id: c.title for c in calls}
    sums = {PAID_COL: 0, REPAID_COL: 0}
    if calls:
        for row in _stream(_money_movements([c.id for c in calls])):
            repayment = bool(row.repayment)
            table.write((
                titles[row.call_id], row.reference, row.organisation,
                "Reversement" if repayment else "Versement",
                PAYMENT_KIND_LABELS.get(row.kind, row.kind), _as_date(row.on), row.piece,
                None if repayment else row.amount_cents,
                row.amount_cents if repayment else None, _as_date(row.received_on),
                row.reason))
            sums[REPAID_COL if repayment else PAID_COL] += row.amount_cents
            counter.step()
    data_rows = table.row - 1
    table.total("Total", sums)
    table.finish(data_rows=data_rows)


def _as_date(value: date | str | None) -> date | None:
    """A date of the union (SQLite may hand a union's dates back as ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


# -- Comptes rendus -----------------------------------------------------------------------

REPORT_COLUMNS = [
    ("Appel", TEXT), ("Référence", TEXT), ("Organisation", TEXT), ("État", TEXT),
    (GRANTED, EURO), ("Charges prévues (€)", EURO), ("Charges réalisées (€)", EURO),
    ("Écart charges (€)", EURO), ("Écart charges (%)", PERCENT),
    ("Produits prévus (€)", EURO), ("Produits réalisés (€)", EURO),
    ("Écart produits (€)", EURO), ("Écart produits (%)", PERCENT),
    ("Bénéficiaires prévus", INT), ("Bénéficiaires atteints", INT),
    ("Écart bénéficiaires", INT), ("Déposé le", DATE), ("Explication des écarts", TEXT),
]
REPORT_SUMS = (4, 5, 6, 7, 9, 10, 11)


def _side(model, key, owner, side: str):
    """The total of one side (charges, products) of a budget or a report."""
    return _sum_of(model.amount_cents, key, owner, model.side == side)


def _report_query(call_ids: list[int]):
    return (
        select(Application.call_id, Application.reference, Application.state,
               Application.beneficiaries, Organisation.name.label("organisation"),
               Decision.amount_cents.label("granted_cents"), Report.beneficiaries_reached,
               Report.submitted_at, Report.gap_explanation,
               _side(BudgetLine, BudgetLine.application_id, Application.id,
                     "charges").label("forecast_charges"),
               _side(BudgetLine, BudgetLine.application_id, Application.id,
                     "products").label("forecast_products"),
               _side(ReportLine, ReportLine.report_id, Report.id,
                     "charges").label("realised_charges"),
               _side(ReportLine, ReportLine.report_id, Report.id,
                     "products").label("realised_products"))
        .select_from(Report)
        .join(Application, Application.id == Report.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .where(_submitted(call_ids))
        .order_by(Application.call_id, Application.reference, Application.id))


def _gap(forecast: int, realised: int) -> tuple[int, float | None]:
    """The gap in cents and as a share of the forecast (the report guard's definition)."""
    share = report_gap(forecast, realised)
    return realised - forecast, float(share) if share is not None else None


def _write_reports(sheet, styles: _Styles, calls: list[Call], counter: _Counter) -> None:
    table = _Table(sheet, styles, REPORT_COLUMNS)
    workflow = get_workflow()
    titles = {c.id: c.title for c in calls}
    sums = dict.fromkeys(REPORT_SUMS, 0)
    if calls:
        for row in _stream(_report_query([c.id for c in calls])):
            charges = _gap(row.forecast_charges, row.realised_charges)
            products = _gap(row.forecast_products, row.realised_products)
            amounts = (row.granted_cents or 0, row.forecast_charges, row.realised_charges,
                       charges[0], None, row.forecast_products, row.realised_products,
                       products[0])
            table.write((
                titles[row.call_id], row.reference, row.organisation,
                str(workflow.label(row.state)), *amounts[:4], charges[1], *amounts[5:], products[1],
                row.beneficiaries, row.beneficiaries_reached,
                row.beneficiaries_reached - row.beneficiaries,
                _paris_date(row.submitted_at), row.gap_explanation))
            for col in REPORT_SUMS:
                sums[col] += amounts[col - 4]
            counter.step()
    data_rows = table.row - 1
    table.total("Total", sums)
    table.finish(data_rows=data_rows)


# -- Synthèse -----------------------------------------------------------------------------

FUND_COLUMNS = [("Niveau", TEXT), ("Dispositif", TEXT), ("Attribuant", TEXT),
                ("SIRET de l'attribuant", TEXT), ("Chapitre", TEXT), ("Nature", TEXT),
                ("Fonction", TEXT), ("Sous-politique", TEXT), ("Exercice", INT),
                ("Appel", TEXT), ("Enveloppe", TEXT)]
FIGURE_COLUMNS = [("Budget (€)", EURO), ("Proposé (€)", EURO), (GRANTED, EURO),
                  ("Versé (€)", EURO), ("Reste à verser (€)", EURO), ("Reversé (€)", EURO),
                  ("Disponible (€)", EURO)]
WHOLE_CALL = "Ensemble de l'appel"
AUTHORITY_TOTAL = "Total de la collectivité"


def _figures(f: money.Figures) -> list[int]:
    return [f.budget_cents, f.proposed_cents, f.granted_cents, f.paid_cents,
            f.left_to_pay_cents, f.repaid_cents, f.available_cents]


def _state_counts(calls: list[Call]) -> dict[tuple[int, int | None], dict[str, int]]:
    """Submitted applications per (call, envelope) and state, in one query."""
    out: dict[tuple[int, int | None], dict[str, int]] = defaultdict(dict)
    if not calls:
        return out
    rows = db.session.execute(
        select(Application.call_id, Application.envelope_id, Application.state, func.count())
        .where(_submitted([c.id for c in calls]))
        .group_by(Application.call_id, Application.envelope_id, Application.state))
    for call_id, envelope_id, state, count in rows:
        out[(call_id, envelope_id)][state] = int(count)
    return out


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for one in counts:
        for state, n in one.items():
            out[state] += n
    return out


def _fund_cells(level: str, call: Call | None, fund, year: int | None,
                owner: Attribuant | None = None) -> list:
    """The first cells of a Synthèse row: the level, the fund and its attribuant, the
    imputation, the year and the call (blank where the row sums several)."""
    if fund is None:
        return [level, None, owner.name if owner else None, owner.siret if owner else None,
                None, None, None, None, year, None]
    return [level, fund.name, owner.name, owner.siret, fund.imputation_chapter,
            fund.imputation_nature, fund.imputation_function, fund.imputation_subpolicy,
            year, call.title if call is not None else None]


def _write_synthesis(book, sheet, styles: _Styles, calls: list[Call],
                     owners: _Owners | None = None) -> None:
    workflow = get_workflow()
    states = [s for s in workflow.state_names if s != workflow.initial]
    columns = [*FUND_COLUMNS, *FIGURE_COLUMNS,
               *[(str(workflow.label(s)), INT) for s in states], ("Dossiers déposés", INT)]
    table = _Table(sheet, styles, columns)
    per_call, per_envelope = money.for_calls(calls), money.for_envelopes(calls)
    counts = _state_counts(calls)
    owners = owners or _Owners(calls)

    def write(cells: list, figures: money.Figures, by_state: dict[str, int],
              formats: dict | None = None) -> None:
        table.write([*cells, *_figures(figures), *[by_state.get(s, 0) for s in states],
                     sum(by_state.values())], formats)

    for call in calls:
        call_counts = _summed(v for (c, _e), v in counts.items() if c == call.id)
        owner = owners.of(call.fund)
        write([*_fund_cells("Appel", call, call.fund, call.fiscal_year, owner), WHOLE_CALL],
              per_call[call.id], call_counts)
        for envelope in call.envelopes:
            write([*_fund_cells("Enveloppe", call, call.fund, call.fiscal_year, owner),
                   envelope.label], per_envelope[envelope.id],
                  counts.get((call.id, envelope.id), {}))
    charted = table.row - 1
    for cells, group in _subtotals(calls, owners):
        ids = {c.id for c in group}
        write([*cells, None], money.total(per_call[c.id] for c in group),
              _summed(v for (c, _e), v in counts.items() if c in ids), styles.total)
    table.finish(data_rows=charted)
    if charted:
        _synthesis_chart(book, sheet, charted, len(FUND_COLUMNS))


def _subtotals(calls: list[Call], owners: _Owners) -> Iterator[tuple[list, list[Call]]]:
    """Per year: a total per fund, then per authority (its own calls, once its funds are
    totalled), then the year's (calls are sorted by year, authority, fund)."""
    years: dict[int, list[Call]] = defaultdict(list)
    for call in calls:
        years[call.fiscal_year].append(call)
    for year, of_year in years.items():
        authorities: dict[int | None, list[Call]] = defaultdict(list)
        for call in of_year:
            authorities[call.fund.authority_id].append(call)
        for authority_id, of_authority in authorities.items():
            funds: dict[int, list[Call]] = defaultdict(list)
            for call in of_authority:
                funds[call.fund_id].append(call)
            for group in funds.values():
                yield _fund_cells("Total du dispositif", None, group[0].fund, year,
                                  owners.of(group[0].fund)), group
            if authority_id is not None:
                yield _fund_cells(AUTHORITY_TOTAL, None, None, year,
                                  owners.of(of_authority[0].fund)), of_authority
        yield _fund_cells(f"Total de l'exercice {year}", None, None, year), of_year


def _synthesis_chart(book, sheet, rows: int, first_figure: int) -> None:
    """Budget, granted, paid and available per call and envelope."""
    chart = book.add_chart({"type": "column"})
    name = sheet.get_name()
    appel = first_figure - 2  # the Appel and Enveloppe columns: two-level categories
    for offset in (0, 2, 3, 6):
        col = first_figure + offset
        chart.add_series({"name": [name, 0, col],
                          "categories": [name, 1, appel, rows, appel + 1],
                          "values": [name, 1, col, rows, col]})
    chart.set_title({"name": "Consommation du budget par appel et enveloppe"})
    chart.set_y_axis({"name": "€", "num_format": '#,##0\\ "€"'})
    chart.set_legend({"position": "bottom"})
    sheet.insert_chart(rows + 6, 1, chart, {"x_scale": 2.2, "y_scale": 1.4})
