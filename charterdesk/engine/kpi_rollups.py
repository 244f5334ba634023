"""Daily rollups of the KPI engine: the same figures as ``KpiEngine.compute``, from sums kept per day.

A report judges every ticket at the end of its period, so a ticket's counts are not fixed
once and for all: a resolution kept on Monday is no longer kept when the ticket is reopened on
Wednesday, a rating changed on Thursday replaces Tuesday's, a ticket's last solve in the
period depends on where the period ends, its first solve on where it starts. This module turns
one ticket's history into **facts**: each count the engine would make, at the instant it is
counted (and so on its day), under the group, channel, priority and agent it has then, and with
the span of period ends for which it holds:

- ``lo``/``hi``: the fact counts only in a report judged after ``lo`` and at or before ``hi``
  (None: no bound). A kept resolution reopened later has ``hi`` at the reopening.
- ``prev``: it counts only in a period that starts after ``prev`` (the first solve in a
  period, which reopen_rate counts, is the solve whose previous solve came before the period).

The facts are found by running the engine's own rules on the ticket at each instant something
happens to it (an event, an escalation, a survey answer): between two such instants nothing
changes but the passing of due times, and a breach counts at its due time anyway. A fact found
the same in consecutive stretches is one fact valid over them all. The backlog is kept as
changes: +1 when a ticket goes on the plate (or moves to another group, priority or agent), -1
when it leaves; a day's backlog is the sum of the changes before its end.

Facts add up per day (``rollup``): counters, and for the time KPIs the sorted values with a
histogram of 64 buckets (two per doubling of the value) so that a percentile over many days
reads only the values of the bucket it falls in (``combine``). The sums are kept for the whole,
for each group, channel, priority and agent, and for each channel, priority and agent within
each group (the *cross slices*), so that a team's report (``combine(..., groups=...)``: what the
engine attributes to some groups, ``KpiEngine.compute``'s ``groups``) is a sum of its groups'
slices, broken down by their cross slices. All of it is exact: rounding and
nearest-rank percentiles are the engine's own (``round_half_up``, ``percentile``); a Hypothesis
test checks ``combine`` over random rollups against ``KpiEngine.compute`` over the raw histories.

Nothing here reads the clock or a database: the desk stores the facts and the day sums
(charterdesk/reports/rollups.py) and passes them back in.
"""

from __future__ import annotations

import base64
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .kpis import (
    DIMENSIONS,
    TIME_KPIS,
    KpiEngine,
    Period,
    Report,
    TicketHistory,
    _day_start,
    _Tally,
    _Timeline,
    _Walk,
    objective_status,
    percentile,
    round_half_up,
)
from .sla import Event

__all__ = [
    "BUCKETS",
    "COUNTERS",
    "CROSS",
    "FORMAT",
    "DayCutter",
    "Fact",
    "Sums",
    "bucket_of",
    "combine",
    "fact_holds",
    "rollup",
    "stored_dimensions",
    "ticket_facts",
    "touches_day",
]

COUNTERS = (
    "achieved",
    "breached",
    "csat",
    "satisfied",
    "nps",
    "promoters",
    "detractors",
    "ces",
    "ces_sum",
    "solved",
    "fcr",
    "reopen_solved",
    "reopened",
    "backlog",
)
"""The counted fields of a day's sums (``backlog`` is the day's change of the backlog)."""
FORMAT = 2
"""The shape of the sums ``rollup`` makes; the desk names each build by it, so that sums of
another shape are never read but made afresh. 2: the cross slices of each group (1 had none)."""
BUCKETS = 64
TOTAL = ""
"""The dimension of the whole report's sums (a slice of no dimension)."""
CROSS = {"channel": "g/channel", "priority": "g/priority", "agent": "g/agent"}
"""The dimension of each cross slice: a channel, priority or agent within a group, its slice key
``<group>/<key>`` (a group id has no "/"; the key is empty for no agent). A ticket in no group is
in no team, so it has no cross slices."""
_BASE_OF = {cross: base for base, cross in CROSS.items()}
Keys = tuple[str | None, str, str, str | None]
"""(group, channel, priority, agent) of a ticket at an instant."""
_TIMED = {"first_response": "first_response_time", "next_response": "next_response_time"}
AGENTS_OWN = "handle_time/agent"
"""The field of an agent's own time on a ticket (``handle_time`` in that agent's slice only): the
engine counts a ticket's whole working time in every slice but the agents', and each agent's own
time in theirs, so a ticket's handle time is two kinds of fact."""


