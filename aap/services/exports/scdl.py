"""The SCDL *subventions* open-data file (SPEC 6): one CSV row per granted application,
valid against the official Table Schema (``aap/standards/``, scdl/subventions 2.1.1).

**Which applications.** Every application of the calls that a grant decision reached:
the workflow's ``funded`` phase (granted, and every later state, cancelled grants
included: the deliberation granted them), with its ``Decision`` row. Drafts, pending and
refused applications never appear. ``decided_by`` keeps only the deliberations dated on or
before that day (the public download: a decision is published once it is taken).

**The columns**, in the schema's order and names:

- ``nomAttribuant``/``idAttribuant``: the *attribuant*, name and SIRET: the authority
  that runs the call's fund, or the fund's owner for a platform-wide fund
  (:mod:`aap.services.exports.attribuant`);
- ``dateConvention``: the convention's signature date, else the decision date;
- ``referenceDecision``: the deliberation's reference;
- ``nomBeneficiaire``/``idBeneficiaire``/``rnaBeneficiaire``: the organisation, its SIRET
  and its RNA (each left empty when the organisation has none);
- ``objet``: the project's title (at most 256 characters: longer ones are cut, ending
  with an ellipsis);
- ``montant``: the decision's amount in euros, with a decimal point (``12500.00``);
- ``nature``: ``aide en numéraire`` (the platform grants money);
- ``conditionsVersement``: ``unique`` for one planned payment, else ``échelonné``. The
  plan is the signed convention's schedule (an empty schedule is one advance); without a
  convention, a grant at or below the call's convention threshold is paid in one advance
  (the finance rule, ``aap.services.finance``), a larger one will be paid by the default
  schedule of its convention (``aap.services.conventions``, 80 % then 20 %);
- ``datesPeriodeVersement``: the first and last payment dates, written as the schema
  says: one date (``AAAA-MM-JJ``) for a single payment of a ``unique`` grant, else a
  period (``AAAA-MM-JJ/AAAA-MM-JJ``); without any payment, the decision date;
- ``idRAE``: empty (business aid only); ``notificationUE``: ``oui`` when the fund says so
  (``Fund.notification_ue``), else ``non``; ``pourcentageSubvention``: ``1.00`` (a single
  beneficiary per application); ``dispositifAide``: empty (no identifier of the national
  directory of aid schemes is recorded).

Texts are written on one line: line breaks, tabs and runs of spaces in names and titles
become one space, so that every row of the file is one line (portals and line-oriented
tools read it as such). The file is UTF-8 without BOM, comma-separated, quoted as needed
(RFC 4180).

**The custom checks.** A plain Table Schema validator checks the types, patterns and
required cells; the schema's ``custom_checks`` (run by Validata) are run here by
:func:`check_scdl`: the SIRET of the attributing body and of the beneficiary pass the Luhn
check (python-stdnum, La Poste's exception included), and each row has an
``idBeneficiaire`` or an ``rnaBeneficiaire``.

Rows are streamed from one query (``yield_per``): no query per row.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, String, case, func, select, type_coerce
from stdnum.fr import siret as stdnum_siret

from aap.database import is_sqlite
from aap.errors import Forbidden, NotFound
from aap.extensions import db
from aap.models import (
    Application,
    Authority,
    Call,
    Convention,
    Decision,
    Fund,
    Organisation,
    Payment,
    User,
)
from aap.services import consolidation, policies
from aap.services.conventions import DEFAULT_SCHEDULE
from aap.services.exports import attribuant
from aap.services.finance import SINGLE_ADVANCE
from aap.textutil import one_line
from workflows.application import PHASES

#: The official schema, copied from scdl/subventions v2.1.1 (schema.data.gouv.fr).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "standards" / \
    "scdl-subventions-2.1.1.schema.json"
#: The columns, in the schema's order (a test compares them with the schema's fields).
COLUMNS = ("nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision",
           "nomBeneficiaire", "idBeneficiaire", "rnaBeneficiaire", "objet", "montant",
           "nature", "conditionsVersement", "datesPeriodeVersement", "idRAE",
           "notificationUE", "pourcentageSubvention", "dispositifAide")
#: The applications a grant decision reached (cancelled grants included).
GRANTED_PHASE = PHASES["funded"]
NATURE = "aide en numéraire"
SINGLE, STAGGERED = "unique", "échelonné"
SINGLE_BENEFICIARY = "1.00"
OBJECT_MAX = 256
ELLIPSIS = "…"
BATCH = 2_000

Progress = Callable[[int, int], None]
Target = str | os.PathLike | IO[str] | IO[bytes]


# -- the selection ---------------------------------------------------------------------

def _call_ids(calls: Iterable[Call | int]) -> list[int]:
    return [c if isinstance(c, int) else c.id for c in calls]


def granted_filter(call_ids: list[int], decided_by: date | None = None) -> list:
    """The conditions selecting the granted applications of the calls (and, with
    ``decided_by``, only those whose deliberation is dated on or before that day); to be
    used on a query joining ``Decision`` to ``Application``."""
    conditions = [Application.call_id.in_(call_ids), Application.state.in_(GRANTED_PHASE)]
    if decided_by is not None:
        conditions.append(Decision.decided_on <= decided_by)
    return conditions


def _payment_date(aggregate) -> object:
    """The first or last payment date of the application, as a correlated subquery: one
    index lookup per row, a plan that stays linear whatever the statistics (a grouped
    subquery joined to the rows can be planned as a nested loop over all of them)."""
    return (select(aggregate(Payment.paid_on)).where(Payment.application_id == Application.id)
            .correlate(Application).scalar_subquery())


def _day(column):
    """A date read as the database gives it (an ISO string on SQLite, a date on
    PostgreSQL), not parsed row by row: ``str()`` of either is ``AAAA-MM-JJ``."""
    return type_coerce(column, String)


def _schedule_length():
    """How many payments the convention's schedule plans, counted by the database (the
    JSON is not decoded row by row); 0 when it is not a list."""
    if is_sqlite():
        return func.json_array_length(Convention.schedule)
    return case((func.json_typeof(Convention.schedule) == "array",
                 func.json_array_length(Convention.schedule)), else_=0)


def _query(call_ids: list[int], decided_by: date | None) -> Select:
    return (
        select(attribuant.name_column(), attribuant.siret_column(), Fund.notification_ue,
               Call.convention_threshold_cents, Decision.reference,
               _day(Decision.decided_on), Decision.amount_cents, _day(Convention.signed_on),
               _schedule_length(), Organisation.name, Organisation.siret, Organisation.rna,
               Application.title, Application.reference,
               _day(_payment_date(func.min)), _day(_payment_date(func.max)))
        .select_from(Application)
        .join(Decision, Decision.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Call, Call.id == Application.call_id)
        .join(Fund, Fund.id == Call.fund_id)
        .outerjoin(Authority, Authority.id == Fund.authority_id)
        .outerjoin(Convention, Convention.application_id == Application.id)
        .where(*granted_filter(call_ids, decided_by))
        .order_by(Application.call_id, Decision.decided_on, Application.id)
    )


def count(calls: Iterable[Call | int], decided_by: date | None = None) -> int:
    """How many rows the file of these calls has."""
    ids = _call_ids(calls)
    if not ids:
        return 0
    return int(db.session.scalar(
        select(func.count()).select_from(Application)
        .join(Decision, Decision.application_id == Application.id)
        .where(*granted_filter(ids, decided_by))) or 0)


# -- the rules of SPEC 6 ------------------------------------------------------------------

def object_text(title: str | None, fallback: str | None = None) -> str:
    """The project's title on one line, cut to the schema's 256 characters."""
    text = one_line(title) or one_line(fallback)
    return text if len(text) <= OBJECT_MAX else text[:OBJECT_MAX - 1].rstrip() + ELLIPSIS


def euros(cents: int) -> str:
    """Integer cents as euros with a decimal point and two decimals: 1250000 → 12500.00."""
    return f"{cents // 100}.{cents % 100:02d}"


def planned_payments(schedule_length: int | None, has_convention: bool,
                     granted_cents: int, threshold_cents: int) -> int:
    """How many payments are planned for the grant (see the module's rule)."""
    if has_convention:
        return schedule_length or len(SINGLE_ADVANCE)
    return len(SINGLE_ADVANCE if granted_cents <= threshold_cents else DEFAULT_SCHEDULE)


def payment_conditions(planned: int) -> str:
    return SINGLE if planned == 1 else STAGGERED


def payment_period(first: date | str | None, last: date | str | None,
                   decided_on: date | str, conditions: str) -> str:
    """One date for a single payment of a single-payment grant, else the period from the
    first to the last payment; the decision date before any payment."""
    if first is None or last is None:
        return str(decided_on)
    if first == last and conditions == SINGLE:
        return str(first)
    return f"{first}/{last}"


class _OneLine(dict):
    """``one_line`` of the texts that repeat from row to row (the attributing body, the
    beneficiaries, the deliberations), computed once each."""

    def __missing__(self, text: str | None) -> str:
        self[text] = value = one_line(text)
        return value


def rows(calls: Iterable[Call | int], decided_by: date | None = None
         ) -> Iterator[tuple[str, ...]]:
    """The data rows of the file, streamed from one query (read as plain tuples)."""
    ids = _call_ids(calls)
    if not ids:
        return
    texts = _OneLine()
    # Core rows (no ORM processing); the option is the statement's, never the session
    # connection's (Connection.execution_options changes the connection in place)
    result = db.session.connection().execute(
        _query(ids, decided_by).execution_options(yield_per=BATCH))
    try:
        for (owner_name, owner_siret, notification_ue, threshold, reference, decided_on,
             amount, signed_on, schedule_length, name, siret, rna, title,
             application_reference, first_paid, last_paid) in result:
            conditions = payment_conditions(planned_payments(
                schedule_length, signed_on is not None, amount, threshold))
            yield (
                texts[owner_name], (owner_siret or "").strip(), str(signed_on or decided_on),
                texts[reference], texts[name], (siret or "").strip(), (rna or "").strip(),
                object_text(title, application_reference), euros(amount), NATURE,
                conditions, payment_period(first_paid, last_paid, decided_on, conditions),
                "", "oui" if notification_ue else "non", SINGLE_BENEFICIARY, "",
            )
    finally:
        result.close()


# -- writing -------------------------------------------------------------------------------

def write_scdl(target: Target, calls: Iterable[Call | int], *,
               progress: Progress | None = None, decided_by: date | None = None) -> int:
    """Write the SCDL CSV of the calls to ``target`` (a path, or a text or binary file
    object, left open); ``progress(done, total)`` is called as rows are written. Returns
    the number of rows."""
    ids = _call_ids(calls)
    if isinstance(target, (str, os.PathLike)):
        with open(target, "w", encoding="utf-8", newline="") as stream:
            return _write(stream, ids, progress, decided_by)
    if _is_binary(target):
        stream = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=True)
        try:
            return _write(stream, ids, progress, decided_by)
        finally:
            stream.flush()
            stream.detach()  # the caller's file stays open
    return _write(target, ids, progress, decided_by)


