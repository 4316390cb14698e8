"""The dashboards of instructors and finance officers (SPEC 6), per fiscal year and per
call: the budget consumed per envelope, the applications per state, the amounts and
counts per territory (QPV or not), domain and ground, the jurors' score distributions and
the plan's indicators, with the indicators workbook to download. A parent authority's
staff also get its consolidated dashboard (SPEC 2): its own calls and each child's side
by side (:mod:`aap.services.consolidation`), the plan's indicators per child and in all.

The figures come from the services: the budgets from :mod:`aap.services.money`, the rest
from :mod:`aap.services.indicators`; the calls are those the user may export
(:mod:`aap.services.policies`). Each chart is server-rendered SVG (``aap.web.charts``)
followed by its data table; a page costs a constant number of queries."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import format_currency, format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required

from aap.errors import NotFound
from aap.extensions import db
from aap.models import Authority, Call
from aap.services import consolidation, indicators, money, policies
from aap.services.exports import indicators as indicators_export
from aap.timeutil import now, to_paris
from aap.web import charts
from aap.web.helpers import state_label

bp = Blueprint("dashboards", __name__, url_prefix="/tableaux-de-bord")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def dashboard_access(view):
    """Signed in (else the login page), and allowed by the policies (else 403)."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not policies.may_export(current_user):
            abort(403, description=_(
                "Les tableaux de bord sont réservés à l'instruction et aux finances."))
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def dashboards_link() -> dict:
    """``may_view_dashboards()`` for the navigation."""
    def may_view() -> bool:
        return bool(current_user.is_authenticated and policies.may_export(current_user))

    return {"may_view_dashboards": may_view}


# -- pages ------------------------------------------------------------------------------

@bp.get("/")
@dashboard_access
def year():
    years = indicators.fiscal_years(current_user)
    chosen = _fiscal_year(request.args.get("exercice"), years)
    calls = indicators.calls_of_year(current_user, chosen)
    return render_template(
        "dashboards/year.html", year=chosen, years=sorted({*years, chosen}, reverse=True),
        calls=calls, workbook_url=url_for(".year_workbook", exercice=chosen),
        consolidations=consolidation.consolidated_authorities(current_user,
                                                              policies.EXPORT_ROLES),
        **_dashboard(calls))


@bp.get("/collectivites/<int:authority_id>")
@dashboard_access
def authority(authority_id: int):
    """The consolidated dashboard of an authority: its own calls and each direct child's
    (with the authorities below it), what the user reads of them."""
    found = _authority(authority_id)
    years = indicators.fiscal_years(current_user)
    chosen = _fiscal_year(request.args.get("exercice"), years)
    calls = consolidation.readable_calls(current_user, found.id, chosen)
    result = consolidation.consolidate(found, chosen, consolidation.budgets_of(calls))
    sheet = indicators.compute(calls, groups=result.group_of(), per_call=False)
    empty = indicators.empty()
    lines = [Line(part, sheet.by_group.get(part.authority_id, empty), part is result.own)
             for part in result.parts]
    return render_template(
        "dashboards/authority.html", authority=found, year=chosen,
        years=sorted({*years, chosen}, reverse=True), calls=calls, lines=lines,
        total=result.total, ind=sheet.total, lines_chart=_lines_chart(lines),
        breakdowns=_breakdowns(sheet.total), drillable=consolidation.has_children(),
        workbook_url=url_for(".authority_workbook", authority_id=found.id, exercice=chosen),
        percent=_percent)


@bp.get("/collectivites/<int:authority_id>/indicateurs.xlsx")
@dashboard_access
def authority_workbook(authority_id: int):
    found = _authority(authority_id)
    chosen = _fiscal_year(request.args.get("exercice"),
                          indicators.fiscal_years(current_user))
    sheet = indicators.compute(consolidation.readable_calls(current_user, found.id, chosen))
    return _xlsx(indicators_export.build(sheet, chosen),
                 f"indicateurs-{chosen}-collectivite-{found.id}.xlsx")


@bp.get("/appels/<int:call_id>")
@dashboard_access
def call(call_id: int):
    found = _call(call_id)
    return render_template(
        "dashboards/call.html", call=found, calls=[found],
        workbook_url=url_for(".call_workbook", call_id=found.id), **_dashboard([found]))


@bp.get("/indicateurs.xlsx")
@dashboard_access
def year_workbook():
    chosen = _fiscal_year(request.args.get("exercice"),
                          indicators.fiscal_years(current_user))
    sheet = indicators.compute(indicators.calls_of_year(current_user, chosen))
    return _xlsx(indicators_export.build(sheet, chosen), f"indicateurs-{chosen}.xlsx")


@bp.get("/appels/<int:call_id>/indicateurs.xlsx")
@dashboard_access
def call_workbook(call_id: int):
    found = _call(call_id)
    return _xlsx(indicators_export.build(indicators.compute([found]), found.fiscal_year),
                 f"indicateurs-appel-{found.id}.xlsx")


def _call(call_id: int) -> Call:
    found = db.session.get(Call, call_id)
    if found is None or not policies.may_export_call(current_user, found):
        abort(404, description=_("Appel introuvable."))
    return found


def _authority(authority_id: int) -> Authority:
    """The authority, if the user reads it with an export role (else 404)."""
    try:
        return policies.readable_authority(current_user, authority_id,
                                                policies.EXPORT_ROLES)
    except NotFound:
        abort(404, description=_("Collectivité introuvable."))


