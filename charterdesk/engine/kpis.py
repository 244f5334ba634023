"""KPIs (specs/kpi-format.md): ticket histories in, a period's figures and objectives out.

One engine for every place a KPI is shown: ``charterdesk kpi`` now, and the desk's
reports page, the scheduled report mails and the objectives' status when they come,
so that a number means the same everywhere.

    engine = KpiEngine(protocol)                                   # once per protocol version
    period = engine.period(date(2027, 1, 4), date(2027, 1, 10))    # days in the team's zone
    report = engine.compute(histories, period, by=("group", "agent"))
    report.kpis["csat"]                    # {"answered": 120, "satisfied": 104, "value": 0.8667}
    report.breakdown["group"]["frontline"]["csat"]                 # the same, for one group
    report.objectives                      # [{"id": ..., "target": ..., "actual": ..., "met": ...}]
    team = engine.compute(histories, period, groups={"frontline"})   # a team lead's report

``groups`` counts only what falls to those groups: each count goes to the group the ticket has
at the moment of the count, exactly as the "by group" breakdown attributes it, so a team's report
of one group is that group's row of the breakdown, and of several groups the counts of them all
(percentiles over all their values).

A history (:class:`TicketHistory`) is a ticket's events exactly as the SLA engine
takes them (``charterdesk.engine.sla``), with the survey answers about it. The
engine never reads the clock: the period says when, and everything is judged at
its end (or at a ``now`` passed in, for a period in progress), from the events
before it.

Nothing about SLA clocks is computed here. Each ticket is evaluated by the SLA
engine at the end of the period, and its cycles (targets, fulfilment, due times,
counted business time in the metric's calendar, pauses left out) are read off the
result, so a time or a breach here is the one ``charterdesk sla replay`` shows.
What the SLA result does not keep (when the ticket was solved or set back, who
replied) is read from the events with the status rules of specs/replay-format.md
(``_Walk``); a property test checks it against the SLA engine's status, day by day.

Choices where the spec is silent are listed in docs/reports.md.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from charterdesk.protocol import models

from .escalation import apply_actions
from .replay import EVENT_NAMES, ReplayInput, format_time, read_events
from .sla import Created, Event, GroupChange, PriorityChange, Reply, SlaEngine, StatusChange, TicketSla

__all__ = [
    "DIMENSIONS",
    "KPI_NAMES",
    "SURVEY_KINDS",
    "TIME_KPIS",
    "KpiEngine",
    "KpiInput",
    "Period",
    "Report",
    "Survey",
    "TicketHistory",
    "Work",
    "objective_status",
    "percentile",
    "period_between",
    "read_histories",
    "round_half_up",
    "team_timezone",
]

KPI_NAMES = models.KPI_NAMES
TIME_KPIS = ("first_response_time", "next_response_time", "resolution_time", "handle_time")
DIMENSIONS = ("group", "channel", "priority", "agent")
"""What a report can be broken down by."""
SURVEY_KINDS = ("csat", "nps", "ces")
COMMAND_LINE_LEAVES_OUT = frozenset({"handle_time"})
"""KPIs the command line never lists: the event log has nothing to measure them with."""

_DONE = frozenset({"solved", "closed"})
_SET_BACK_TO = frozenset({"new", "open", "pending", "on_hold"})
_NPS_RANGE = (0, 10)
_CES_RANGE = (1, 7)
_DEFAULT_CSAT_SCALE = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


# --------------------------------------------------------------------------- input


@dataclass(slots=True)
class Survey:
    """A customer's answer to a survey about a ticket: ``kind`` csat, nps or ces; ``at`` POSIX seconds."""

    at: int
    kind: str
    score: int


@dataclass(slots=True)
class Work:
    """Time an agent worked on a ticket, as the desk measured it: ``seconds`` of it, done on the day
    (or at the instant) that begins at ``at`` (POSIX seconds), by ``agent`` (as in
    ``TicketHistory.agents``)."""

    at: int
    agent: str
    seconds: int


