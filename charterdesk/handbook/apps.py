from django.apps import AppConfig


class HandbookConfig(AppConfig):
    name = "charterdesk.handbook"
    label = "handbook"
    verbose_name = "Handbook"
