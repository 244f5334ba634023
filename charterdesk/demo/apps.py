from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: the example protocol, one person per role, and generated tickets (`charterdesk demo`)."""

    name = "charterdesk.demo"
    label = "demo"
    verbose_name = "Demo"
