import ipaddress
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.1, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost (or 0.0.0.0's like): may be reachable from outside


class Command(BaseCommand):
    help = "Serve the desk with gunicorn (HOST:PORT, 127.0.0.1:8000 by default)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("CHARTERDESK_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("CHARTERDESK_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args, host, port, workers, **options):
        # The development key is in the source code: anyone could forge sessions and sign-in links
        # on a desk that others can reach with it.
        if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY and not loopback(host):
            raise CommandError(
                f"refusing to serve on {host}: SECRET_KEY is the built-in development key, which "
                "anyone can read. Set SECRET_KEY to a long random value (python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(50))'), or serve on 127.0.0.1."
            )
        self.stdout.write(f"Charterdesk at http://{host}:{port}/  (Ctrl-C stops it)")
        self.stdout.flush()
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        argv = [
            gunicorn,
            "charterdesk.desk.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--timeout",
            "60",
            # The control socket sits at one path per user; two desks on one machine would collide.
            "--no-control-socket",
        ]
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings"),
        )
        env.setdefault("CHARTERDESK_DATA_DIR", str(settings.DATA_DIR))
        os.execve(gunicorn, argv, env)
