"""Daily rollups give the engine's figures exactly (Hypothesis, on random ticket histories).

The tickets are those of test_kpis_properties (the example protocol, tickets opened in a group
or none and moved between groups, escalations that change priority and group, survey answers,
reopenings, changed ratings); periods of one to twelve days are cut anywhere in their span, with
and without breakdowns, for everything or for a team's groups (any subset of the protocol's
groups), finished or still running at a random instant. Each figure from the stored day sums must
equal ``KpiEngine.compute`` over the raw histories, to the last digit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from charterdesk.engine.kpi_rollups import (
    BUCKETS,
    DayCutter,
    Decoded,
    Fact,
    Part,
    Sums,
    bucket_of,
    combine,
    rollup,
    stored_dimensions,
    ticket_facts,
    touches_day,
)
from charterdesk.engine.kpis import DIMENSIONS, Period, Survey, TicketHistory, Work

from .test_kpis_properties import BASE, FIRST_DAY, SETTINGS, TICKETS, engine, flat, lines_of

HORIZON = BASE + 400 * 86400
BREAKDOWNS = st.sampled_from([(), DIMENSIONS, ("agent",), ("group", "priority")])
PERIODS = st.tuples(st.integers(0, 12), st.integers(1, 12))
# Everything (half the time), or a team of the example protocol's groups (frontline, escalations).
TEAMS = st.sampled_from(
    [None, None, None, None, {"frontline"}, {"escalations"}, {"frontline", "escalations"}, set()]
)


def histories(groups: tuple) -> list[TicketHistory]:
    found = engine().read(lines_of(flat(groups)), "<test>")
    out = list(found.histories.values())
    # Name an agent for each public agent reply (round robin), so "by agent" has slices; and
    # give about half the events some measured work by one of the agents (handle_time), before
    # and after solves alike, so the work counted up to a ticket's last solve varies.
    for history in out:
        for index, event in enumerate(history.events):
            by_agent = getattr(event, "by_agent", False)
            if by_agent and getattr(event, "public", True):
                history.agents[index] = f"a{(index + event.at) % 3}"
            if (index + event.at) % 2 == 0:
                history.work.append(Work(event.at, f"a{(index * 7 + event.at) % 3}", 60 + event.at % 600))
    return out


def parts_of(facts: list[Fact]) -> list[Part]:
    """The facts summed per day, stored as JSON and read back, as the desk does."""
    rows = rollup(facts, DayCutter(engine().timezone))
    return [
        Part(key, dimension, slice_key, Decoded.of(json.loads(json.dumps(sums.encode()))))
        for key, slices in rows.items()
        for (dimension, slice_key), sums in slices.items()
    ]


def period_of(span: tuple[int, int]) -> Period:
    offset, days = span
    first = FIRST_DAY + timedelta(days=offset)
    return engine().period(first, first + timedelta(days=days - 1))


def from_rollups(
    stored: dict[int, list[Fact]],
    fresh: dict[int, list[Fact]],
    period: Period,
    by,
    now: int | None,
    groups=None,
):
    """The report as the desk makes it: stored sums (those of the dimensions the report reads),
    with the tickets whose stored facts are stale or that have something on the day ``now`` falls
    in taken out and counted afresh."""
    end = period.end if now is None else min(now, period.end)
    cutter = DayCutter(engine().timezone)
    today = cutter.day(end - 1)
    live = {
        ticket
        for ticket, facts in fresh.items()
        if facts != stored.get(ticket)
        or (now is not None and now < period.end and touches_day(facts, cutter, today))
    }
    read = set(stored_dimensions(by, groups))
    parts = [
        p for p in parts_of([fact for facts in stored.values() for fact in facts]) if p.dimension in read
    ]
    minus = [fact for ticket in live for fact in stored.get(ticket, [])]
    plus = [fact for ticket in live for fact in fresh[ticket]]
    return combine(engine(), period, parts, minus=minus, plus=plus, by=by, now=now, groups=groups)


def same(a, b) -> None:
    assert a.figures == b.figures
    assert a.kpis == b.kpis
    assert a.objectives == b.objectives
    assert a.breakdown == b.breakdown


@SETTINGS
@given(TICKETS, PERIODS, BREAKDOWNS, TEAMS)
def test_rollups_give_the_engine_s_figures_for_a_finished_period(groups: tuple, span, by, team) -> None:
    """A finished period's report from daily rollups shows the very figures of the engine, for
    everything and for a team's groups."""
    found = histories(groups)
    period = period_of(span)
    facts = {n: ticket_facts(engine(), h, HORIZON) for n, h in enumerate(found)}
    same(
        from_rollups(facts, facts, period, by, None, team),
        engine().compute(found, period, by=by, groups=team),
    )


