"""The only ways the portal fetches a customer's things: the signed-in customer, their tickets,
one ticket of theirs (anything else is 404, never 403: a stranger learns nothing)."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from charterdesk.tickets.choices import MessageKind
from charterdesk.tickets.models import Attachment, Customer, Message, Ticket

from .actions import SESSION_KEY


def portal_customer(request) -> Customer | None:
    """The customer signed in to the portal in this session, if any."""
    customer_id = request.session.get(SESSION_KEY)
    if not customer_id:
        return None
    return Customer.objects.filter(pk=customer_id).first()


def customer_tickets(customer: Customer):
    """The customer's tickets, less those opened by an unverified sender and not yet confirmed."""
    return (
        Ticket.objects.filter(customer=customer, unverified_sender=False)
        .select_related("protocol_version")
        .order_by("-created_at")
    )


def awaiting_confirmation(customer: Customer):
    """Messages using the customer's address whose sender is unverified and not confirmed yet:
    listed (subject and date, never what was written) for the signed-in customer to confirm."""
    return (
        Message.objects.filter(author_customer=customer, sender_confirmed_at__isnull=True)
        .exclude(unverified_sender="")
        .select_related("ticket")
        .order_by("created_at", "id")
    )


def access_awaiting_message(customer: Customer, message_id: int) -> Message:
    message = awaiting_confirmation(customer).filter(pk=message_id).first()
    if message is None:
        raise Http404("There is no message of yours waiting for confirmation at this address.")
    return message


def access_portal_ticket(customer: Customer, ticket_id: int) -> Ticket:
    ticket = (
        Ticket.objects.select_related("customer", "protocol_version")
        .filter(pk=ticket_id, customer=customer, unverified_sender=False)
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
    """The conversation the customer may read: their messages and our public replies, never notes,
    nor a message whose sender is unverified until the customer confirms it."""
    return (
        Message.objects.filter(ticket=ticket, kind__in=[MessageKind.CUSTOMER, MessageKind.REPLY])
        .filter(_shown_in_portal())
        .select_related("author_person")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def access_portal_attachment(customer: Customer, attachment_id: int) -> Attachment:
    """A file on a public message (theirs or our reply) of one of the customer's own tickets; a file on
    an internal note, or on someone else's ticket, is 404 like one that does not exist."""
    attachment = (
        Attachment.objects.select_related("message__ticket")
        .filter(
            pk=attachment_id,
            message__ticket__customer=customer,
            message__ticket__unverified_sender=False,
            message__kind__in=[MessageKind.CUSTOMER, MessageKind.REPLY],
        )
        .filter(_shown_in_portal("message__"))
        .first()
    )
    if attachment is None:
        raise Http404("There is no file of yours at this address.")
    return attachment


def _shown_in_portal(prefix: str = "") -> Q:
    """A message the portal shows: no unverified sender, or one the customer confirmed."""
    return Q(**{f"{prefix}unverified_sender": ""}) | Q(**{f"{prefix}sender_confirmed_at__isnull": False})
