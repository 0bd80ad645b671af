"""Report charts as inline SVG drawn on the server: bar, stacked bar, line and funnel; no script, no CDN."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from engine.reports.views import ReportResult

YOf = Callable[[float], float]  # a value to its y coordinate in the plot

COLOURS = ("#3b6fd8", "#f08c2e", "#3aa76d", "#c0457a", "#7b61c9", "#2aa3b5", "#b58b2a", "#6b7280")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 90
# The chart's text and grid styles are in static/app.css (.report-chart …): the CSP allows no inline <style>.


@dataclass(frozen=True)
class Series:
    """One coloured series: its name and a value per category (None = no value)."""

    name: str
    values: tuple[float | None, ...]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def chart_data(result: ReportResult) -> tuple[list[str], list[Series]]:
    """Categories and series of the result's chart; with two label columns and one measure, the second label
    column becomes the series (periods × categories)."""
    chart = result.chart
    if chart is None:
        return [], []
    labels = chart.label_columns
    if len(labels) == 2 and len(chart.series) == 1 and chart.type in ("stacked", "line"):
        first, second, measure = labels[0], labels[1], chart.series[0]
        categories = list(dict.fromkeys(str(row[first]) for row in result.rows))
        names = list(dict.fromkeys(str(row[second]) for row in result.rows))
        table = {(str(row[first]), str(row[second])): _number(row[measure]) for row in result.rows}
        return categories, [Series(n, tuple(table.get((c, n)) for c in categories)) for n in names]
    categories = [" › ".join(str(row[i]) for i in labels) for row in result.rows]
    series = [Series(result.columns[i].label, tuple(_number(row[i]) for row in result.rows)) for i in chart.series]
    return categories, series


def _nice_step(span: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about four intervals over `span`."""
    rough = span / 4
    power = 10.0 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def _scale(series: list[Series], stacked: bool) -> tuple[float, float, float]:
    """(low, high, step) of the value axis: includes 0, ends on round ticks."""
    columns = list(zip(*(s.values for s in series), strict=True))
    if stacked:
        tops = [sum(v for v in column if v and v > 0) for column in columns]
        bottoms = [sum(v for v in column if v and v < 0) for column in columns]
    else:
        tops = [v for s in series for v in s.values if v is not None]
        bottoms = tops
    high, low = max([0.0, *tops]), min([0.0, *bottoms])
    step = _nice_step(high - low if high > low else 1.0)
    return math.floor(low / step) * step, max(math.ceil(high / step) * step, step), step


def _fmt(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") if abs(value) >= 10 else f"{value:.2f}".rstrip("0").rstrip(".")


def _short(text: str, size: int = 18) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _legend(series: list[Series], y: int) -> tuple[list[str], int]:
    """Legend entries from `y` on, wrapping to new lines; returns them and the y below the last line."""
    parts, x = [], LEFT
    for i, s in enumerate(series):
        name = _short(s.name, 30)
        width = 24 + 7 * len(name)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 18
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="{y}" class="legend"><title>{escape(s.name)}</title>{escape(name)}</text>')
        x += width
    return parts, y + 10


def _axes(low: float, high: float, step: float, y_of: Any) -> list[str]:
    parts = []
    for index in range(round((high - low) / step) + 1):
        value = low + step * index
        y = y_of(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(value)}</text>')
    return parts


def _category_labels(categories: list[str], band: float) -> list[str]:
    """Names under the bars: level when they fit their band, else slanted and shortened."""
    level = all(7 * len(name) + 8 <= band for name in categories)
    parts = []
    for i, name in enumerate(categories):
        x, y = LEFT + band * (i + 0.5), HEIGHT - BOTTOM + 16
        if level:
            parts.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle" class="tick">{escape(name)}</text>')
            continue
        parts.append(f'<text x="{x:.1f}" y="{y}" transform="rotate(-30 {x:.1f} {y})" text-anchor="end" '
                     f'class="tick"><title>{escape(name)}</title>{escape(_short(name, 26))}</text>')
    return parts


def _plot(categories: list[str], series: list[Series], stacked: bool) -> tuple[YOf, float, list[str]]:
    """The value-to-y mapping, the width of one category's band and the drawn axes of a bar or line chart."""
    low, high, step = _scale(series, stacked)
    plot = HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot * (high - value) / (high - low)

    return y_of, (WIDTH - LEFT - RIGHT) / max(len(categories), 1), _axes(low, high, step, y_of)


def _bars(categories: list[str], series: list[Series], stacked: bool) -> list[str]:
    y_of, band, parts = _plot(categories, series, stacked)
    width = band * 0.7 / (1 if stacked else max(len(series), 1))
    for c, category in enumerate(categories):
        base_up = base_down = 0.0
        for s_index, s in enumerate(series):
            value = s.values[c]
            if value is None:
                continue
            if stacked:
                start = base_up if value >= 0 else base_down
                end = start + value
                base_up, base_down = (end, base_down) if value >= 0 else (base_up, end)
                x = LEFT + band * c + band * 0.15
            else:
                start, end = 0.0, value
                x = LEFT + band * c + band * 0.15 + width * s_index
            top, bottom = sorted((y_of(start), y_of(end)))
            parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{max(bottom - top, 0.5):.1f}" '
                         f'fill="{COLOURS[s_index % len(COLOURS)]}"><title>{escape(category)} · {escape(s.name)}: '
                         f'{_fmt(value)}</title></rect>')
    return parts + _category_labels(categories, band)