def _is_binary(target: Any) -> bool:
    if isinstance(target, io.TextIOBase):
        return False
    if isinstance(target, (io.RawIOBase, io.BufferedIOBase)):
        return True
    return "b" in getattr(target, "mode", "")


def _write(stream: IO[str], ids: list[int], progress: Progress | None,
           decided_by: date | None) -> int:
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    total = count(ids, decided_by) if progress else 0
    done = 0
    for row in rows(ids, decided_by):
        writer.writerow(row)
        done += 1
        if progress and done % BATCH == 0:
            progress(done, total)
    if progress:
        progress(done, total)
    return done


def build_scdl(calls: Iterable[Call | int], *, decided_by: date | None = None) -> bytes:
    """The SCDL CSV of the calls, as UTF-8 bytes."""
    buffer = io.BytesIO()
    write_scdl(buffer, calls, decided_by=decided_by)
    return buffer.getvalue()


def filename(call: Call | None = None, year: int | None = None) -> str:
    """``subventions-appel-12.csv``, ``subventions-2026.csv`` or ``subventions.csv``."""
    if call is not None:
        return f"subventions-appel-{call.id}.csv"
    return f"subventions-{year}.csv" if year else "subventions.csv"


def call_for(user: User | None, call_id: int) -> Call:
    """The call whose SCDL file the user asks for: Forbidden unless the user may export
    (finance, instructor), NotFound for an unknown call or one the user may not export."""
    if not policies.may_export(user):
        raise Forbidden("Les exports sont réservés aux finances et à l'instruction.")
    call = db.session.get(Call, call_id)
    if call is None or not policies.may_export_call(user, call):
        raise NotFound("Appel introuvable.")
    return call


