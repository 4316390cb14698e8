"""The jury report (xlsx): per application, per juror, aggregates, flags, and a chart.

The applications are listed in the one ranking of the allocation engine
(:func:`aap.services.allocation.ranking`), the order of the ranking page and of the
search: score, then the replayable draw for ties; the unscored follow, then the withdrawn
applications the jury had reviewed (unranked)."""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from aap.extensions import db
from aap.models import Application, Call, Review
from aap.services import aggregation, allocation, scoring
from aap.services.exports import excel_writer
from workflows.application import PHASES

#: The ranked phase, and the withdrawals (listed when the jury had reviewed them).
REVIEWED_STATES = (*PHASES["ranked"], "withdrawn")
BINS = 10


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _applications(call: Call) -> list[Application]:
    return list(db.session.scalars(
        select(Application).where(Application.call_id == call.id,
                                  Application.state.in_(REVIEWED_STATES))
        .options(selectinload(Application.reviews).selectinload(Review.scores))
        .order_by(Application.reference, Application.id)))


def _in_ranking_order(call: Call, apps: list[Application], method: str
                      ) -> tuple[list[Application], dict[int, int | None]]:
    """The applications in the one ranking's order and their ranks; withdrawn ones are
    not ranked (listed last when they had reviews)."""
    in_running = [a for a in apps if a.state in PHASES["ranked"]]
    ranks = allocation.ranking(call, [a.id for a in in_running], method) if in_running else {}
    ordered = sorted(in_running, key=lambda a: (ranks[a.id] is None, ranks[a.id] or 0))
    withdrawn = [a for a in apps if a.state not in PHASES["ranked"] and a.reviews]
    return ordered + withdrawn, ranks


def _juror_names(apps: list[Application]) -> dict[int, str]:
    names = {}
    for app in apps:
        for review in app.reviews:
            names[review.juror_id] = review.juror.display_name
    return dict(sorted(names.items(), key=lambda kv: kv[1]))


def application_frame(call: Call, method: str = "mean") -> pd.DataFrame:
    apps, ranks = _in_ranking_order(call, _applications(call), method)
    jurors = _juror_names(apps)
    scores = scoring.call_scores(call.id)
    results = aggregation.aggregate(
        scores, application_ids=[a.id for a in apps], method=method, scale=call.scale,
        min_reviews=call.min_reviews, threshold=float(call.disagreement_threshold))
    movers = aggregation.leave_one_juror_out(
        scores, line=float(call.min_total), method=method, scale=call.scale,
        min_reviews=call.min_reviews) if scores else {}
    rows = []
    for app in apps:
        result = results[app.id]
        row = {"Référence": app.reference, "Projet": app.title,
               "Porteur": app.organisation.name, "État": app.state}
        by_juror = {r.juror_id: r for r in app.reviews}
        for juror_id, name in jurors.items():
            review = by_juror.get(juror_id)
            row[name] = ("récusé" if review and review.conflict else
                         _num(review.total) if review and review.submitted else None)
        for criterion in call.criteria:
            given = [float(s.score) for r in scoring.counted_reviews(app.reviews)
                     for s in r.scores if s.criterion_key == criterion.key]
            row[f"Moy. {criterion.label}"] = statistics.fmean(given) if given else None
        row.update({
            "n": result.n, "Médiane": _num(result.median), "Min": _num(result.minimum),
            "Max": _num(result.maximum), "Écart-type": _num(result.spread),
            **{f"Score ({m})": _num(result.by_method[m]) for m in aggregation.METHODS},
            "Rang": ranks.get(app.id),
            "Désaccord": "oui" if result.flagged else "",
            "Sensible à un juré": ", ".join(jurors.get(j, str(j))
                                            for j in movers.get(app.id, [])),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def juror_frame(call: Call) -> pd.DataFrame:
    scores = scoring.call_scores(call.id)
    given: dict[int, list[float]] = defaultdict(list)
    for (_, juror_id), total in scores.items():
        given[juror_id].append(total)
    offsets = aggregation.juror_offsets(scores) if scores else {}
    recusals = defaultdict(int)
    names = {}
    for review in db.session.scalars(select(Review).join(Application).where(
            Application.call_id == call.id)):
        names[review.juror_id] = review.juror.display_name
        recusals[review.juror_id] += review.conflict
    rows = [{
        "Juré": names[j], "Dossiers notés": len(given[j]),
        "Moyenne donnée": statistics.fmean(given[j]) if given[j] else None,
        "Écart-type": statistics.stdev(given[j]) if len(given[j]) > 1 else None,
        "Min": min(given[j]) if given[j] else None, "Max": max(given[j]) if given[j] else None,
        "Sévérité (écart estimé)": round(offsets.get(j, 0.0), 3) if given[j] else None,
        "Récusations": recusals[j],
    } for j in sorted(names, key=names.get)]
    return pd.DataFrame(rows)


def distribution_frame(call: Call) -> pd.DataFrame:
    """How many totals each juror gave in each tenth of the scale (for the chart)."""
    scores = scoring.call_scores(call.id)
    width = call.scale / BINS
    labels = [f"{i * width:g}–{(i + 1) * width:g}" for i in range(BINS)]
    names = {r.juror_id: r.juror.display_name for r in db.session.scalars(
        select(Review).join(Application).where(Application.call_id == call.id))}
    table = {names[j]: [0] * BINS for j in sorted(names, key=names.get)}
    for (_, juror_id), total in scores.items():
        table[names[juror_id]][min(int(total // width), BINS - 1)] += 1
    return pd.DataFrame(table, index=labels).rename_axis("Tranche de score").reset_index()


def build(call: Call, method: str = "mean") -> bytes:
    frames = {"Dossiers": application_frame(call, method), "Jurés": juror_frame(call),
              "Distribution": distribution_frame(call)}
    buffer = io.BytesIO()
    with excel_writer(buffer) as writer:
        book = writer.book
        number = book.add_format({"num_format": "0.00"})
        header = book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                  "bg_color": "#E3E3FD"})
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for col, title in enumerate(frame.columns):
                sheet.write(0, col, title, header)
                sheet.set_column(col, col, max(12, min(40, len(str(title)) + 2)), number)
            sheet.freeze_panes(1, 0)
            if len(frame):
                sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)
        _distribution_chart(book, writer.sheets["Distribution"], frames["Distribution"])
        alpha = aggregation.krippendorff_alpha(scoring.call_scores(call.id))
        sheet = writer.sheets["Jurés"]
        row = len(frames["Jurés"]) + 2
        sheet.write(row, 0, "Accord du jury (alpha de Krippendorff)")
        sheet.write(row, 1, alpha if alpha is not None else "non calculable")
    return buffer.getvalue()


def _distribution_chart(book, sheet, frame: pd.DataFrame) -> None:
    if frame.shape[1] < 2:
        return
    chart = book.add_chart({"type": "column"})
    for col in range(1, frame.shape[1]):
        chart.add_series({"name": ["Distribution", 0, col],
                          "categories": ["Distribution", 1, 0, len(frame), 0],
                          "values": ["Distribution", 1, col, len(frame), col]})
    chart.set_title({"name": "Distribution des notes par juré"})
    chart.set_x_axis({"name": "Score total"})
    chart.set_y_axis({"name": "Nombre de dossiers"})
    sheet.insert_chart(1, frame.shape[1] + 1, chart, {"x_scale": 1.6, "y_scale": 1.4})
