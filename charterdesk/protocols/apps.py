from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "charterdesk.protocols"
    label = "protocols"
    verbose_name = "Protocol library"
