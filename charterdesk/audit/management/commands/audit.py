from django.core.management.base import BaseCommand, CommandError

from charterdesk.audit.actions import rotate, verify_chain
from charterdesk.audit.models import AuditEntry


class Command(BaseCommand):
    help = (
        "The audit log: `audit verify` checks every entry's link and signature; `audit tail` shows the "
        "newest entries; `audit rotate` hands the chain to a new key (docs/operating.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "tail", "rotate"])
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
        if action == "rotate":
            entry = rotate()
            if entry is None:
                self.stdout.write("the audit log is already signed with the current key")
            elif not entry.data.get("previous_mac"):
                raise CommandError(
                    f"entry #{entry.pk} hands the log to the new key, but the previous key "
                    f"{entry.data['previous_key']} is not in CHARTERDESK_AUDIT_OLD_KEYS, so the hand-over "
                    "is not signed by it and `audit verify` will report it"
                )
            else:
                self.stdout.write(f"entry #{entry.pk}: {entry.summary}, signed by both keys")
            return
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"audit log intact: {report.checked} entries, every signature verified")
            return
        where = f"entry #{report.broken_at}" if report.broken_at is not None else "the end of the log"
        raise CommandError(
            f"audit log broken at {where}: {report.reason} ({report.checked} entries verified before it)"
        )
