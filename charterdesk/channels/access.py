"""Fetching channel objects on a person's behalf: the only way views get them."""

from __future__ import annotations

from django.http import Http404

from charterdesk.core.permissions import require
from charterdesk.tickets.models import Ticket

from .choices import InboundState
from .models import InboundMessage, Mailbox


def access_quarantined(request, pk: int) -> InboundMessage:
    """A quarantined (or already decided) inbound message, for leads: ticket.create."""
    require(request, "ticket.create")
    item = InboundMessage.objects.filter(pk=pk).first()
    if item is None:
        raise Http404("No such message")
    return item


def access_held(request, pk: int) -> InboundMessage:
    """A message held for approval, for agents who may reply on tickets."""
    require(request, "ticket.reply")
    item = InboundMessage.objects.select_related("ticket__customer").filter(pk=pk).first()
    if item is None or item.state not in (InboundState.HELD, InboundState.PROCESSED, InboundState.REJECTED):
        raise Http404("No such held message")
    return item


def access_mailbox(request, pk: int) -> Mailbox:
    require(request, "channels.manage")
    item = Mailbox.objects.filter(pk=pk).first()
    if item is None:
        raise Http404("No such mailbox")
    return item


def access_ticket_for_call(request, pk: int) -> Ticket:
    require(request, "ticket.reply")
    item = Ticket.objects.select_related("customer", "protocol_version").filter(pk=pk).first()
    if item is None:
        raise Http404(f"There is no ticket #{pk}")
    return item