class Fact(NamedTuple):
    """One count of the engine: ``amount`` added to ``field`` (a counter of ``COUNTERS`` or a
    time KPI, whose amount is the value) at instant ``at`` for a ticket with ``keys``; valid in
    reports judged in (``lo``, ``hi``] and periods starting after ``prev`` (None: unbounded)."""

    at: int
    field: str
    amount: int
    group: str | None
    channel: str
    priority: str
    agent: str | None
    lo: int | None = None
    hi: int | None = None
    prev: int | None = None


def fact_holds(fact: Fact, start: int, end: int) -> bool:
    """Whether ``fact`` counts in a report of [start, end) judged at ``end``."""
    return (
        start <= fact.at < end
        and (fact.lo is None or fact.lo < end)
        and (fact.hi is None or end <= fact.hi)
        and (fact.prev is None or fact.prev < start)
    )


# --------------------------------------------------------------------------- one ticket's facts


def _at(event: Event) -> int:
    return event.at


def ticket_facts(engine: KpiEngine, history: TicketHistory, horizon: int) -> list[Fact]:
    """Every count the engine makes of this ticket in any report judged up to ``horizon``."""
    events = history.events
    if not events or events[0].at >= horizon:
        return []
    if events[-1].at >= horizon:
        events = events[: bisect_left(events, horizon, key=_at)]
    created = events[0].at
    final = engine.sla.evaluate(events, horizon)
    moments = {event.at for event in events[1:]}
    moments.update(survey.at for survey in history.surveys if survey.at < horizon)
    moments.update(escalation.at for escalation in final.escalations if escalation.at < horizon)
    points = sorted(moment for moment in moments if moment > created)
    ends = [*points, horizon]
    lows = [created, *points]
    stretches = [_counts(engine, history, events, end) for end in ends]
    facts: list[Fact] = []
    seen: set[tuple] = set()
    for counts in stretches:
        for key in counts:
            if key in seen:
                continue
            seen.add(key)
            at, name, amount, keys, prev = key
            most = max(c.get(key, 0) for c in stretches)
            for level in range(1, most + 1):
                index = 0
                while index < len(stretches):
                    if stretches[index].get(key, 0) < level:
                        index += 1
                        continue
                    first = index
                    while index < len(stretches) and stretches[index].get(key, 0) >= level:
                        index += 1
                    lo = lows[first]
                    hi = ends[index - 1] if index < len(stretches) else None
                    group, channel, priority, agent = keys
                    facts.append(
                        Fact(
                            at,
                            name,
                            amount,
                            group,
                            channel,
                            priority,
                            agent,
                            lo if lo > at else None,
                            hi,
                            prev,
                        )
                    )
    facts.extend(_backlog_changes(history, events, final))
    return facts


def _counts(engine: KpiEngine, history: TicketHistory, events: list[Event], end: int) -> Counter:
    """The engine's counts of one ticket judged at ``end``, in any period: what ``_Run.ticket``
    counts, without the period's start (the facts say which start they need)."""
    if events[-1].at >= end:
        events = events[: bisect_left(events, end, key=_at)]
    out: Counter = Counter()
    walk = _Walk(events)
    result = engine.sla.evaluate(events, end)
    timeline = _Timeline(history, events, result)

    def add(t: int, name: str, amount: int = 1, prev: int | None = None) -> None:
        out[(t, name, amount, _keys(timeline, t), prev)] += 1

    seen: set[str] = set()
    scale = engine.csat_scale
    for survey in reversed(history.surveys):
        if survey.at >= end or survey.kind in seen:
            continue
        seen.add(survey.kind)
        t, score = survey.at, survey.score
        if survey.kind == "csat":
            add(t, "csat")
            if score >= scale - 1:
                add(t, "satisfied")
        elif survey.kind == "nps":
            add(t, "nps")
            if score >= 9:
                add(t, "promoters")
            elif score <= 6:
                add(t, "detractors")
        else:
            add(t, "ces")
            add(t, "ces_sum", score)
    for metric, cycles in result.metrics.items():
        kpi = _TIMED.get(metric)
        for cycle in cycles:
            fulfilled = cycle.fulfilled
            if cycle.breached:
                if cycle.due is not None:
                    add(cycle.due, "breached")
            elif fulfilled is not None:
                add(fulfilled, "achieved")
            if kpi is not None and fulfilled is not None:
                assert cycle.calendar is not None
                add(fulfilled, kpi, cycle.counted(cycle.calendar, fulfilled))
    solves = walk.solves
    if solves:
        last_index, last_at, replies = solves[-1]
        set_back = walk.set_backs
        add(last_at, "solved")
        if replies == 1 and not set_back:
            add(last_at, "fcr")
        if history.work:
            _handle_time(out, history, timeline, last_at)
        for number, (index, at, _replies) in enumerate(solves):
            prev = solves[number - 1][1] if number else None
            add(at, "reopen_solved", prev=prev)
            if set_back and set_back[-1] > index:
                add(at, "reopened", prev=prev)
        if set_back and set_back[-1] > last_index:
            resolution = engine.sla.evaluate(events[: last_index + 1], last_at).metrics["resolution"]
        else:
            resolution = result.metrics["resolution"]
        if resolution and resolution[0].fulfilled == last_at:
            cycle = resolution[0]
            assert cycle.calendar is not None
            add(last_at, "resolution_time", cycle.counted(cycle.calendar, last_at))
    return out


