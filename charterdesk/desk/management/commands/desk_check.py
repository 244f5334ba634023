from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from charterdesk.desk.production import production_advice, security_report


class Command(BaseCommand):
    help = "Django's system checks, then what a production deployment still lacks."

    def handle(self, *args, **options):
        call_command("check")
        self.stdout.write("Security:")
        for line in security_report():
            self.stdout.write(f"  {line}")
        advice = production_advice()
        if not advice:
            self.stdout.write(self.style.SUCCESS("Ready for production: nothing is missing."))
            return
        self.stdout.write("For production, this desk still lacks:")
        for item in advice:
            self.stdout.write(f"  - {item}")
        raise CommandError(f"{len(advice)} thing(s) to set before running in production")