@SETTINGS
@given(TICKETS, PERIODS, BREAKDOWNS, st.floats(0.001, 0.999), TEAMS)
def test_rollups_give_the_engine_s_figures_for_a_running_period(groups: tuple, span, by, share, team) -> None:
    """A period still running (judged at an instant of any of its days) shows the engine's figures."""
    found = histories(groups)
    period = period_of(span)
    now = period.start + 1 + int(share * (period.end - period.start - 1))
    facts = {n: ticket_facts(engine(), h, HORIZON) for n, h in enumerate(found)}
    same(
        from_rollups(facts, facts, period, by, now, team),
        engine().compute(found, period, by=by, now=now, groups=team),
    )


def truncated(history: TicketHistory, before: int) -> TicketHistory:
    """The ticket as the desk had it at ``before``: what a rollup built then was made from."""
    events = [event for event in history.events if event.at < before]
    surveys = [Survey(s.at, s.kind, s.score) for s in history.surveys if s.at < before]
    agents = {index: agent for index, agent in history.agents.items() if index < len(events)}
    work = [Work(w.at, w.agent, w.seconds) for w in history.work if w.at < before]
    return TicketHistory(events, surveys, agents, work)


@SETTINGS
@given(TICKETS, PERIODS, BREAKDOWNS, st.integers(0, 20 * 86400), st.booleans(), TEAMS)
def test_a_change_after_the_rollup_shows_on_the_report(groups: tuple, span, by, built, running, team) -> None:
    """Events that came after the rollups were built (the worker not run yet) count on the page,
    a team's too (a ticket moved to or from its groups since)."""
    found = histories(groups)
    period = period_of(span)
    now = period.end - 1 if running else None
    built_at = BASE + built
    stale = {n: ticket_facts(engine(), truncated(h, built_at), HORIZON) for n, h in enumerate(found)}
    fresh = {n: ticket_facts(engine(), h, HORIZON) for n, h in enumerate(found)}
    stale = {n: facts for n, facts in stale.items() if facts}
    same(
        from_rollups(stale, fresh, period, by, now, team),
        engine().compute(found, period, by=by, now=now, groups=team),
    )


@given(st.lists(st.integers(0, 2**40), min_size=2, max_size=50))
def test_time_buckets_keep_the_order_of_values(values: list[int]) -> None:
    """A larger time never falls in an earlier bucket, so percentiles read the right bucket."""
    values.sort()
    buckets = [bucket_of(v) for v in values]
    assert buckets == sorted(buckets)
    assert all(0 <= b < BUCKETS for b in buckets)


