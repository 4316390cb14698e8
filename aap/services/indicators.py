"""The plan's indicators, per call and per fiscal year (SPEC 1 and 6).

The anti-discrimination plans measure themselves by their calls (Nantes' table, indicator
5.1: « nombre de projets LCD déposés dans les AAP », per domain, per territory, per
public). This service computes those figures for the calls a user may export
(:func:`aap.services.policies.exportable_calls`); the dashboards, the indicators workbook
and any later API all read them from here.

Definitions (each over the applications of the call, or of the year's calls):

- **submitted**: the application was submitted (``submitted_at`` is set: a draft
  withdrawn before its submission never counts); **eligible**: it was declared eligible
  (its trail holds a ``declare_eligible`` transition, even if it was withdrawn later);
  **funded**: a deliberation granted it (it has a decision, cancelled grants included).
- **amounts**: requested (what the submitted applications ask for), granted and paid, per
  application as :func:`aap.services.money.application_figures` defines them, so that
  they add up to the call figures of :mod:`aap.services.money`.
- **per domain, territory and ground**: the fields are multi-valued, and an application
  counts once (with its whole amounts) under each value it names: the rows of one
  breakdown overlap and their sum may exceed the total.
- **QPV or not**: applications name their territories in free text (a commune, a priority
  neighbourhood). An application is *in a QPV* when one of its territories names one:
  the label holds the word « QPV » or « quartier(s) prioritaire(s) » (« Marseille — QPV
  Frais Vallon »). This split does not overlap: each application is in one of the two.
- **beneficiaries**: expected, the sum over the funded applications of the number they
  announced; reached, the sum over the final reports (CERFA 15059) filed.
- **first-time applicants**: among the organisations that submitted to the call (or to
  the year's calls), those with no submitted application to any call that opened earlier
  (whichever authority runs it).
- **durations**, in calendar days (Europe/Paris): from the submission to the decision
  (the deliberation's date for a grant; for a refusal, the day it was recorded in the
  trail), and from the decision to the first payment (its date); median and mean.

Everything costs a constant number of queries, whatever the number of calls and
applications: the applications are read as plain rows with their decision, what was paid,
the first payment and the report (one query), the trail events in one query, the
organisations' history in another, then one pass in Python.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, func, or_, select

from aap.extensions import db
from aap.models import Application, AuditEvent, Call, Decision, Payment, Report, Review, User
from aap.services import aggregation, policies
from aap.timeutil import to_paris
from aap.vocabulary import DOMAINS, GROUNDS
from workflows import get_workflow
from workflows.application import PHASES

#: The trigger that declares an application eligible.
ELIGIBLE_TRIGGER = "declare_eligible"
#: The destinations that decide an application's outcome (the ``decided`` phase): the
#: first transition into one of them is the decision.
DECIDED = PHASES["decided"]
QPV = "qpv"
OUTSIDE_QPV = "hors_qpv"
QPV_LABELS = {QPV: _l("En quartier prioritaire (QPV)"),
              OUTSIDE_QPV: _l("Hors quartier prioritaire")}
_QPV_WORDS = re.compile(r"\bqpv\b|\bquartiers?\s+prioritaires?\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def names_a_qpv(territory: str) -> bool:
    """Whether a territory label names a priority neighbourhood (« QPV », « quartier
    prioritaire », accents and case aside)."""
    plain = unicodedata.normalize("NFKD", territory).encode("ascii", "ignore").decode()
    return bool(_QPV_WORDS.search(plain))


# -- the figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Durations:
    """Durations in days: how many, their median and mean (None when there are none)."""

    count: int = 0
    median_days: float | None = None
    mean_days: float | None = None

    @classmethod
    def of(cls, days: list[int]) -> Durations:
        if not days:
            return cls()
        return cls(len(days), float(statistics.median(days)), statistics.fmean(days))


@dataclass
class Tally:
    """Counts and amounts (cents) of a group of applications."""

    submitted: int = 0
    eligible: int = 0
    funded: int = 0
    requested_cents: int = 0
    granted_cents: int = 0
    paid_cents: int = 0

    def add(self, row: Row) -> None:
        self.submitted += 1
        self.eligible += row.eligible
        self.funded += row.funded
        self.requested_cents += row.requested_cents
        self.granted_cents += row.granted_cents
        self.paid_cents += row.paid_cents

    def merge(self, other: Tally) -> None:
        """Add another group's tally (the groups never share an application)."""
        self.submitted += other.submitted
        self.eligible += other.eligible
        self.funded += other.funded
        self.requested_cents += other.requested_cents
        self.granted_cents += other.granted_cents
        self.paid_cents += other.paid_cents


