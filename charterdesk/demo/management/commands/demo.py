import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from charterdesk.demo.loader import load_demo, load_demo_saved_replies

# Tickets a first `charterdesk demo` (the README's first command) adds to an empty desk.
STARTER_TICKETS = 300


class Command(BaseCommand):
    help = (
        "Set up the database, load the demo (example protocol in force, one person per role), "
        "and serve it with one background worker beside the web server."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--load-only", action="store_true", help="fill the database with the demo and exit"
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--tickets",
            type=int,
            default=None,
            metavar="N",
            help=(
                "also add N realistic tickets (customers, conversations, SLA clocks) in bulk; "
                f"without it, serving a desk that has no tickets yet adds {STARTER_TICKETS}"
            ),
        )
        parser.add_argument(
            "--messages-per-ticket", type=float, default=5.0, help="average messages per demo ticket"
        )
        parser.add_argument("--seed", type=int, default=2026, help="the same seed gives the same tickets")

    def handle(
        self, *args, load_only, host, port, tickets=None, messages_per_ticket=5.0, seed=2026, **options
    ):
        # dev.py up's first run is otherwise silent here for a while: say each step as it starts.
        self.stdout.write("Setting up the database (migrations)...")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Loading the Acme Outdoor Gear protocol and one person per role...")
        people = load_demo()
        if tickets is None:
            # The README's first command should open on a desk with work in it, once; --load-only
            # (what scripts and benchmarks call) adds only what it is told.
            from charterdesk.tickets.models import Ticket

            tickets = 0 if load_only or Ticket.objects.exists() else STARTER_TICKETS
        if tickets:
            self.stdout.write(f"Adding {tickets:,} demo tickets with their conversations and SLA clocks...")
            self.load_tickets(tickets, messages_per_ticket, seed)
        if not load_only:
            self.stdout.write("Adding the shared saved replies...")
            load_demo_saved_replies()
        self.stdout.write(
            self.style.SUCCESS("The demo is loaded: the Acme Outdoor Gear protocol is in force.")
        )
        self.stdout.write("Sign in with one of these (each person holds one role of the protocol):")
        for p in people:
            self.stdout.write(f"  {p.role:<8} {p.email:<22} password: {p.password}")
        if load_only:
            return
        self.serve_with_worker(host, port)

    def load_tickets(self, count: int, messages_per_ticket: float, seed: int) -> None:
        from django.core.management.base import CommandError

        from charterdesk.demo.tickets import DemoDataError, load_demo_tickets

        def progress(report):
            self.stderr.write(f"  {report.tickets:,} / {count:,} tickets, {report.rate:,.0f}/s", ending="\r")

        try:
            report = load_demo_tickets(
                count, seed=seed, messages_per_ticket=messages_per_ticket, progress=progress
            )
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        self.stderr.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo tickets loaded: {report.summary()}"))

    def serve_with_worker(self, host: str, port: int) -> None:
        """The web server and one `charterdesk worker` (SLA deadlines, escalations, email), stopped
        together: Ctrl-C reaches both (same process group), and whichever way the server stops,
        the worker is stopped after it."""
        env = dict(os.environ, CHARTERDESK_DATA_DIR=str(settings.DATA_DIR))
        # Links in mail (portal sign-in, escalations) must point at this server, whichever port it
        # was given, unless the operator said where the desk is reached.
        if "SITE_URL" not in os.environ:
            env["SITE_URL"] = demo_site_url(host, port)
        charterdesk = [sys.executable, "-m", "charterdesk"]
        self.stdout.write(
            f"Starting the worker and the web server on {demo_site_url(host, port)} (Ctrl-C stops both)..."
        )
        worker = subprocess.Popen([*charterdesk, "worker"], env=env)
        server = None

        def on_term(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            server = subprocess.Popen([*charterdesk, "serve", "--host", host, "--port", str(port)], env=env)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up below finish
            for process in (server, worker):
                _stop(process)
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write("Stopped the web server and the worker.")


def demo_site_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host``:``port``."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _stop(process: subprocess.Popen | None, wait: float = 15) -> None:
    """Ask a child to stop (SIGTERM), then insist (SIGKILL) if it has not after ``wait`` seconds."""
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: stop now
        process.kill()
        process.wait()
