from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "charterdesk.core"
    label = "core"
    verbose_name = "Core helpers"
