from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "charterdesk.checks"
    label = "checks"
    verbose_name = "Message checks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from charterdesk.tickets.lifecycle import register

        from . import hooks

        register(hooks)
