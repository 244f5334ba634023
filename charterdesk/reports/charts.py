"""Trend charts as small server-rendered SVG: the same markup on the page, in the mail and in the PDF.

Built by hand rather than with a charting library: one kind of chart (a line over days or weeks)
is all the reports need, WeasyPrint draws inline SVG as it is, and nothing runs in the browser.
Each chart has a <title> (read by screen readers), a y axis labelled with its unit and an x axis
with the first day of each point; colours are dark enough on white to read in print.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 44
LINE = "#1f5fa8"
GRID = "#d0d4da"
TEXT = "#222"


def unit_of(kpi: str) -> str:
    if kpi == "handle_time":  # minutes of work: in hours the line would hug the axis
        return "minutes (p90)"
    if kpi.endswith("_time"):
        return "hours (p90)"
    if kpi == "nps":
        return "NPS (-100 to 100)"
    if kpi == "ces":
        return "mean score (1-7)"
    if kpi == "backlog":
        return "open tickets"
    return "percent"


def scaled(kpi: str, value: float | int | None) -> float | None:
    """The plotted number in the chart's unit: hours for times (minutes for handle time), percent
    for ratios."""
    if value is None:
        return None
    if kpi == "handle_time":
        return value / 60
    if kpi.endswith("_time"):
        return value / 3600
    if kpi in ("nps", "ces", "backlog"):
        return float(value)
    return float(value) * 100


def _tick(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def line_chart(
    title: str, unit: str, points: Sequence[tuple[str, float | None]], x_label: str = "day (month-day)"
) -> str:
    """An SVG line chart of ``points`` (label, value or None for a gap)."""
    values = [v for _, v in points if v is not None]
    low = min([0.0, *values])
    high = max([*values, 1.0]) if values else 1.0
    if high == low:
        high = low + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="{TEXT}">{escape(title)}</text>',
    ]
    for n in range(5):
        v = low + (high - low) * n / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{TEXT}">{_tick(v)}</text>'
        )
    parts.append(
        f'<text transform="translate(12 {TOP + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'fill="{TEXT}">{escape(unit)}</text>'
    )
    every = max(1, (len(points) + 7) // 8)
    for i, (label, _) in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{TEXT}">'
                f"{escape(label[5:])}</text>"
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="{TEXT}"/>'
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" fill="{TEXT}">'
        f"{escape(x_label)}</text>"
    )
    run: list[str] = []
    for i, (label, v) in enumerate(points):
        if v is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{" ".join(run)}"/>'
                )
            run = []
            continue
        run.append(f"{x(i):.1f},{y(v):.1f}")
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{LINE}"><title>{escape(label)}: {_tick(v)} '
            f"{escape(unit)}</title></circle>"
        )
    if len(run) > 1:
        parts.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{" ".join(run)}"/>')
    parts.append("</svg>")
    return "".join(parts)