@dataclass(frozen=True)
class Group:
    """One value of a breakdown (a domain, a territory, a ground) and its tally."""

    key: str
    label: str
    tally: Tally


@dataclass(frozen=True)
class Indicators:
    """The indicators of one call, or of a fiscal year's calls."""

    tally: Tally
    by_domain: list[Group]
    by_territory: list[Group]
    by_qpv: list[Group]
    by_ground: list[Group]
    states: list[tuple[str, int]]
    beneficiaries_expected: int
    beneficiaries_reached: int
    reports: int
    applicants: int
    first_time: int
    to_decision: Durations
    to_payment: Durations

    @property
    def first_time_share(self) -> float | None:
        """The share of first-time applicants among the applicant organisations."""
        return self.first_time / self.applicants if self.applicants else None


@dataclass(frozen=True)
class Sheet:
    """The indicators of a set of calls: per call (by id), per group of calls when groups
    were asked for (e.g. per authority of a consolidation), and for all of them."""

    calls: list[Call]
    by_call: dict[int, Indicators]
    total: Indicators
    by_group: dict[Hashable, Indicators] = field(default_factory=dict)


@dataclass
class Row:
    """One submitted application, as the indicators read it."""

    call_id: int
    organisation_id: int
    state: str
    domains: list[str]
    grounds: list[str]
    territories: list[str]
    beneficiaries: int
    requested_cents: int
    granted_cents: int
    paid_cents: int
    submitted_on: date
    eligible: bool = False
    funded: bool = False
    decided_on: date | None = None
    first_paid_on: date | None = None
    reached: int | None = None

    @property
    def in_qpv(self) -> bool:
        return _in_qpv(tuple(self.territories))


@lru_cache(maxsize=4096)
def _in_qpv(territories: tuple[str, ...]) -> bool:
    """Whether one of the territories names a QPV (the same lists repeat from row to row)."""
    return any(names_a_qpv(t) for t in territories)


# -- which calls -----------------------------------------------------------------------

def fiscal_years(user) -> list[int]:
    """The fiscal years of the calls the user may export, latest first."""
    ids = policies.exportable_calls(user).with_only_columns(Call.id)
    return list(db.session.scalars(
        select(Call.fiscal_year).where(Call.id.in_(ids)).distinct()
        .order_by(Call.fiscal_year.desc())))


def calls_of_year(user, year: int) -> list[Call]:
    """The calls of a fiscal year that the user may export, the latest opened first."""
    return list(db.session.scalars(
        policies.exportable_calls(user).where(Call.fiscal_year == year)
        .order_by(Call.opens_at.desc(), Call.id.desc())).unique())


# -- loading ---------------------------------------------------------------------------------

def _rows(call_ids: list[int], events: dict[int, tuple[bool, date | None]]) -> list[Row]:
    """The submitted applications of the calls as rows, from one query read as plain
    tuples (no ORM object: a year of 100 000 applications is read in seconds, not
    minutes). Their money is :func:`aap.services.money.application_figures`' per
    application: granted, the decision's amount (0 without one); paid, the sum of the
    payments; both summed by the database (correlated subqueries, one index lookup per
    row). The multi-valued fields are read as JSON text and decoded once per distinct
    value (they repeat from row to row)."""
    decoded = _Decoded()
    result = db.session.connection().execute(  # Core rows: no ORM processing
        select(Application.id, Application.call_id, Application.organisation_id,
               Application.state, _json_text(Application.domains),
               _json_text(Application.grounds), _json_text(Application.territories),
               Application.beneficiaries, Application.requested_cents,
               Application.submitted_at, Decision.id, Decision.amount_cents,
               Decision.decided_on,
               _per_application(func.sum(Payment.amount_cents)),
               _per_application(func.min(Payment.paid_on)),
               Report.beneficiaries_reached, Report.submitted_at)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .outerjoin(Report, Report.application_id == Application.id)
        .where(Application.call_id.in_(call_ids), Application.submitted_at.is_not(None))
        .order_by(Application.id))
    rows = []
    for (app_id, call_id, organisation_id, state, domains, grounds, territories,
         beneficiaries, requested, submitted_at, decision, granted, decided_on, paid,
         first_paid, reached, reported_at) in result:
        eligible, decided = events.get(app_id, (False, None))
        rows.append(Row(
            call_id=call_id, organisation_id=organisation_id, state=state,
            domains=decoded[domains], grounds=decoded[grounds],
            territories=decoded[territories], beneficiaries=beneficiaries or 0,
            requested_cents=requested, granted_cents=granted or 0, paid_cents=int(paid or 0),
            submitted_on=to_paris(submitted_at).date(), eligible=eligible,
            funded=decision is not None,
            decided_on=decided_on if decision is not None else decided,
            first_paid_on=_as_date(first_paid),
            reached=reached if reported_at is not None else None))
    return rows