@dataclass(slots=True)
class TicketHistory:
    """One ticket as the KPI engine reads it.

    ``events``: the SLA engine's events, in time order, ``Created`` first. ``surveys``: the
    answers about the ticket, in time order (they may come after ``closed``). ``agents``: who
    wrote each agent reply, by the reply's index in ``events`` (index 0 for the agent who opened
    an agent-opened ticket); the desk fills it for the reports' "by agent", the command line
    leaves it empty. ``work``: the time agents worked on the ticket as the desk measures it
    (``handle_time``), in time order; the command line never has any.
    """

    events: list[Event]
    surveys: list[Survey] = field(default_factory=list)
    agents: dict[int, str] = field(default_factory=dict)
    work: list[Work] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``first`` to ``last`` in ``timezone``: from the first instant of ``first`` to the
    first instant of the day after ``last`` (``start``/``end``, POSIX seconds). ``day_ends`` has
    the end of each day, the first instant of the next (the last one is ``end``)."""

    first: date
    last: date
    timezone: str
    start: int
    end: int
    day_ends: tuple[int, ...]

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(len(self.day_ends))]

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "timezone": self.timezone}


def team_timezone(protocol: models.Protocol) -> str:
    """The team's time zone, in which report days are cut: the first calendar's that has one, else UTC."""
    for calendar in protocol.calendars:
        if calendar.timezone:
            return calendar.timezone
    return "UTC"


def make_period(first: date, last: date, timezone: str) -> Period:
    """The period of whole days ``first`` to ``last`` (inclusive) in ``timezone``."""
    if last < first:
        raise ValueError(f"the period ends ({last.isoformat()}) before it starts ({first.isoformat()})")
    zone = ZoneInfo(timezone)
    count = (last - first).days + 1
    ends = tuple(_day_start(first + timedelta(days=n + 1), zone) for n in range(count))
    return Period(first, last, timezone, _day_start(first, zone), ends[-1], ends)


def period_between(start: int, end: int, timezone: str) -> Period:
    """The period from the instant ``start`` to the instant ``end`` (POSIX seconds), not whole
    days: what-if's "the last 90 days to the top of this hour". Its days are cut at the
    midnights of ``timezone`` within it, the first one beginning at ``start``, the last ending at
    ``end``."""
    if end <= start:
        raise ValueError("the period ends before it starts")
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(start, zone).date()
    last = datetime.fromtimestamp(end - 1, zone).date()
    ends = [_day_start(first + timedelta(days=n + 1), zone) for n in range((last - first).days)]
    return Period(first, last, timezone, start, end, (*ends, end))


def _seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _SECOND


def _day_start(day: date, zone: ZoneInfo) -> int:
    """The first instant of ``day`` on the clocks of ``zone``, as POSIX seconds.

    That is local midnight (the earlier one when midnight happens twice); where a clock
    change skips midnight, the instant the clocks jump into the day.
    """
    tries = [_seconds(datetime(day.year, day.month, day.day, tzinfo=zone, fold=fold)) for fold in (0, 1)]
    midnights = [t for t in tries if _is_midnight(t, day, zone)]
    if midnights:
        return min(midnights)
    # No midnight that day: the two readings of 00:00 fall either side of the jump.
    low, high = min(tries), max(tries)
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).date() >= day:
            high = middle
        else:
            low = middle + 1
    return low


def _is_midnight(t: int, day: date, zone: ZoneInfo) -> bool:
    local = datetime.fromtimestamp(t, zone)
    return local.date() == day and (local.hour, local.minute, local.second) == (0, 0, 0)


# --------------------------------------------------------------------------- arithmetic


def round_half_up(numerator: int, denominator: int, places: int) -> int | float:
    """``numerator / denominator`` rounded once, exactly, to ``places`` decimals, halves away
    from zero (2.5 -> 3, -6.25 -> -6.3 at one place); an int for ``places=0``."""
    if denominator <= 0:
        raise ValueError("the denominator must be positive")
    scale = 10**places
    quotient, rest = divmod(abs(numerator) * scale, denominator)
    if 2 * rest >= denominator:
        quotient += 1
    signed = -quotient if numerator < 0 else quotient
    return signed if places == 0 else signed / scale


def percentile(ordered: Sequence[int], p: int) -> int:
    """The nearest-rank ``p``-th percentile of sorted values: the value at rank ceil(p/100 x n)."""
    rank = (p * len(ordered) + 99) // 100
    return ordered[max(rank, 1) - 1]


# --------------------------------------------------------------------------- tallies


class _Tally:
    """What one report (or one slice of a breakdown) has counted so far."""

    __slots__ = (
        "achieved",
        "backlog",
        "breached",
        "ces",
        "ces_sum",
        "csat",
        "detractors",
        "fcr",
        "nps",
        "promoters",
        "reopen_solved",
        "reopened",
        "satisfied",
        "solved",
        "times",
    )

    def __init__(self, days: int) -> None:
        self.times: dict[str, list[int]] = {kpi: [] for kpi in TIME_KPIS}
        self.achieved = 0
        self.breached = 0
        self.csat = 0
        self.satisfied = 0
        self.nps = 0
        self.promoters = 0
        self.detractors = 0
        self.ces = 0
        self.ces_sum = 0
        self.solved = 0
        self.fcr = 0
        self.reopen_solved = 0  # the same tickets as `solved`, counted at their first solve
        self.reopened = 0
        self.backlog = [0] * (days + 1)  # differences: a ticket counted on days i..j-1 adds 1 at i, -1 at j

    def figures(self, days: Sequence[date]) -> dict[str, dict[str, Any]]:
        """Every KPI's object, in the spec's shape; ``days`` are the backlog's days."""
        out: dict[str, dict[str, Any]] = {kpi: _time_figures(self.times[kpi]) for kpi in TIME_KPIS}
        out["sla_compliance"] = {
            "achieved": self.achieved,
            "breached": self.breached,
            "value": _ratio(self.achieved, self.achieved + self.breached),
        }
        out["csat"] = {
            "answered": self.csat,
            "satisfied": self.satisfied,
            "value": _ratio(self.satisfied, self.csat),
        }
        out["nps"] = {
            "answered": self.nps,
            "promoters": self.promoters,
            "detractors": self.detractors,
            "value": round_half_up(100 * (self.promoters - self.detractors), self.nps, 1)
            if self.nps
            else None,
        }
        out["ces"] = {
            "answered": self.ces,
            "value": round_half_up(self.ces_sum, self.ces, 2) if self.ces else None,
        }
        out["fcr"] = {"solved": self.solved, "value": _ratio(self.fcr, self.solved)}
        out["reopen_rate"] = {
            "solved": self.reopen_solved,
            "value": _ratio(self.reopened, self.reopen_solved),
        }
        counts: dict[str, int] = {}
        running = 0
        for day, change in zip(days, self.backlog, strict=False):
            running += change
            counts[day.isoformat()] = running
        out["backlog"] = {"days": counts, "value": running}
        return {kpi: out[kpi] for kpi in KPI_NAMES}


