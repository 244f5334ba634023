"""``charterdesk protocol whatif DRAFT.yaml --events FILE.jsonl --base CURRENT.yaml``: what-if offline.

    charterdesk protocol whatif DRAFT.yaml --events EVENTS.jsonl --base CURRENT.yaml
        [--since 90d | --from D --to D] [--format text|json] [-o OUT]

The same report as the desk's "Try on history" (charterdesk/engine/whatif.py counts for both),
on an event log exported with ``charterdesk tickets export-events``, so a team that keeps its
protocol in git can run it in CI without a desk. Without ``--events`` the command runs against
the desk's database (``charterdesk.whatif``'s management command; ``cli.py`` decides).

Exit status: 0 with the report; 1 for a malformed events line (``FILE:LINE: message``) or a file
that cannot be read; 2 for a protocol that does not validate or a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys

from charterdesk.command_files import load_protocol_or_say, many_small_objects, read_all
from charterdesk.engine.kpis import KpiEngine, read_histories
from charterdesk.engine.replay import ReplayError
from charterdesk.engine.sla import EventError, SlaEngine
from charterdesk.engine.whatif import PeriodError, active_in, format_text, period, run

EXIT_BAD_EVENTS = 1
EXIT_USAGE = 2


def parser(prog: str = "charterdesk protocol whatif") -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(
        prog=prog,
        description="What a draft protocol would have done to past tickets, beside the version in force.",
    )
    found.add_argument("draft", metavar="DRAFT.yaml", help="the draft protocol file")
    found.add_argument(
        "--events", metavar="EVENTS.jsonl", help="an exported event log (offline; needs --base)"
    )
    found.add_argument("--base", metavar="CURRENT.yaml", help="the protocol in force (with --events)")
    found.add_argument("--since", metavar="90d", help="tickets with activity in the last 7d, 30d, 90d, ...")
    found.add_argument(
        "--from", dest="day_from", metavar="YYYY-MM-DD", help="tickets with activity from this day"
    )
    found.add_argument("--to", dest="day_to", metavar="YYYY-MM-DD", help="... to the end of this day")
    found.add_argument("--format", choices=["text", "json"], default="text")
    found.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
    return found


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0)
    if args.events is None or args.base is None:
        print("charterdesk protocol whatif: --events and --base go together (offline mode)", file=sys.stderr)
        return EXIT_USAGE
    protocols = []
    for path in (args.base, args.draft):
        protocol = load_protocol_or_say(path, "nothing was compared")
        if protocol is None:
            return EXIT_USAGE
        protocols.append(protocol)
    engines = [SlaEngine(p) for p in protocols]
    base_engine, draft_engine = engines
    name = "<stdin>" if args.events == "-" else args.events
    try:
        data = read_all(args.events)
    except OSError as error:
        print(f"{name}: cannot read: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_EVENTS
    with many_small_objects():
        try:
            # The KPI format: the replay's events and the survey answers (a full export has
            # them; the objectives on CSAT, NPS and CES count them). An incident naming a policy
            # only one version has is refused by that version's engine below; both must know it.
            # A CSAT score is read on the larger of the two versions' scales.
            found = read_histories(
                data.split(b"\n"),
                name,
                csat_scale=max(KpiEngine(p, e).csat_scale for p, e in zip(protocols, engines, strict=True)),
                policies=set(base_engine.policy_ids) & set(draft_engine.policy_ids),
                stripped=True,
            )
        except ReplayError as error:
            print(error, file=sys.stderr)
            return EXIT_BAD_EVENTS
        del data
        histories = found.histories
        latest = max(
            (
                max(h.events[-1].at, h.surveys[-1].at) if h.surveys else h.events[-1].at
                for h in histories.values()
            ),
            default=None,
        )
        try:
            start, end = period(args.since, args.day_from, args.day_to, latest)
        except PeriodError as error:
            print(f"charterdesk protocol whatif: {error}", file=sys.stderr)
            return EXIT_USAGE
        if end is None:
            tickets = {}
            end = 0
        else:
            tickets = {t: h.events for t, h in histories.items() if active_in(h.events, start, end)}
        surveys = {t: histories[t].surveys for t in tickets if histories[t].surveys}
        try:
            report = run(
                base_engine, draft_engine, tickets, end, period_from=start, surveys=surveys
            ).as_dict()
        except EventError as error:
            print(f"{name}: {error}", file=sys.stderr)
            return EXIT_BAD_EVENTS
    text = json.dumps(report, indent=2) + "\n" if args.format == "json" else format_text(report)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as error:
        print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_EVENTS
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
