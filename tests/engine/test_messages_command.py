"""`charterdesk messages check`: files in, one JSON line per message out, bad lines refused whole."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from charterdesk.messages_command import main

from .test_messages import PROTOCOL

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml")
EXAMPLE_IN = REPO / "docs" / "examples" / "messages.jsonl"
EXAMPLE_OUT = REPO / "docs" / "examples" / "messages.out.jsonl"

SPEC_LINE = {
    "id": "m1",
    "kind": "reply",
    "text": "Hi Maria, the card 4242 4242 4242 4242 was charged. Calm down.",
    "customer_name": "Maria Lopez",
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), "utf-8")
    return path


def parsed(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def without_details(records: list[dict[str, object]]) -> list[dict[str, object]]:
    for record in records:
        etiquette = record["etiquette"]
        if isinstance(etiquette, dict):
            for problem in etiquette["problems"]:
                problem.pop("detail")
    return records


@pytest.fixture
def protocol(tmp_path: Path) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL, "utf-8")
    return str(path)


def test_the_spec_example(tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The spec's example line gives the spec's output: closing and banned phrase, the card masked."""
    code, out, err = run(
        ["check", "--protocol", protocol, str(write(tmp_path / "m.jsonl", SPEC_LINE))], capsys
    )
    assert (code, err) == (0, "")
    assert without_details(parsed(out)) == [
        {
            "id": "m1",
            "etiquette": {
                "passed": False,
                "problems": [{"check": "closing"}, {"check": "banned_phrase", "phrase": "calm down"}],
            },
            "contingencies": [],
            "redacted": "Hi Maria, the card [card ending 4242] was charged. Calm down.",
            "findings": [{"detector": "payment_card", "start": 19, "end": 38}],
        }
    ]


def test_the_worked_example_in_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/message-checks.md's example, on the demo protocol, gives the output the docs show."""
    code, out, err = run(["check", "--protocol", DEMO, str(EXAMPLE_IN)], capsys)
    assert (code, err) == (0, "")
    assert parsed(out) == parsed(EXAMPLE_OUT.read_text("utf-8"))


