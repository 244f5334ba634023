from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "charterdesk.api"
    label = "api"
    verbose_name = "API"
