from django.core.management.base import BaseCommand, CommandError

from charterdesk.checks.actions import PLACES, do_redact_stored
from charterdesk.checks.models import RedactionSweep
from charterdesk.checks.rules import checks_of
from charterdesk.library.versions import version_in_force
from charterdesk.tickets.search import compact_search_index


class Command(BaseCommand):
    help = (
        "`privacy redact-existing`: mask, in what is already stored, the secrets that the version "
        "in force's privacy.redact detectors find (run it after publishing a version that adds a "
        "detector). Resumable: a second run goes on where the first stopped; --again starts over."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["redact-existing"])
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction")
        parser.add_argument("--again", action="store_true", help="start over from the first row")

    def handle(self, *args, action, batch, again, **options):
        version = version_in_force()
        checks = checks_of(version)
        if version is None or checks is None:
            raise CommandError("no protocol version is in force; publish one first")
        if not checks.redactor.detectors:
            self.stdout.write(f"protocol {version.version} lists no privacy.redact detectors: nothing to do")
            return
        for place in PLACES:
            sweep, _ = RedactionSweep.objects.get_or_create(protocol_version=version.version, place=place)
            if again:
                sweep.last_pk = sweep.scanned = sweep.changed = 0
                sweep.finished_at = None
                sweep.save()
            while sweep.finished_at is None and do_redact_stored(sweep, checks, batch=batch):
                pass
            self.stdout.write(f"{place}: {sweep.scanned} rows read, {sweep.changed} changed")
        # The full-text index keeps words it was told to forget until its segments are merged.
        compact_search_index()
        self.stdout.write(f"done under protocol {version.version}; the audit log has the counts")
