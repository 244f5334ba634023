from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "charterdesk.surveys"
    label = "surveys"
    verbose_name = "Surveys"

    def ready(self):
        # Surveys follow a ticket's life (solved, reopened, merged), send in the worker and show
        # their answers on the ticket page through the lifecycle hooks; tickets never imports them.
        from charterdesk.tickets.lifecycle import register

        from . import hooks

        register(hooks)
