from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender, using="default", **kwargs):
    # A later migration that rebuilds tickets_ticket on SQLite drops the search triggers;
    # recreating them after every migrate keeps search complete.
    from django.db import connections

    from .search import ensure_search_index

    ensure_search_index(connections[using])


class TicketsConfig(AppConfig):
    name = "charterdesk.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self):
        post_migrate.connect(_ensure_search_index, sender=self)
        # Tickets' own periodic jobs come to the worker the way every family's do.
        from . import hooks
        from .lifecycle import register

        register(hooks)
