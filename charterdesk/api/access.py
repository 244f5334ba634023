"""The only way the API fetches a ticket or a customer on a caller's behalf.

The permission is checked before the lookup, so a caller without it learns nothing, not even
whether the object exists.
"""

from __future__ import annotations

from charterdesk.tickets.access import ticket_queryset
from charterdesk.tickets.models import Attachment, Customer, Ticket

from .auth import Caller
from .errors import not_found


def access_ticket(caller: Caller, ticket_id: int, *permissions: str) -> Ticket:
    """The ticket, if the caller may see it (ticket.view) and holds every one of ``permissions``."""
    caller.require("ticket.view", *permissions)
    ticket = ticket_queryset().filter(pk=ticket_id).first()
    if ticket is None:
        raise not_found("ticket_id", f"there is no ticket #{ticket_id}")
    return ticket


def access_customer(caller: Caller, customer_id: int, *permissions: str) -> Customer:
    """The customer, if the caller may see customers (customer.view) and holds ``permissions``."""
    caller.require("customer.view", *permissions)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise not_found("customer_id", f"there is no customer #{customer_id}")
    return customer


def access_attachment(caller: Caller, attachment_id: int) -> Attachment:
    """A file on any message of any ticket (internal notes included), for callers who see tickets."""
    caller.require("ticket.view")
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise not_found("attachment_id", f"there is no attachment #{attachment_id}")
    return attachment