def _handle_time(out: Counter, history: TicketHistory, timeline: _Timeline, solved_at: int) -> None:
    """The engine's handle_time of a ticket last solved at ``solved_at`` (``_Run.handle_time``):
    the work begun before that instant, in total for every slice but the agents', and each
    agent's own time for that agent's slice."""
    total = 0
    own: dict[str, int] = {}
    for item in history.work:
        if item.at < solved_at and item.seconds > 0:
            total += item.seconds
            own[item.agent] = own.get(item.agent, 0) + item.seconds
    if not total:
        return
    group, channel, priority, _agent = _keys(timeline, solved_at)
    out[(solved_at, "handle_time", total, (group, channel, priority, None), None)] += 1
    for agent, seconds in own.items():
        out[(solved_at, AGENTS_OWN, seconds, (group, channel, priority, agent), None)] += 1


def _keys(timeline: _Timeline, t: int) -> Keys:
    k = timeline.keys_at(t)
    return (k["group"], k["channel"] or "", k["priority"] or "", k["agent"])


def _backlog_changes(history: TicketHistory, events: list[Event], final) -> list[Fact]:
    """The backlog as changes: a day counts the ticket under the keys it has at the day's end
    when it went on the plate before that end and had not left it."""
    timeline = _Timeline(history, events, final)
    out: list[Fact] = []

    def keys(t: int) -> Keys:
        return _keys(timeline, t)

    for since, until in _Walk(events).undone:
        current = keys(since)
        out.append(Fact(since, "backlog", 1, *current))
        for moment in timeline.times:
            if moment <= since or (until is not None and moment >= until):
                continue
            now = keys(moment)
            if now != current:
                out.append(Fact(moment, "backlog", -1, *current))
                out.append(Fact(moment, "backlog", 1, *now))
                current = now
        if until is not None:
            out.append(Fact(until, "backlog", -1, *current))
    return out


# --------------------------------------------------------------------------- days


