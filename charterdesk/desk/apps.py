from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The top floor: settings, URLs, and the commands that run the whole desk (`serve`, `check`)."""

    name = "charterdesk.desk"
    label = "desk"
    verbose_name = "Desk"
