"""What-if (charterdesk/engine/whatif.py and ``charterdesk protocol whatif --events``): a draft
beside the version in force, counted from two replays of the same tickets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.engine.kpis import KpiEngine, TicketHistory
from charterdesk.engine.replay import parse_time, read_events, replay_lines, stored_event, stored_histories
from charterdesk.engine.sla import EventError, Reply, SlaEngine
from charterdesk.engine.whatif import (
    PeriodError,
    compare,
    format_text,
    judge,
    outcome_of_line,
    period,
    priority_at,
    run,
)
from charterdesk.protocol.load import load_protocol
from charterdesk.whatif_command import main

BASE_TEXT = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
FIRST_RESPONSE = "first_response: {urgent: 1h, high: 2h, normal: 8h, low: 24h}"
RESOLUTION = "resolution: {urgent: 8h, high: 16h, normal: 40h, low: 80h}"
assert FIRST_RESPONSE in BASE_TEXT and RESOLUTION in BASE_TEXT


def protocol(text: str):
    loaded = load_protocol(text, "draft.yaml")
    assert loaded.ok and loaded.protocol is not None, loaded.problems
    return loaded.protocol


BASE = SlaEngine(protocol(BASE_TEXT))
# Normal tickets' first reply within one office hour instead of eight.
TIGHT = SlaEngine(
    protocol(BASE_TEXT.replace(FIRST_RESPONSE, FIRST_RESPONSE.replace("normal: 8h", "normal: 1h")))
)
# High and urgent tickets resolved within one office hour.
FAST_RESOLUTION = SlaEngine(
    protocol(BASE_TEXT.replace(RESOLUTION, "resolution: {urgent: 1h, high: 1h, normal: 40h, low: 80h}"))
)

# Monday 7 December 2026; the office (New York) opens at 13:00 UTC.
TWO_NORMAL = [
    {
        "ticket": "A",
        "at": "2026-12-07T14:00:00Z",
        "event": "created",
        "priority": "normal",
        "channel": "email",
    },
    {
        "ticket": "B",
        "at": "2026-12-07T14:00:00Z",
        "event": "created",
        "priority": "normal",
        "channel": "email",
    },
    {"ticket": "B", "at": "2026-12-07T14:30:00Z", "event": "reply", "author": "agent"},
    {"ticket": "A", "at": "2026-12-07T16:00:00Z", "event": "reply", "author": "agent"},
]


def tickets_of(records: list[dict]):
    return read_events([json.dumps(r) for r in records], "<test>").tickets


def test_a_tighter_first_response_breaches_the_late_reply() -> None:
    """A normal ticket answered after two office hours meets 8h and breaches 1h; the one answered
    in half an hour meets both. Compliance falls from 100% to 50%, the late ticket gains the
    warning and the breach escalations, and the compliance objective (95%) is missed."""
    report = run(BASE, TIGHT, tickets_of(TWO_NORMAL), BASE_NOW).as_dict()
    assert report["tickets"] == 2
    assert report["changed"] == 1
    first = [row for row in report["metrics"] if row["metric"] == "first_response"]
    assert first == [
        {
            "metric": "first_response",
            "priority": "normal",
            "base": {"achieved": 2, "breached": 0, "open": 0, "compliance": 1.0},
            "draft": {"achieved": 1, "breached": 1, "open": 0, "compliance": 0.5},
            "change": -0.5,
        }
    ]
    resolution = [row for row in report["metrics"] if row["metric"] == "resolution"]
    assert (
        resolution[0]["base"]
        == resolution[0]["draft"]
        == {
            "achieved": 0,
            "breached": 0,
            "open": 2,
            "compliance": None,
        }
    )
    fired = {row["rule"]: (row["base"], row["draft"]) for row in report["escalations"]}
    assert fired == {"warn-assignee": (0, 1), "lead-on-breach": (0, 1), "hand-to-escalations": (0, 0)}
    assert report["policy_changes"] == []
    assert report["workload"] == []
    judged = {
        row["id"]: (row["base_actual"], row["base_met"], row["draft_actual"], row["draft_met"])
        for row in report["objectives"]
    }
    assert judged == {
        # Both first replies achieved in force (2 of 2); under the draft A's falls due at 15:00,
        # inside the period, and is breached (1 of 2).
        "keep-promises": ({"min": 1.0}, True, {"min": 0.5}, False),
        # Business time to the first reply: B 30 min, A 2 h (14:00 to 16:00 on office hours);
        # the 90th percentile of two is the larger, 2 h, over the 1 h target under both.
        "fast-first-reply": ({"p90": 7200}, False, {"p90": 7200}, False),
        # No survey answers: nothing to count.
        "happy-customers": ({"min": None}, None, {"min": None}, None),
    }
    keep = next(row for row in report["objectives"] if row["id"] == "keep-promises")
    assert keep["base_target"] == keep["draft_target"] == {"min": 0.95}
    assert keep["in_base"] and keep["in_draft"] and keep["text"].startswith("Meet at least 95%")
    assert report["samples"] == [
        {
            "ticket": "A",
            "priority": "normal",
            "why": [
                "first_response: achieved -> breached",
                "escalations added: lead-on-breach, warn-assignee",
            ],
            "base_breaches": 0,
            "draft_breaches": 1,
        }
    ]
    text = format_text(report)
    assert "A: first_response: achieved -> breached" in text
    assert (
        "keep-promises (sla_compliance): 100.0% (target at least 95.0%) met"
        " -> 50.0% (target at least 95.0%) missed"
    ) in text
    assert "fast-first-reply (first_response_time): p90 2h (target at most 1h) missed" in text
    assert "happy-customers (csat): - (target at least 90.0%) nothing to count" in text


BASE_NOW = 1_796_659_200  # 2026-12-07T16:00:00Z, the latest event of TWO_NORMAL
assert read_events([json.dumps(r) for r in TWO_NORMAL], "<t>").latest == BASE_NOW


def test_the_workload_a_draft_hands_to_a_group() -> None:
    """A high ticket unresolved after one office hour is breached under the draft, and two hours
    later hand-to-escalations gives it to the escalations group (and raises it to urgent); the
    report counts it under its own priority, high, and as one ticket for escalations."""
    records = [
        {
            "ticket": "C",
            "at": "2026-12-07T14:00:00Z",
            "event": "created",
            "priority": "high",
            "channel": "email",
        },
        {"ticket": "C", "at": "2026-12-07T14:10:00Z", "event": "reply", "author": "agent"},
        {
            "ticket": "D",
            "at": "2026-12-07T18:00:00Z",
            "event": "created",
            "priority": "normal",
            "channel": "web",
        },
    ]
    tickets = tickets_of(records)
    now = 1_796_666_400  # 18:00Z
    report = run(BASE, FAST_RESOLUTION, tickets, now).as_dict()
    assert report["workload"] == [{"group": "escalations", "base": 0, "draft": 1}]
    fired = {row["rule"]: (row["base"], row["draft"]) for row in report["escalations"]}
    assert fired["hand-to-escalations"] == (0, 1)
    resolution = next(r for r in report["metrics"] if r["metric"] == "resolution" and r["priority"] == "high")
    assert resolution["base"]["open"] == 1 and resolution["draft"]["breached"] == 1
    assert priority_at(tickets["C"], now) == "high"


def test_the_same_numbers_from_replay_output() -> None:
    """Outcomes read back from ``sla replay``'s own lines give the very report the engine gives."""
    tickets = tickets_of(TWO_NORMAL)
    found = read_events([json.dumps(r) for r in TWO_NORMAL], "<test>")
    outcomes = []
    for engine in (BASE, TIGHT):
        lines = [json.loads(line) for line in replay_lines(engine, found, BASE_NOW)]
        outcomes.append(
            {r["ticket"]: outcome_of_line(r, priority_at(tickets[r["ticket"]], BASE_NOW)) for r in lines}
        )
    # The objectives: the KPI engine over the same tickets from the first event to the end.
    first = min(events[0].at for events in tickets.values())
    judged = [
        judge(
            KpiEngine(engine.protocol, engine),
            [TicketHistory(events) for events in tickets.values()],
            first,
            BASE_NOW,
            [engine.evaluate(events, BASE_NOW) for events in tickets.values()],
        )
        for engine in (BASE, TIGHT)
    ]
    from_lines = compare(
        *outcomes, BASE.protocol, TIGHT.protocol, now=BASE_NOW, objectives=(judged[0], judged[1])
    ).as_dict()
    assert from_lines == run(BASE, TIGHT, tickets, BASE_NOW).as_dict()


