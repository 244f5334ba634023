"""Properties of the SLA engine and the replay, checked on generated tickets (Hypothesis)."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.engine.replay import read_events, replay_lines
from charterdesk.engine.sla import SlaEngine, format_time
from charterdesk.protocol.load import load_protocol_file
from charterdesk.protocol.models import Protocol

EXAMPLE = str(EXAMPLE_PROTOCOL)
BASE = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
NOW = BASE + 60 * 86400

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def protocol() -> Protocol:
    result = load_protocol_file(EXAMPLE)
    assert result.ok and result.protocol is not None
    return result.protocol


@cache
def engine() -> SlaEngine:
    return SlaEngine(protocol())


STEPS = st.sampled_from(
    [
        ("reply", {"author": "agent"}),
        ("reply", {"author": "agent", "public": False}),
        ("reply", {"author": "customer"}),
        ("status", {"status": "pending"}),
        ("status", {"status": "on_hold"}),
        ("status", {"status": "open"}),
        ("status", {"status": "solved"}),
        ("status", {"status": "closed"}),
        ("priority", {"priority": "urgent"}),
        ("priority", {"priority": "low"}),
        ("tags", {"add": ["vip"], "remove": []}),
        ("tags", {"add": [], "remove": ["vip"]}),
        ("group", {"group": "escalations"}),
        ("incident", {"policy": "vip-urgent"}),
        ("incident", {"policy": "chat"}),
        ("incident", {"policy": None}),
    ]
)


@st.composite
def tickets(draw: st.DrawFn, name: str) -> list[dict]:
    """One ticket's events as replay records, in time order, nothing after closed."""
    at = BASE + draw(st.integers(0, 20 * 86400))
    records = [
        {
            "ticket": name,
            "at": at,
            "event": "created",
            "priority": draw(st.sampled_from(["low", "normal", "high", "urgent"])),
            "channel": draw(st.sampled_from(["email", "web", "chat"])),
            "tags": draw(st.sampled_from([[], ["vip"], ["shipping"]])),
            "by": draw(st.sampled_from(["customer", "customer", "agent"])),
        }
    ]
    for delay, (kind, fields) in draw(st.lists(st.tuples(st.integers(0, 2 * 86400), STEPS), max_size=8)):
        at += delay
        records.append({"ticket": name, "at": at, "event": kind, **fields})
        if fields.get("status") == "closed":
            break
    return records


def as_lines(records: list[dict]) -> list[str]:
    return [json.dumps({**r, "at": format_time(r["at"])}) for r in records]


def replay(records: list[dict], now: int = NOW) -> dict[str, str]:
    found = read_events(as_lines(records), "<test>")
    return {json.loads(line)["ticket"]: line for line in replay_lines(engine(), found, now)}


def interleave(seed: int, groups: list[list[dict]]) -> list[dict]:
    """Merge tickets' event lists in a random order that keeps each ticket's own order."""
    rng = random.Random(seed)
    queues = [list(g) for g in groups if g]
    merged = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return merged


@SETTINGS
@given(st.tuples(tickets("A"), tickets("B"), tickets("C")), st.integers(0, 10**6))
def test_output_does_not_depend_on_how_tickets_interleave(groups: tuple, seed: int) -> None:
    """However the events of three tickets are interleaved in the log, the replay gives the same result."""
    in_order = replay([r for g in groups for r in g])
    shuffled = replay(interleave(seed, list(groups)))
    assert in_order == shuffled


@SETTINGS
@given(tickets("A"), st.lists(st.sampled_from(["B", "C", "D"]), unique=True).flatmap(
    lambda names: st.tuples(*[tickets(n) for n in names])), st.integers(0, 10**6))  # fmt: skip
def test_other_tickets_never_change_a_tickets_result(alone: list[dict], others: tuple, seed: int) -> None:
    """A ticket's result is the same alone as among other tickets' events."""
    assert replay(alone)["A"] == replay(interleave(seed, [alone, *others]))["A"]


@SETTINGS
@given(tickets("A"), st.lists(st.integers(0, 70 * 86400), min_size=2, max_size=6))
def test_looking_again_later_never_rewrites_what_fired(records: list[dict], offsets: list[int]) -> None:
    """Judged at any instant, the rules that fired (several at one instant included, each with its
    instant) are the first ones of those that fired by any later instant: the live desk, which asks the
    engine again and again and carries out each firing once, never carries out one the replay lacks."""
    found = read_events(as_lines(records), "<test>", engine().policy_ids)
    fired = [
        [
            (e.rule, e.metric, e.at, e.cycle_start)
            for e in engine().evaluate(found.tickets["A"], BASE + offset).escalations
        ]
        for offset in sorted(offsets)
    ]
    for earlier, later in itertools.pairwise(fired):
        assert later[: len(earlier)] == earlier


@SETTINGS
@given(tickets("A"), st.integers(0, 70 * 86400))
def test_the_explanation_agrees_with_the_due_time(records: list[dict], offset: int) -> None:
    """Every cycle's explanation names its policy, target and due time (or why it has none), and the business
    time from start to due is the target (when the clock does not pause)."""
    now = max(BASE + offset, records[-1]["at"])
    found = read_events(as_lines(records), "<test>")
    result = engine().evaluate(found.tickets["A"], now)
    for cycle in result.cycles():
        text = cycle.explain()
        assert f"policy '{cycle.policy}'" in text and f"target {cycle.target.text}" in text
        if cycle.due is None:
            assert "no due time" in text or "two years" in text
        else:
            assert format_time(cycle.due) in text
            # The due time is where the counted time reaches the target, in the cycle's calendar.
            if not cycle.pausable:
                assert cycle.calendar.between_seconds(cycle.start, cycle.due) == cycle.target.seconds


@SETTINGS
@given(
    st.integers(0, 30 * 86400),
    st.sampled_from(["low", "normal", "high", "urgent"]),
    st.sampled_from(["email", "chat", "web"]),
    st.lists(st.floats(0, 1), min_size=1, max_size=4),
    st.integers(0, 5 * 86400),
)
def test_replies_within_the_target_never_breach_first_response(
    offset: int, priority: str, channel: str, fractions: list[float], after: int
) -> None:
    """A ticket whose every agent reply comes within the first-response target is never breached on it."""
    start = BASE + offset
    chosen = engine().policy_for(priority, channel, None, frozenset())
    assert chosen is not None
    target = chosen.targets[0][priority].seconds
    calendar = chosen.calendar
    records = [
        {"ticket": "A", "at": start, "event": "created", "priority": priority, "channel": channel, "tags": []}
    ]
    for fraction in sorted(fractions):
        at = calendar.add_seconds(start, int(target * fraction))
        assert at is not None
        records.append({"ticket": "A", "at": max(at, records[-1]["at"]), "event": "reply", "author": "agent"})
    result = json.loads(replay(records, records[-1]["at"] + after)["A"])
    assert [cycle["breached"] for cycle in result["metrics"]["first_response"]] == [False]
