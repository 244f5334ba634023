from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "charterdesk.channels"
    label = "channels"
    verbose_name = "Channels"
