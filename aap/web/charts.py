"""Geometry of the server-rendered SVG charts (no JavaScript, CSP-safe): the templates
draw what these helpers place. Every chart also has a data table in its page."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 720
LABEL_WIDTH = 190
RIGHT = 56
TOP = 16
AXIS_HEIGHT = 34


def _f(value) -> float:
    return float(value) if isinstance(value, Decimal) else value


@dataclass
class Axis:
    """A horizontal value axis from 0 to ``scale`` between x0 and x1 (SVG units)."""

    scale: float
    x0: float = LABEL_WIDTH
    x1: float = WIDTH - RIGHT

    def x(self, value) -> float:
        value = min(max(_f(value), 0.0), self.scale)
        return round(self.x0 + (self.x1 - self.x0) * value / self.scale, 2)

    def ticks(self) -> list[tuple[float, float]]:
        step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000)
                    if self.scale / s <= 10)
        values, v = [], 0.0
        while v <= self.scale + 1e-9:
            values.append(v)
            v += step
        return [(v, self.x(v)) for v in values]


@dataclass
class Dot:
    value: float
    cx: float
    cy: float


@dataclass
class StripRow:
    label: str
    y: float  # centre line of the row
    dots: list[Dot] = field(default_factory=list)
    mean: float | None = None
    mean_x: float | None = None


@dataclass
class StripChart:
    """One row per juror, a dot per total given; the mean as a tick; the funding line."""

    axis: Axis
    rows: list[StripRow]
    height: float
    line: float | None
    line_x: float | None
    width: float = WIDTH
    row_height: float = 40
    plot_top: float = TOP
    plot_bottom: float = 0


def strip_chart(rows: list[tuple[str, list[float]]], scale: float, line=None,
                row_height: float = 40) -> StripChart:
    axis = Axis(float(scale))
    out = []
    for i, (label, values) in enumerate(rows):
        y = TOP + row_height * i + row_height / 2
        seen: dict[float, int] = {}
        dots = []
        for value in sorted(_f(v) for v in values):
            # equal totals are stacked a little apart, so that each stays visible
            k = seen.get(value, 0)
            seen[value] = k + 1
            offset = (0, -7, 7, -14, 14)[k % 5]
            dots.append(Dot(value, axis.x(value), y + offset))
        mean = sum(_f(v) for v in values) / len(values) if values else None
        out.append(StripRow(label, y, dots, mean, axis.x(mean) if mean is not None else None))
    bottom = TOP + row_height * max(len(rows), 1)
    return StripChart(axis=axis, rows=out, height=bottom + AXIS_HEIGHT,
                      line=_f(line) if line is not None else None,
                      line_x=axis.x(line) if line is not None else None,
                      row_height=row_height, plot_bottom=bottom)


@dataclass
class Bar:
    label: str
    value: float | None
    y: float
    width: float
    above: bool
    flagged: bool = False
    extra: object = None


@dataclass
class BarChart:
    """The ranking: one horizontal bar per application, the funding line across."""

    axis: Axis
    bars: list[Bar]
    height: float
    line: float | None
    line_x: float | None
    bar_height: float
    width: float = WIDTH
    plot_top: float = TOP
    plot_bottom: float = 0


def bar_chart(rows: list[tuple[str, float | None, bool, object]], scale: float, line=None,
              bar_height: float = 22, gap: float = 6) -> BarChart:
    """``rows``: (label, value, flagged, extra) in display order; a None value has no bar."""
    axis = Axis(float(scale))
    threshold = _f(line) if line is not None else None
    bars = []
    for i, (label, value, flagged, extra) in enumerate(rows):
        y = TOP + (bar_height + gap) * i
        width = axis.x(value) - axis.x0 if value is not None else 0.0
        above = value is not None and (threshold is None or _f(value) >= threshold)
        bars.append(Bar(label, _f(value) if value is not None else None, y, round(width, 2),
                        above, flagged, extra))
    bottom = TOP + (bar_height + gap) * max(len(rows), 1)
    return BarChart(axis=axis, bars=bars, height=bottom + AXIS_HEIGHT, line=threshold,
                    line_x=axis.x(line) if line is not None else None, bar_height=bar_height,
                    plot_bottom=bottom)


# -- responsive charts --------------------------------------------------------------------
# The dashboards' charts keep their text at its size on any screen: the SVG is as wide as
# its figure (no viewBox), positions along the value axis are percentages of that width,
# heights are pixels; each row's label sits on its own line above its bars, so that a
# phone (375 px) shows the same chart as a desktop, narrower.

PCT_LEFT, PCT_RIGHT = 1.0, 98.0
LABEL_LINE = 18.0
#: The height of each series' bar, from the widest (e.g. the budget) to the thinnest
#: (e.g. what was paid), drawn one inside the other.
BAND_HEIGHTS = (22.0, 14.0, 6.0)
ROW_GAP = 14.0
#: What fits on a label line of a phone's chart (a label and its note, 13 px text).
LINE_CHARS = 44


#: The leading digits of a nice scale, and of a nice step between two ticks.
NICE_SCALES = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
NICE_STEPS = (1, 2, 2.5, 3, 4, 5)


def _mantissa(value: float) -> float:
    return round(value / 10.0 ** math.floor(math.log10(value)), 6)


def nice_ceiling(value: float) -> float:
    """The smallest nice number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at or
    above ``value``; 1 when it is 0."""
    value = _f(value)
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(m * magnitude for m in NICE_SCALES if m * magnitude >= value - 1e-9)


def fit(label: str, note: str = "", width: int = LINE_CHARS) -> str:
    """The label, cut with an ellipsis so that it and its note fit on one line."""
    room = max(width - len(note) - 2, 12)
    return label if len(label) <= room else label[:room - 1].rstrip() + "…"


def _step_count(scale: float, whole: bool) -> int:
    """The most steps (at most five) whose size is nice, and a whole number if asked."""
    for count in (5, 4, 3, 2):
        step = scale / count
        if whole and step != int(step):
            continue
        if _mantissa(step) in NICE_STEPS:
            return count
    return 1


def pct(value: float) -> str:
    return f"{round(value, 2):g}%"


@dataclass
class Tick:
    value: float
    x: str
    anchor: str  # text-anchor of its label: the ends stay inside the figure


@dataclass
class PercentAxis:
    """A value axis from 0 to ``scale`` across the figure's width, in per cent."""

    scale: float
    whole: bool = False  # steps between ticks are whole numbers (counts, cents)

    def at(self, value) -> float:
        value = min(max(_f(value), 0.0), self.scale)
        return PCT_LEFT + (PCT_RIGHT - PCT_LEFT) * value / self.scale

    def x(self, value) -> str:
        return pct(self.at(value))

    def width(self, value) -> str:
        return pct(self.at(value) - PCT_LEFT)

    def ticks(self, count: int | None = None) -> list[Tick]:
        """Equal steps from 0 to the scale: as many as five, of a nice size."""
        count = count or _step_count(self.scale, self.whole)
        out = []
        for i in range(count + 1):
            value = self.scale * i / count
            anchor = "start" if i == 0 else "end" if i == count else "middle"
            out.append(Tick(value, self.x(value), anchor))
        return out