def _time_figures(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean": round_half_up(sum(ordered), len(ordered), 0),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p95": percentile(ordered, 95),
    }


def _ratio(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float(round_half_up(part, whole, 4))


# --------------------------------------------------------------------------- objectives


def objective_status(objective: models.Objective, figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An objective judged on a report's figures (every KPI's object, as ``Report.figures``).

    ``target`` and ``actual`` have the same keys: seconds for ``p50``/``p90``/``p95``, which the
    KPI's percentile must not exceed; the KPI's rounded ``value`` for ``min``/``max``, inclusive
    bounds. ``met`` is true when every key is met; ``actual`` values and ``met`` are None when the
    KPI has nothing to count.
    """
    kpi = figures.get(objective.kpi, {})
    target: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    met: bool | None = True
    for key, wanted in objective.target.items():
        bound: int | float
        if key.startswith("p"):
            assert isinstance(wanted, models.Duration)
            bound = wanted.seconds
            value = kpi.get(key)
        else:
            assert isinstance(wanted, float)
            bound = wanted
            value = kpi.get("value")
        target[key] = bound
        actual[key] = value
        if value is None:
            met = None
        elif met is not None:
            met = met and (value >= bound if key == "min" else value <= bound)
    return {"id": objective.id, "kpi": objective.kpi, "target": target, "actual": actual, "met": met}


# --------------------------------------------------------------------------- reports


@dataclass
class Report:
    """A period's KPIs: ``kpis`` those asked for, each in the spec's shape; ``figures`` every KPI;
    ``breakdown[dimension][key]`` every KPI for the tickets of one group, channel, priority or
    agent (None: none); ``objectives`` every objective of the protocol, judged on ``figures``."""

    period: Period
    kpis: dict[str, dict[str, Any]]
    figures: dict[str, dict[str, Any]]
    objectives: list[dict[str, Any]]
    breakdown: dict[str, dict[str | None, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The command line's output object (specs/kpi-format.md)."""
        return {"period": self.period.as_json(), "kpis": self.kpis, "objectives": self.objectives}


class KpiEngine:
    """A protocol version compiled for KPI work; build one per version and reuse it."""

    def __init__(self, protocol: models.Protocol, sla: SlaEngine | None = None) -> None:
        self.protocol = protocol
        self.sla = sla if sla is not None else SlaEngine(protocol)
        self.timezone = team_timezone(protocol)
        surveys = protocol.surveys
        csat = surveys.csat if surveys is not None else None
        self.csat_scale = csat.scale if csat is not None else _DEFAULT_CSAT_SCALE

    def read(self, lines: Iterable[bytes | str], filename: str, *, stripped: bool = False) -> KpiInput:
        """An events file (the replay format plus ``survey``) read and checked against this
        protocol; see ``read_histories``."""
        return read_histories(
            lines, filename, csat_scale=self.csat_scale, policies=self.sla.policy_ids, stripped=stripped
        )

    def reported(self, *, command_line: bool = False) -> list[str]:
        """The KPIs a report lists: ``reporting.kpis`` in its order, or every KPI when the protocol
        names none (``kpis: []``: none); the command line never lists ``handle_time``."""
        reporting = self.protocol.reporting
        names = list(KPI_NAMES) if reporting is None or reporting.kpis is None else list(reporting.kpis)
        left_out = COMMAND_LINE_LEAVES_OUT if command_line else frozenset()
        listed: list[str] = []
        for name in names:
            if name in KPI_NAMES and name not in listed and name not in left_out:
                listed.append(name)
        return listed

    def period(self, first: date, last: date) -> Period:
        """Whole days ``first`` to ``last`` in the team's time zone."""
        return make_period(first, last, self.timezone)

    def compute(
        self,
        histories: Iterable[TicketHistory],
        period: Period,
        *,
        kpis: Sequence[str] | None = None,
        by: Sequence[str] = (),
        now: int | None = None,
        results: Iterable[TicketSla] | None = None,
        groups: Collection[str] | None = None,
    ) -> Report:
        """The period's figures over ``histories``, broken down by each dimension of ``by``.

        ``groups``: count only what the engine attributes to these groups (a team's report): a
        count goes to the group the ticket has at the moment of the count, as in the "by group"
        breakdown (a response at its fulfilment, a breach at its due time, a solve at the last
        solve in the period, a survey answer when given, a backlog day at its end), so a ticket
        that moved from one group to another counts for each the part it spent there. The
        breakdowns are then within those groups. None: everything; an empty set: nothing. A
        ticket in no group is in no team.

        ``kpis``: the KPIs to list (default: ``reported()``); objectives are judged whatever is
        listed. ``now`` (POSIX seconds): for a period still in progress, judge everything at
        ``now`` instead of at the period's end; the backlog then has the days begun by ``now``,
        the last one as it stands at ``now``. A ``now`` at or after the end changes nothing.

        ``results``: for a caller that has evaluated every history already (what-if replays
        each ticket for its own counts), the SLA engine's answer for each, in the order of
        ``histories``, made by this engine's SLA engine at the end (or ``now``) over the
        history's events as given. The caller has cut the events then (those at the end
        instant included, as ``sla replay --now`` applies them; survey answers at that instant
        count too), and nothing is evaluated again.
        """
        for dimension in by:
            if dimension not in DIMENSIONS:
                raise ValueError(f"cannot break a report down by {dimension!r}; use {', '.join(DIMENSIONS)}")
        if now is not None and now <= period.start:
            raise ValueError("now is before the period starts: there is nothing to report yet")
        if isinstance(groups, str):
            raise ValueError(f"groups: give a collection of group ids, not the one string {groups!r}")
        run = _Run(
            self,
            period,
            tuple(by),
            period.end if now is None else min(now, period.end),
            None if groups is None else frozenset(groups),
        )
        if results is not None:
            run.answers_end += 1  # the end instant belongs to the period, for answers as for events
        if results is None:
            for history in histories:
                run.ticket(history, None)
        else:
            for history, result in zip(histories, results, strict=True):
                run.ticket(history, result)
        figures = run.total.figures(run.days)
        listed = self.reported() if kpis is None else list(kpis)
        breakdown = {
            dimension: {key: tally.figures(run.days) for key, tally in run.split[dimension].items()}
            for dimension in by
        }
        return Report(
            period=period,
            kpis={name: figures[name] for name in listed},
            figures=figures,
            objectives=[objective_status(objective, figures) for objective in self.protocol.objectives],
            breakdown=breakdown,
        )


# --------------------------------------------------------------------------- one ticket


class _Walk:
    """What the status rules of the replay format say about a ticket's events.

    ``solves``: (index, at, public agent replies before it) of each change to ``solved``;
    ``set_backs``: the index of each change from ``solved`` back to a working status;
    ``undone``: the spans (from, to] in which the ticket was neither solved nor closed (to None:
    still so at the end).
    """

    __slots__ = ("set_backs", "solves", "status", "undone")

    def __init__(self, events: Sequence[Event]) -> None:
        created = events[0]
        assert isinstance(created, Created)
        status = "open" if created.by_agent else "new"
        replies = 1 if created.by_agent else 0  # an agent-opened ticket's creation is its first reply
        solves: list[tuple[int, int, int]] = []
        set_backs: list[int] = []
        undone: list[tuple[int, int | None]] = []
        since: int | None = created.at
        for index in range(1, len(events)):
            event = events[index]
            kind = type(event)
            if kind is Reply:
                assert isinstance(event, Reply)
                if event.by_agent:
                    if not event.public:
                        continue
                    replies += 1
                    if status != "new":
                        continue
                    new = "open"
                elif status == "pending" or status == "solved":
                    new = "open"
                else:
                    continue
            elif kind is StatusChange:
                assert isinstance(event, StatusChange)
                new = event.status
            else:
                continue
            if new == status:
                continue
            at = event.at
            if new == "solved":
                solves.append((index, at, replies))
            elif status == "solved" and new in _SET_BACK_TO:
                set_backs.append(index)
            if new in _DONE:
                if since is not None:
                    undone.append((since, at))
                    since = None
            elif since is None:
                since = at
            status = new
        if since is not None:
            undone.append((since, None))
        self.status = status
        self.solves = solves
        self.set_backs = set_backs
        self.undone = undone


class _Timeline:
    """A ticket's group, priority and agent over time, for breakdowns: events and the escalations
    that changed the ticket, in the SLA engine's order (events at an instant before escalations)."""

    __slots__ = ("channel", "states", "times")

    def __init__(self, history: TicketHistory, events: Sequence[Event], result: TicketSla) -> None:
        created = events[0]
        assert isinstance(created, Created)
        self.channel = created.channel
        priority, group = created.priority, created.group
        agent = history.agents.get(0) if created.by_agent else None
        self.times = [created.at]
        self.states: list[tuple[str | None, str, str | None]] = [(group, priority, agent)]
        escalations = [e for e in result.escalations if e.at < result.now]
        fired = 0
        for index in range(1, len(events) + 1):
            until = events[index].at if index < len(events) else result.now
            while fired < len(escalations) and escalations[fired].at < until:
                escalation = escalations[fired]
                fired += 1
                priority, group, _ = apply_actions(escalation.actions, priority, group, frozenset())
                self._set(escalation.at, group, priority, agent)
            if index == len(events):
                break
            event = events[index]
            if isinstance(event, PriorityChange):
                priority = event.priority
            elif isinstance(event, GroupChange):
                group = event.group
            elif isinstance(event, Reply) and event.by_agent and event.public:
                agent = history.agents.get(index)
            else:
                continue
            self._set(event.at, group, priority, agent)

    def _set(self, at: int, group: str | None, priority: str, agent: str | None) -> None:
        if self.times[-1] == at:
            self.states[-1] = (group, priority, agent)
        else:
            self.times.append(at)
            self.states.append((group, priority, agent))

    def keys_at(self, t: int) -> dict[str, str | None]:
        """The ticket's group, channel, priority and agent after everything up to instant ``t``."""
        group, priority, agent = self.states[max(bisect_right(self.times, t) - 1, 0)]
        return {"group": group, "channel": self.channel, "priority": priority, "agent": agent}


_TIMED = {"first_response": "first_response_time", "next_response": "next_response_time"}


def _at(event: Event) -> int:
    return event.at


class _Run:
    """One ``compute``: the tallies and the per-ticket work."""

    def __init__(
        self, engine: KpiEngine, period: Period, by: tuple[str, ...], end: int, groups: frozenset[str] | None
    ) -> None:
        self.engine = engine
        self.sla = engine.sla
        self.period = period
        self.by = by
        self.groups = groups
        # Whether a count needs the ticket's group, priority and agent at its moment.
        self.keyed = bool(by) or groups is not None
        self.start = period.start
        self.end = end  # the period's end, or `now` within it: everything is judged here
        self.answers_end = end  # survey answers count before this instant
        # The days begun by the end, the last one ending there.
        begun = bisect_left(period.day_ends, end) + 1
        self.ends = (*period.day_ends[: begun - 1], end)
        self.days = period.days[:begun]
        self.total = _Tally(len(self.ends))
        self.only = [self.total]
        self.split: dict[str, dict[str | None, _Tally]] = {dimension: {} for dimension in by}
        self.timeline: _Timeline | None = None

    def tallies(self, t: int, skip: str = "") -> list[_Tally]:
        """The tallies a count made at instant ``t`` goes to: the report's, and with breakdowns the
        slices of the ticket's group, channel, priority and agent at ``t`` (but ``skip``'s); none
        when the report is of some groups and the ticket is in none of them at ``t``."""
        timeline = self.timeline
        if timeline is None:
            return self.only
        keys = timeline.keys_at(t)
        groups = self.groups
        if groups is not None and keys["group"] not in groups:
            return []
        out = [self.total]
        for dimension in self.by:
            if dimension == skip:
                continue
            key = keys[dimension]
            tally = self.split[dimension].get(key)
            if tally is None:
                tally = self.split[dimension][key] = _Tally(len(self.ends))
            out.append(tally)
        return out

    def ticket(self, history: TicketHistory, evaluated: TicketSla | None) -> None:
        """Count one ticket; ``evaluated``: the caller's SLA answer over the events as given
        (``KpiEngine.compute``'s ``results``), None to cut the events at the end and evaluate."""
        start, end = self.start, self.end
        events = history.events
        if not events or events[0].at >= end:
            return
        if evaluated is None and events[-1].at >= end:
            events = events[: bisect_left(events, end, key=_at)]
        walk = _Walk(events)
        if events[-1].at < start and walk.status in _DONE and not (self.keyed and history.surveys):
            # Solved or closed before the period and untouched since: every cycle was over
            # before it, so only its survey answers can count.
            self.surveys(history, start, self.answers_end)
            return
        result = self.sla.evaluate(events, end) if evaluated is None else evaluated
        self.timeline = _Timeline(history, events, result) if self.keyed else None
        try:
            self.surveys(history, start, self.answers_end)
            self.cycles(result, start)
            self.solves(history, events, walk, result, start)
            self.backlog(walk)
        finally:
            self.timeline = None

    def surveys(self, history: TicketHistory, start: int, end: int) -> None:
        """For each kind, the ticket's latest answer before the end counts, when it is in the period."""
        if not history.surveys:
            return
        seen: set[str] = set()
        scale = self.engine.csat_scale
        for survey in reversed(history.surveys):
            if survey.at >= end or survey.kind in seen:
                continue
            seen.add(survey.kind)
            if survey.at >= start:
                for tally in self.tallies(survey.at):
                    _count_survey(tally, survey, scale)

    def cycles(self, result: TicketSla, start: int) -> None:
        """Response times, and each cycle's outcome (achieved at fulfilment, breached at the due
        time) when it falls in the period."""
        for metric, cycles in result.metrics.items():
            kpi = _TIMED.get(metric)
            for cycle in cycles:
                fulfilled = cycle.fulfilled
                if cycle.breached:
                    due = cycle.due
                    if due is not None and due >= start:
                        for tally in self.tallies(due):
                            tally.breached += 1
                elif fulfilled is not None and fulfilled >= start:
                    for tally in self.tallies(fulfilled):
                        tally.achieved += 1
                if kpi is not None and fulfilled is not None and fulfilled >= start:
                    calendar = cycle.calendar
                    assert calendar is not None
                    counted = cycle.counted(calendar, fulfilled)
                    for tally in self.tallies(fulfilled):
                        tally.times[kpi].append(counted)

    def solves(
        self, history: TicketHistory, events: list[Event], walk: _Walk, result: TicketSla, start: int
    ) -> None:
        """resolution_time, fcr, reopen_rate and handle_time: tickets solved in the period."""
        solves = walk.solves
        if not solves or solves[-1][1] < start:
            return
        first = next(solve for solve in solves if solve[1] >= start)
        last_index, last_at, replies = solves[-1]
        set_back = walk.set_backs
        for tally in self.tallies(last_at):
            tally.solved += 1
            if replies == 1 and not set_back:
                tally.fcr += 1
        if history.work:
            self.handle_time(history.work, last_at)
        # A reopening goes with the solve that did not hold: the first in the period.
        reopened = bool(set_back) and set_back[-1] > first[0]
        for tally in self.tallies(first[1]):
            tally.reopen_solved += 1
            if reopened:
                tally.reopened += 1
        # The resolution cycle as it stood at the last solve: at the end of the period, unless
        # the ticket was set back since, then as the SLA engine saw it at that solve.
        if set_back and set_back[-1] > last_index:
            at_solve = self.sla.evaluate(events[: last_index + 1], last_at)
            resolution = at_solve.metrics["resolution"]
        else:
            resolution = result.metrics["resolution"]
        if resolution and resolution[0].fulfilled == last_at:
            cycle = resolution[0]
            assert cycle.calendar is not None
            counted = cycle.counted(cycle.calendar, last_at)
            for tally in self.tallies(last_at):
                tally.times["resolution_time"].append(counted)

    def handle_time(self, work: list[Work], solved_at: int) -> None:
        """The agents' time on a ticket up to its last solve in the period (work begun before that
        instant), counted at that solve: the ticket's total for the report and for its group,
        channel and priority then; each agent's own time for that agent's slice. A ticket with no
        time measured is not counted (solved before the desk measured, or without its page)."""
        total = 0
        own: dict[str, int] = {}
        for item in work:
            if item.at < solved_at and item.seconds > 0:
                total += item.seconds
                own[item.agent] = own.get(item.agent, 0) + item.seconds
        if not total:
            return
        counted = self.tallies(solved_at, skip="agent")
        if not counted:  # solved in a group outside the report's: no slice of it counts
            return
        for tally in counted:
            tally.times["handle_time"].append(total)
        if "agent" in self.by:
            agents = self.split["agent"]
            for agent, seconds in own.items():
                slice_ = agents.get(agent)
                if slice_ is None:
                    slice_ = agents[agent] = _Tally(len(self.ends))
                slice_.times["handle_time"].append(seconds)

    def backlog(self, walk: _Walk) -> None:
        """Each day on whose end the ticket was created and neither solved nor closed."""
        ends = self.ends
        for since, until in walk.undone:
            first = bisect_right(ends, since)  # the first day ending after it became open again
            stop = len(ends) if until is None else bisect_right(ends, until)
            if first >= stop:
                continue
            if self.timeline is None:
                self.total.backlog[first] += 1
                self.total.backlog[stop] -= 1
                continue
            for day in range(first, stop):
                for tally in self.tallies(ends[day] - 1):
                    tally.backlog[day] += 1
                    tally.backlog[day + 1] -= 1


def _count_survey(tally: _Tally, survey: Survey, scale: int) -> None:
    kind = survey.kind
    if kind == "csat":
        tally.csat += 1
        if survey.score >= scale - 1:
            tally.satisfied += 1
    elif kind == "nps":
        tally.nps += 1
        if survey.score >= 9:
            tally.promoters += 1
        elif survey.score <= 6:
            tally.detractors += 1
    else:
        tally.ces += 1
        tally.ces_sum += survey.score


# --------------------------------------------------------------------------- reading event logs


@dataclass
class KpiInput:
    """An events file read for KPIs: every ticket's history, in order of first appearance."""

    histories: dict[str, TicketHistory]
    events: int


def read_histories(
    lines: Iterable[bytes | str],
    filename: str,
    *,
    csat_scale: int = _DEFAULT_CSAT_SCALE,
    policies: Collection[str] | None = None,
    stripped: bool = False,
) -> KpiInput:
    """Check every line of a KPI events file (the replay format plus ``survey``) and group it by
    ticket. The first bad line raises ``ReplayError`` (``FILE:LINE: message``).

    ``csat_scale``: the protocol's ``surveys.csat.scale``; ``policies``: its SLA policy ids, which
    an ``incident`` must name (``KpiEngine.read`` passes both). ``stripped``: the lines are the
    pieces of ``data.split(b"\\n")``.
    """
    surveys: dict[str, list[Survey]] = {}
    known = ", ".join((*EVENT_NAMES, "survey"))

    def survey(kind: str, record: dict, at: int, ticket: str, events: list[Event] | None) -> str | None:
        if kind != "survey":
            return f"unknown event {json.dumps(kind)}; use {known}"
        if events is None:
            return f"event for unknown ticket '{ticket}': its first event must be 'created'"
        answer = _survey(record, at, csat_scale)
        if isinstance(answer, str):
            return answer
        earlier = surveys.get(ticket)
        last = events[-1].at
        if earlier and earlier[-1].at > last:
            last = earlier[-1].at
        if at < last:
            return (
                f"out of time order: {format_time(at)} is before ticket '{ticket}''s "
                f"previous event at {format_time(last)}"
            )
        if earlier is None:
            surveys[ticket] = [answer]
        else:
            earlier.append(answer)
        return None

    found: ReplayInput = read_events(lines, filename, policies, other=survey, stripped=stripped)
    histories = {
        ticket: TicketHistory(events, surveys.get(ticket, [])) for ticket, events in found.tickets.items()
    }
    return KpiInput(histories, found.events)


def _survey(record: dict, at: int, csat_scale: int) -> Survey | str:
    """A survey line as a ``Survey``, or what is wrong with it."""
    kind = record.get("kind")
    if kind not in SURVEY_KINDS:
        if kind is None:
            return "survey: missing field 'kind'"
        return f"survey: kind {json.dumps(kind)} must be csat, nps or ces"
    assert isinstance(kind, str)
    score = record.get("score")
    low, high = (1, csat_scale) if kind == "csat" else _NPS_RANGE if kind == "nps" else _CES_RANGE
    if type(score) is not int or not low <= score <= high:
        if score is None:
            return "survey: missing field 'score'"
        return f"survey: {kind} score {json.dumps(score)} must be a whole number from {low} to {high}"
    return Survey(at, kind, score)
