"""The `charterdesk` command.

Commands that work on files alone (`protocol validate|render|diff`, `sla replay`)
run without Django, so they start fast and need no database. Everything else is
one of Django's management commands or the desk's own (`serve`, `demo`, `worker`,
`audit verify`, `people add`, `protocol publish`, ...), run with the desk's settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

USAGE = """usage: charterdesk COMMAND [ARGS...]

The protocol file (no database needed):
  protocol validate FILE...                      check protocol files; exit 1 on errors
  protocol render FILE --format md|html|pdf -o OUT   the handbook
  protocol diff OLD NEW                          what changed, clause by clause
  protocol whatif DRAFT --events EVENTS --base CURRENT [--since 90d] [--format json]
                                                 a draft beside the version in force, on past tickets
  messages check --protocol FILE MESSAGES [-o OUT]   etiquette, contingencies, redaction
  sla replay --protocol FILE [--now T] EVENTS [-o OUT]   SLA clocks over a ticket event log
  kpi --protocol FILE --from D --to D EVENTS [-o OUT]    KPIs and objectives for a period

The desk:
  demo [--load-only]                             set up SQLite, load the demo, and serve
  serve [--host H] [--port P]                    the web server
  worker [--once] [--interval S]                 background tasks, SLA deadlines, periodic jobs
  tickets export-events [-o FILE]                ticket events in the replay format
  token create --user EMAIL | list | revoke PREFIX   personal API tokens
  email listen | import PATH | poll              the email channel
  check                                          what production still lacks
  protocol publish FILE --as EMAIL [--effective DATE]   publish a version from the command line
  protocol list                                  the versions in the library
  protocol whatif DRAFT [--since 90d | --from D --to D] [--format json]   a draft on the desk's history
  people add EMAIL --role ROLE [--name NAME]     add a person (the first manager, say)
  audit verify                                   check the audit log's hash chain
  migrate, shell, ...                            any of Django's management commands

Settings come from the environment: DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS, ...
(see docs/operating.md).
"""

PURE_PROTOCOL_COMMANDS = {"validate", "render", "diff"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    # pydantic looks for plugins in every installed package's metadata before the first
    # validation; the desk uses none, and the scan is a large share of `protocol validate`.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if command == "protocol" and rest and rest[0] in PURE_PROTOCOL_COMMANDS:
        return protocol_command(rest)
    if command == "protocol" and rest and rest[0] == "whatif":
        if "--events" in rest or any(arg.startswith("--events=") for arg in rest):
            from charterdesk.whatif_command import main as whatif_main

            return whatif_main(rest[1:])
        return django_command("whatif", rest[1:])
    if command == "messages":
        from charterdesk.messages_command import main as messages_main

        return messages_main(rest)
    if command == "sla":
        if not rest or rest[0] != "replay":
            print("usage: charterdesk sla replay --protocol FILE [--now T] EVENTS [-o OUT]", file=sys.stderr)
            return 2
        from charterdesk.replay_command import main as replay_main

        # argv None: the process's own command line, so the command may end the process itself.
        return replay_main(rest[1:], process=argv is None)
    if command == "kpi":
        from charterdesk.kpi_command import main as kpi_main

        return kpi_main(rest, process=argv is None)
    return django_command(command, rest)


def django_command(command: str, rest: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    from django.core.management import execute_from_command_line

    # Django's own `check` stays reachable as `django-check`; ours adds production advice.
    names = {"check": "desk_check", "django-check": "check"}
    from django.db.utils import OperationalError, ProgrammingError

    try:
        execute_from_command_line(["charterdesk", names.get(command, command), *rest])
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc)
        if "no such table" not in text and not ("relation" in text and "does not exist" in text):
            raise
        # The usual cause: DATABASE_URL names a database the desk was never set up in.
        from django.conf import settings

        name = settings.DATABASES["default"]["NAME"]
        print(
            f"charterdesk {command}: the database {name} has no desk tables yet ({text.splitlines()[0]}); "
            "run `charterdesk migrate` first, or check DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    return 0


# --------------------------------------------------------------------------- protocol files


def protocol_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="charterdesk protocol")
    sub = parser.add_subparsers(dest="action", required=True)
    validate = sub.add_parser("validate", help="check protocol files")
    validate.add_argument("files", nargs="+")
    validate.add_argument("-q", "--quiet", action="store_true", help="print errors only, no warnings")
    render = sub.add_parser("render", help="render the handbook")
    render.add_argument("file")
    render.add_argument("--format", choices=["md", "html", "pdf"], default="html")
    render.add_argument("-o", "--output", required=True, help="output file, or - for standard output")
    diff = sub.add_parser("diff", help="what changed between two versions")
    diff.add_argument("old")
    diff.add_argument("new")
    options = parser.parse_args(args)
    if options.action == "validate":
        return validate_files(options.files, quiet=options.quiet)
    if options.action == "render":
        return render_file(options.file, options.format, options.output)
    return diff_files(options.old, options.new)


def _load(path: str):
    from charterdesk.protocol.load import load_protocol_file

    result = load_protocol_file(path)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    return result.protocol if result.ok else None


def validate_files(paths: list[str], *, quiet: bool = False) -> int:
    from charterdesk.protocol.load import load_protocol_file

    failed = False
    for path in paths:
        result = load_protocol_file(path)
        for problem in result.problems:
            if problem.severity == "error" or not quiet:
                print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
        if result.ok:
            protocol = result.protocol
            print(f"{path}: valid ({protocol.company}, {protocol.title}, version {protocol.version})")
        else:
            failed = True
            print(f"{path}: {len(result.errors)} error(s)", file=sys.stderr)
    return 1 if failed else 0


def render_file(path: str, fmt: str, output: str) -> int:
    protocol = _load(path)
    if protocol is None:
        return 1
    from charterdesk.protocol.render import render

    data = render(protocol, fmt)
    if output == "-":
        sys.stdout.buffer.write(data)
        return 0
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        print(f"{output}: cannot write the handbook there ({exc.strerror})", file=sys.stderr)
        return 1
    return 0


def diff_files(old_path: str, new_path: str) -> int:
    old, new = _load(old_path), _load(new_path)
    if old is None or new is None:
        return 1
    from charterdesk.protocol.diff import diff_protocols

    changes = diff_protocols(old, new)
    for change in changes:
        print(change)
    if not changes:
        print("No differences.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
