"""A scheduled report as a mail: the same figures and charts as the page, as HTML, with a PDF of it.

The PDF is the mail's HTML printed by WeasyPrint (as the handbook's PDF is), so the charts, which
are inline SVG, are the same in both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string

from charterdesk.accounts.models import Person, PersonRole
from charterdesk.engine.kpis import DIMENSIONS
from charterdesk.protocol.models import Protocol

from . import tables
from .access import ALL, Scope
from .charts import line_chart, scaled, unit_of
from .figures import PageReport, build


def recipients(protocol: Protocol, to: list[str]) -> list[str]:
    """The addresses a schedule's ``to`` names: ``role:ID`` the active people holding the role,
    ``group:ID`` those holding one of the group's roles, an address itself; each once, sorted."""
    roles: set[str] = set()
    addresses: set[str] = set()
    for who in to:
        if who.startswith("role:"):
            roles.add(who[len("role:") :])
        elif who.startswith("group:"):
            wanted = who[len("group:") :]
            for group in protocol.team.groups:
                if group.id == wanted:
                    roles.update(group.roles)
        elif "@" in who:
            addresses.add(who.lower())
    if roles:
        people = PersonRole.objects.filter(role__in=roles, person__is_active=True).values_list(
            "person_id", flat=True
        )
        addresses.update(
            e.lower() for e in Person.objects.filter(pk__in=people).values_list("email", flat=True)
        )
    return sorted(addresses)


def report_for(engine, first: dt.date, last: dt.date, now: dt.datetime) -> PageReport:
    """Everyone's report of the days ``first`` to ``last`` (a scheduled report covers every ticket)."""
    period = engine.period(first, last)
    return build(engine, Scope(ALL), period, now=int(now.timestamp()))


def context(page: PageReport, title: str, note: str = "") -> dict[str, Any]:
    names = {
        str(pk): name
        for pk, name in Person.objects.filter(
            pk__in=[int(k) for k in page.breakdown.get("agent", {}) if k and k.isdigit()]
        ).values_list("pk", "name")
    }
    step = "day (month-day)" if page.trend_step == "daily" else "week from (month-day)"
    return {
        "title": title,
        "note": note,
        "page": page,
        **tables.shown_tables(page),
        "charts": [
            line_chart(
                tables.label(kpi),
                unit_of(kpi),
                [(first, scaled(kpi, tables.headline(kpi, f[kpi]))) for first, f in page.trend],
                step,
            )
            for kpi in page.kpis
        ],
        "breakdowns": [
            (
                dimension,
                [
                    {"key": row[dimension], "shown": tables.shown_row(row)}
                    for row in tables.breakdown_rows(page, dimension, names if dimension == "agent" else None)
                ],
            )
            for dimension in DIMENSIONS
            if dimension in page.breakdown
        ],
        "handle_time_listed": "handle_time" in page.kpis,
    }


def render_html(page: PageReport, title: str, note: str = "", style_nonce: str = "") -> str:
    """The report as a self-contained page; ``style_nonce`` lets its one ``<style>`` apply when the
    desk shows it under its Content-Security-Policy (the preview), and mail carries none."""
    return render_to_string("reports/mail.html", {**context(page, title, note), "style_nonce": style_nonce})


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only inline data: resources; printing never reaches the network or the disk.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


def title_of(report: str, first: dt.date, last: dt.date, company: str) -> str:
    days = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    return f"{company}: {report} report, {days}"
