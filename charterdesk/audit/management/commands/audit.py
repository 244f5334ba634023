from django.core.management.base import BaseCommand, CommandError

from charterdesk.audit.actions import verify_chain
from charterdesk.audit.models import AuditEntry


class Command(BaseCommand):
    help = "The audit log: `audit verify` checks the hash chain; `audit tail` shows the newest entries."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "tail"])
        parser.add_argument("-n", type=int, default=20, help="entries to show with tail")

    def handle(self, *args, action, n, **options):
        if action == "tail":
            for entry in reversed(AuditEntry.objects.order_by("-id")[:n]):
                where = (
                    f" [{entry.protocol_version} {entry.clause}]".rstrip() if entry.protocol_version else ""
                )
                self.stdout.write(
                    f"#{entry.pk} {entry.at:%Y-%m-%d %H:%M:%S} {entry.actor_label}: {entry.summary}{where}"
                )
            return
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"audit log intact: {report.checked} entries, every link verified")
            return
        where = f"entry #{report.broken_at}" if report.broken_at is not None else "the end of the log"
        raise CommandError(
            f"audit log broken at {where}: {report.reason} ({report.checked} entries verified before it)"
        )
