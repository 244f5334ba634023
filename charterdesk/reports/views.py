"""The reports page and its CSV files. Thin: parse the period, find the scope, ask the engine, render."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from charterdesk.accounts.models import Person
from charterdesk.core.permissions import request_permissions
from charterdesk.engine.kpis import DIMENSIONS
from charterdesk.protocol.render.words import schedule_words

from . import tables
from .access import OWN, report_scope, require_schedule_manager
from .actions import do_claim_send
from .charts import line_chart, scaled, unit_of
from .figures import (
    DEFAULT_PRESET,
    PRESETS,
    ReportError,
    build,
    kpi_engine,
    parse_day,
    preset_days,
    team_today,
)
from .jobs import deliver
from .mail import render_html, report_for, title_of
from .models import ReportSend
from .rollups import build_prefix, rebuilding
from .schedule import covered_days, entries, instants, latest_instant

CSV_TABLES = ("kpis", "objectives", "trend", *DIMENSIONS)


def _page_report(request):
    """The scope, the period asked for and its report, or a ReportError naming the bad field."""
    scope = report_scope(request)
    engine = kpi_engine(request.protocol_version, request.protocol)
    now = timezone.now()
    preset = request.GET.get("period") or DEFAULT_PRESET
    if preset == "custom":
        first = parse_day(request.GET.get("from", ""), "from")
        last = parse_day(request.GET.get("to", ""), "to")
        if last < first:
            raise ReportError(f"to: {last.isoformat()} is before from ({first.isoformat()})")
        if (last - first).days >= 366:
            raise ReportError("to: a report covers at most a year; pick a shorter period")
    else:
        first, last = preset_days(preset, team_today(engine, now))
    period = engine.period(first, last)
    if period.start >= int(now.timestamp()):
        raise ReportError(f"from: {first.isoformat()} has not begun yet; there is nothing to report")
    trend = request.GET.get("trend") or None
    page = build(engine, scope, period, now=int(now.timestamp()), trend=trend)
    return (
        engine,
        page,
        {"period": preset, "from": first.isoformat(), "to": last.isoformat(), "trend": trend or ""},
    )


def _agent_names(page) -> dict[str, str]:
    ids = [int(k) for k in page.breakdown.get("agent", {}) if k and k.isdigit()]
    return {str(pk): name for pk, name in Person.objects.filter(pk__in=ids).values_list("pk", "name")}


@login_required
def index(request):
    try:
        _engine, page, asked = _page_report(request)
    except ReportError as error:
        return render(
            request,
            "reports/index.html",
            {"error": str(error), "presets": PRESETS, "asked": dict(request.GET.items())},
            status=400,
        )
    names = _agent_names(page)
    charts = []
    for kpi in page.kpis:
        points = [(first, scaled(kpi, tables.headline(kpi, figures[kpi]))) for first, figures in page.trend]
        x_label = "day (month-day)" if page.trend_step == "daily" else "week from (month-day)"
        charts.append(line_chart(tables.label(kpi), unit_of(kpi), points, x_label))
    context: dict[str, Any] = {
        "page": page,
        "presets": PRESETS,
        "asked": asked,
        "own": page.scope.kind == OWN,
        **tables.shown_tables(page),
        "charts": charts,
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
        "csv_tables": [t for t in CSV_TABLES if t not in DIMENSIONS or t in page.breakdown],
        "query": request.GET.urlencode(),
        "handle_time_listed": "handle_time" in page.kpis,
        "schedule_link": {"reports.view", "people.manage"} <= request_permissions(request),
        # While the rollups of the version in force are being built, the page reads the histories.
        "rebuilding": rebuilding(build_prefix(request.protocol_version), request.protocol_version.version),
    }
    return render(request, "reports/index.html", context)


@login_required
def csv_table(request, table: str):
    if table not in CSV_TABLES:
        raise Http404(f"There is no table '{table}'; the tables are {', '.join(CSV_TABLES)}.")
    try:
        _engine, page, asked = _page_report(request)
    except ReportError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    if table == "kpis":
        rows = tables.kpi_rows(page)
    elif table == "objectives":
        rows = tables.objective_rows(page)
    elif table == "trend":
        rows = tables.trend_rows(page)
    elif table in page.breakdown:
        rows = tables.breakdown_rows(page, table, _agent_names(page) if table == "agent" else None)
    else:
        raise Http404(f"Your report has no breakdown by {table}.")
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{table}-{asked['from']}-{asked['to']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


__all__ = ["csv_table", "index"]


def _entry(request, index: int):
    engine = kpi_engine(request.protocol_version, request.protocol)
    found = [e for e in entries(request.protocol, engine.timezone) if e.index == index]
    if not found:
        raise Http404(f"The protocol in force has no reporting.schedule entry {index + 1}.")
    return engine, found[0]


def _latest_days(engine, entry, now):
    instant = latest_instant(entry, now) or now
    return covered_days(entry.schedule.report, instant.astimezone(ZoneInfo(entry.zone)).date())


@login_required
def schedule(request):
    require_schedule_manager(request)
    engine = kpi_engine(request.protocol_version, request.protocol)
    now = timezone.now()
    rows = []
    for entry in entries(request.protocol, engine.timezone):
        upcoming = next(instants(entry, now, now + dt.timedelta(days=32)), None)
        rows.append(
            {
                "entry": entry,
                "words": schedule_words(entry.schedule, request.protocol),
                "next": upcoming,
                "sends": list(ReportSend.objects.filter(entry=entry.key).select_related("by")[:10]),
            }
        )
    return render(request, "reports/schedule.html", {"rows": rows})


@login_required
def preview(request, index: int):
    require_schedule_manager(request)
    engine, entry = _entry(request, index)
    now = timezone.now()
    first, last = _latest_days(engine, entry, now)
    page = report_for(engine, first, last, now)
    html = render_html(
        page,
        title_of(entry.schedule.report, first, last, request.protocol.company),
        style_nonce=request.csp_nonce,
    )
    return HttpResponse(html)


@login_required
@require_POST
def send_now(request, index: int):
    require_schedule_manager(request)
    engine, entry = _entry(request, index)
    now = timezone.now().replace(microsecond=0)
    first, last = _latest_days(engine, entry, now)
    row = do_claim_send(
        entry=entry.key,
        due_at=now,
        report=entry.schedule.report,
        first_day=first,
        last_day=last,
        now=now,
        by=request.user,
        protocol_version=request.protocol_version.version,
    )
    if row is None:
        messages.info(request, "That report was sent a moment ago.")
    else:
        sent_to = deliver(row, engine, request.protocol, entry.schedule.to, now)
        messages.success(request, f"The {row.report} report was sent to {', '.join(sent_to) or 'nobody'}.")
    return redirect("reports:schedule")
