from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender, using="default", **kwargs):
    # A later migration that rebuilds tickets_ticket on SQLite drops the search triggers;
    # recreating them after every migrate keeps search complete.
    from django.db import connections

    from .search import ensure_search_index

    ensure_search_index(connections[using])


def _customer_names(request, ids: set[int]) -> dict[int, str]:
    """Customers' names on the audit log page, for readers who may see customers' details."""
    from charterdesk.core.permissions import sees_customer_contact

    from .models import Customer

    if not sees_customer_contact(request.user, getattr(request, "protocol", None) or None):
        return {}
    return dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))


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
        # The audit log names customers by id; its page asks this app for their names.
        from charterdesk.audit.refs import register_names

        register_names("customer", _customer_names)
