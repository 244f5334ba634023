import sys

from django.core.management.base import BaseCommand, CommandError

from charterdesk.tickets.export import event_lines
from charterdesk.tickets.models import Ticket


class Command(BaseCommand):
    help = "Tickets from the command line: `tickets export-events [--ticket ID ...] [--sla-only] [-o FILE]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export-events",
            help="ticket events as JSON lines (with survey answers) for `charterdesk kpi`, `sla replay`",
        )
        export.add_argument(
            "--ticket", type=int, action="append", help="a ticket id; repeatable (all when left out)"
        )
        export.add_argument(
            "--sla-only",
            action="store_true",
            help="only the events `charterdesk sla replay` reads (no survey answers)",
        )
        export.add_argument("-o", "--output", default="-", help="file to write, - for standard output")

    def handle(self, *args, action, **options):
        ids = options.get("ticket")
        if ids:
            missing = set(ids) - set(Ticket.objects.filter(pk__in=ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no ticket with id {', '.join(map(str, sorted(missing)))}")
        from charterdesk.audit.actions import do_record_reading

        do_record_reading(
            None,
            "export",
            "tickets:" + (",".join(map(str, sorted(ids))) if ids else "all"),
            ip="command line",
            data={"what": "sla events"},
        )
        out = sys.stdout if options["output"] == "-" else open(options["output"], "w", encoding="utf-8")  # noqa: SIM115
        try:
            for line in event_lines(ids, families=not options.get("sla_only")):
                out.write(line + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
