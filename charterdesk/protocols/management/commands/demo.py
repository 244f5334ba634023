from django.core.management import call_command
from django.core.management.base import BaseCommand

from charterdesk.demo.loader import load_demo


class Command(BaseCommand):
    help = "Set up the database, load the demo (example protocol in force, one person per role) and serve."

    def add_arguments(self, parser):
        parser.add_argument(
            "--load-only", action="store_true", help="fill the database with the demo and exit"
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, load_only, host, port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        people = load_demo()
        self.stdout.write(
            self.style.SUCCESS("The demo is loaded: the Acme Outdoor Gear protocol is in force.")
        )
        self.stdout.write("Sign in with one of these (each person holds one role of the protocol):")
        for p in people:
            self.stdout.write(f"  {p.role:<8} {p.email:<22} password: {p.password}")
        if load_only:
            return
        call_command("serve", host=host, port=port)
