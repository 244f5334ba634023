import getpass

from django.core.management.base import BaseCommand, CommandError

from charterdesk.accounts.actions import AccountError, do_add_person
from charterdesk.accounts.models import Person


class Command(BaseCommand):
    help = (
        "People from the command line: `people add EMAIL --role manager` (the first manager), `people list`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add")
        add.add_argument("email")
        add.add_argument(
            "--role", action="append", required=True, help="a role id of the protocol; repeatable"
        )
        add.add_argument("--name", default="")
        add.add_argument("--password", help="asked for when left out")
        sub.add_parser("list")

    def handle(self, *args, action, **options):
        if action == "list":
            for p in Person.objects.prefetch_related("roles"):
                roles = ", ".join(r.role for r in p.roles.all())
                self.stdout.write(
                    f"{p.email:<30} {p.name:<24} {roles}{'' if p.is_active else '  (deactivated)'}"
                )
            return
        from charterdesk.library.versions import protocol_of, version_in_force

        in_force = version_in_force()
        protocol = protocol_of(in_force) if in_force else None
        if protocol is not None:
            known = [role.id for role in protocol.team.roles]
            unknown = [r for r in options["role"] if r not in known]
            if unknown:
                raise CommandError(
                    f"--role: {', '.join(unknown)}: not a role of the protocol in force ({', '.join(known)})"
                )
        password = options.get("password")
        if not password:
            try:
                password = getpass.getpass("Password for the new person: ")
            except EOFError:
                raise CommandError("no terminal to ask for the password; give it with --password") from None
        if len(password) < 10:
            raise CommandError("the password must have at least 10 characters")
        name = options["name"] or options["email"].split("@")[0]
        try:
            person = do_add_person(options["email"], name, options["role"], password=password)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"added {person.email} with roles {', '.join(options['role'])}")
