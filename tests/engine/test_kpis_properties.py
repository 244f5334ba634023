"""Properties of the KPI engine on generated tickets (Hypothesis), against the SLA replay.

Tickets are generated under the example protocol (office hours in New York, escalation rules
that change priority and group), opened in a group or none and moved between groups, with survey
answers; a period of one to five days is cut
somewhere in their span.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.engine.kpis import DIMENSIONS, TIME_KPIS, KpiEngine, Period
from charterdesk.engine.replay import read_events, replay_lines
from charterdesk.engine.sla import format_time
from charterdesk.protocol.load import load_protocol_file
from charterdesk.protocol.models import Protocol

BASE = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
FIRST_DAY = date(2026, 11, 20)

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def protocol() -> Protocol:
    result = load_protocol_file(str(EXAMPLE_PROTOCOL))
    assert result.ok and result.protocol is not None
    return result.protocol


@cache
def engine() -> KpiEngine:
    return KpiEngine(protocol())


STEPS = st.sampled_from(
    [
        ("reply", {"author": "agent"}),
        ("reply", {"author": "agent"}),
        ("reply", {"author": "agent", "public": False}),
        ("reply", {"author": "customer"}),
        ("status", {"status": "pending"}),
        ("status", {"status": "on_hold"}),
        ("status", {"status": "open"}),
        ("status", {"status": "solved"}),
        ("status", {"status": "solved"}),
        ("status", {"status": "closed"}),
        ("priority", {"priority": "urgent"}),
        ("priority", {"priority": "low"}),
        ("tags", {"add": ["vip"], "remove": []}),
        ("group", {"group": "escalations"}),
        ("group", {"group": "frontline"}),
        ("group", {"group": None}),
        ("incident", {"policy": "vip-urgent"}),
        ("incident", {"policy": None}),
    ]
)
ANSWERS = st.sampled_from(
    [("csat", score) for score in range(1, 6)]
    + [("nps", score) for score in range(11)]
    + [("ces", 4), ("ces", 7)]
)


@st.composite
def ticket(draw: st.DrawFn, name: str) -> list[dict]:
    """One ticket's events and survey answers as records, in time order, nothing but answers after closed."""
    at = BASE + draw(st.integers(0, 8 * 86400))
    records = [
        {
            "ticket": name,
            "at": at,
            "event": "created",
            "priority": draw(st.sampled_from(["low", "normal", "high", "urgent"])),
            "channel": draw(st.sampled_from(["email", "web", "chat"])),
            "tags": draw(st.sampled_from([[], ["vip"], ["shipping"]])),
            "by": draw(st.sampled_from(["customer", "customer", "agent"])),
            "group": draw(st.sampled_from([None, "frontline", "frontline", "escalations"])),
        }
    ]
    for delay, (kind, fields) in draw(st.lists(st.tuples(st.integers(0, 36 * 3600), STEPS), max_size=8)):
        at += delay
        records.append({"ticket": name, "at": at, "event": kind, **fields})
        if fields.get("status") == "closed":
            break
    for delay, (kind, score) in draw(st.lists(st.tuples(st.integers(0, 2 * 86400), ANSWERS), max_size=3)):
        at += delay
        records.append({"ticket": name, "at": at, "event": "survey", "kind": kind, "score": score})
    return records


TICKETS = st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True).flatmap(
    lambda ids: st.tuples(*[ticket(f"T{n}") for n in ids])
)
PERIODS = st.tuples(st.integers(0, 10), st.integers(1, 5))


def lines_of(records: list[dict]) -> list[str]:
    return [json.dumps({**r, "at": format_time(r["at"])}) for r in records]


def period_of(offset_and_days: tuple[int, int]) -> Period:
    offset, days = offset_and_days
    first = FIRST_DAY + timedelta(days=offset)
    return engine().period(first, first + timedelta(days=days - 1))


def compute(records: list[dict], period: Period, by: tuple[str, ...] = (), now: int | None = None):
    found = engine().read(lines_of(records), "<test>")
    return engine().compute(found.histories.values(), period, by=by, now=now)


def replay_at(records: list[dict], now: int) -> list[dict]:
    """``sla replay --now now`` over the events before ``now`` (surveys are not replay events)."""
    kept = [r for r in records if r["event"] != "survey" and r["at"] < now]
    if not kept:
        return []
    found = read_events(lines_of(kept), "<test>")
    return [json.loads(text) for text in replay_lines(engine().sla, found, now)]


def flat(groups: tuple) -> list[dict]:
    return [record for group in groups for record in group]


@SETTINGS
@given(TICKETS, PERIODS, st.one_of(st.none(), st.floats(0.01, 1)))
def test_sla_compliance_is_the_count_over_the_replay(groups: tuple, span: tuple[int, int], share) -> None:
    """Achieved and breached are the replay's cycles at the end of the period (or at a ``now``
    within it): fulfilled on time in the period, or breached with their due time in it."""
    period = period_of(span)
    end = period.end if share is None else period.start + max(1, int((period.end - period.start) * share))
    records = flat(groups)
    achieved = breached = 0
    for result in replay_at(records, end):
        for cycles in result["metrics"].values():
            for cycle in cycles:
                if cycle["breached"]:
                    due = int(datetime.fromisoformat(cycle["due"]).timestamp())
                    breached += period.start <= due < end
                elif cycle["fulfilled"] is not None:
                    fulfilled = int(datetime.fromisoformat(cycle["fulfilled"]).timestamp())
                    achieved += period.start <= fulfilled < end
    figures = compute(records, period, now=None if share is None else end).figures["sla_compliance"]
    assert (figures["achieved"], figures["breached"]) == (achieved, breached)


