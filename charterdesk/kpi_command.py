"""``charterdesk kpi``: a protocol's KPIs and objectives over a log of ticket events.

    charterdesk kpi --protocol PROTOCOL.yaml --from DATE --to DATE EVENTS.jsonl [-o OUT.json]

The format is specs/kpi-format.md; docs/reports.md has every definition and a
worked example. Exit status: 0 on success; 1 for a malformed events line
(``EVENTS.jsonl:LINE: message`` on standard error) or an events file that cannot
be read or an output that cannot be written; 2 for a protocol that does not
validate (each problem printed as ``FILE:LINE:COL: message``) and for a bad
command line. On failure no output file is left behind.

``charterdesk.cli`` calls ``main(argv)`` with the arguments after ``kpi``;
``python -m charterdesk.kpi_command ...`` runs it directly. No Django is started.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date

from charterdesk.command_files import (
    end_process,
    load_protocol_or_say,
    many_small_objects,
    read_all,
    write_atomically,
)
from charterdesk.engine.kpis import KpiEngine
from charterdesk.engine.replay import ReplayError
from charterdesk.protocol.models import Protocol, explain_date
from charterdesk.replay_command import EXIT_BAD_EVENTS, EXIT_BAD_PROTOCOL

PROG = "charterdesk kpi"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="A protocol's KPIs and objectives for a period, over a log of ticket events."
    )
    parser.add_argument("--protocol", required=True, metavar="PROTOCOL.yaml", help="the protocol file")
    parser.add_argument(
        "--from", dest="first", required=True, metavar="DATE", help="the period's first day, YYYY-MM-DD"
    )
    parser.add_argument(
        "--to", dest="last", required=True, metavar="DATE", help="the period's last day, YYYY-MM-DD"
    )
    parser.add_argument("events", metavar="EVENTS.jsonl", help="one JSON event a line; - for standard input")
    parser.add_argument("-o", "--output", metavar="OUT.json", help="write here instead of standard output")
    return parser


def _date(option: str, text: str) -> date | str:
    """The date, or what is wrong with it."""
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return f"{PROG}: {option}: {explain_date(text)}"


def main(argv: list[str] | None = None, *, process: bool = False) -> int:
    """The command; ``process``: it is this process's whole program, which then ends as soon as its
    output is written (``end_process``)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse has printed the usage and the problem
        return int(exit.code or 0)
    first, last = _date("--from", args.first), _date("--to", args.last)
    for problem in (first, last):
        if isinstance(problem, str):
            print(problem, file=sys.stderr)
            return EXIT_BAD_PROTOCOL
    assert isinstance(first, date) and isinstance(last, date)
    if last < first:
        print(f"{PROG}: --to {last} is before --from {first}", file=sys.stderr)
        return EXIT_BAD_PROTOCOL

    protocol = load_protocol_or_say(args.protocol, "no KPIs were computed")
    if protocol is None:
        return EXIT_BAD_PROTOCOL
    with many_small_objects():  # as for the replay
        return _compute(args, protocol, first, last, process)


def _compute(args: argparse.Namespace, protocol: Protocol, first: date, last: date, process: bool) -> int:
    name = "<stdin>" if args.events == "-" else args.events
    try:
        data = read_all(args.events)
    except OSError as error:
        print(f"{name}: cannot read: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_EVENTS
    engine = KpiEngine(protocol)
    try:
        found = engine.read(data.split(b"\n"), name, stripped=True)
    except ReplayError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_EVENTS
    del data
    report = engine.compute(
        found.histories.values(), engine.period(first, last), kpis=engine.reported(command_line=True)
    )
    text = json.dumps(report.as_json()) + "\n"
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            write_atomically(args.output, [text])
        except OSError as error:
            print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
            return EXIT_BAD_EVENTS
    if process:
        end_process(0)  # while every history is still held: see replay_command
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], process=True))
