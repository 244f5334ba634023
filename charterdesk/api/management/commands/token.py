from django.core.management.base import BaseCommand, CommandError

from charterdesk.accounts.models import Person
from charterdesk.api.actions import TokenError, do_create_token, do_revoke_token
from charterdesk.api.models import ApiToken


class Command(BaseCommand):
    help = (
        "Personal API tokens: `token create --user EMAIL [--name NAME]` prints a new token; "
        "`token list --user EMAIL`; `token revoke PREFIX`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="print a new token for a person (shown once)")
        create.add_argument("--user", required=True, metavar="EMAIL", help="the person the token acts as")
        create.add_argument("--name", default="command line", help="what the token is for")
        listing = sub.add_parser("list", help="a person's tokens")
        listing.add_argument("--user", required=True, metavar="EMAIL")
        revoke = sub.add_parser("revoke", help="revoke a token by the prefix shown in `token list`")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "revoke":
            return self._revoke(options["prefix"])
        person = self._person(options["user"])
        if action == "list":
            for token in ApiToken.objects.filter(person=person):
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
                self.stdout.write(f"{token.prefix}…  {token.name:<30} {state:<24} {used}")
            return
        if not person.is_active:
            raise CommandError(f"{person.email} is deactivated; activate them before creating a token")
        try:
            token, secret = do_create_token(person, options["name"], actor=None)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Token '{token.name}' for {person.email}; it is shown only this once:")
        self.stdout.write(secret)

    def _person(self, email: str) -> Person:
        person = Person.objects.filter(email=email.strip().lower()).first()
        if person is None:
            raise CommandError(f"no person has the email {email}; see `charterdesk people list`")
        return person

    def _revoke(self, prefix: str) -> None:
        prefix = prefix.rstrip("…").strip()
        found = list(ApiToken.objects.filter(prefix__startswith=prefix, revoked_at__isnull=True)[:2])
        if not found:
            raise CommandError(f"no active token starts with {prefix}")
        if len(found) > 1:
            raise CommandError(f"more than one active token starts with {prefix}; give more of it")
        do_revoke_token(found[0], actor=None)
        self.stdout.write(f"revoked {found[0].prefix}… ({found[0].name}) of {found[0].person.email}")