def _fiscal_year(raw: str | None, years: list[int]) -> int:
    """The year asked for (a year without calls shows an empty dashboard); else the
    current year if it has calls, else the latest one."""
    if raw and raw.isdecimal() and 2000 <= int(raw) <= 2100:
        return int(raw)
    today = to_paris(now()).year
    return today if today in years or not years else years[0]


def _xlsx(content: bytes, name: str):
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=name, max_age=0)


# -- what the pages show ------------------------------------------------------------------

@dataclass(frozen=True)
class Breakdown:
    """One dimension (QPV, territory, domain, ground): its groups and their two charts."""

    key: str
    title: str
    groups: list[indicators.Group]
    counts: charts.MeasureChart
    amounts: charts.MeasureChart


def _dashboard(calls: list[Call]) -> dict:
    sheet = indicators.compute(calls)
    figures = money.for_calls(calls)
    envelopes = money.for_envelopes(calls)
    named = policies.may_read_all_reviews(current_user)
    jurors = indicators.juror_scores(calls, named=named)
    total = sheet.total
    return {
        "sheet": sheet, "ind": total, "figures": figures, "envelope_figures": envelopes,
        "year_figures": money.total(figures.values()),
        "budget_chart": _budget_chart(calls, figures, envelopes),
        "states_chart": charts.measure_chart(
            [(state_label(s), [n], str(n), s) for s, n in total.states]),
        "breakdowns": _breakdowns(total), "jurors": jurors,
        "juror_charts": {c.id: _juror_chart(c, jurors[c.id]) for c in calls if jurors[c.id]},
        "juror_label": _juror_label, "named_jurors": named, "percent": _percent,
        "signed": _signed,
    }


def _share(part: int, whole: int) -> str:
    return format_percent(part / whole) if whole else "—"


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#\xa0%")


def _signed(value: float | None) -> str:
    """A juror's offset, with its sign (+1,33 / −0,5)."""
    return "—" if value is None else format_decimal(value, format="+#,##0.00;−#,##0.00")


def short_eur(cents: int) -> str:
    """An amount rounded to the euro (the charts' notes; the tables give the cents)."""
    return format_currency(Decimal(cents) / 100, "EUR", format="#,##0\xa0¤",
                           currency_digits=False)


def _budget_chart(calls: list[Call], figures: dict, envelopes: dict) -> charts.MeasureChart:
    """Per call and per envelope: the budget, the granted amount and what was paid; the
    note is the share of the budget granted."""
    rows = []
    for c in calls:
        f = figures[c.id]
        rows.append((c.title, [f.budget_cents, f.granted_cents, f.paid_cents],
                     _share(f.granted_cents, f.budget_cents), "call"))
        for envelope in c.envelopes:
            e = envelopes[envelope.id]
            rows.append((envelope.label, [e.budget_cents, e.granted_cents, e.paid_cents],
                         _share(e.granted_cents, e.budget_cents), "envelope"))
    return charts.measure_chart(rows)


@dataclass(frozen=True)
class Line:
    """One line of a consolidated dashboard: an authority's own calls (``own``), or a
    child's with the authorities below it; its money figures and its indicators."""

    part: consolidation.Part
    ind: indicators.Indicators
    own: bool = False

    @property
    def calls(self) -> int:
        return len(self.part.call_ids)


def _lines_chart(lines: list[Line]) -> charts.MeasureChart:
    """Per line: the budget, the granted amount and what was paid; the note is the share
    of the budget granted. The authority's own calls are drawn in bold."""
    rows = []
    for line in lines:
        f = line.part.figures
        label = _("%(name)s (appels propres)", name=line.part.name) if line.own \
            else line.part.name
        rows.append((label, [f.budget_cents, f.granted_cents, f.paid_cents],
                     _share(f.granted_cents, f.budget_cents), "call" if line.own else "child"))
    return charts.measure_chart(rows)


def _breakdowns(ind: indicators.Indicators) -> list[Breakdown]:
    dimensions = [
        ("qpv", _("Quartiers prioritaires (QPV)"), ind.by_qpv),
        ("territoires", _("Territoires"), ind.by_territory),
        ("domaines", _("Domaines"), ind.by_domain),
        ("motifs", _("Motifs de discrimination"), ind.by_ground),
    ]
    out = []
    for key, title, groups in dimensions:
        counts = charts.measure_chart([
            (g.label, [g.tally.submitted, g.tally.eligible, g.tally.funded],
             f"{g.tally.submitted} · {g.tally.eligible} · {g.tally.funded}", g)
            for g in groups])
        amounts = charts.measure_chart([
            (g.label, [g.tally.requested_cents, g.tally.granted_cents, g.tally.paid_cents],
             short_eur(g.tally.granted_cents), g) for g in groups])
        out.append(Breakdown(key, title, groups, counts, amounts))
    return out


def _juror_label(juror: indicators.JurorScores) -> str:
    return juror.name or _("Juré %(n)s", n=juror.number)


def _juror_chart(c: Call, jurors: list[indicators.JurorScores]) -> charts.BoxChart:
    return charts.box_chart(
        [(_juror_label(j), j.totals, j.quartiles, _("n = %(n)s", n=len(j.totals)))
         for j in jurors], c.scale, c.min_total)
