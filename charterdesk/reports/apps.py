from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "charterdesk.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self):
        # The reports page's link and the scheduled report mails come through the ticket
        # lifecycle hooks; tickets never imports reports.
        from charterdesk.tickets.lifecycle import register

        from . import hooks

        register(hooks)