def test_output_is_in_input_order_with_blank_lines_skipped_and_unknown_keys_ignored(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Blank lines are skipped, extra keys ignored, and every message answered in file order."""
    messages = write(
        tmp_path / "m.jsonl",
        {"id": "b", "kind": "customer", "text": "my lawyer", "ticket": 41},
        "",
        "   ",
        {"id": "a", "kind": "customer", "text": "fine"},
    )
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, err) == (0, "")
    assert [(r["id"], r["contingencies"]) for r in parsed(out)] == [("b", ["aggressive-customer"]), ("a", [])]


def test_reads_standard_input(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-` reads the messages from standard input."""
    data = (json.dumps(SPEC_LINE) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(["check", "--protocol", protocol, "-"], capsys)
    assert (code, err) == (0, "")
    assert parsed(out)[0]["redacted"] == "Hi Maria, the card [card ending 4242] was charged. Calm down."


def test_writes_the_output_file(tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]) -> None:
    """With -o the lines go to the file, UTF-8, and nothing to standard output."""
    messages = write(tmp_path / "m.jsonl", {"id": "é", "kind": "customer", "text": "Zoë: 4242424242424242"})
    target = tmp_path / "out.jsonl"
    assert run(["check", "--protocol", protocol, str(messages), "-o", str(target)], capsys) == (0, "", "")
    text = target.read_text("utf-8")
    assert "Zoë: [card ending 4242]" in text  # written as UTF-8, not as \u escapes
    assert parsed(text)[0]["findings"] == [{"detector": "payment_card", "start": 5, "end": 21}]


def test_a_lone_surrogate_survives_as_an_escape(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lone surrogate in the input (a broken emoji) comes back as the same escape, not a crash."""
    messages = tmp_path / "m.jsonl"
    messages.write_text('{"id": "x", "kind": "customer", "text": "\\ud83d 4242424242424242"}\n', "utf-8")
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, err) == (0, "")
    assert parsed(out)[0]["redacted"] == "\ud83d [card ending 4242]"
    assert parsed(out)[0]["findings"] == [{"detector": "payment_card", "start": 2, "end": 18}]


def test_one_message_is_one_line_whatever_its_line_separators(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unicode line and paragraph separators in a message are escaped, so every reader sees one
    line per message (str.splitlines too)."""
    text = "a\u2028b\u2029c\x85d\re"
    messages = write(tmp_path / "m.jsonl", {"id": "x", "kind": "customer", "text": text})
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 1
    assert json.loads(out)["redacted"] == text


def test_an_empty_file_gives_no_output(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No messages, no output, success."""
    assert run(["check", "--protocol", protocol, str(write(tmp_path / "m.jsonl"))], capsys) == (0, "", "")


GOOD = json.dumps({"id": "ok", "kind": "customer", "text": "hello"})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "{not json",
            "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ('["id", "kind"]', "a line must be a JSON object with id, kind and text"),
        ('{"kind": "reply", "text": "x"}', "missing field 'id'"),
        ('{"id": 7, "kind": "reply", "text": "x"}', "'id' must be a string, not 7"),
        ('{"id": null, "kind": "reply", "text": "x"}', "'id' must be a string, not null"),
        ('{"id": "m", "text": "x"}', "missing field 'kind'"),
        ('{"id": "m", "kind": "note", "text": "x"}', 'unknown kind "note"; use reply or customer'),
        ('{"id": "m", "kind": "reply"}', "missing field 'text'"),
        ('{"id": "m", "kind": "reply", "text": ["x"]}', "'text' must be a string, not [\"x\"]"),
        (
            '{"id": "m", "kind": "reply", "text": "x", "customer_name": 3}',
            "'customer_name' must be a string or null, not 3",
        ),
        (
            '{"id": "m", "kind": "reply", "text": "x", "last_customer_message": {}}',
            "'last_customer_message' must be a string or null, not {}",
        ),
        ('{"id": "ok", "kind": "reply", "text": "again"}', 'duplicate id "ok" (first on line 1)'),
    ],
)
def test_a_malformed_line_is_refused_with_its_line_number(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    """A malformed line: exit 1, FILE:LINE: message, and no output at all (not even the good lines)."""
    messages = write(tmp_path / "m.jsonl", GOOD, "", bad, GOOD.replace('"ok"', '"later"'))
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, out, err) == (1, "", f"{messages}:3: {message}\n")


def test_bytes_that_are_not_utf8_and_a_byte_order_mark_are_refused(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file is UTF-8 without a byte-order mark; either slip is named with its line."""
    messages = tmp_path / "m.jsonl"
    messages.write_bytes(GOOD.encode() + b'\n{"id": "m", "kind": "reply", "text": "caf\xe9"}\n')
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, out, err) == (
        1,
        "",
        f"{messages}:2: not UTF-8 text (invalid continuation byte at byte 42)\n",
    )
    messages.write_bytes(b"\xef\xbb\xbf" + GOOD.encode() + b"\n")
    code, out, err = run(["check", "--protocol", protocol, str(messages)], capsys)
    assert (code, out) == (1, "")
    assert err.startswith(f"{messages}:1: not JSON: Unexpected UTF-8 BOM")


def test_no_partial_output_file_is_left(
    tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad line leaves an existing output file as it was and no temporary file behind."""
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n", "utf-8")
    messages = write(tmp_path / "m.jsonl", GOOD, "{oops")
    code, _, _ = run(["check", "--protocol", protocol, str(messages), "-o", str(target)], capsys)
    assert code == 1
    assert target.read_text("utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl", "out.jsonl", "p.yaml"]


def test_an_invalid_protocol_is_refused_with_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A protocol that does not validate: exit 2, each problem as FILE:LINE:COL, nothing checked."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROTOCOL.replace('banned_phrases: ["calm down"', 'banned_phrases: [" "'), "utf-8")
    messages = write(tmp_path / "m.jsonl", GOOD)
    code, out, err = run(["check", "--protocol", str(bad), str(messages)], capsys)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{bad}:21:20: etiquette.banned_phrases[0]: a blank phrase would be found in nearly every message; "
        "write the words to look for",
        f"{bad}: the protocol does not validate; no message was checked",
    ]


def test_a_missing_messages_file(tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable messages file: exit 1 with the reason."""
    code, out, err = run(["check", "--protocol", protocol, str(tmp_path / "nope.jsonl")], capsys)
    assert (code, out, err) == (1, "", f"{tmp_path / 'nope.jsonl'}: cannot read: No such file or directory\n")


def test_a_bad_command_line(protocol: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No action, or no --protocol: exit 2 with the usage."""
    code, _, err = run([], capsys)
    assert code == 2 and "usage: charterdesk messages" in err
    code, _, err = run(["check", "m.jsonl"], capsys)
    assert code == 2 and "--protocol" in err


def test_the_charterdesk_command_runs_it_without_django(tmp_path: Path, protocol: str) -> None:
    """`charterdesk messages check` goes through cli.py and never imports Django."""
    messages = write(tmp_path / "m.jsonl", SPEC_LINE)
    script = (
        "import sys\n"
        "from charterdesk.cli import main\n"
        f"code = main(['messages', 'check', '--protocol', {protocol!r}, {str(messages)!r}])\n"
        "assert not any(name == 'django' or name.startswith('django.') for name in sys.modules)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert parsed(done.stdout)[0]["findings"] == [{"detector": "payment_card", "start": 19, "end": 38}]
