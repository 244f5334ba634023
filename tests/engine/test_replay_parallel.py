"""``charterdesk sla replay`` on several processes gives the same bytes as on one.

The parallel path (``charterdesk.engine.replay.replay_data``) is forced with
``CHARTERDESK_REPLAY_WORKERS``; the input is a generated log of about 60,000
events (``bench/gen_events.py``), large enough for every worker to hold many
tickets, events of one ticket far apart, and escalations.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

from charterdesk.demo import EXAMPLE_PROTOCOL
from charterdesk.engine.replay import ReplayError, replay_data
from charterdesk.engine.sla import SlaEngine
from charterdesk.protocol.load import load_protocol_file
from charterdesk.replay_command import main

EXAMPLE = str(EXAMPLE_PROTOCOL)
ROOT = Path(__file__).resolve().parents[2]
WORKERS = "CHARTERDESK_REPLAY_WORKERS"


def _generated_lines() -> list[str]:
    spec = importlib.util.spec_from_file_location("gen_events", ROOT / "bench/gen_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(60_000, 11)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return _generated_lines()


@pytest.fixture(scope="module")
def engine() -> SlaEngine:
    loaded = load_protocol_file(EXAMPLE)
    assert loaded.protocol is not None
    return SlaEngine(loaded.protocol)


@pytest.fixture(scope="module")
def serial_output(lines: list[str], engine: SlaEngine) -> list[str]:
    return replay_data(engine, ("\n".join(lines) + "\n").encode(), "<test>", workers=1)


def write(folder: Path, lines: list[str], name: str = "events.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay_file(path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--protocol", EXAMPLE, str(path), "-o", str(out)])
    return code, capsys.readouterr().err


def test_the_command_gives_the_same_bytes_on_one_and_on_two_processes(
    tmp_path: Path, lines: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over 60,000 events of more than 10,000 tickets, sla replay on two processes writes the very same bytes
    as on one, one line per ticket, escalations included."""
    assert len(lines) >= 60_000
    events = write(tmp_path, lines)
    outputs = {}
    for workers in ("1", "2"):
        monkeypatch.setenv(WORKERS, workers)
        out = tmp_path / f"out-{workers}.jsonl"
        assert replay_file(events, out, capsys) == (0, "")
        outputs[workers] = out.read_bytes()
    assert outputs["1"] == outputs["2"]
    tickets = {json.loads(line)["ticket"] for line in lines}
    assert outputs["2"].count(b"\n") == len(tickets) > 10_000
    assert b'"escalations": [{' in outputs["2"]  # rules fired: the timeline ran, not just reading


def test_three_workers_and_a_given_now(lines: list[str], engine: SlaEngine, serial_output: list[str]) -> None:
    """Three workers give the serial output; with a given now in the middle of the log, two workers give
    what one does."""
    data = ("\n".join(lines) + "\n").encode()
    assert replay_data(engine, data, "<test>", workers=3) == serial_output
    now = 1_790_000_000  # in the middle of the log: later events are checked but not applied
    assert replay_data(engine, data, "<test>", now, workers=2) == replay_data(
        engine, data, "<test>", now, workers=1
    )


def test_standard_input_on_two_processes(
    tmp_path: Path,
    lines: list[str],
    serial_output: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading standard input on two processes prints what the serial replay prints."""
    monkeypatch.setenv(WORKERS, "2")
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    assert main(["--protocol", EXAMPLE, "-"]) == 0
    assert capsys.readouterr().out == "".join(serial_output)


def test_a_malformed_line_deep_in_the_file_is_reported_by_its_number(
    tmp_path: Path, lines: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1, ``FILE:LINE: message`` for the first bad line in file order, no output file."""
    monkeypatch.setenv(WORKERS, "2")
    broken = list(lines)
    # Line 52,001: not JSON. Line 47,001: an event for a ticket never created (found only by
    # following that ticket's events, in whichever worker holds it), earlier in the file.
    broken[52_000] = broken[52_000][:-1]
    broken[47_000] = (
        '{"ticket": "T-never", "at": "2026-12-07T15:00:00Z", "event": "reply", "author": "agent"}'
    )
    events = write(tmp_path, broken)
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    code, err = replay_file(events, out, capsys)
    assert code == 1
    assert err == (f"{events}:47001: event for unknown ticket 'T-never': its first event must be 'created'\n")
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "out.jsonl"]

    broken[47_000] = lines[47_000]
    events = write(tmp_path, broken)
    code, err = replay_file(events, out, capsys)
    assert code == 1
    assert err.startswith(f"{events}:52001: not JSON: ")
    monkeypatch.setenv(WORKERS, "1")
    assert replay_file(events, out, capsys) == (code, err)


def test_an_out_of_order_event_of_a_ticket_is_found_across_the_file(
    lines: list[str], engine: SlaEngine
) -> None:
    """The error needs the ticket's earlier events, read by the same worker."""
    records = [json.loads(line) for line in lines]
    late = max(range(40_000, len(records)), key=lambda i: records[i]["event"] == "reply")
    ticket = records[late]["ticket"]
    earlier = next(i for i in range(late) if records[i]["ticket"] == ticket)
    bad = dict(records[late], at="2026-01-01T00:00:00Z")
    broken = [*lines[:late], json.dumps(bad), *lines[late + 1 :]]
    data = ("\n".join(broken) + "\n").encode()
    with pytest.raises(ReplayError) as parallel:
        replay_data(engine, data, "<test>", workers=2)
    with pytest.raises(ReplayError) as serial:
        replay_data(engine, data, "<test>", workers=1)
    assert str(parallel.value) == str(serial.value)
    assert parallel.value.line == late + 1 > earlier + 1
    assert "out of time order" in parallel.value.message


def test_ticket_ids_spelt_unusually_still_give_the_same_output(
    lines: list[str], engine: SlaEngine, serial_output: list[str]
) -> None:
    """Ids with escapes or keys in another order cannot be routed without parsing: the result
    must not change (the replay notices and falls back to one process)."""
    records = [json.loads(line) for line in lines]
    first = records[0]["ticket"]
    respelt = []
    for record in records:
        if record["ticket"] == first:
            text = json.dumps(record).replace(
                f'"{first}"', '"' + "".join(f"\\u{ord(c):04x}" for c in first) + '"'
            )
        else:
            text = json.dumps(dict(reversed(list(record.items()))))
        respelt.append(text)
    data = ("\n".join(respelt) + "\n").encode()
    assert replay_data(engine, data, "<test>", workers=2) == serial_output