@SETTINGS
@given(TICKETS, PERIODS)
def test_backlog_is_the_replay_s_unsolved_tickets_at_each_day_end(
    groups: tuple, span: tuple[int, int]
) -> None:
    """Each day's backlog is the number of tickets the SLA engine sees created and neither solved
    nor closed at the day's end; never negative."""
    period = period_of(span)
    records = flat(groups)
    backlog = compute(records, period).figures["backlog"]
    expected = {}
    for day, end in zip(period.days, period.day_ends, strict=True):
        expected[day.isoformat()] = sum(
            r["status"] not in ("solved", "closed") for r in replay_at(records, end)
        )
    assert backlog["days"] == expected
    assert backlog["value"] == expected[period.last.isoformat()]
    assert min(backlog["days"].values()) >= 0


@SETTINGS
@given(TICKETS, PERIODS)
def test_percentiles_are_ordered_and_within_the_values(groups: tuple, span: tuple[int, int]) -> None:
    """For every time KPI: p50 <= p90 <= p95, none negative; with nothing counted, all null."""
    figures = compute(flat(groups), period_of(span)).figures
    for kpi in TIME_KPIS:
        times = figures[kpi]
        if times["count"] == 0:
            assert times == {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None}
            continue
        assert 0 <= times["p50"] <= times["p90"] <= times["p95"]
        assert times["mean"] >= 0


@SETTINGS
@given(TICKETS, PERIODS, st.data())
def test_changing_a_rating_counts_once(groups: tuple, span: tuple[int, int], data: st.DataObject) -> None:
    """A customer who answers again (a later answer of the same kind, on the same ticket) changes
    no count of answers in a period that holds both answers, and the value follows the latest."""
    period = period_of(span)
    records = flat(groups)
    before = compute(records, period).figures
    # Answer again, one second after every answer of the ticket's that lies in the period.
    changed = []
    for group in groups:
        changed += group
        answers = [r for r in group if r["event"] == "survey"]
        if answers and period.start <= answers[-1]["at"] < period.end - 1:
            last = answers[-1]
            kind = last["kind"]
            score = data.draw(
                st.integers(1, 5)
                if kind == "csat"
                else st.integers(0, 10)
                if kind == "nps"
                else st.integers(1, 7)
            )
            changed.append({**last, "at": last["at"] + 1, "score": score})
    after = compute(changed, period).figures
    for kind in ("csat", "nps", "ces"):
        assert after[kind]["answered"] == before[kind]["answered"]


COUNTS = [
    ("sla_compliance", "achieved"),
    ("sla_compliance", "breached"),
    ("csat", "answered"),
    ("nps", "answered"),
    ("ces", "answered"),
    ("fcr", "solved"),
    ("reopen_rate", "solved"),
]


@SETTINGS
@given(TICKETS, PERIODS)
def test_breakdowns_add_up_to_the_total(groups: tuple, span: tuple[int, int]) -> None:
    """Every count of the report is split, whole, among the slices of each dimension, and asking
    for breakdowns does not change the totals."""
    period = period_of(span)
    records = flat(groups)
    plain = compute(records, period)
    split = compute(records, period, by=DIMENSIONS)
    assert split.figures == plain.figures
    for dimension in DIMENSIONS:
        slices = list(split.breakdown[dimension].values())
        for kpi in TIME_KPIS:
            assert sum(s[kpi]["count"] for s in slices) == plain.figures[kpi]["count"]
        for kpi, key in COUNTS:
            assert sum(s[kpi][key] for s in slices) == plain.figures[kpi][key]
        for piece in slices:
            for kpi in ("fcr", "reopen_rate", "sla_compliance", "csat"):
                assert piece[kpi]["value"] is None or 0 <= piece[kpi]["value"] <= 1
        for day in plain.figures["backlog"]["days"]:
            assert sum(s["backlog"]["days"][day] for s in slices) == plain.figures["backlog"]["days"][day]


@SETTINGS
@given(TICKETS, PERIODS)
def test_a_reopened_ticket_is_never_first_contact_resolution(groups: tuple, span: tuple[int, int]) -> None:
    """Taken ticket by ticket: a ticket reopened in the period is not resolved on first contact,
    and both rates are between 0 and 1 (and null together, when nothing was solved)."""
    period = period_of(span)
    for group in groups:
        figures = compute(group, period).figures
        fcr, reopen = figures["fcr"]["value"], figures["reopen_rate"]["value"]
        assert (fcr is None) == (reopen is None)
        if fcr is not None:
            assert 0 <= fcr <= 1 and 0 <= reopen <= 1
            assert not (fcr == 1.0 and reopen == 1.0)


@SETTINGS
@given(TICKETS, PERIODS)
def test_tickets_are_independent(groups: tuple, span: tuple[int, int]) -> None:
    """A report over several tickets counts what the reports over each ticket count, summed."""
    period = period_of(span)
    whole = compute(flat(groups), period).figures
    parts = [compute(group, period).figures for group in groups]
    for kpi in TIME_KPIS:
        assert whole[kpi]["count"] == sum(p[kpi]["count"] for p in parts)
    for kpi, key in [("sla_compliance", "achieved"), ("sla_compliance", "breached"), ("fcr", "solved"),
                     ("csat", "satisfied"), ("nps", "promoters"), ("nps", "detractors")]:  # fmt: skip
        assert whole[kpi][key] == sum(p[kpi][key] for p in parts)
