"""``charterdesk sla replay``: run a protocol's SLA engine over a log of ticket events.

    charterdesk sla replay --protocol PROTOCOL.yaml [--now ISO-8601] EVENTS.jsonl [-o OUT.jsonl]

The format is specs/replay-format.md; docs/sla-replay.md has a worked example.
Exit status: 0 on success; 1 for a malformed events line (``EVENTS.jsonl:LINE:
message`` on standard error) or an events file that cannot be read; 2 for a
protocol that does not validate (each problem printed as ``FILE:LINE:COL:
message``) and for a bad command line. On failure no output file is left
behind: output goes to a temporary file beside ``-o`` that is renamed into
place only when every ticket has been written.

``charterdesk.cli`` calls ``main(argv)`` with the arguments after ``sla replay``;
``python -m charterdesk.replay_command ...`` runs it directly.
"""

from __future__ import annotations

import argparse
import sys

from charterdesk.command_files import (
    end_process,
    load_protocol_or_say,
    many_small_objects,
    read_all,
    write_atomically,
    write_lines,
)
from charterdesk.engine.replay import ReplayError, _Bad, parse_time, replay_data
from charterdesk.engine.sla import SlaEngine
from charterdesk.protocol.models import Protocol

EXIT_BAD_EVENTS = 1
EXIT_BAD_PROTOCOL = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="charterdesk sla replay",
        description="Replay ticket events under a protocol's SLA policies and escalation rules.",
    )
    parser.add_argument("--protocol", required=True, metavar="PROTOCOL.yaml", help="the protocol file")
    parser.add_argument(
        "--now",
        metavar="ISO-8601",
        help="the time at which open cycles are judged (default: the latest 'at' in the events)",
    )
    parser.add_argument("events", metavar="EVENTS.jsonl", help="one JSON event a line; - for standard input")
    parser.add_argument("-o", "--output", metavar="OUT.jsonl", help="write here instead of standard output")
    return parser


def main(argv: list[str] | None = None, *, process: bool = False) -> int:
    """The command; ``process``: it is this process's whole program (the ``charterdesk`` command,
    ``python -m``), which then ends as soon as its output is written (``end_process``)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse has printed the usage and the problem
        return int(exit.code or 0)

    now = None
    if args.now is not None:
        try:
            now = parse_time(args.now)
        except _Bad as error:
            print(f"charterdesk sla replay: --now: {error}", file=sys.stderr)
            return EXIT_BAD_PROTOCOL

    protocol = load_protocol_or_say(args.protocol, "nothing was replayed")
    if protocol is None:
        return EXIT_BAD_PROTOCOL
    with many_small_objects():
        return _replay(args, protocol, now, process)


def _replay(args: argparse.Namespace, protocol: Protocol, now: int | None, process: bool) -> int:
    name = "<stdin>" if args.events == "-" else args.events
    try:
        data = read_all(args.events)
    except OSError as error:
        print(f"{name}: cannot read: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_EVENTS
    engine = SlaEngine(protocol)
    try:
        # Every line is read and checked before anything is written (on several cores for a
        # large file: see replay_data).
        lines = replay_data(engine, data, name, now)
    except ReplayError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_EVENTS
    del data
    if args.output is None or args.output == "-":
        write_lines(sys.stdout, lines)
        sys.stdout.flush()
    else:
        try:
            write_atomically(args.output, lines)
        except OSError as error:
            print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
            return EXIT_BAD_EVENTS
    if process:
        end_process(0)  # while the lines (and each worker's events) are still held
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], process=True))