def _json_text(column):
    """A JSON column as its text (decoded by :class:`_Decoded`, not row by row)."""
    return cast(column, Text)


def _per_application(aggregate):
    """An aggregate over the application's payments, as a correlated subquery."""
    return (select(aggregate).where(Payment.application_id == Application.id)
            .correlate(Application).scalar_subquery())


class _Decoded(dict):
    """JSON lists decoded once per distinct text, shared by the rows that hold it (the
    rows are only read)."""

    def __missing__(self, text: str | None) -> list:
        value = list(json.loads(text) or ()) if text else []
        self[text] = value
        return value


def _as_date(value: date | str | None) -> date | None:
    """A date of an aggregate (SQLite may hand it back as ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _decision_events(call_ids: list[int]) -> dict[int, tuple[bool, date | None]]:
    """Per application: whether it was declared eligible, and the day (Paris) of its
    first transition into a decided state, read from the trail in one query."""
    apps = select(Application.id).where(Application.call_id.in_(call_ids))
    rows = db.session.execute(
        select(AuditEvent.application_id, AuditEvent.trigger, AuditEvent.to_state,
               AuditEvent.at)
        .where(AuditEvent.application_id.in_(apps), AuditEvent.trigger.is_not(None),
               or_(AuditEvent.trigger == ELIGIBLE_TRIGGER, AuditEvent.to_state.in_(DECIDED)))
        .order_by(AuditEvent.at, AuditEvent.id))
    out: dict[int, tuple[bool, date | None]] = {}
    for app_id, trigger, to_state, at in rows:
        eligible, decided = out.get(app_id, (False, None))
        if trigger == ELIGIBLE_TRIGGER:
            eligible = True
        elif to_state in DECIDED and decided is None:
            decided = to_paris(at).date()
        out[app_id] = (eligible, decided)
    return out


def _first_submissions(call_ids: list[int]) -> dict[int, datetime]:
    """Per organisation that submitted to the calls: the opening of the earliest call it
    ever submitted to (any call, any authority)."""
    orgs = select(Application.organisation_id).where(
        Application.call_id.in_(call_ids), Application.submitted_at.is_not(None))
    return dict(db.session.execute(
        select(Application.organisation_id, func.min(Call.opens_at))
        .join(Call, Call.id == Application.call_id)
        .where(Application.submitted_at.is_not(None), Application.organisation_id.in_(orgs))
        .group_by(Application.organisation_id)).all())


# -- computing ------------------------------------------------------------------------------

def compute(calls: Iterable[Call], groups: Mapping[int, Hashable] | None = None, *,
            per_call: bool = True) -> Sheet:
    """The indicators of each call (unless ``per_call`` is false: ``by_call`` is then
    empty) and of all of them together; with ``groups`` (a group key per call id), of
    each group too, computed over the group's applications (the counts of
    organisations, such as first-time applicants, do not add up across groups, so they
    are never summed)."""
    calls = list(calls)
    ids = [c.id for c in calls]
    if not ids:
        return Sheet([], {}, empty())
    rows = _rows(ids, _decision_events(ids))
    first = _first_submissions(ids)
    opens = {c.id: c.opens_at for c in calls}
    of_call: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        of_call[row.call_id].append(row)
    by_call = {c.id: _indicators(of_call[c.id], opens, first) for c in calls} \
        if per_call else {}
    by_group = _by_group(calls, of_call, by_call, groups or {}, opens, first)
    # the total adds up the finest parts computed (every application in exactly one)
    if by_call:
        total = _combined(list(by_call.values()), rows, opens, first)
    elif by_group and all(c.id in (groups or {}) for c in calls):
        total = _combined(list(by_group.values()), rows, opens, first)
    else:
        total = _indicators(rows, opens, first)
    return Sheet(calls, by_call, total, by_group)


def _by_group(calls: list[Call], of_call: dict[int, list[Row]],
              by_call: dict[int, Indicators], groups: Mapping[int, Hashable],
              opens: dict[int, datetime], first: dict[int, datetime]
              ) -> dict[Hashable, Indicators]:
    """Each group's indicators: its calls' added up when they are computed, else from
    its applications."""
    rows: dict[Hashable, list[Row]] = defaultdict(list)
    parts: dict[Hashable, list[Indicators]] = defaultdict(list)
    for call in calls:
        if call.id in groups:
            rows[groups[call.id]].extend(of_call[call.id])
            if call.id in by_call:
                parts[groups[call.id]].append(by_call[call.id])
    return {key: _combined(parts[key], rows[key], opens, first) if by_call
            else _indicators(rows[key], opens, first)
            for key in dict.fromkeys(groups.values())}


def _combined(parts: list[Indicators], rows: list[Row], opens: dict[int, datetime],
              first: dict[int, datetime]) -> Indicators:
    """The indicators of ``rows``, whose partition into ``parts`` is already computed:
    the counts and amounts are the parts' added up (no second pass over the rows per
    breakdown); the organisations and the durations, which do not add up, come from the
    rows. The same figures as :func:`_indicators` over the rows."""
    tally = Tally()
    domains: dict[str, Tally] = defaultdict(Tally)
    territories: dict[str, Tally] = defaultdict(Tally)
    grounds: dict[str, Tally] = defaultdict(Tally)
    qpv: dict[str, Tally] = defaultdict(Tally)
    states: Counter[str] = Counter()
    for part in parts:
        tally.merge(part.tally)
        for target, groups in ((domains, part.by_domain), (territories, part.by_territory),
                               (grounds, part.by_ground), (qpv, part.by_qpv)):
            for group in groups:
                target[group.key].merge(group.tally)
        states.update(dict(part.states))
    applicants, first_time = _first_timers(rows, opens, first)
    return Indicators(
        tally=tally, by_domain=_ordered(domains, DOMAINS),
        by_territory=_territory_groups(territories),
        by_qpv=_qpv_groups(qpv[QPV], qpv[OUTSIDE_QPV]),
        by_ground=_ordered(grounds, GROUNDS),
        states=[(s, states[s]) for s in get_workflow().state_names if states[s]],
        beneficiaries_expected=sum(p.beneficiaries_expected for p in parts),
        beneficiaries_reached=sum(p.beneficiaries_reached for p in parts),
        reports=sum(p.reports for p in parts),
        applicants=applicants, first_time=first_time, **_durations(rows))


def empty() -> Indicators:
    """The indicators of no application (a group without calls)."""
    return _indicators([], {}, {})


def for_call(call: Call) -> Indicators:
    return compute([call]).by_call[call.id]


def _indicators(rows: list[Row], opens: dict[int, datetime],
                first: dict[int, datetime]) -> Indicators:
    tally = Tally()
    for row in rows:
        tally.add(row)
    funded = [r for r in rows if r.funded]
    reported = [r.reached for r in rows if r.reached is not None]
    applicants, first_time = _first_timers(rows, opens, first)
    return Indicators(
        tally=tally,
        by_domain=_ordered(_breakdown(rows, lambda r: r.domains), DOMAINS),
        by_territory=_by_territory(rows), by_qpv=_by_qpv(rows),
        by_ground=_ordered(_breakdown(rows, lambda r: r.grounds), GROUNDS),
        states=_states(rows),
        beneficiaries_expected=sum(r.beneficiaries for r in funded),
        beneficiaries_reached=sum(reported), reports=len(reported),
        applicants=applicants, first_time=first_time, **_durations(rows))


def _durations(rows: list[Row]) -> dict[str, Durations]:
    """From the submission to the decision, and from the decision to the first payment."""
    return {
        "to_decision": Durations.of([(r.decided_on - r.submitted_on).days
                                     for r in rows if r.decided_on is not None]),
        "to_payment": Durations.of([(r.first_paid_on - r.decided_on).days for r in rows
                                    if r.funded and r.first_paid_on is not None
                                    and r.decided_on is not None])}


def _first_timers(rows: list[Row], opens: dict[int, datetime],
                  first: dict[int, datetime]) -> tuple[int, int]:
    """(applicant organisations, first-time ones): an organisation is a first-time
    applicant when no call it ever submitted to opened before its first call here."""
    earliest: dict[int, datetime] = {}
    for row in rows:
        opened = opens[row.call_id]
        if row.organisation_id not in earliest or opened < earliest[row.organisation_id]:
            earliest[row.organisation_id] = opened
    first_time = sum(1 for org, opened in earliest.items() if first.get(org, opened) >= opened)
    return len(earliest), first_time


def _breakdown(rows: list[Row], values) -> dict[str, Tally]:
    out: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        for value in dict.fromkeys(values(row)):  # a value named twice counts once
            out[value].add(row)
    return out


def _ordered(tallies: dict[str, Tally], vocabulary: dict[str, object]) -> list[Group]:
    """The values in the vocabulary's order, unknown codes last (by code)."""
    known = [Group(k, str(label), tallies[k]) for k, label in vocabulary.items() if k in tallies]
    unknown = [Group(k, k, tallies[k]) for k in sorted(tallies) if k not in vocabulary]
    return known + unknown


