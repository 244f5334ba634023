"""``charterdesk messages check``: a protocol's message checks over a file of messages.

    charterdesk messages check --protocol PROTOCOL.yaml MESSAGES.jsonl [-o OUT.jsonl]

The format is specs/message-checks.md; docs/message-checks.md has a worked example.
Exit status: 0 on success; 1 for a malformed line (``MESSAGES.jsonl:LINE: message``
on standard error), a file that cannot be read or an output that cannot be
written; 2 for a protocol that does not validate (each problem printed as
``FILE:LINE:COL: message``) and for a bad command line. Every line is read and
checked before anything is written, and ``-o`` is written to a temporary file
renamed into place at the end, so a failure leaves no partial output.

``charterdesk.cli`` calls ``main(argv)`` with the arguments after ``messages``;
``python -m charterdesk.messages_command check ...`` runs it directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from charterdesk.command_files import load_protocol_or_say, read_all, write_atomically, write_lines
from charterdesk.engine.messages import CustomerMessageCheck, MessageChecks, ReplyCheck

EXIT_BAD_MESSAGES = 1
EXIT_BAD_PROTOCOL = 2
KINDS = ("reply", "customer")


@dataclass(frozen=True, slots=True)
class Message:
    """One input line, checked for shape."""

    id: str
    kind: str
    text: str
    customer_name: str | None = None
    last_customer_message: str | None = None


class MessagesError(Exception):
    """A malformed line: ``str()`` is ``FILE:LINE: message``."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename, self.line, self.message = filename, line, message


class _Bad(Exception):
    pass


def parse_messages(data: bytes, filename: str) -> list[Message]:
    """Every message of a JSON-lines file, or ``MessagesError`` for the first bad line.

    Blank lines are skipped; keys other than the spec's are ignored."""
    messages: list[Message] = []
    first_line: dict[str, int] = {}
    # Only "\n" ends a line: JSON text may hold U+2028 and other characters that
    # str.splitlines() would also split at.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _Bad(f"not UTF-8 text ({error.reason} at byte {error.start + 1})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                raise _Bad(f"not JSON: {error}") from None
            message = _message(record)
            if message.id in first_line:
                raise _Bad(f"duplicate id {json.dumps(message.id)} (first on line {first_line[message.id]})")
            first_line[message.id] = number
            messages.append(message)
        except _Bad as error:
            raise MessagesError(filename, number, str(error)) from None
    return messages


def _message(record: object) -> Message:
    if not isinstance(record, dict):
        raise _Bad("a line must be a JSON object with id, kind and text")
    message_id = _string(record, "id")
    kind = record.get("kind")
    if kind is None:
        raise _Bad("missing field 'kind'")
    if kind not in KINDS:
        raise _Bad(f"unknown kind {json.dumps(kind)}; use reply or customer")
    text = _string(record, "text")
    return Message(
        message_id,
        kind,
        text,
        _optional_string(record, "customer_name"),
        _optional_string(record, "last_customer_message"),
    )


def _string(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        raise _Bad(f"missing field '{key}'" if key not in record else f"'{key}' must be a string, not null")
    raise _Bad(f"'{key}' must be a string, not {json.dumps(value)}")


def _optional_string(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _Bad(f"'{key}' must be a string or null, not {json.dumps(value)}")


# --------------------------------------------------------------------------- checking


def check_message(checks: MessageChecks, message: Message) -> dict[str, Any]:
    """The output object for one message (specs/message-checks.md, "Output")."""
    if message.kind == "reply":
        reply = checks.check_reply(
            message.text,
            customer_name=message.customer_name,
            last_customer_message=message.last_customer_message,
        )
        return output_record(message.id, reply)
    return output_record(message.id, checks.check_customer_message(message.text))


def output_record(message_id: str, check: ReplyCheck | CustomerMessageCheck) -> dict[str, Any]:
    """An engine result as the command prints it."""
    etiquette: dict[str, Any] | None = None
    contingencies: list[str] = []
    if isinstance(check, ReplyCheck):
        if check.etiquette is not None:
            problems = []
            for problem in check.etiquette.problems:
                item: dict[str, Any] = {"check": problem.check, "detail": problem.detail}
                if problem.check == "banned_phrase":
                    item["phrase"] = problem.phrase
                problems.append(item)
            etiquette = {"passed": check.etiquette.passed, "problems": problems}
    else:
        contingencies = [match.id for match in check.contingencies]
    redaction = check.redaction
    return {
        "id": message_id,
        "etiquette": etiquette,
        "contingencies": contingencies,
        "redacted": redaction.text,
        "findings": [
            {"detector": finding.detector, "start": finding.start, "end": finding.end}
            for finding in redaction.findings
        ],
    }


# Characters that some readers take for the end of a line (str.splitlines, older JavaScript):
# valid raw inside a JSON string, but written as escapes so that one message is one line to all.
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def output_lines(checks: MessageChecks, messages: Iterable[Message]) -> list[bytes]:
    """The output file's lines, UTF-8 encoded."""
    lines = []
    for message in messages:
        record = check_message(checks, message)
        try:
            lines.append(json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS).encode() + b"\n")
        except UnicodeEncodeError:
            # A lone surrogate (written as a \\ud83d escape in the input) has no UTF-8 form;
            # the line is then written with ASCII escapes, which parse to the same text.
            lines.append(json.dumps(record).encode() + b"\n")
    return lines


# --------------------------------------------------------------------------- the command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="charterdesk messages",
        description="Check messages against a protocol's etiquette, contingencies and redaction.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="check")
    check = sub.add_parser(
        "check",
        help="check a file of messages",
        description="Check agent replies and customer messages, one JSON object a line.",
    )
    check.add_argument("--protocol", required=True, metavar="PROTOCOL.yaml", help="the protocol file")
    check.add_argument(
        "messages", metavar="MESSAGES.jsonl", help="one JSON message a line; - for standard input"
    )
    check.add_argument("-o", "--output", metavar="OUT.jsonl", help="write here instead of standard output")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # argparse has printed the usage and the problem
        return int(exit.code or 0)

    protocol = load_protocol_or_say(args.protocol, "no message was checked")
    if protocol is None:
        return EXIT_BAD_PROTOCOL

    name = "<stdin>" if args.messages == "-" else args.messages
    try:
        data = read_all(args.messages)
    except OSError as error:
        print(f"{name}: cannot read: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_MESSAGES
    try:
        messages = parse_messages(data, name)
    except MessagesError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_MESSAGES
    del data
    lines = output_lines(MessageChecks(protocol), messages)
    if args.output is None or args.output == "-":
        sys.stdout.flush()
        write_lines(sys.stdout.buffer, lines)
        sys.stdout.buffer.flush()
        return 0
    try:
        write_atomically(args.output, lines)
    except OSError as error:
        print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_MESSAGES
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
