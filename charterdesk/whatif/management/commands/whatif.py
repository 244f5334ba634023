"""``charterdesk protocol whatif DRAFT.yaml [--since 90d | --from D --to D]``: against the desk's database.

``charterdesk.cli`` sends ``protocol whatif`` here unless ``--events`` is given (then the file-only
``charterdesk.whatif_command`` runs it without a database). The report is the same as the desk's.
"""

import json
import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from charterdesk.engine.bulk import many_small_objects
from charterdesk.engine.sla import EventError, SlaEngine
from charterdesk.engine.whatif import PeriodError, format_text, period, run
from charterdesk.library.versions import load_version, version_in_force
from charterdesk.protocol.load import load_protocol_file
from charterdesk.tickets.live_sla import to_datetime, to_seconds
from charterdesk.whatif.histories import period_histories, survey_answers

DEFAULT_SINCE = "90d"


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the engine's forked workers):
    on a machine shared with other work, steadier than the wall clock."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Command(BaseCommand):
    help = "What a draft protocol would have done to the desk's tickets, beside the version in force."

    def add_arguments(self, parser):
        parser.add_argument("draft", metavar="DRAFT.yaml")
        parser.add_argument(
            "--base", metavar="CURRENT.yaml", help="compare with this file, not the version in force"
        )
        parser.add_argument(
            "--since", help=f"tickets with activity in the last 7d, 30d, 90d ... (default {DEFAULT_SINCE})"
        )
        parser.add_argument("--from", dest="day_from", metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="day_to", metavar="YYYY-MM-DD")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--timings", action="store_true", help="print the seconds spent reading and replaying"
        )

    def handle(self, *args, **options):
        draft = self._load(options["draft"])
        if options["base"]:
            base = self._load(options["base"])
        else:
            in_force = version_in_force()
            base = load_version(in_force).protocol if in_force is not None else None
            if base is None:
                raise CommandError("no version is in force; give --base CURRENT.yaml")
        since = options["since"]
        if since is None and options["day_from"] is None and options["day_to"] is None:
            since = DEFAULT_SINCE
        try:
            start, end = period(since, options["day_from"], options["day_to"], to_seconds(timezone.now()))
        except PeriodError as error:
            raise CommandError(str(error)) from None
        assert end is not None
        end_at = to_datetime(end)
        with many_small_objects():
            started, cpu = time.perf_counter(), _cpu()
            tickets = period_histories(to_datetime(start), end_at)
            surveys = survey_answers(tickets, end_at)
            read, read_cpu = time.perf_counter() - started, _cpu() - cpu
            started, cpu = time.perf_counter(), _cpu()
            try:
                report = run(
                    SlaEngine(base), SlaEngine(draft), tickets, end, period_from=start, surveys=surveys
                ).as_dict()
            except EventError as error:
                raise CommandError(str(error)) from None
            engine, engine_cpu = time.perf_counter() - started, _cpu() - cpu
            del tickets, surveys
        self.stdout.write(
            json.dumps(report, indent=2) if options["format"] == "json" else format_text(report), ending=""
        )
        if options["format"] == "json":
            self.stdout.write("\n", ending="")
        if options["timings"]:
            self.stderr.write(
                f"read the histories in {read:.2f} s ({read_cpu:.2f} s CPU), "
                f"replayed in {engine:.2f} s ({engine_cpu:.2f} s CPU, with the engine's worker processes)"
            )

    def _load(self, path: str):
        loaded = load_protocol_file(path)
        if not loaded.ok or loaded.protocol is None:
            for problem in loaded.errors or loaded.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{path}: the protocol does not validate; nothing was compared")
        return loaded.protocol