def _by_territory(rows: list[Row]) -> list[Group]:
    return _territory_groups(_breakdown(rows, lambda r: r.territories))


def _territory_groups(tallies: dict[str, Tally]) -> list[Group]:
    """The territories, the most applications first, then by name."""
    return [Group(k, k, t) for k, t in
            sorted(tallies.items(), key=lambda kv: (-kv[1].submitted, kv[0].casefold()))]


def _by_qpv(rows: list[Row]) -> list[Group]:
    inside, outside = Tally(), Tally()
    for row in rows:
        (inside if row.in_qpv else outside).add(row)
    return _qpv_groups(inside, outside)


def _qpv_groups(inside: Tally, outside: Tally) -> list[Group]:
    return [Group(QPV, str(QPV_LABELS[QPV]), inside),
            Group(OUTSIDE_QPV, str(QPV_LABELS[OUTSIDE_QPV]), outside)]


def _states(rows: list[Row]) -> list[tuple[str, int]]:
    """The submitted applications per current state, in the workflow's order."""
    counts = Counter(r.state for r in rows)
    return [(s, counts[s]) for s in get_workflow().state_names if counts[s]]


# -- the jury's scores -------------------------------------------------------------------

@dataclass(frozen=True)
class JurorScores:
    """The totals one juror submitted on a call, and where they sit: its quartiles and
    its offset (severity) fitted by :func:`aap.services.aggregation.juror_offsets`."""

    juror_id: int
    number: int  # 1, 2, ... in the order of the juror ids
    name: str | None  # None when the viewer does not read the jurors' names
    totals: list[float]
    offset: float | None
    quartiles: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    @property
    def mean(self) -> float:
        return statistics.fmean(self.totals)

    @property
    def minimum(self) -> float:
        return self.totals[0]

    @property
    def maximum(self) -> float:
        return self.totals[-1]