@dataclass
class Measure:
    """One series' bar in a row, drawn from the axis' origin."""

    series: int
    value: float
    width: str
    y: float
    height: float


@dataclass
class MeasureRow:
    label: str  # cut to fit its line; the full label is ``title``
    title: str
    note: str
    label_y: float
    measures: list[Measure]
    extra: object = None


@dataclass
class MeasureChart:
    """Horizontal bars, one row per item; up to three series per row drawn one inside
    the other (budget, granted, paid; requested, granted, paid; submitted, eligible,
    funded), so that each reads as a share of the one around it."""

    axis: PercentAxis
    rows: list[MeasureRow]
    height: float
    plot_top: float
    plot_bottom: float
    x0: str = pct(PCT_LEFT)


def measure_chart(rows: list[tuple[str, list[float], str, object]],
                  scale: float | None = None, whole: bool = True) -> MeasureChart:
    """``rows``: (label, the values of its series, a note shown after the label, extra);
    the scale defaults to a nice ceiling of the largest value; ``whole``: the values
    are whole numbers (counts, cents), and so are the steps between ticks."""
    largest = max((_f(v) for _, values, _, _ in rows for v in values), default=0.0)
    axis = PercentAxis(_f(scale) if scale else nice_ceiling(largest), whole)
    out, y = [], TOP
    for label, values, note, extra in rows:
        band = y + LABEL_LINE
        measures = []
        for series, value in enumerate(values):
            height = BAND_HEIGHTS[min(series, len(BAND_HEIGHTS) - 1)]
            top = band + (BAND_HEIGHTS[0] - height) / 2
            measures.append(Measure(series, _f(value), axis.width(value), top, height))
        out.append(MeasureRow(fit(label, note), label, note, y + 13, measures, extra))
        y = band + BAND_HEIGHTS[0] + ROW_GAP
    bottom = max(y - ROW_GAP, TOP + LABEL_LINE + BAND_HEIGHTS[0])
    return MeasureChart(axis, out, bottom + AXIS_HEIGHT, TOP, bottom)


@dataclass
class BoxRow:
    """One juror: each total as a dot, the quartiles as a box, the extremes as whiskers."""

    label: str
    title: str
    note: str
    label_y: float
    cy: float
    dots: list[tuple[float, str, float]]  # value, cx (per cent), cy
    low: str
    q1: str
    median: str
    q3: str
    high: str
    box_width: str
    mean: str


@dataclass
class BoxChart:
    axis: PercentAxis
    rows: list[BoxRow]
    height: float
    plot_top: float
    plot_bottom: float
    line: float | None
    line_x: str | None
    box_height: float = 16.0


def box_chart(rows: list[tuple[str, list[float], tuple[float, float, float], str]],
              scale: float, line=None) -> BoxChart:
    """``rows``: (label, sorted totals, their quartiles, note) on a 0..scale axis; the
    funding line across (unless it is 0)."""
    axis = PercentAxis(_f(scale))
    out, y = [], TOP
    for label, totals, (q1, q2, q3), note in rows:
        cy = y + LABEL_LINE + 16
        seen: dict[float, int] = {}
        dots = []
        for value in (_f(v) for v in totals):
            k = seen.get(value, 0)
            seen[value] = k + 1
            dots.append((value, axis.x(value), cy + (0, -8, 8, -16, 16)[k % 5]))
        mean = sum(_f(v) for v in totals) / len(totals)
        out.append(BoxRow(fit(label, note), label, note, y + 13, cy, dots,
                          axis.x(totals[0]), axis.x(q1), axis.x(q2), axis.x(q3),
                          axis.x(totals[-1]), pct(axis.at(q3) - axis.at(q1)), axis.x(mean)))
        y = cy + 16 + ROW_GAP + 6
    bottom = max(y - ROW_GAP, TOP + LABEL_LINE + 32)
    line = _f(line) if line else None  # a funding line at 0 says nothing
    return BoxChart(axis, out, bottom + AXIS_HEIGHT, TOP, bottom, line,
                    axis.x(line) if line is not None else None)