def _lines(categories: list[str], series: list[Series]) -> list[str]:
    y_of, band, parts = _plot(categories, series, False)
    for s_index, s in enumerate(series):
        colour = COLOURS[s_index % len(COLOURS)]
        points = [(LEFT + band * (c + 0.5), y_of(v)) for c, v in enumerate(s.values) if v is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(s.name)}</title></circle>'
                  for x, y in points]
    return parts + _category_labels(categories, band)


def _funnel(result: ReportResult) -> tuple[list[str], int]:
    """One horizontal bar per row, centred; a colour per value of the first label column when there are two."""
    chart = result.chart
    if chart is None:
        return [], 0
    labels, measure = chart.label_columns, chart.series[0]
    high = max([1.0, *(v for v in (_number(row[measure]) for row in result.rows) if v is not None)])
    row_height, label_width = 26, 300
    span = WIDTH - label_width - RIGHT - 40
    groups: list[str] = []
    parts = []
    for i, row in enumerate(result.rows):
        group = str(row[labels[0]]) if len(labels) > 1 else ""
        if group not in groups:
            groups.append(group)
        name = " › ".join(str(row[c]) for c in labels)
        shown = str(row[labels[-1]])
        value = _number(row[measure]) or 0.0
        y, width = TOP + i * row_height, span * value / high
        x = label_width + (span - width) / 2
        colour = COLOURS[(len(groups) - 1) % len(COLOURS)]
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="tick">'
                     f'<title>{escape(name)}</title>{escape(_short(shown, 40))}</text>'
                     f'<rect x="{x:.1f}" y="{y + 3}" width="{max(width, 1):.1f}" height="{row_height - 6}" '
                     f'fill="{colour}"><title>{escape(name)}: {_fmt(value)}</title></rect>'
                     f'<text x="{x + width + 6:.1f}" y="{y + 16}" class="tick">{_fmt(value)}</text>')
    bottom = TOP + len(result.rows) * row_height + 18
    if len(groups) > 1:
        legend, bottom = _legend([Series(g, ()) for g in groups], bottom)
        parts += legend
    return parts, bottom


def chart_svg(result: ReportResult, title: str) -> Markup:
    """The result's chart as an <svg> element; empty markup when there is nothing to draw."""
    categories, series = chart_data(result)
    if result.chart is None or not categories or not series:
        return Markup("")
    kind, height = result.chart.type, HEIGHT
    if kind == "funnel":
        parts, height = _funnel(result)
    else:
        parts = _lines(categories, series) if kind == "line" else _bars(categories, series, kind == "stacked")
        legend, height = _legend(series, HEIGHT + 4)
        parts += legend
    body = "".join(parts)  # every text in it went through escape(); numbers are formatted here
    return Markup(f'<svg class="report-chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '  # noqa: S704
                  f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  f'{body}</svg>')