def calls_of_year(year: int, authority_id: int | None = None) -> list[int]:
    """The ids of the calls of a fiscal year (of ``authority_id`` and the authorities
    below it, if given)."""
    query = select(Call.id).where(Call.fiscal_year == year)
    if authority_id is not None:
        query = query.join(Fund, Fund.id == Call.fund_id).where(
            Fund.authority_id.in_(sorted(consolidation.subtree(authority_id))))
    return list(db.session.scalars(query.order_by(Call.id)))


# -- the custom checks of the schema -------------------------------------------------------

Record = Mapping[str, str | None]


def check_scdl(rows_or_path: str | os.PathLike | bytes | Iterable[Record]) -> list[str]:
    """The problems the schema's custom checks find (French messages, one per problem;
    empty when the file passes): a header that is not the schema's columns, an
    ``idAttribuant`` or ``idBeneficiaire`` that is not a valid SIRET, a row with neither
    ``idBeneficiaire`` nor ``rnaBeneficiaire``. Rows are numbered as in the file, the
    header being line 1. Types, patterns and required cells are the schema validator's
    (frictionless), see :func:`validate_with_schema`."""
    if isinstance(rows_or_path, (str, os.PathLike)):
        with open(rows_or_path, encoding="utf-8-sig", newline="") as stream:
            return _check_stream(stream)
    if isinstance(rows_or_path, bytes):
        return _check_stream(io.StringIO(rows_or_path.decode("utf-8-sig"), newline=""))
    problems: list[str] = []
    for line, record in enumerate(rows_or_path, start=2):
        problems.extend(_check_record(line, record))
    return problems