class DayCutter:
    """Which of the team's days an instant falls in (a day runs from its first instant, as
    ``make_period`` cuts it, to the next day's)."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._starts: dict[date, int] = {}

    def start(self, day: date) -> int:
        found = self._starts.get(day)
        if found is None:
            found = self._starts[day] = _day_start(day, self.zone)
        return found

    def day(self, t: int) -> date:
        guess = datetime.fromtimestamp(t, self.zone).date()
        while t < self.start(guess):
            guess -= timedelta(days=1)
        while t >= self.start(guess + timedelta(days=1)):
            guess += timedelta(days=1)
        return guess


def touches_day(facts: Iterable[Fact], cutter: DayCutter, day: date) -> bool:
    """Whether any of a ticket's facts falls on ``day`` or has a bound on it: a report judged
    during that day must count such a ticket from its facts (``combine``'s ``plus``), not from
    the day sums, which judge the day at its end."""
    start, end = cutter.start(day), cutter.start(day + timedelta(days=1))
    for fact in facts:
        if start <= fact.at < end:
            return True
        if fact.lo is not None and start <= fact.lo < end:
            return True
        if fact.hi is not None and start <= fact.hi < end:
            return True
    return False


# --------------------------------------------------------------------------- sums of a day


def bucket_of(value: int) -> int:
    """The histogram bucket of a time: two per doubling (0, 1, 2, 3, 4-5, 6-7, 8-11, ...), in order."""
    if value <= 0:
        return 0
    bits = value.bit_length()
    half = (value >> (bits - 2)) & 1 if bits > 1 else 0
    return min(2 * bits + half, BUCKETS - 1)


@dataclass
class Sums:
    """What a day (or a slice of it) has counted: the ``COUNTERS`` and each time KPI's values."""

    counts: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[int]] = field(default_factory=dict)

    def add(self, fact: Fact) -> None:
        if fact.field == AGENTS_OWN:  # only ever in an agent's slice, where it is handle_time
            self.values.setdefault("handle_time", []).append(fact.amount)
        elif fact.field in TIME_KPIS:
            self.values.setdefault(fact.field, []).append(fact.amount)
        else:
            self.counts[fact.field] = self.counts.get(fact.field, 0) + fact.amount

    def merge(self, other: Sums, sign: int = 1) -> None:
        """Add ``other``'s counts and values to these (``sign`` -1: take them out; each value
        taken out must be there)."""
        for name, count in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + sign * count
        for kpi, values in other.values.items():
            mine = self.values.setdefault(kpi, [])
            if sign > 0:
                mine.extend(values)
            else:
                for value in values:
                    mine.remove(value)

    def empty(self) -> bool:
        return not any(self.counts.values()) and not any(self.values.values())

    @classmethod
    def of(cls, decoded: Decoded) -> Sums:
        """Stored sums, read back (``Decoded``), as sums to change."""
        return cls(dict(decoded.counts), {kpi: list(t[3]) for kpi, t in decoded.times.items()})

    def encode(self) -> dict[str, Any]:
        """The sums as JSON-ready data: counters, and per time KPI its count, sum, cumulative
        histogram and sorted values (both as base64 of 32-bit integers, 64-bit when needed)."""
        times: dict[str, list] = {}
        for kpi, values in self.values.items():
            if not values:
                continue
            ordered = sorted(values)
            histogram = [0] * BUCKETS
            for value in ordered:
                histogram[bucket_of(value)] += 1
            running, cumulative = 0, []
            for count in histogram:
                running += count
                cumulative.append(running)
            times[kpi] = [len(ordered), sum(ordered), _pack(cumulative), _pack(ordered)]
        return {"c": {k: v for k, v in self.counts.items() if v}, "t": times}


def _pack(values: Sequence[int]) -> str:
    """Integers as base64: 32-bit when they fit (any time under 68 years), else 64-bit, marked by a
    leading "!" (not a base64 character)."""
    if all(-(2**31) <= v < 2**31 for v in values):
        return base64.b64encode(array("i", values).tobytes()).decode("ascii")
    return "!" + base64.b64encode(array("q", values).tobytes()).decode("ascii")


def _unpack(text: str) -> array:
    wide = text.startswith("!")
    out = array("q") if wide else array("i")
    out.frombytes(base64.b64decode(text[1:] if wide else text))
    return out


RollupKey = tuple[date, date | None, date | None, date | None]
"""(day, prev_day, lo_day, hi_day) of a fact: its day and the days of its bounds."""


def rollup(facts: Iterable[Fact], cutter: DayCutter) -> dict[RollupKey, dict[tuple[str, str | None], Sums]]:
    """Facts summed per day (and per day of their bounds), for the whole and each slice."""
    out: dict[RollupKey, dict[tuple[str, str | None], Sums]] = {}
    day = cutter.day
    for fact in facts:
        key = (
            day(fact.at),
            None if fact.prev is None else day(fact.prev),
            None if fact.lo is None else day(fact.lo),
            None if fact.hi is None else day(fact.hi),
        )
        slices = out.setdefault(key, {})
        for slice_key in _slices(fact):
            sums = slices.get(slice_key)
            if sums is None:
                sums = slices[slice_key] = Sums()
            sums.add(fact)
    return out


