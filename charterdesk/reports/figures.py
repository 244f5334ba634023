"""The desk's reports: stored ticket histories -> the KPI engine -> a period's figures.

Nothing here counts a KPI. Each ticket's ``sla_input`` events (what the live SLA clocks and
`charterdesk tickets export-events` read) become the engine's events, the families add theirs
through the ``history_events`` hook (survey answers), and ``KpiEngine.compute`` does the rest,
with the protocol in force, exactly as ``charterdesk kpi --protocol <that version>`` does on the
exported events of the same tickets. The page asks the daily rollups first (``rollups.py``: the
same figures from stored day sums, the engine's own counts); while there are none for the protocol
in force, it runs the engine over the histories here. A team's report is the engine's with the
team's groups (``compute``'s ``groups``: each count goes to the group the ticket had at its
moment), from the rollups or from the histories alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from charterdesk.engine.kpis import (
    DIMENSIONS,
    KpiEngine,
    Period,
    Report,
    Survey,
    TicketHistory,
    Work,
    objective_status,
)
from charterdesk.tickets.choices import EventKind, Status
from charterdesk.tickets.lifecycle import hooks
from charterdesk.tickets.live_sla import engine_event
from charterdesk.tickets.models import Ticket, TicketEvent
from charterdesk.tickets.worktime import work_of

from . import rollups
from .access import ALL, OWN, TEAM, Scope
from .rollups import build_prefix

PRESETS = {
    "this_week": "This week",
    "last_week": "Last week",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
}
DEFAULT_PRESET = "last_week"
# Past this many days a trend goes week by week unless asked otherwise.
DAILY_UP_TO = 31
# The figure a trend chart follows for each KPI: the objective-style headline.
HEADLINE = {
    "first_response_time": "p90",
    "next_response_time": "p90",
    "resolution_time": "p90",
    "handle_time": "p90",
}


class ReportError(ValueError):
    """A period that cannot be reported, in the manager's words (names the field)."""


_engines: dict[tuple[int, str], KpiEngine] = {}
# The rollups' name of each engine's version (rollups.build_prefix), by the engine's id.
_prefixes: dict[int, str] = {}


def kpi_engine(version, protocol) -> KpiEngine:
    """The KPI engine of a protocol version, built once per version (and last change) per process."""
    key = (version.pk, version.updated_at.isoformat() if version.updated_at else "")
    engine = _engines.get(key)
    if engine is None:
        if len(_engines) > 8:
            _engines.clear()
            _prefixes.clear()
        engine = _engines[key] = KpiEngine(protocol)
        _prefixes[id(engine)] = build_prefix(version)
    return engine


# --------------------------------------------------------------------------- periods


