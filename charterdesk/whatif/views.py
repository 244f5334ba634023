"""Try a draft on the desk's history: ask (draft page), watch the progress, read the report,
and see one ticket's two timelines explained by the engine."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from charterdesk.core.permissions import can
from charterdesk.engine.sla import SlaEngine, format_time
from charterdesk.library.models import ProtocolVersion, VersionStatus
from charterdesk.library.versions import load_version, start_of_day, version_in_force
from charterdesk.reports.tables import label, shown
from charterdesk.tickets.access import access_ticket
from charterdesk.tickets.live_sla import to_seconds

from .actions import do_request_whatif
from .charts import compliance_chart, count_chart
from .histories import histories
from .models import RunState, WhatifRun

PERIODS = {"7d": 7, "30d": 30, "90d": 90}


def _require_editor(request) -> None:
    """Drafts are for those who write or publish the protocol."""
    if not (can(request, "protocol.edit") or can(request, "protocol.publish")):
        raise PermissionDenied("protocol.edit")


def period_of(
    choice: str, day_from: str, day_to: str, protocol, now: dt.datetime
) -> tuple[str, dt.datetime, dt.datetime]:
    """(label, start, end) of the period a person chose; ValueError names the field.

    "Last N days" ends at the top of the current hour, so asking again within the hour finds
    the same run; dates run from the start of the first day to the end of the last, in the
    team's time zone."""
    if choice in PERIODS:
        end = now.replace(minute=0, second=0, microsecond=0)
        return f"last {PERIODS[choice]} days", end - dt.timedelta(days=PERIODS[choice]), end
    if choice != "dates":
        raise ValueError("period: choose the last 7, 30 or 90 days, or dates")
    try:
        first = dt.date.fromisoformat(day_from)
    except ValueError:
        raise ValueError("from: choose the first day (YYYY-MM-DD)") from None
    try:
        last = dt.date.fromisoformat(day_to)
    except ValueError:
        raise ValueError("to: choose the last day (YYYY-MM-DD)") from None
    if last < first:
        raise ValueError("to: the last day comes before the first")
    start = start_of_day(first, protocol)
    end = min(start_of_day(last + dt.timedelta(days=1), protocol), now)
    if end <= start:
        raise ValueError("from: the period has not begun yet")
    return f"{first.isoformat()} to {last.isoformat()}", start, end


@login_required
@require_http_methods(["GET", "POST"])
def draft_page(request, version_id: int):
    _require_editor(request)
    draft = get_object_or_404(ProtocolVersion, pk=version_id, status=VersionStatus.DRAFT)
    in_force = version_in_force()
    protocol = load_version(draft).protocol
    error = None
    if request.method == "POST":
        if in_force is None:
            error = "No version is in force yet: there is nothing to compare the draft with."
        elif protocol is None:
            error = "The draft has errors; fix them in the editor first."
        else:
            try:
                label, start, end = period_of(
                    request.POST.get("period", ""),
                    request.POST.get("from", ""),
                    request.POST.get("to", ""),
                    protocol,
                    timezone.now(),
                )
            except ValueError as exc:
                error = str(exc)
            else:
                run, _new = do_request_whatif(
                    draft, in_force, period=label, start=start, end=end, actor=request.user
                )
                return redirect("whatif:run", run.pk)
    runs = WhatifRun.objects.filter(draft=draft).select_related("base")[:10]
    return render(
        request,
        "whatif/draft.html",
        {
            "draft": draft,
            "in_force": in_force,
            "valid": protocol is not None,
            "runs": runs,
            "error": error,
            "today": timezone.localdate().isoformat(),
        },
    )


def _run(request, run_id: int) -> WhatifRun:
    _require_editor(request)
    return get_object_or_404(WhatifRun.objects.select_related("draft", "base"), pk=run_id)


BOUND_WORDS = {"min": "at least", "max": "at most"}


def objective_rows(report: dict) -> list[dict]:
    """The report's objectives as the page shows them: under each version (None where it is not
    an objective) whether it is met, and each target beside the actual figure, in the words and
    units of the reports page."""
    rows = []
    for row in report["objectives"]:
        sides = []
        for side in ("base", "draft"):
            if not row[f"in_{side}"]:
                sides.append(None)
                continue
            kpi, actual = row[f"{side}_kpi"], row[f"{side}_actual"]
            figures = [
                {
                    "key": key,
                    "bound": BOUND_WORDS.get(key, f"{key} at most"),
                    "target": shown(kpi, key, target),
                    "actual": shown(kpi, key, actual[key]),
                }
                for key, target in row[f"{side}_target"].items()
            ]
            sides.append({"met": row[f"{side}_met"], "figures": figures})
        rows.append({"id": row["id"], "text": row["text"], "kpi": label(row["kpi"]), "sides": sides})
    return rows


@login_required
@require_GET
def run_page(request, run_id: int):
    run = _run(request, run_id)
    report = run.report if run.state == RunState.DONE else None
    charts = {}
    if report is not None:
        charts = {
            "compliance": compliance_chart(report),
            "escalations": count_chart(
                "Escalations fired per rule",
                [(row["rule"], row["base"], row["draft"]) for row in report["escalations"]],
                "firings",
            ),
            "workload": count_chart(
                "Tickets handed to each group by escalations",
                [(row["group"], row["base"], row["draft"]) for row in report["workload"]],
                "tickets",
            )
            if report["workload"]
            else None,
        }
    objectives = objective_rows(report) if report is not None else []
    return render(
        request,
        "whatif/run.html",
        {"run": run, "report": report, "charts": charts, "objectives": objectives},
    )


@login_required
@require_GET
def progress(request, run_id: int):
    """htmx: the progress bar, polled until the run ends; then the whole page is reloaded."""
    run = _run(request, run_id)
    if run.state in (RunState.DONE, RunState.FAILED):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "whatif/_progress.html", {"run": run})


@login_required
@require_GET
def sample(request, run_id: int, ticket: str):
    """One ticket under both versions, each timeline explained by the engine."""
    run = _run(request, run_id)
    if not ticket.isdigit():
        raise Http404("no such ticket")
    access_ticket(request, int(ticket))
    base = load_version(run.base).protocol
    draft = load_version(run.draft).protocol
    if base is None or draft is None:
        raise Http404("the draft no longer loads")
    events = histories([int(ticket)], run.period_to).get(ticket, [])
    now = to_seconds(run.period_to)
    timelines = []
    # A ticket opened after the period's end has no history to replay there.
    versions = [(f"In force (version {run.base.version})", base), (f"Draft {run.draft.version}", draft)]
    for title, protocol in versions if events else []:
        result = SlaEngine(protocol).evaluate(events, now)
        timelines.append({"title": title, "explain": result.explain(), "policy": result.policy})
    found = next((row for row in (run.report or {}).get("samples", []) if row["ticket"] == ticket), None)
    return render(
        request,
        "whatif/sample.html",
        {
            "run": run,
            "ticket": ticket,
            "timelines": timelines,
            "why": found["why"] if found else [],
            "now": format_time(now),
        },
    )