def _slices(fact: Fact) -> tuple[tuple[str, str | None], ...]:
    group = fact.group
    if fact.field == AGENTS_OWN:
        if group is None:
            return (("agent", fact.agent),)
        return (("agent", fact.agent), ("g/agent", _cross(group, fact.agent)))
    if fact.field == "handle_time":  # the agents' slices count each agent's own time instead
        if group is None:
            return ((TOTAL, None), ("group", None), ("channel", fact.channel), ("priority", fact.priority))
        return (
            (TOTAL, None),
            ("group", group),
            ("channel", fact.channel),
            ("priority", fact.priority),
            ("g/channel", _cross(group, fact.channel)),
            ("g/priority", _cross(group, fact.priority)),
        )
    if group is None:
        return (
            (TOTAL, None),
            ("group", None),
            ("channel", fact.channel),
            ("priority", fact.priority),
            ("agent", fact.agent),
        )
    return (
        (TOTAL, None),
        ("group", group),
        ("channel", fact.channel),
        ("priority", fact.priority),
        ("agent", fact.agent),
        ("g/channel", _cross(group, fact.channel)),
        ("g/priority", _cross(group, fact.priority)),
        ("g/agent", _cross(group, fact.agent)),
    )


def _cross(group: str, key: str | None) -> str:
    return f"{group}/{key or ''}"


def stored_dimensions(by: Sequence[str], groups: Iterable[str] | None = None) -> list[str]:
    """The dimensions of the stored sums that ``combine`` reads for a report broken down ``by``:
    the whole and those dimensions, or for a team's report (``groups``) the groups' slices and the
    cross slices of the other dimensions."""
    if groups is None:
        return [TOTAL, *by]
    return ["group", *(CROSS[d] for d in by if d != "group")]


def _targets(
    dimension: str, slice_key: str | None, wanted: set[str], groups: frozenset[str] | None
) -> tuple[tuple[str, str | None], ...]:
    """The slices of the report that stored sums of (``dimension``, ``slice_key``) add to: the
    same slice, or for a team's report a group's sums to the whole and that group's slice, a
    cross slice to the plain slice of its key."""
    if groups is None:
        return ((dimension, slice_key),) if dimension in wanted else ()
    if dimension == "group":
        if slice_key not in groups:
            return ()
        return ((TOTAL, None), ("group", slice_key)) if "group" in wanted else ((TOTAL, None),)
    base = _BASE_OF.get(dimension)
    if base is None or base not in wanted or slice_key is None:
        return ()
    group, _slash, key = slice_key.partition("/")
    if group not in groups:
        return ()
    return ((base, key or None),)


def row_holds(key: RollupKey, first: date, last: date) -> bool:
    """Whether a day's sums (facts of that day, bounds on those days) count in a report of the
    days ``first`` to ``last`` judged at the end of ``last``."""
    day, prev, lo, hi = key
    return (
        first <= day <= last
        and (prev is None or prev < first)
        and (lo is None or lo <= last)
        and (hi is None or hi > last)
    )


# --------------------------------------------------------------------------- combining


