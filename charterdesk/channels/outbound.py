"""Agent replies as email: multipart text and HTML with attachments, our own Message-ID, In-Reply-To and
References for the customer's mail program, and the ticket's signed reply address (plus-addressing).

``build_reply_email(message)`` builds the mail; ``deliver_reply(message)`` builds, sends and records it
(the task queue's ``send_reply`` calls it and retries on failure).
"""

from __future__ import annotations

import html
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from charterdesk.library.versions import protocol_of
from charterdesk.tickets.choices import MessageKind

from .addressing import our_message_id, reply_address
from .choices import OutboundKind, OutboundState
from .models import TicketParticipant


def channel_address(ticket) -> str:
    """The address mail about this ticket comes from: its channel's, else the first email channel's."""
    protocol = protocol_of(ticket.protocol_version)
    channels = protocol.channels.customer if protocol else []
    chosen = next((c for c in channels if c.id == ticket.channel and c.address), None) or next(
        (c for c in channels if c.kind == "email" and c.address), None
    )
    if chosen is not None:
        return chosen.address.lower()
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "desk@localhost"


def sender(ticket) -> str:
    protocol = protocol_of(ticket.protocol_version)
    company = protocol.company if protocol else "Support"
    return formataddr((f"{company} Support", channel_address(ticket)))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def thread_subject(ticket) -> str:
    subject = ticket.subject
    reference = f"[{ticket.reference}]"
    if reference not in subject:
        subject = f"{reference} {subject}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def message_id_of(message) -> str:
    """Our Message-ID for a message we send (the same on every retry)."""
    return our_message_id(message.ticket_id, f"m{message.pk}", domain_of(channel_address(message.ticket)))


def thread_ids(ticket, *, before=None) -> list[str]:
    """The thread so far, oldest first: the customer's Message-IDs and ours."""
    messages = ticket.messages.exclude(kind=MessageKind.NOTE).order_by("created_at", "id")
    if before is not None:
        messages = messages.filter(id__lt=before.pk)
    ids = []
    for message in messages.only("id", "kind", "message_id", "ticket_id"):
        if message.kind == MessageKind.CUSTOMER:
            if message.message_id:
                ids.append(message.message_id)
        else:
            message.ticket = ticket
            ids.append(message_id_of(message))
    return ids


def text_to_html(text: str) -> str:
    paragraphs = list(text.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def build_reply_email(message) -> EmailMultiAlternatives:
    """The customer-facing mail of an agent's public reply."""
    ticket = message.ticket
    address = channel_address(ticket)
    previous = thread_ids(ticket, before=message)
    headers = {
        "Message-ID": our_message_id(ticket.pk, f"m{message.pk}", domain_of(address)),
        "X-Charterdesk-Ticket": str(ticket.pk),
    }
    customer_ids = list(
        ticket.messages.filter(kind=MessageKind.CUSTOMER, id__lt=message.pk)
        .exclude(message_id="")
        .order_by("-id")
        .values_list("message_id", flat=True)[:1]
    )
    if customer_ids or previous:
        headers["In-Reply-To"] = customer_ids[0] if customer_ids else previous[-1]
        headers["References"] = " ".join(previous[-20:])
    cc = sorted(
        set(TicketParticipant.objects.filter(ticket=ticket).values_list("email", flat=True))
        - {(ticket.customer.email or "").lower()}
    )
    mail = EmailMultiAlternatives(
        subject=thread_subject(ticket),
        body=message.body_text,
        from_email=sender(ticket),
        to=[ticket.customer.email],
        cc=cc,
        reply_to=[reply_address(address, ticket.pk)],
        headers=headers,
    )
    mail.attach_alternative(message.body_html or text_to_html(message.body_text), "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.filename, handle.read(), attachment.content_type)
    return mail


def deliver_reply(message) -> str:
    """Send an agent's reply and record it; on failure record the server's answer and re-raise
    (so the task queue retries; the last failure stays on the ticket)."""
    from .actions import record_outbound

    mail = build_reply_email(message)
    recipient = message.ticket.customer.email
    try:
        mail.send()
    except Exception as exc:
        record_outbound(
            ticket=message.ticket,
            message=message,
            kind=OutboundKind.REPLY,
            message_id=mail.extra_headers["Message-ID"],
            to=recipient,
            subject=mail.subject,
            state=OutboundState.FAILED,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    record_outbound(
        ticket=message.ticket,
        message=message,
        kind=OutboundKind.REPLY,
        message_id=mail.extra_headers["Message-ID"],
        to=recipient,
        subject=mail.subject,
    )
    return f"sent reply {message.pk} to {recipient}"
