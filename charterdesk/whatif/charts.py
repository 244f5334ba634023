"""Small server-drawn SVG charts for the what-if report: paired bars, in force beside draft.

Hand-built on purpose: two kinds of bar chart, each a few dozen elements with a title, an axis
with its unit and a legend, readable without JavaScript and printable.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BASE_COLOUR = "#9aa5b1"
DRAFT_COLOUR = "#2563eb"
ROW = 26
LABEL_WIDTH = 220
BAR_WIDTH = 360


def paired_bars(
    title: str, rows: list[tuple[str, float | None, float | None]], *, unit: str, top: float
) -> SafeString:
    """One row per label: the version in force's bar above the draft's, scaled to ``top``.

    ``unit`` "%" shows values (0..1) as percentages; anything else is a count."""
    top = top or 1
    height = 48 + ROW * len(rows) + 28
    width = LABEL_WIDTH + BAR_WIDTH + 80
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="600" font-size="14">{escape(title)}</text>',
        f'<rect x="{LABEL_WIDTH}" y="26" width="10" height="10" fill="{BASE_COLOUR}"/>'
        f'<text x="{LABEL_WIDTH + 14}" y="35" font-size="11">in force</text>'
        f'<rect x="{LABEL_WIDTH + 80}" y="26" width="10" height="10" fill="{DRAFT_COLOUR}"/>'
        f'<text x="{LABEL_WIDTH + 94}" y="35" font-size="11">draft</text>',
    ]
    y = 48
    for label, before, after in rows:
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for offset, value, colour in ((2, before, BASE_COLOUR), (13, after, DRAFT_COLOUR)):
            length = 0 if value is None else round(BAR_WIDTH * min(value, top) / top, 1)
            shown = "-" if value is None else (f"{value * 100:.1f}%" if unit == "%" else f"{value:g}")
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + offset}" width="{length}" height="10" fill="{colour}">'
                f"<title>{escape(label)}: {shown}</title></rect>"
                f'<text x="{LABEL_WIDTH + length + 4}" y="{y + offset + 9}" font-size="10">{shown}</text>'
            )
        y += ROW
    # The axis: 0, half and the top, with the unit.
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{y + 2}" x2="{LABEL_WIDTH + BAR_WIDTH}" y2="{y + 2}" stroke="#555"/>'
    )
    for fraction in (0, 0.5, 1):
        x = LABEL_WIDTH + BAR_WIDTH * fraction
        value = top * fraction
        text = f"{value * 100:.0f}%" if unit == "%" else f"{value:g}"
        parts.append(f'<text x="{x}" y="{y + 16}" font-size="10" text-anchor="middle">{text}</text>')
    axis = "compliance (%)" if unit == "%" else unit
    parts.append(
        f'<text x="{LABEL_WIDTH + BAR_WIDTH / 2}" y="{y + 27}" font-size="10" text-anchor="middle">'
        f"{escape(axis)}</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()


def compliance_chart(report: dict) -> SafeString:
    rows = [
        (
            f"{row['metric'].replace('_', ' ')}, {row['priority']}",
            row["base"]["compliance"],
            row["draft"]["compliance"],
        )
        for row in report["metrics"]
        if row["base"]["compliance"] is not None or row["draft"]["compliance"] is not None
    ]
    return paired_bars("SLA compliance per metric and priority", rows, unit="%", top=1.0)


def count_chart(title: str, rows: list[tuple[str, int, int]], unit: str) -> SafeString:
    top = max([max(b, d) for _label, b, d in rows] + [1])
    return paired_bars(
        title, [(label, float(b), float(d)) for label, b, d in rows], unit=unit, top=float(top)
    )