def test_many_values_take_the_bucket_path_and_stay_exact() -> None:
    """Thousands of response times over many days give the exact nearest-rank percentiles."""
    period = engine().period(FIRST_DAY, FIRST_DAY + timedelta(days=29))
    cutter = DayCutter(engine().timezone)
    facts = []
    values = []
    for n in range(9000):
        at = period.start + (n * 2654435761) % (period.end - period.start)
        value = (n * 40503) % 200000
        values.append(value)
        facts.append(Fact(at, "first_response_time", value, "frontline", "email", "normal", None))
    plus = [Fact(period.start + 5, "first_response_time", 7, "frontline", "email", "normal", None)]
    minus = [facts[17]]
    report = combine(engine(), period, parts_of(facts), plus=plus, minus=minus)
    expected = sorted([*values, 7])
    expected.remove(values[17])
    figures = report.figures["first_response_time"]
    rank = {p: expected[max((p * len(expected) + 99) // 100, 1) - 1] for p in (50, 90, 95)}
    assert figures["count"] == len(expected)
    assert (figures["p50"], figures["p90"], figures["p95"]) == (rank[50], rank[90], rank[95])
    assert cutter.day(period.start) == FIRST_DAY


@SETTINGS
@given(TICKETS, st.integers(0, 20 * 86400))
def test_changing_day_sums_by_a_ticket_s_old_and_new_facts_gives_the_sums_made_afresh(
    groups: tuple, built: int
) -> None:
    """The worker's update of stored day sums (old facts out, new in) leaves what summing anew gives."""
    found = histories(groups)
    built_at = BASE + built
    cutter = DayCutter(engine().timezone)
    old = [f for h in found for f in ticket_facts(engine(), truncated(h, built_at), HORIZON)]
    new = [f for h in found for f in ticket_facts(engine(), h, HORIZON)]
    stored = {
        key: {s: Sums.of(Decoded.of(json.loads(json.dumps(sums.encode())))) for s, sums in slices.items()}
        for key, slices in rollup(old, cutter).items()
    }
    gone, came = Counter(old) - Counter(new), Counter(new) - Counter(old)
    for sign, facts in ((-1, gone), (1, came)):
        for key, slices in rollup(facts.elements(), cutter).items():
            for slice_key, sums in slices.items():
                stored.setdefault(key, {}).setdefault(slice_key, Sums()).merge(sums, sign)
    changed = {
        key: {s: sums.encode() for s, sums in slices.items() if not sums.empty()}
        for key, slices in stored.items()
    }
    afresh = {
        key: {s: sums.encode() for s, sums in slices.items() if not sums.empty()}
        for key, slices in rollup(new, cutter).items()
    }
    assert {k: v for k, v in changed.items() if v} == {k: v for k, v in afresh.items() if v}


def test_times_beyond_32_bits_are_kept_exactly() -> None:
    """A time of more than 68 years (no calendar gives one, but nothing breaks) reads back exactly."""
    sums = Sums()
    for value in (5, 2**40, 7):
        sums.add(Fact(BASE, "resolution_time", value, None, "email", "normal", None))
    decoded = Decoded.of(json.loads(json.dumps(sums.encode())))
    assert list(decoded.times["resolution_time"][3]) == [5, 7, 2**40]


# Rollups of a generated log, every figure of a few reports, as one JSON text: the compiled module
# and the plain-Python one must print the very same.
_BOTH_WAYS = """
import json, sys
from datetime import date
from charterdesk.engine import kpi_rollups
from charterdesk.engine.kpi_rollups import DayCutter, Decoded, Part, combine, rollup, ticket_facts
from charterdesk.engine.kpis import DIMENSIONS, KpiEngine
from charterdesk.protocol.load import load_protocol_file

engine = KpiEngine(load_protocol_file(sys.argv[1]).protocol)
with open(sys.argv[2], "rb") as log:
    found = engine.read(log, sys.argv[2])
horizon = 1_800_000_000
facts = [f for h in found.histories.values() for f in ticket_facts(engine, h, horizon)]
sums = rollup(facts, DayCutter(engine.timezone))
parts = [
    Part(key, dimension, slice_key, Decoded.of(json.loads(json.dumps(found_sums.encode()))))
    for key, slices in sums.items()
    for (dimension, slice_key), found_sums in slices.items()
]
out = {
    "module": kpi_rollups.__file__.endswith(".py"),
    "facts": [list(f) for f in facts],
    "sums": sorted(
        [[str(k) for k in key], dimension, slice_key or "", found_sums.encode()]
        for key, slices in sums.items()
        for (dimension, slice_key), found_sums in slices.items()
    ),
}
for first, last, now in (("2026-10-05", "2026-10-11", None), ("2026-09-01", "2026-11-29", 1_764_000_000)):
    period = engine.period(date.fromisoformat(first), date.fromisoformat(last))
    for groups in (None, ("frontline",), ("frontline", "escalations")):
        report = combine(engine, period, parts, by=DIMENSIONS, groups=groups, plus=facts[:300], now=now)
        out[f"{first} {groups}"] = [
            report.figures,
            {d: {str(k): v for k, v in rows.items()} for d, rows in report.breakdown.items()},
        ]
print(json.dumps(out, sort_keys=True))
"""


def test_compiled_and_plain_python_rollups_are_byte_for_byte_the_same(tmp_path):
    """Facts, day sums and reports (everything and teams, finished and running) of a generated log
    of 8,000 events come out the same from the compiled module and from plain Python."""
    root = Path(__file__).resolve().parents[2]
    events = tmp_path / "events.jsonl"
    subprocess.run(
        [sys.executable, str(root / "bench" / "gen_events.py"), "--events", "8000", "-o", str(events)],
        check=True,
        capture_output=True,
    )
    protocol = root / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"
    outputs = []
    for pure in ("1", "0"):
        done = subprocess.run(
            [sys.executable, "-c", _BOTH_WAYS, str(protocol), str(events)],
            env=dict(os.environ, CHARTERDESK_PURE_PYTHON=pure),
            cwd=root,
            check=True,
            capture_output=True,
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0]["module"] is True  # plain Python: the .py source
    outputs[1]["module"] = True
    assert outputs[0] == outputs[1]
    assert any(f[3] == "escalations" for f in outputs[0]["facts"])
    assert outputs[0]["2026-10-05 ('frontline',)"][0]["first_response_time"]["count"] > 10