def _check_stream(stream: IO[str]) -> list[str]:
    reader = csv.DictReader(stream)
    header = tuple(reader.fieldnames or ())
    problems = [] if header == COLUMNS else [
        f"en-tête : les colonnes doivent être {', '.join(COLUMNS)} "
        f"(trouvé : {', '.join(header) or 'aucune'})."]
    for line, record in enumerate(reader, start=2):
        problems.extend(_check_record(line, record))
    return problems


@lru_cache(maxsize=65_536)
def _valid_siret(value: str) -> bool:
    """Luhn (La Poste's exception included); the same SIRETs repeat from row to row."""
    return stdnum_siret.is_valid(value)


def _check_record(line: int, record: Record) -> list[str]:
    problems = []
    attributing = (record.get("idAttribuant") or "").strip()
    if not attributing:
        problems.append(f"ligne {line} : idAttribuant manquant (le SIRET de l'attribuant).")
    elif not _valid_siret(attributing):
        problems.append(f"ligne {line} : idAttribuant « {attributing} » n'est pas un "
                        "SIRET valide.")
    beneficiary = (record.get("idBeneficiaire") or "").strip()
    if beneficiary and not _valid_siret(beneficiary):
        problems.append(f"ligne {line} : idBeneficiaire « {beneficiary} » n'est pas un "
                        "SIRET valide.")
    if not beneficiary and not (record.get("rnaBeneficiaire") or "").strip():
        problems.append(f"ligne {line} : ni idBeneficiaire ni rnaBeneficiaire n'est "
                        "renseigné.")
    return problems


def validate_with_schema(data: str | os.PathLike | bytes) -> list[str] | None:
    """The problems the official Table Schema finds in the file (frictionless, given the
    file's path or its bytes), or None when frictionless is not installed (it is in the
    ``test`` extra)."""
    try:
        from frictionless import Resource, Schema
    except ImportError:
        return None
    if not isinstance(data, bytes):
        data = Path(data).read_bytes()
    schema = Schema.from_descriptor(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    report = Resource(data, schema=schema, format="csv", encoding="utf-8").validate()
    return [f"ligne {row or '-'} : {message}"
            for row, message in report.flatten(["rowNumber", "message"])]
