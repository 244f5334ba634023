"""How the channels take part in a ticket's life (tickets/lifecycle.py): they deliver public
replies, poll mailboxes in the worker, and show a ticket's mail and calls on its page."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse

from charterdesk.core.permissions import sees_customer_contact
from charterdesk.library.versions import protocol_of
from charterdesk.tickets.lifecycle import NavItem, Panel, PeriodicJob, hookimpl

# Channels where a reply reaches the customer some other way than mail: on the phone, in the
# chat window. Decided by the channel's kind, since its id is whatever the protocol calls it.
NOT_EMAILED = frozenset({"phone", "chat"})


def channel_kind(ticket) -> str | None:
    """The kind (email, web, chat, phone, api, social) of the ticket's channel in its protocol."""
    protocol = protocol_of(ticket.protocol_version)
    return protocol.channels.kind_of(ticket.channel) if protocol is not None else None


def queue_reply(message) -> None:
    """Email a public reply to the customer once the transaction commits (email-like channels only)."""
    ticket = message.ticket
    if not ticket.customer.email or channel_kind(ticket) in NOT_EMAILED:
        return
    from .tasks import send_reply

    transaction.on_commit(lambda: send_reply.enqueue(message.pk))


@hookimpl
def ticket_opened(ticket, message, by_agent, send_email):
    # An agent's first message on a ticket they opened for the customer is a public reply.
    if by_agent is not None and send_email:
        queue_reply(message)


@hookimpl
def public_reply_stored(ticket, message, send_email):
    if send_email:
        queue_reply(message)


def poll_mailboxes(now: dt.datetime) -> int:
    """The IMAP poll (each mailbox under its own lease); returns how many new messages came."""
    from .imap import poll_all_mailboxes

    # Each mailbox's error is logged by the poller and shown on the mailbox's page.
    return sum(result.new for result in poll_all_mailboxes())


def process_inbound_mail(now: dt.datetime) -> int:
    from .inbound import process_pending

    return process_pending(limit=500)


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob(
            "mailboxes",
            dt.timedelta(minutes=1),
            poll_mailboxes,
            "fetches new mail from every configured IMAP mailbox, all mailboxes side by side",
        ),
        PeriodicJob(
            "inbound-mail",
            dt.timedelta(minutes=1),
            process_inbound_mail,
            "processes stored inbound messages still waiting (after a crash or a database outage)",
        ),
    ]


@hookimpl
def ticket_panels(request, ticket):
    # What the channels did for this ticket: mail sent (or failed, or bounced), mail held for
    # approval, calls logged. A fixed number of queries, whatever the ticket's size.
    from django.db.models import Q

    # Held mail and mail that reused an earlier Message-ID, in one query.
    marked = list(
        ticket.inbound_messages.filter(Q(state="held") | Q(reused_message_id=True))
        .defer("raw")
        .order_by("received_at")
    )
    context = {
        # The address a mail went to is the customer's email: shown by the desk's one rule.
        "customer_contact": sees_customer_contact(request.user, request.protocol),
        "mails": list(ticket.outbound_mails.order_by("-created_at")[:20]),
        "held": [m for m in marked if m.state == "held"],
        "reused": [m for m in marked if m.reused_message_id],
        "calls": list(ticket.phone_calls.select_related("agent").order_by("-at")[:20]),
    }
    return [Panel("channels", "Email and calls", "channels/_ticket_panel.html", context, order=50)]


@hookimpl
def navigation(request):
    return [
        NavItem(
            "Channels",
            reverse("channels:index"),
            ("ticket.create", "ticket.reply", "channels.manage"),
            app="channels",
            order=30,
        )
    ]
