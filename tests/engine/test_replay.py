"""``charterdesk sla replay`` end to end, through ``charterdesk.replay_command.main``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.replay_command import main

EXAMPLE = str(EXAMPLE_PROTOCOL)

LINES = [
    {"ticket": "T1", "at": "2026-12-04T22:30:00Z", "event": "created", "priority": "normal",
     "channel": "email", "tags": []},
    {"ticket": "T2", "at": "2026-12-05T07:00:00Z", "event": "created", "priority": "urgent", "channel": "web",
     "tags": ["vip"]},
    {"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "reply", "author": "agent"},
    {"ticket": "T2", "at": "2026-12-05T07:20:00Z", "event": "reply", "author": "agent", "public": False},
    {"ticket": "T1", "at": "2026-12-07T16:00:00Z", "event": "status", "status": "pending"},
    {"ticket": "T1", "at": "2026-12-08T16:00:00+00:00", "event": "reply", "author": "customer"},
    {"ticket": "T1", "at": "2026-12-08T12:00:00-05:00", "event": "status", "status": "solved"},
]  # fmt: skip


def write_events(folder: Path, records: list[dict] | list[str], name: str = "events.jsonl") -> Path:
    path = folder / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8"
    )
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_replays_to_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each ticket is one JSON line, in order of first appearance, with every time in UTC."""
    events = write_events(tmp_path, LINES)
    code, out, err = run(["--protocol", EXAMPLE, str(events)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert [json.loads(line)["ticket"] for line in lines] == ["T1", "T2"]
    assert json.loads(lines[0]) == {
        "ticket": "T1",
        "policy": "standard",
        "status": "solved",
        "metrics": {
            # Friday 17:30 New York + 8 h: 0.5 h Friday, 4 h Saturday, 3.5 h Monday -> Monday 11:30.
            "first_response": [
                {
                    "target": "8h",
                    "start": "2026-12-04T22:30:00Z",
                    "due": "2026-12-07T16:30:00Z",
                    "fulfilled": "2026-12-07T15:00:00Z",
                    "breached": False,
                }
            ],
            # The customer's answer on Tuesday 11:00 starts next_response; the solve at 12:00 meets it.
            "next_response": [
                {
                    "target": "8h",
                    "start": "2026-12-08T16:00:00Z",
                    "due": "2026-12-09T14:00:00Z",
                    "fulfilled": "2026-12-08T17:00:00Z",
                    "breached": False,
                }
            ],
            "periodic_update": [],
            # 7.5 h counted before pending (0.5 + 4 + 3), 1 h after: 31.5 h to go from Tuesday
            # 12:00 -> 6 h Tuesday, 10 h Wednesday, 10 h Thursday, 5.5 h Friday -> Friday 13:30.
            "resolution": [
                {
                    "target": "40h",
                    "start": "2026-12-04T22:30:00Z",
                    "due": "2026-12-11T18:30:00Z",
                    "fulfilled": "2026-12-08T17:00:00Z",
                    "breached": False,
                }
            ],
        },
        "escalations": [],
    }
    t2 = json.loads(lines[1])
    assert t2["policy"] == "vip-urgent" and t2["status"] == "new"
    assert [(e["rule"], e["metric"], e["at"]) for e in t2["escalations"]][:2] == [
        ("warn-assignee", "first_response", "2026-12-05T07:15:00Z"),
        ("lead-on-breach", "first_response", "2026-12-05T07:30:00Z"),
    ]
    assert list(t2) == ["ticket", "policy", "status", "metrics", "escalations"]
    assert list(t2["metrics"]) == ["first_response", "next_response", "periodic_update", "resolution"]


def test_output_is_the_same_text_json_dumps_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every line sla replay prints is exactly what json.dumps gives for it, so tools can compare outputs byte
    for byte."""
    events = write_events(tmp_path, LINES)
    _, out, _ = run(["--protocol", EXAMPLE, str(events)], capsys)
    for line in out.splitlines():
        assert line == json.dumps(json.loads(line))


def test_reads_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """sla replay reading '-' (standard input) prints the same as reading the file."""
    events = write_events(tmp_path, LINES)
    _, expected, _ = run(["--protocol", EXAMPLE, str(events)], capsys)
    stdin = io.TextIOWrapper(io.BytesIO(events.read_bytes()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, err = run(["--protocol", EXAMPLE, "-"], capsys)
    assert code == 0, err
    assert out == expected


def test_writes_the_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With -o, sla replay prints nothing and writes one line per ticket (T1, T2) to that file, and leaves no
    other file behind."""
    events = write_events(tmp_path, LINES)
    out_file = tmp_path / "out.jsonl"
    code, out, err = run(["--protocol", EXAMPLE, str(events), "-o", str(out_file)], capsys)
    assert code == 0 and out == "" and err == ""
    assert [json.loads(line)["ticket"] for line in out_file.read_text().splitlines()] == ["T1", "T2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "out.jsonl"]


def test_now_defaults_to_the_latest_event_and_can_be_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Judged on Saturday 02:10 (before its 02:15 warning), T2 has no escalation yet; by default
    (the latest event, Tuesday) it has breached."""
    events = write_events(tmp_path, LINES)
    _, out, _ = run(["--protocol", EXAMPLE, str(events)], capsys)
    assert json.loads(out.splitlines()[1])["metrics"]["first_response"][0]["breached"] is True
    _, out, _ = run(["--protocol", EXAMPLE, "--now", "2026-12-05T02:10:00-05:00", str(events)], capsys)
    t1, t2 = (json.loads(line) for line in out.splitlines())
    assert t2["escalations"] == []
    assert t2["metrics"]["first_response"][0] == {
        "target": "30m",
        "start": "2026-12-05T07:00:00Z",
        "due": "2026-12-05T07:30:00Z",
        "fulfilled": None,
        "breached": False,
    }
    # T1's later events have not happened at that --now: still new, first response open.
    assert t1["status"] == "new" and t1["metrics"]["first_response"][0]["fulfilled"] is None


def test_blank_lines_are_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Empty and blank lines in the events file are skipped, not refused."""
    events = write_events(tmp_path, [json.dumps(LINES[0]), "", "   "])
    code, out, err = run(["--protocol", EXAMPLE, str(events)], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 1


CREATED = '{"ticket": "T1", "at": "2026-12-07T14:00:00Z", "event": "created", "priority": "normal", "channel": "email", "tags": []}'  # noqa: E501


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json",
         "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("[1, 2]", "a line must be a JSON object with ticket, at and event"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "wave"}',
         'unknown event "wave"; use created, reply, status, priority, tags, group, incident'),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "incident"}',
         "incident: missing field 'policy'"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "incident", "policy": "p1"}',
         'incident: "p1" is not a policy of the protocol; use vip-urgent, chat, standard or null'),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "incident", "policy": 7}',
         "incident: 'policy' must be a string, not 7"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z"}', "missing field 'event'"),
        ('{"at": "2026-12-07T15:00:00Z", "event": "reply", "author": "agent"}', "missing field 'ticket'"),
        ('{"ticket": "T1", "event": "reply", "author": "agent"}', "missing field 'at'"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "reply"}', "reply: missing field 'author'"),
        ('{"ticket": "T1", "at": "2026-12-07 15:00", "event": "reply", "author": "agent"}',
         "'2026-12-07 15:00' has no offset; add Z for UTC or an offset such as +01:00"),
        ('{"ticket": "T1", "at": "yesterday", "event": "reply", "author": "agent"}',
         "'yesterday' is not an ISO 8601 time such as 2026-12-04T21:30:00Z"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "status", "status": "done"}',
         '"done" is not a status; use new, open, pending, on_hold, solved or closed'),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "priority", "priority": "asap"}',
         '"asap" is not a priority; use low, normal, high or urgent'),
        ('{"ticket": "T9", "at": "2026-12-07T15:00:00Z", "event": "reply", "author": "agent"}',
         "event for unknown ticket 'T9': its first event must be 'created'"),
        ('{"ticket": "T1", "at": "2026-12-07T13:00:00Z", "event": "reply", "author": "agent"}',
         "out of time order: 2026-12-07T13:00:00Z is before ticket 'T1''s previous event at "
         "2026-12-07T14:00:00Z"),
        (CREATED, "ticket 'T1' is already created"),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "reply", "author": "bot"}',
         'reply: author "bot" must be agent or customer'),
        ('{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "priority", "priority": null}',
         "priority: 'priority' must not be null"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_refused_with_its_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    """Exit 1, ``FILE:LINE: message`` on standard error, and nothing on standard output."""
    events = write_events(tmp_path, [CREATED, bad])
    code, out, err = run(["--protocol", EXAMPLE, str(events)], capsys)
    assert code == 1
    assert out == ""
    assert err == f"{events}:2: {message}\n"


def test_an_incident_line_links_and_unlinks_a_ticket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Linked at 15:00 to an incident under vip-urgent, the ticket's clocks run round the clock on
    that policy's targets (first response 30 min from 14:00: 14:30, breached); unlinked at 16:00,
    the standard policy is back (8 h in office hours from Monday 09:00 New York: 17:00)."""
    linked = '{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "incident", "policy": "vip-urgent"}'
    unlinked = '{"ticket": "T1", "at": "2026-12-07T16:00:00Z", "event": "incident", "policy": null}'
    events = write_events(tmp_path, [CREATED, linked, unlinked])
    seen = []
    for now in ("2026-12-07T15:30:00Z", "2026-12-07T16:30:00Z"):
        code, out, err = run(["--protocol", EXAMPLE, "--now", now, str(events)], capsys)
        assert code == 0, err
        ticket = json.loads(out)
        seen.append(
            (ticket["policy"], [(c["due"], c["breached"]) for c in ticket["metrics"]["first_response"]])
        )
    assert seen == [
        ("vip-urgent", [("2026-12-07T14:30:00Z", True)]),
        ("standard", [("2026-12-07T22:00:00Z", False)]),
    ]


def test_an_event_after_closed_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reply after a ticket was closed is refused at its line: 'ticket 'T1' is closed; a closed ticket takes
    no further events', exit code 1."""
    closed = '{"ticket": "T1", "at": "2026-12-07T15:00:00Z", "event": "status", "status": "closed"}'
    late = '{"ticket": "T1", "at": "2026-12-07T16:00:00Z", "event": "reply", "author": "customer"}'
    events = write_events(tmp_path, [CREATED, closed, late])
    code, _, err = run(["--protocol", EXAMPLE, str(events)], capsys)
    assert code == 1
    assert err == f"{events}:3: ticket 'T1' is closed; a closed ticket takes no further events\n"


def test_no_partial_output_file_is_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line near the end leaves no output file and no temporary file; an existing one is kept."""
    good = [json.dumps(r) for r in LINES]
    events = write_events(tmp_path, [*good, "oops"])
    out_file = tmp_path / "out.jsonl"
    code, _, err = run(["--protocol", EXAMPLE, str(events), "-o", str(out_file)], capsys)
    assert code == 1 and err.startswith(f"{events}:8: not JSON")
    assert not out_file.exists()
    out_file.write_text("previous results\n")
    code, _, _ = run(["--protocol", EXAMPLE, str(events), "-o", str(out_file)], capsys)
    assert code == 1
    assert out_file.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "out.jsonl"]


def test_an_invalid_protocol_is_refused_with_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A protocol with 'first_response: 30 minutes' stops the replay with exit code 2, naming FILE:LINE:COL
    and the bad value, and writes no output file."""
    text = (
        Path(EXAMPLE).read_text(encoding="utf-8").replace("first_response: 30m", "first_response: 30 minutes")
    )
    protocol = tmp_path / "bad.protocol.yaml"
    protocol.write_text(text, encoding="utf-8")
    events = write_events(tmp_path, LINES)
    out_file = tmp_path / "out.jsonl"
    code, out, err = run(["--protocol", str(protocol), str(events), "-o", str(out_file)], capsys)
    assert code == 2
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith(f"{protocol}:") and "30 minutes" in first
    line, column = first.split(":")[1:3]
    assert line.isdigit() and column.isdigit()
    assert not out_file.exists()


def test_a_missing_events_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An events file that does not exist exits 1 with 'FILE: cannot read' and prints nothing."""
    code, out, err = run(["--protocol", EXAMPLE, str(tmp_path / "nope.jsonl")], capsys)
    assert code == 1 and out == ""
    assert err.startswith(f"{tmp_path / 'nope.jsonl'}: cannot read")


def test_a_bad_now_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--now tomorrow is refused (exit 2) with a message naming --now."""
    events = write_events(tmp_path, LINES)
    code, out, err = run(["--protocol", EXAMPLE, "--now", "tomorrow", str(events)], capsys)
    assert code == 2 and out == ""
    assert "--now" in err


def test_an_empty_file_gives_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty events file gives exit 0 and no output at all."""
    events = write_events(tmp_path, [])
    assert run(["--protocol", EXAMPLE, str(events)], capsys) == (0, "", "")


# --------------------------------------------------------------------------- the typed fast path

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from charterdesk.engine import replay as replay_module  # noqa: E402
from charterdesk.engine.replay import ReplayError, read_events  # noqa: E402

_TIMES = st.sampled_from(
    ["2026-12-04T22:30:00Z", "2026-12-05T07:00:00Z", "2026-12-06T10:00:00Z", "2026-12-07T09:15:30Z"]
)
_NAMES = st.sampled_from(["email", "web", "vip", "frontline", "escalations", "é-ü", 'q"uote', "standard"])
_ODD = st.one_of(st.none(), st.integers(-5, 5), st.booleans(), st.sampled_from(["", "x", "agent", "solved"]))
_OPTIONAL = {"tags", "group", "by", "public", "add", "remove"}


def _record(kind, ticket):
    """A line of ``kind`` the format takes, its optional fields present or not."""
    fields = {
        "created": {
            "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
            "channel": _NAMES,
            "tags": st.lists(_NAMES, max_size=3),
            "group": st.one_of(st.none(), _NAMES),
            "by": st.sampled_from(["customer", "agent"]),
        },
        "reply": {"author": st.sampled_from(["agent", "customer"]), "public": st.booleans()},
        "status": {"status": st.sampled_from(["new", "open", "pending", "on_hold", "solved", "closed"])},
        "priority": {"priority": st.sampled_from(["low", "normal", "high", "urgent"])},
        "tags": {"add": st.lists(_NAMES, max_size=2), "remove": st.lists(_NAMES, max_size=2)},
        "group": {"group": st.one_of(st.none(), _NAMES)},
        "incident": {
            "policy": st.one_of(st.none(), st.sampled_from(["standard", "vip", "outage", "nonesuch"]))
        },
    }[kind]
    required = {name: value for name, value in fields.items() if name not in _OPTIONAL}
    optional = {name: value for name, value in fields.items() if name in _OPTIONAL}
    return st.fixed_dictionaries(
        {"ticket": st.just(ticket), "at": _TIMES, "event": st.just(kind), **required},
        optional={**optional, "note": st.just("an extra key, ignored")},
    )


@st.composite
def _damaged(draw, record):
    """The record, or (now and then) with one field dropped or given an odd value."""
    choice = draw(st.integers(0, 9))
    if choice >= 2 or not record:
        return record
    name = draw(st.sampled_from(sorted(record)))
    if choice == 0:
        return {key: value for key, value in record.items() if key != name}
    return {**record, name: draw(_ODD)}


@st.composite
def _histories(draw):
    """A few tickets' lines, each ticket created first, in time order; some lines damaged, and now
    and then a line of an event this format does not have."""
    lines = []
    for ticket in draw(st.lists(st.sampled_from(["T1", "T2", "T3"]), min_size=1, max_size=3, unique=True)):
        kinds = [
            "created",
            *draw(
                st.lists(
                    st.sampled_from(["reply", "reply", "status", "priority", "tags", "group", "incident"]),
                    max_size=5,
                )
            ),
        ]
        for kind in kinds:
            lines.append(draw(_damaged(draw(_record(kind, ticket)))))
    if draw(st.booleans()) and draw(st.booleans()):
        lines.insert(
            draw(st.integers(0, len(lines))),
            {"ticket": "T1", "at": "2026-12-04T22:30:00Z", "event": "survey"},
        )
    times = sorted(
        line["at"] for line in lines if isinstance(line.get("at"), str) and line["at"].endswith("Z")
    )
    for line, at in zip(
        (line for line in lines if isinstance(line.get("at"), str) and line["at"].endswith("Z")),
        times,
        strict=True,
    ):
        line["at"] = at
    return lines


def _read_either_way(lines: list[bytes], typed: bool):
    if not typed:

        def refuse(line):
            raise replay_module.NotALine("the long way")

        original = replay_module.decode_line
        replay_module.decode_line = refuse
    try:
        found = read_events(lines, "events.jsonl", policies=("standard", "vip", "outage"), stripped=True)
        return "ok", found.tickets, found.latest, found.firsts
    except ReplayError as error:
        return "error", str(error)
    finally:
        if not typed:
            replay_module.decode_line = original


@settings(max_examples=300, deadline=None)
@given(_histories())
def test_typed_lines_give_what_the_long_way_gives(records):
    """Lines decoded by the typed fast path (engine/event_lines.py) give the same events, the same
    latest time and the same first bad line and message as the same lines read the long way (every
    field checked in Python): the typed types may refuse more, never accept more or read otherwise."""
    lines = [json.dumps(record).encode() for record in records]
    fast = _read_either_way(lines, typed=True)
    slow = _read_either_way(lines, typed=False)
    assert fast == slow


def test_the_command_as_a_process_writes_every_line_to_standard_output(tmp_path: Path) -> None:
    """Run as its own process, the command ends as soon as its output is written (it does not free
    its objects one by one): standard output still gets every line, flushed, and the exit status."""
    import subprocess

    events = write_events(tmp_path, LINES)
    done = subprocess.run(
        [sys.executable, "-m", "charterdesk", "sla", "replay", "--protocol", EXAMPLE, str(events)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The same lines as the command run in-process (to a file, so pytest's capture is not involved).
    out = tmp_path / "in-process.jsonl"
    assert main(["--protocol", EXAMPLE, str(events), "-o", str(out)]) == 0
    assert done.stdout == out.read_text(encoding="utf-8")
    assert [json.loads(line)["ticket"] for line in done.stdout.splitlines()] == ["T1", "T2"]