@settings(max_examples=40, deadline=None)
@given(
    replies=st.lists(st.integers(min_value=0, max_value=40 * 3600), min_size=1, max_size=8),
    priority=st.sampled_from(["low", "normal", "high", "urgent"]),
)
def test_a_draft_equal_to_the_version_in_force_changes_nothing(replies: list[int], priority: str) -> None:
    """Whatever the tickets, comparing a version with itself changes no outcome and no count."""
    records = []
    for index, delay in enumerate(replies):
        ticket = f"T{index}"
        records.append(
            {
                "ticket": ticket,
                "at": "2026-12-07T14:00:00Z",
                "event": "created",
                "priority": priority,
                "channel": "web",
            }
        )
        minutes, seconds = divmod(delay, 60)
        hours, minutes = divmod(minutes, 60)
        at = f"2026-12-{7 + hours // 24:02d}T{hours % 24:02d}:{minutes:02d}:{seconds:02d}Z"
        records.append(
            {"ticket": ticket, "at": max(at, "2026-12-07T14:00:00Z"), "event": "reply", "author": "agent"}
        )
    tickets = tickets_of(records)
    now = max(events[-1].at for events in tickets.values())
    report = run(BASE, SlaEngine(BASE.protocol), tickets, now).as_dict()
    assert report["changed"] == 0 and report["samples"] == []
    for row in report["metrics"]:
        assert row["base"] == row["draft"]
    assert report["overall"]["base"] == report["overall"]["draft"]


