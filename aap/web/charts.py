"""Geometry of the server-rendered SVG charts (no JavaScript, CSP-safe): the templates
draw what these helpers place. Every chart also has a data table in its page."""

from __future__ import annotations

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