def preset_days(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a preset period around ``today`` (the team's today)."""
    monday = today - dt.timedelta(days=today.weekday())
    if preset == "this_week":
        return monday, monday + dt.timedelta(days=6)
    if preset == "last_week":
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    if preset == "last_30_days":
        return today - dt.timedelta(days=29), today
    if preset == "last_90_days":
        return today - dt.timedelta(days=89), today
    first_of_month = today.replace(day=1)
    if preset == "this_month":
        next_month = (first_of_month + dt.timedelta(days=32)).replace(day=1)
        return first_of_month, next_month - dt.timedelta(days=1)
    if preset == "last_month":
        last = first_of_month - dt.timedelta(days=1)
        return last.replace(day=1), last
    raise ReportError(f"period: '{preset}' is not a period; use {', '.join(PRESETS)} or custom dates")


def parse_day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{name}: '{text}' is not a date; write it as 2027-01-31") from None


def team_today(engine: KpiEngine, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(engine.timezone)).date()


# --------------------------------------------------------------------------- histories


def _tickets_in(scope: Scope, period: Period):
    """The tickets a report of ``period`` may count: created before its end, and not solved or
    closed and left untouched before it starts (the engine would skip those but for late survey
    answers, which ``_survey_answers`` adds back). The same for every scope: a ticket in another
    group now may have counts for a team's groups in the period (it was there then), so the engine
    sorts them out (``groups_of_scope``)."""
    start = dt.datetime.fromtimestamp(period.start, dt.UTC)
    end = dt.datetime.fromtimestamp(period.end, dt.UTC)
    return Ticket.objects.filter(created_at__lt=end).exclude(
        Q(status__in=(Status.SOLVED, Status.CLOSED)) & Q(updated_at__lt=start)
    )


def groups_of_scope(scope: Scope) -> tuple[str, ...] | None:
    """The groups the engine counts for (``KpiEngine.compute``'s ``groups``): a team's, or None
    (everything) for everyone's and one's own numbers."""
    return scope.groups if scope.kind == TEAM else None


def load_histories(scope: Scope, period: Period) -> list[TicketHistory]:
    """Every ticket the scope's report counts, as the engine reads it (events, survey answers, who
    sent each public agent reply, the agents' measured work for handle_time)."""
    ids = list(_tickets_in(scope, period).values_list("pk", flat=True))
    answers = _survey_answers(ids, period)
    extra = set(answers) - set(ids)
    if extra:
        ids.extend(sorted(extra))
    return histories_of(ids, answers, work_of(ids, period.timezone))


def _survey_answers(ids: list[int], period: Period) -> dict[int, list[Survey]]:
    """Survey answers by ticket, from the families (``history_events``), for these tickets and any
    other ticket answered within the period (a rating given long after the ticket was closed)."""
    start = dt.datetime.fromtimestamp(period.start, dt.UTC)
    found: dict[int, list[Survey]] = {}
    for answer in hooks.history_events(ticket_ids=None):
        for event in answer or ():
            if event.event != "survey":
                continue
            found.setdefault(event.ticket_id, []).append(
                Survey(int(event.at.timestamp()), event.data["kind"], int(event.data["score"]))
            )
    wanted = set(ids)
    out: dict[int, list[Survey]] = {}
    late = [
        tid
        for tid, surveys in found.items()
        if tid not in wanted and any(s.at >= start.timestamp() for s in surveys)
    ]
    for tid in [*wanted, *late]:
        if tid in found:
            out[tid] = sorted(found[tid], key=lambda s: s.at)
    return out


def histories_of(
    ids: Iterable[int],
    answers: dict[int, list[Survey]] | None = None,
    work: dict[int, list[Work]] | None = None,
) -> list[TicketHistory]:
    """The engine's histories of these tickets, in ticket order, with their survey answers and
    measured work (``worktime.work_of``) when given."""
    return list(_histories(ids, answers or {}, work or {}).values())


def histories_by_ticket(
    ids: list[int], timezone: str, marks: dict[int, str] | None = None
) -> dict[int, TicketHistory]:
    """The engine's histories of these tickets with their survey answers and the agents' measured
    work (its days cut in ``timezone``, the team's), by ticket id; ``marks`` gets each ticket's
    ``event_mark`` of what was read."""
    return _histories(ids, survey_answers(ids), work_of(ids, timezone), marks)


def survey_answers(ids: list[int]) -> dict[int, list[Survey]]:
    """The families' survey answers about these tickets (``history_events``), each in time order."""
    answers: dict[int, list[Survey]] = {}
    if ids:
        for found in hooks.history_events(ticket_ids=ids):
            for event in found or ():
                if event.event == "survey":
                    answers.setdefault(event.ticket_id, []).append(
                        Survey(int(event.at.timestamp()), event.data["kind"], int(event.data["score"]))
                    )
    for surveys in answers.values():
        surveys.sort(key=lambda s: s.at)
    return answers


def event_mark(count: int, last: int, surveys: list[Survey]) -> str:
    """What a ticket's history was when read: how many SLA events and the last one's id, how many
    survey answers and the latest one's time. Events are never deleted and a changed answer moves
    to its new time, so any change changes the mark (even an event whose id was taken early)."""
    return f"{count}:{last}:{len(surveys)}:{max((s.at for s in surveys), default=0)}"


def _histories(
    ids: Iterable[int],
    answers: dict[int, list[Survey]],
    work: dict[int, list[Work]],
    marks: dict[int, str] | None = None,
) -> dict[int, TicketHistory]:
    out: dict[int, TicketHistory] = {}
    current: int | None = None
    history: TicketHistory | None = None
    last = 0
    rows = (
        TicketEvent.objects.filter(sla_input=True, ticket_id__in=list(ids))
        .order_by("ticket_id", "at", "id")
        .values_list("ticket_id", "kind", "at", "data", "actor_id", "id")
    )
    for ticket_id, kind, at, data, actor_id, pk in rows.iterator(chunk_size=5000):
        if ticket_id != current:
            if marks is not None and history is not None and current is not None:
                marks[current] = event_mark(len(history.events), last, history.surveys)
            current, last = ticket_id, 0
            history = TicketHistory([], answers.get(ticket_id, []), work=work.get(ticket_id, []))
            out[ticket_id] = history
        assert history is not None
        last = max(last, pk)
        index = len(history.events)
        history.events.append(engine_event(kind, at, data))
        if actor_id is not None and _by_agent(kind, data):
            history.agents[index] = str(actor_id)
    if marks is not None and history is not None and current is not None:
        marks[current] = event_mark(len(history.events), last, history.surveys)
    return out


def _by_agent(kind: str, data: dict) -> bool:
    if kind == EventKind.REPLY:
        return data.get("author") == "agent" and data.get("public", True)
    return kind == EventKind.CREATED and data.get("by") == "agent"


# --------------------------------------------------------------------------- the page's report


@dataclass
class PageReport:
    """What the reports page shows for one scope and period."""

    period: Period
    scope: Scope
    kpis: list[str]
    figures: dict[str, dict[str, Any]]
    objectives: list[dict[str, Any]]
    breakdown: dict[str, dict[str | None, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    trend: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)
    tickets: int = 0
    trend_step: str = "daily"


def build(
    engine: KpiEngine,
    scope: Scope,
    period: Period,
    *,
    now: int | None = None,
    trend: str | None = None,
    histories: list[TicketHistory] | None = None,
) -> PageReport:
    """The scope's report of ``period`` (judged at ``now`` while it is in progress), broken down
    by every dimension (the team's and everyone's; your own numbers are one agent's slice), with a
    trend point per day or week (``trend``: ``daily``/``weekly``; None: daily up to a month)."""
    if now is not None and now >= period.end:
        now = None
    step = trend or ("daily" if len(period.days) <= DAILY_UP_TO else "weekly")
    if histories is None:
        page = _from_rollups(engine, scope, period, now=now, step=step)
        if page is not None:
            return page
    if histories is None:
        histories = load_histories(scope, period)
    kpis = engine.reported()
    by = ("agent",) if scope.kind == OWN else DIMENSIONS
    report = engine.compute(histories, period, by=by, now=now, groups=groups_of_scope(scope))
    figures, breakdown = _scoped(report, scope, engine)
    objectives = [objective_status(o, figures) for o in engine.protocol.objectives]
    page = PageReport(period, scope, kpis, figures, objectives, breakdown, tickets=len(histories))
    page.trend_step = step
    page.trend = trend_points(engine, scope, period, histories, now=now, step=page.trend_step)
    return page


def _from_rollups(engine: KpiEngine, scope: Scope, period: Period, *, now: int | None, step: str):
    """The page from the daily rollups (rollups.py), or None while there are none for the
    protocol in force (a team's report from its groups' sums)."""
    spans = [engine.period(first, last) for first, last in trend_spans(period, step)]
    by = ("agent",) if scope.kind == OWN else DIMENSIONS
    found = rollups.page_reports(
        engine, _prefixes.get(id(engine)), period, spans, by=by, now=now, groups=groups_of_scope(scope)
    )
    if found is None:
        return None
    report, points = found
    figures, breakdown = _scoped(report, scope, engine)
    objectives = [objective_status(o, figures) for o in engine.protocol.objectives]
    page = PageReport(period, scope, engine.reported(), figures, objectives, breakdown, trend_step=step)
    for span, point in zip(spans, points, strict=False):
        shown = point.figures
        if scope.kind == OWN:
            shown = point.breakdown["agent"].get(scope.agent) or engine.compute([], span).figures
        page.trend.append((span.first.isoformat(), shown))
    return page


def _scoped(report: Report, scope: Scope, engine: KpiEngine):
    if scope.kind == OWN:
        mine = report.breakdown["agent"].get(scope.agent)
        if mine is None:
            empty = engine.compute([], report.period)
            mine = empty.figures
        return mine, {}
    return report.figures, report.breakdown


def trend_points(
    engine: KpiEngine,
    scope: Scope,
    period: Period,
    histories: list[TicketHistory],
    *,
    now: int | None = None,
    step: str | None = None,
) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """One report per day (or per week, Monday to Sunday, cut to the period) of the period, as
    far as ``now``: the chart's points, each labelled by its first day."""
    if step is None:
        step = "daily" if len(period.days) <= DAILY_UP_TO else "weekly"
    points = []
    by = ("agent",) if scope.kind == OWN else ()
    for first, last in trend_spans(period, step):
        part = engine.period(first, last)
        if now is not None and part.start >= now:
            break
        report = engine.compute(histories, part, by=by, now=now, groups=groups_of_scope(scope))
        figures = report.figures
        if scope.kind == OWN:
            figures = report.breakdown["agent"].get(scope.agent) or engine.compute([], part).figures
        points.append((first.isoformat(), figures))
    return points


def trend_spans(period: Period, step: str) -> list[tuple[dt.date, dt.date]]:
    """The first and last day of each trend point: each day, or each week (Monday to Sunday, cut
    to the period)."""
    days = period.days
    if step not in ("daily", "weekly"):
        raise ReportError(f"trend: '{step}' is not a trend; use daily or weekly")
    if step == "daily":
        return [(day, day) for day in days]
    spans = []
    first = days[0]
    while first <= days[-1]:
        last = min(first + dt.timedelta(days=6 - first.weekday()), days[-1])
        spans.append((first, last))
        first = last + dt.timedelta(days=1)
    return spans


def headline(kpi: str, figures: dict[str, Any]) -> float | int | None:
    """The one number a trend chart plots for a KPI."""
    return figures.get(HEADLINE.get(kpi, "value"))


__all__ = ["ALL", "PRESETS", "PageReport", "ReportError", "build", "histories_of", "preset_days"]