def test_periods() -> None:
    """--since counts back from the end; --to takes the whole day; both at once is refused."""
    end = BASE_NOW
    assert period("7d", None, None, end) == (end - 7 * 86400, end)
    assert period(None, "2026-12-01", "2026-12-07", end) == (1_796_083_200, 1_796_688_000)
    assert period(None, None, None, end) == (None, end)
    with pytest.raises(PeriodError, match="--since"):
        period("7d", "2026-12-01", None, end)
    with pytest.raises(PeriodError, match="--since: 'soon'"):
        period("soon", None, None, end)
    with pytest.raises(PeriodError, match="--from"):
        period(None, "2026-13-01", None, end)


# --------------------------------------------------------------------------- the command line


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_offline_command_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`protocol whatif DRAFT --events FILE --base CURRENT --format json` prints the engine's report."""
    events = write(tmp_path, "events.jsonl", "".join(json.dumps(r) + "\n" for r in TWO_NORMAL))
    draft = write(
        tmp_path,
        "draft.yaml",
        BASE_TEXT.replace(FIRST_RESPONSE, FIRST_RESPONSE.replace("normal: 8h", "normal: 1h")),
    )
    code = main([draft, "--events", events, "--base", str(EXAMPLE_PROTOCOL), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == run(BASE, TIGHT, tickets_of(TWO_NORMAL), BASE_NOW).as_dict()
    code = main([draft, "--events", events, "--base", str(EXAMPLE_PROTOCOL), "--since", "1h"])
    out, err = capsys.readouterr()
    # Only A had activity in the last hour (its reply at 16:00).
    assert code == 0 and out.startswith("What-if over 1 tickets"), err


def test_offline_command_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed events line is FILE:LINE: message, exit 1, as in `sla replay`."""
    events = write(tmp_path, "events.jsonl", json.dumps(TWO_NORMAL[0]) + "\nnot json\n")
    code = main([str(EXAMPLE_PROTOCOL), "--events", events, "--base", str(EXAMPLE_PROTOCOL)])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"{events}:2: not JSON")


def test_offline_command_refuses_a_bad_draft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A draft that does not validate is reported with its line and nothing is compared (exit 2)."""
    events = write(tmp_path, "events.jsonl", json.dumps(TWO_NORMAL[0]) + "\n")
    draft = write(
        tmp_path, "draft.yaml", BASE_TEXT.replace("normal: 8h, low: 24h}", "normal: soon, low: 24h}", 1)
    )
    code = main([draft, "--events", events, "--base", str(EXAMPLE_PROTOCOL)])
    _out, err = capsys.readouterr()
    assert code == 2
    assert "draft.yaml:" in err and "nothing was compared" in err


def test_several_processes_give_the_same_report() -> None:
    """Shared out across forked processes, the tickets give the very report one process gives."""
    records = TWO_NORMAL + [
        {
            "ticket": f"N{i}",
            "at": "2026-12-07T15:00:00Z",
            "event": "created",
            "priority": "high",
            "channel": "web",
        }
        for i in range(7)
    ]
    tickets = tickets_of(records)
    alone = run(BASE, TIGHT, tickets, BASE_NOW, workers=1).as_dict()
    assert run(BASE, TIGHT, tickets, BASE_NOW, workers=3).as_dict() == alone


def test_the_charterdesk_command_runs_it_without_a_desk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`charterdesk protocol whatif ... --events FILE` needs no database: the file-only path answers."""
    from charterdesk.cli import main as charterdesk

    events = write(tmp_path, "events.jsonl", "".join(json.dumps(r) + "\n" for r in TWO_NORMAL))
    code = charterdesk(
        ["protocol", "whatif", str(EXAMPLE_PROTOCOL), "--events", events, "--base", str(EXAMPLE_PROTOCOL)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("What-if over 2 tickets") and "0 change outcome" in out


def test_survey_answers_in_a_full_export_are_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full `tickets export-events` carries survey answers; what-if reads past them, as if absent."""
    survey = {"ticket": "A", "at": "2026-12-07T16:00:00Z", "event": "survey", "kind": "csat", "score": 5}
    events = write(tmp_path, "events.jsonl", "".join(json.dumps(r) + "\n" for r in [*TWO_NORMAL, survey]))
    code = main(
        [str(EXAMPLE_PROTOCOL), "--events", events, "--base", str(EXAMPLE_PROTOCOL), "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["tickets"] == 2


def test_every_objective_is_judged_under_each_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A draft that asks for CSAT of 50% instead of 90% and adds a backlog objective: with one
    satisfied answer in two, CSAT is missed in force and met under the draft, and the new
    objective is judged under the draft only (two tickets still open: over the limit of one)."""
    answers = [
        # B's customer gives 5 of 5 (satisfied: 4 or more), A's 2 of 5; CSAT = 1 / 2.
        {"ticket": "B", "at": "2026-12-07T15:00:00Z", "event": "survey", "kind": "csat", "score": 5},
        {"ticket": "A", "at": "2026-12-07T16:00:00Z", "event": "survey", "kind": "csat", "score": 2},
    ]
    events = write(tmp_path, "events.jsonl", "".join(json.dumps(r) + "\n" for r in [*TWO_NORMAL, *answers]))
    assert "  - id: happy-customers\n    kpi: csat\n    target: {min: 0.90}\n" in BASE_TEXT
    draft_text = BASE_TEXT.replace(
        "  - id: happy-customers\n    kpi: csat\n    target: {min: 0.90}\n",
        "  - id: happy-customers\n    kpi: csat\n    target: {min: 0.50}\n"
        "  - id: small-backlog\n    text: No more than one ticket waiting.\n    kpi: backlog\n"
        "    target: {max: 1}\n",
    )
    draft = write(tmp_path, "draft.yaml", draft_text)
    code = main([draft, "--events", events, "--base", str(EXAMPLE_PROTOCOL), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = {row["id"]: row for row in json.loads(out)["objectives"]}
    assert list(rows) == ["fast-first-reply", "keep-promises", "happy-customers", "small-backlog"]
    happy = rows["happy-customers"]
    assert (happy["base_target"], happy["base_actual"], happy["base_met"]) == (
        {"min": 0.9},
        {"min": 0.5},
        False,
    )
    assert (happy["draft_target"], happy["draft_actual"], happy["draft_met"]) == (
        {"min": 0.5},
        {"min": 0.5},
        True,
    )
    backlog = rows["small-backlog"]
    assert (backlog["in_base"], backlog["base_met"], backlog["base_actual"]) == (False, None, None)
    assert (backlog["in_draft"], backlog["draft_actual"], backlog["draft_met"]) == (True, {"max": 2}, False)
    assert backlog["text"] == "No more than one ticket waiting." and backlog["kpi"] == "backlog"

    code = main([draft, "--events", events, "--base", str(EXAMPLE_PROTOCOL)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "happy-customers (csat): 50.0% (target at least 90.0%) missed -> 50.0% (target at least 50.0%) met"
        in out
    )
    assert "small-backlog (backlog): (not an objective here) -> 2 (target at most 1) missed" in out


def test_objectives_alike_in_one_process_and_two() -> None:
    """The draft replayed in a forked process judges the objectives as one process does."""
    tickets = tickets_of(TWO_NORMAL)
    alone = run(BASE, TIGHT, tickets, BASE_NOW, workers=1).as_dict()
    assert run(BASE, TIGHT, tickets, BASE_NOW, workers=2).as_dict() == alone
    assert alone["objectives"] and all(row["base_met"] is not None for row in alone["objectives"][:2])


def test_stored_rows_become_the_events_the_export_gives() -> None:
    """The desk's stored rows (data as JSON text, or decoded by the driver) become the very
    events `sla replay` reads from the exported lines, a repeated reply made again at its time."""
    again = {"ticket": "A", "at": "2026-12-07T17:00:00Z", "event": "reply", "author": "agent"}
    records = [*TWO_NORMAL, again]
    rows = []
    for record in sorted(records, key=lambda r: (r["ticket"], r["at"])):
        data = {k: v for k, v in record.items() if k not in ("ticket", "at", "event")}
        # B's rows as a driver that decodes JSON gives them, A's as text.
        stored = data if record["ticket"] == "B" else json.dumps(data)
        rows.append((record["ticket"], record["event"], parse_time(record["at"]), stored))
    found = stored_histories(rows)
    assert found == tickets_of(records)
    assert list(found) == ["A", "B"] and found["A"][2] == Reply(parse_time(again["at"]), True, True)
    with pytest.raises(ValueError, match="assignee is not an SLA event"):
        stored_event("assignee", 0, {})


@pytest.mark.parametrize("workers", [1, 2])
def test_an_event_only_the_draft_refuses_is_the_engines_error(workers: int) -> None:
    """A ticket linked to an incident whose policy the draft renamed is refused by the draft's
    engine with the engine's own error, whether the draft runs here or in a forked process."""
    renamed = SlaEngine(protocol(BASE_TEXT.replace("- id: vip-urgent", "- id: vip-urgent-2")))
    records = [
        TWO_NORMAL[0],
        {"ticket": "A", "at": "2026-12-07T14:30:00Z", "event": "incident", "policy": "vip-urgent"},
    ]
    tickets = tickets_of(records)
    with pytest.raises(EventError, match="vip-urgent"):
        run(BASE, renamed, tickets, BASE_NOW, workers=workers)
