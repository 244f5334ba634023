import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from charterdesk.accounts.models import Person
from charterdesk.core.permissions import permissions_of
from charterdesk.library.actions import PublishRefused, do_create_draft, do_publish
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, start_of_day, version_in_force
from charterdesk.protocol.load import load_protocol_file


class Command(BaseCommand):
    help = "The protocol library from the command line: `protocol publish FILE --as EMAIL`, `protocol list`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        publish = sub.add_parser("publish", help="publish a protocol file")
        publish.add_argument("file")
        publish.add_argument("--as", dest="actor", required=True, help="email of the person publishing")
        publish.add_argument(
            "--effective",
            help="YYYY-MM-DD: from the start of that day in the team's time zone; now when left out",
        )
        sub.add_parser("list", help="list the versions")

    def handle(self, *args, action, **options):
        if action == "list":
            in_force = version_in_force()
            now = timezone.now()
            for v in ProtocolVersion.objects.order_by("created_at"):
                if in_force and v.pk == in_force.pk:
                    state = "in force"
                elif v.status == "published":
                    state = "scheduled" if v.effective_at > now else "superseded"
                else:
                    state = v.status
                when = f"{v.effective_at:%Y-%m-%d %H:%M}" if v.effective_at else "-"
                self.stdout.write(f"{v.pk:>4}  {v.version or '?':<8} {state:<10} {when:<17} {v.title}")
            return
        result = load_protocol_file(options["file"])
        for problem in result.problems:
            print(problem, file=sys.stderr)
        if not result.ok:
            raise CommandError(f"{options['file']} has errors; nothing was published")
        actor = Person.objects.filter(email=options["actor"].lower(), is_active=True).first()
        if actor is None:
            raise CommandError(f"no active person with the email {options['actor']}")
        in_force = version_in_force()
        if "protocol.publish" not in permissions_of(actor, protocol_of(in_force) if in_force else None):
            raise CommandError(f"{actor.email}'s roles do not grant protocol.publish; nothing was published")
        effective_at = None
        if options.get("effective"):
            try:
                day = dt.date.fromisoformat(options["effective"])
            except ValueError:
                raise CommandError("--effective: write the date as YYYY-MM-DD") from None
            effective_at = start_of_day(day, result.protocol)
            if effective_at <= timezone.now():
                raise CommandError("--effective: the date must be in the future; leave it out to publish now")
        with open(options["file"], encoding="utf-8") as handle:
            source = handle.read()
        try:
            # One transaction: a refused publish leaves no draft and no audit entry behind.
            with transaction.atomic():
                draft = do_create_draft(source, actor=actor, note=f"from {options['file']}")
                version = do_publish(draft, actor=actor, effective_at=effective_at)
        except PublishRefused as exc:
            raise CommandError("; ".join(exc.reasons)) from None
        self.stdout.write(
            f"published version {version.version}, effective {version.effective_at:%Y-%m-%d %H:%M} UTC"
        )
