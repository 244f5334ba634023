"""The reports' tables as rows: the same rows fill the page, the CSV files and the mail."""

from __future__ import annotations

from typing import Any

from charterdesk.protocol.render.words import kpi_words

from .figures import PageReport, headline

COLUMNS = ("kpi", "counted", "value", "mean", "p50", "p90", "p95")
TIME = ("mean", "p50", "p90", "p95")


def counted(figures: dict[str, Any]) -> int | None:
    """How many things a KPI counted: times, answers, solved tickets, or promises judged."""
    for key in ("count", "answered", "solved"):
        if key in figures:
            return figures[key]
    if "achieved" in figures:
        return figures["achieved"] + figures["breached"]
    return None


def kpi_row(kpi: str, figures: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"kpi": kpi, "counted": counted(figures), "value": figures.get("value")}
    for key in TIME:
        row[key] = figures.get(key)
    return row


def kpi_rows(page: PageReport) -> list[dict[str, Any]]:
    return [kpi_row(kpi, page.figures[kpi]) for kpi in page.kpis]


def objective_rows(page: PageReport) -> list[dict[str, Any]]:
    rows = []
    for o in page.objectives:
        for key, target in o["target"].items():
            met = o["met"]
            rows.append(
                {
                    "objective": o["id"],
                    "kpi": o["kpi"],
                    "measure": key,
                    "target": target,
                    "actual": o["actual"][key],
                    "met": "" if met is None else ("yes" if met else "no"),
                }
            )
    return rows


def breakdown_rows(
    page: PageReport, dimension: str, names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per slice and KPI, the slices in order of their name (none last)."""
    slices = page.breakdown.get(dimension, {})
    names = names or {}
    out = []
    for key in sorted(slices, key=lambda k: (k is None, names.get(k or "", k or ""))):
        label = "(none)" if key is None else names.get(key, key)
        for kpi in page.kpis:
            out.append({dimension: label, **kpi_row(kpi, slices[key][kpi])})
    return out


def trend_rows(page: PageReport) -> list[dict[str, Any]]:
    return [
        {"from": first, **{kpi: headline(kpi, figures[kpi]) for kpi in page.kpis}}
        for first, figures in page.trend
    ]


def label(kpi: str) -> str:
    return kpi_words(kpi)


def duration(seconds: int) -> str:
    """Seconds of business time as a person reads them: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def shown(kpi: str, key: str, value: Any) -> str:
    """A figure as the page shows it (the CSV keeps the raw number): times in words, ratios in percent."""
    if value is None:
        return "—"
    if key in TIME or (key in ("p50", "p90", "p95", "target", "actual") and kpi.endswith("_time")):
        return duration(int(value))
    if key in ("value", "target", "actual", "min", "max") and kpi not in ("nps", "ces", "backlog"):
        return f"{float(value) * 100:.2f}%".replace(".00%", "%")
    return str(value)


def shown_row(row: dict[str, Any]) -> dict[str, str]:
    kpi = row["kpi"]
    return {key: (label(kpi) if key == "kpi" else shown(kpi, key, value)) for key, value in row.items()}


def shown_tables(page) -> dict:
    """The KPI and objective rows as the page and the mailed report both show them."""
    return {
        "kpi_rows": [
            {"kpi": row["kpi"], "label": label(row["kpi"]), "shown": shown_row(row)} for row in kpi_rows(page)
        ],
        "objectives": [
            {
                **o,
                "kpi_label": label(o["kpi"]),
                "target_shown": shown(o["kpi"], o["measure"], o["target"]),
                "actual_shown": shown(o["kpi"], o["measure"], o["actual"]),
            }
            for o in objective_rows(page)
        ],
    }