def call_scores(call_ids: list[int]) -> dict[int, aggregation.Scores]:
    """Every counted juror total of the calls, per call, in one query: submitted, not
    recused, with a total (the rule of :func:`aap.services.scoring.counted_reviews`)."""
    out: dict[int, aggregation.Scores] = {c: {} for c in call_ids}
    if not call_ids:
        return out
    rows = db.session.execute(
        select(Application.call_id, Review.application_id, Review.juror_id, Review.total)
        .join(Application, Application.id == Review.application_id)
        .where(Application.call_id.in_(call_ids), Review.submitted.is_(True),
               Review.conflict.is_(False), Review.total.is_not(None)))
    for call_id, app_id, juror_id, total in rows:
        out[call_id][(app_id, juror_id)] = float(total)
    return out


def juror_scores(calls: list[Call], named: bool) -> dict[int, list[JurorScores]]:
    """Per call, the distribution of each juror's submitted totals (recused reviews never
    count). ``named``: give the jurors' names (to those who read every review, see
    :func:`aap.services.policies.may_read_all_reviews`); otherwise only their numbers in
    the order of their ids (« Juré 1 », « Juré 2 »…), so that a distribution is never tied
    to a person."""
    scores = call_scores([c.id for c in calls])
    names = _juror_names({j for s in scores.values() for _, j in s}) if named else {}
    out = {}
    for call in calls:
        given: dict[int, list[float]] = defaultdict(list)
        for (_app, juror), total in scores[call.id].items():
            given[juror].append(total)
        offsets = aggregation.juror_offsets(scores[call.id]) if scores[call.id] else {}
        jurors = [JurorScores(j, i, names.get(j), sorted(given[j]), offsets.get(j),
                              _quartiles(given[j]))
                  for i, j in enumerate(sorted(given), start=1)]
        out[call.id] = sorted(jurors, key=lambda j: (j.name or "").casefold()) \
            if named else jurors
    return out


def _juror_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_(ids)))}


def _quartiles(totals: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (inclusive method: within the totals)."""
    if len(totals) == 1:
        return totals[0], totals[0], totals[0]
    q1, q2, q3 = statistics.quantiles(totals, n=4, method="inclusive")
    return q1, q2, q3
