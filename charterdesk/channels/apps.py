from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "charterdesk.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self):
        # The channels deliver replies, poll mail and show their card through the ticket
        # lifecycle hooks; tickets never imports them.
        from charterdesk.tickets.lifecycle import register

        from . import hooks

        register(hooks)
