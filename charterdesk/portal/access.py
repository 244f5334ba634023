"""The only ways the portal fetches a customer's things: the signed-in customer, their tickets,
one ticket of theirs (anything else is 404, never 403: a stranger learns nothing)."""

from __future__ import annotations

from django.http import Http404

from charterdesk.tickets.choices import MessageKind
from charterdesk.tickets.models import Customer, Message, Ticket

from .actions import SESSION_KEY


def portal_customer(request) -> Customer | None:
    """The customer signed in to the portal in this session, if any."""
    customer_id = request.session.get(SESSION_KEY)
    if not customer_id:
        return None
    return Customer.objects.filter(pk=customer_id).first()


def customer_tickets(customer: Customer):
    return Ticket.objects.filter(customer=customer).select_related("protocol_version").order_by("-created_at")


def access_portal_ticket(customer: Customer, ticket_id: int) -> Ticket:
    ticket = (
        Ticket.objects.select_related("customer", "protocol_version")
        .filter(pk=ticket_id, customer=customer)
        .first()
    )
    if ticket is None:
        raise Http404("There is no ticket of yours at this address.")
    return ticket


def access_opened_ticket(request, opened_key: str) -> Ticket | None:
    """The ticket this browser has just opened on the form (kept in its session), for the thank-you
    page: it shows the number and the promise, nothing of the conversation."""
    opened = request.session.get(opened_key) or {}
    if not opened.get("ticket"):
        return None
    return Ticket.objects.select_related("customer").filter(pk=opened["ticket"]).first()


def public_messages(ticket: Ticket):
    """The conversation the customer may read: their messages and our public replies, never notes."""
    return (
        Message.objects.filter(ticket=ticket, kind__in=[MessageKind.CUSTOMER, MessageKind.REPLY])
        .select_related("author_person")
        .order_by("created_at", "id")
    )