class _Times:
    """One time KPI over many days' sums plus loose values, for one slice."""

    __slots__ = ("count", "cumulative", "minus", "parts", "plus", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.cumulative: list[array] = []
        self.parts: list[array] = []
        self.plus: list[int] = []
        self.minus: list[int] = []

    def figures(self) -> dict[str, Any]:
        count = self.count + len(self.plus) - len(self.minus)
        if count <= 0:
            return {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None}
        total = self.total + sum(self.plus) - sum(self.minus)
        out: dict[str, Any] = {"count": count, "mean": round_half_up(total, count, 0)}
        if count <= 4096 or len(self.parts) <= 1:
            values = [v for part in self.parts for v in part]
            values.extend(self.plus)
            values.sort()
            for gone in self.minus:
                del values[bisect_left(values, gone)]
            for p in (50, 90, 95):
                out[f"p{p}"] = percentile(values, p)
            return out
        cumulative = [sum(column) for column in zip(*self.cumulative, strict=True)]
        shift = [0] * BUCKETS
        for value in self.plus:
            shift[bucket_of(value)] += 1
        for value in self.minus:
            shift[bucket_of(value)] -= 1
        running = 0
        for index in range(BUCKETS):
            running += shift[index]
            cumulative[index] += running
        for p in (50, 90, 95):
            rank = max((p * count + 99) // 100, 1)
            index = bisect_left(cumulative, rank)
            below = cumulative[index - 1] if index else 0
            values = []
            for hist, part in zip(self.cumulative, self.parts, strict=True):
                low = hist[index - 1] if index else 0
                values.extend(part[low : hist[index]])
            values.extend(v for v in self.plus if bucket_of(v) == index)
            values.sort()
            for gone in self.minus:
                if bucket_of(gone) == index:
                    del values[bisect_left(values, gone)]
            out[f"p{p}"] = values[rank - below - 1]
        return out


class _Effect:
    """Loose facts' effect on one ticket-keys combination, before it goes to its slices."""

    __slots__ = ("backlog", "counts", "minus", "plus")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.backlog: dict[int, int] = {}
        self.plus: list[tuple[str, int]] = []
        self.minus: list[tuple[str, int]] = []


class _Slice:
    __slots__ = ("backlog", "counts", "times")

    def __init__(self, days: int) -> None:
        self.counts: dict[str, int] = {}
        self.times: dict[str, _Times] = {}
        self.backlog = [0] * (days + 1)

    def time(self, kpi: str) -> _Times:
        found = self.times.get(kpi)
        if found is None:
            found = self.times[kpi] = _Times()
        return found

    def figures(self, days: list[date]) -> dict[str, dict[str, Any]]:
        tally = _Tally(len(days))
        for name, count in self.counts.items():
            setattr(tally, name, count)
        tally.backlog = self.backlog
        out = tally.figures(days)
        for kpi in TIME_KPIS:
            times = self.times.get(kpi)
            if times is not None:
                out[kpi] = times.figures()
        return out


@dataclass
class Decoded:
    """A day's sums for one slice as read back: counters and, per time KPI, (count, sum,
    cumulative histogram, sorted values)."""

    counts: dict[str, int]
    times: dict[str, tuple[int, int, array, array]]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Decoded:
        times = {kpi: (n, s, _unpack(hist), _unpack(vals)) for kpi, (n, s, hist, vals) in data["t"].items()}
        return cls(dict(data["c"]), times)


@dataclass
class Part:
    """Stored sums to combine: ``key`` the row's (day, prev_day, lo_day, hi_day), ``dimension``
    and ``slice_key`` its slice (dimension ``""``: the whole)."""

    key: RollupKey
    dimension: str
    slice_key: str | None
    sums: Decoded


def combine(
    engine: KpiEngine,
    period: Period,
    parts: Iterable[Part],
    *,
    opening: dict[tuple[str, str | None], int] | None = None,
    minus: Iterable[Fact] = (),
    plus: Iterable[Fact] = (),
    by: Sequence[str] = (),
    now: int | None = None,
    kpis: Sequence[str] | None = None,
    groups: Iterable[str] | None = None,
) -> Report:
    """The report ``KpiEngine.compute`` gives for ``period`` (judged at ``now`` while it runs),
    from stored day sums and loose facts; with ``groups``, the team's report ``compute`` gives
    with those groups (from the groups' sums and their cross slices; loose facts of other groups
    left out).

    ``parts``: day sums (any days; those that do not count in this period are left out), as if
    judged at the end of the last day begun by ``now`` (the period's last day when it is over).
    ``opening``: each slice's backlog changes summed over the days before the period. ``minus``:
    facts counted in ``parts`` (or ``opening``) to take out again, judged like them; ``plus``:
    facts to add, judged exactly at ``now`` (the tickets whose stored facts are stale, or that
    changed on the day ``now`` falls in).
    """
    for dimension in by:
        if dimension not in DIMENSIONS:
            raise ValueError(f"cannot break a report down by {dimension!r}; use {', '.join(DIMENSIONS)}")
    if isinstance(groups, str):
        raise ValueError(f"groups: give a collection of group ids, not the one string {groups!r}")
    team = None if groups is None else frozenset(groups)
    end = period.end if now is None else min(now, period.end)
    begun = bisect_left(period.day_ends, end) + 1
    days = period.days[:begun]
    ends = (*period.day_ends[: begun - 1], end)
    cut = period.day_ends[begun - 1]  # the end the stored sums are judged at
    last = days[-1]
    wanted = {TOTAL, *by}
    slices: dict[tuple[str, str | None], _Slice] = {(TOTAL, None): _Slice(len(days))}

    def slice_of(key: tuple[str, str | None]) -> _Slice:
        found = slices.get(key)
        if found is None:
            found = slices[key] = _Slice(len(days))
        return found

    found_targets: dict[tuple[str, str | None], tuple[tuple[str, str | None], ...]] = {}

    def targets_of(dimension: str, slice_key: str | None) -> tuple[tuple[str, str | None], ...]:
        found = found_targets.get((dimension, slice_key))
        if found is None:
            found = found_targets[(dimension, slice_key)] = _targets(dimension, slice_key, wanted, team)
        return found

    for (opened_dimension, opened_key), change in (opening or {}).items():
        for target_key in targets_of(opened_dimension, opened_key):
            slice_of(target_key).backlog[0] += change
    first = period.first
    for part in parts:
        targets = targets_of(part.dimension, part.slice_key)
        if not targets:
            continue
        day = part.key[0]
        if day < first and part.sums.counts.get("backlog"):
            for target_key in targets:
                slice_of(target_key).backlog[0] += part.sums.counts["backlog"]
            continue
        if not row_holds(part.key, first, last):
            continue
        for target_key in targets:
            target = slice_of(target_key)
            for name, count in part.sums.counts.items():
                if name == "backlog":
                    target.backlog[(day - first).days] += count
                else:
                    target.counts[name] = target.counts.get(name, 0) + count
            for kpi, (n, s, hist, values) in part.sums.times.items():
                times = target.time(kpi)
                times.count += n
                times.total += s
                times.cumulative.append(hist)
                times.parts.append(values)
    # Loose facts: first their effect per ticket keys (few distinct), then on the slices.
    start = period.start
    effects: dict[Keys, _Effect] = {}
    for sign, facts, judged, day_ends in ((-1, minus, cut, (*ends[:-1], cut)), (1, plus, end, ends)):
        for fact in facts:
            if team is not None and fact.group not in team:
                continue
            if fact.field == "backlog":
                index = bisect_left(day_ends, fact.at + 1)  # the first day ending after it
                if index >= len(days):
                    continue
            elif not fact_holds(fact, start, judged):
                continue
            keys = (fact.group, fact.channel, fact.priority, fact.agent)
            effect = effects.get(keys)
            if effect is None:
                effect = effects[keys] = _Effect()
            if fact.field == "backlog":
                effect.backlog[index] = effect.backlog.get(index, 0) + sign * fact.amount
            elif fact.field in TIME_KPIS or fact.field == AGENTS_OWN:
                (effect.plus if sign > 0 else effect.minus).append((fact.field, fact.amount))
            else:
                effect.counts[fact.field] = effect.counts.get(fact.field, 0) + sign * fact.amount
    for (group, channel, priority, agent), effect in effects.items():
        for slice_key in (
            (TOTAL, None),
            ("group", group),
            ("channel", channel),
            ("priority", priority),
            ("agent", agent),
        ):
            if slice_key[0] not in wanted:
                continue
            target = slice_of(slice_key)
            for name, count in effect.counts.items():
                target.counts[name] = target.counts.get(name, 0) + count
            for index, change in effect.backlog.items():
                target.backlog[index] += change
            agents = slice_key[0] == "agent"
            for kpi, value in effect.plus:
                if _counts_in(kpi, agents):
                    target.time(_kpi_of(kpi)).plus.append(value)
            for kpi, value in effect.minus:
                if _counts_in(kpi, agents):
                    target.time(_kpi_of(kpi)).minus.append(value)
    figures = slices[(TOTAL, None)].figures(days)
    listed = engine.reported() if kpis is None else list(kpis)
    breakdown: dict[str, dict[str | None, dict[str, dict[str, Any]]]] = {d: {} for d in by}
    for (dimension, slice_name), found in slices.items():
        if dimension != TOTAL and dimension in breakdown and _counted_anything(found):
            breakdown[dimension][slice_name] = found.figures(days)
    return Report(
        period=period,
        kpis={name: figures[name] for name in listed},
        figures=figures,
        objectives=[objective_status(objective, figures) for objective in engine.protocol.objectives],
        breakdown=breakdown,
    )


def _counts_in(field_name: str, agents: bool) -> bool:
    """Whether a time fact goes to an agent's slice (``agents``) or to the others (``_slices``)."""
    if field_name == AGENTS_OWN:
        return agents
    return not (agents and field_name == "handle_time")


def _kpi_of(field_name: str) -> str:
    return "handle_time" if field_name == AGENTS_OWN else field_name


def _counted_anything(found: _Slice) -> bool:
    """A slice the engine would list: one that some count went to (a slice whose counts all
    cancel out, or that only has backlog changes before the period, was never in its report)."""
    if any(found.counts.values()):
        return True
    running = 0
    for change in found.backlog[:-1]:  # the last place holds changes after the last day
        running += change
        if running:
            return True
    return any(t.count + len(t.plus) - len(t.minus) for t in found.times.values())
