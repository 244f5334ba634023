"""The automatic receipt of `acknowledge: true` channels, stating the SLA engine's promise in the
customer's time zone: "We will reply by Monday 11:30 New York time."

Receipts are automatic mail, so the loop rules apply (``loops.py``): none to auto-submitted, bulk,
list or machine senders, and at most ``CHARTERDESK_AUTOMAIL_PER_HOUR`` to one address per hour.
Every decision, sent or not, is kept as an ``OutboundMail`` row on the ticket.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from .addressing import our_message_id, reply_address
from .choices import OutboundKind, OutboundState
from .models import OutboundMail
from .outbound import channel_address, domain_of, sender, text_to_html


def zone_label(name: str) -> str:
    """``America/New_York`` -> ``New York time``; ``UTC`` -> ``UTC``."""
    if name in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return name.rsplit("/", 1)[-1].replace("_", " ") + " time"


def promise(ticket, *, now: dt.datetime | None = None) -> str:
    """The first-response promise in the customer's words and zone."""
    cycles = (ticket.sla_state or {}).get("metrics", {}).get("first_response") or []
    due = next((c["due"] for c in cycles if c.get("fulfilled") is None and c.get("due")), None)
    if due is None:
        return "We will reply as soon as we can."
    name = ticket.customer.timezone or "UTC"
    try:
        zone = ZoneInfo(name)
    except Exception:
        name, zone = "UTC", ZoneInfo("UTC")
    local = dt.datetime.fromtimestamp(due, tz=zone)
    now_local = (now or timezone.now()).astimezone(zone)
    when = f"{local:%A} {local:%H:%M}"
    if (local.date() - now_local.date()).days >= 7:
        when = f"{local:%A} {local.day} {local:%B} {local:%H:%M}"
    elif local.date() == now_local.date():
        when = f"today {local:%H:%M}"
    return f"We will reply by {when} {zone_label(name)}."


def build_receipt(ticket) -> EmailMultiAlternatives:
    from charterdesk.library.versions import protocol_of

    protocol = protocol_of(ticket.protocol_version)
    company = protocol.company if protocol else "our team"
    address = channel_address(ticket)
    first = ticket.messages.order_by("id").first()
    name = ticket.customer.first_name
    text = (
        f"Hello{' ' + name if name else ''},\n\n"
        f"Thank you for writing to {company}. We have your message; its reference is {ticket.reference}.\n"
        f"{promise(ticket)}\n\n"
        f"To add anything, reply to this email and keep [{ticket.reference}] in the subject.\n\n"
        f"{company} Support"
    )
    headers = {
        "Message-ID": our_message_id(ticket.pk, "r", domain_of(address)),
        # RFC 3834: this is an automatic answer; other robots must not answer it.
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "X-Charterdesk-Ticket": str(ticket.pk),
    }
    if first is not None and first.message_id:
        headers["In-Reply-To"] = first.message_id
        headers["References"] = first.message_id
    mail = EmailMultiAlternatives(
        subject=f"[{ticket.reference}] We received your message: {ticket.subject}",
        body=text,
        from_email=sender(ticket),
        to=[ticket.customer.email],
        reply_to=[reply_address(address, ticket.pk)],
        headers=headers,
    )
    mail.attach_alternative(text_to_html(text), "text/html")
    return mail


def acknowledges(ticket) -> bool:
    """Whether the protocol acknowledges tickets opened on this ticket's channel (``acknowledge:
    true``): the one rule for mail, the contact form and the portal."""
    from charterdesk.library.versions import protocol_of

    protocol = protocol_of(ticket.protocol_version)
    channel = (
        next((c for c in protocol.channels.customer if c.id == ticket.channel), None) if protocol else None
    )
    return channel is not None and channel.acknowledge


def acknowledge_new_ticket(ticket, *, suppress_reasons: list[str] = ()) -> None:
    """The receipt for a ticket a customer just opened, when its channel acknowledges tickets.
    ``suppress_reasons``: why the loop rules (or an import) forbid it; the decision is kept."""
    if acknowledges(ticket):
        queue_receipt(ticket, suppress_reasons=suppress_reasons)


def queue_receipt(ticket, *, suppress_reasons: list[str] = ()) -> None:
    """Send the receipt once the ticket is committed, unless the loop rules forbid it."""
    from .actions import record_outbound

    address = ticket.customer.email
    if not address:
        return
    if suppress_reasons:
        record_outbound(
            ticket=ticket,
            message=None,
            kind=OutboundKind.RECEIPT,
            message_id="",
            to=address,
            subject="(receipt not sent)",
            state=OutboundState.SUPPRESSED,
            error="; ".join(suppress_reasons),
        )
        return
    from .tasks import send_receipt

    if _queue_is_the_database(send_receipt) and transaction.get_connection().in_atomic_block:
        # The task row is written in the ticket's own transaction: it exists exactly when the ticket
        # does (no receipt lost to a crash between two commits), at the cost of no commit of its own.
        send_receipt.enqueue(ticket.pk)
    else:
        transaction.on_commit(lambda: send_receipt.enqueue(ticket.pk))


def _queue_is_the_database(task) -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task.get_backend(), DatabaseBackend)


def send_automatic(
    *, ticket, message, kind: str, address: str, build, unsent_subject: str
) -> tuple[bool, str]:
    """Send one automatic mail about ``ticket`` (a receipt, a confirmation request) to ``address``
    under the rules for every automatic mail (``loops.may_send_automatic``), and list it in the
    ticket's *Email and calls*: suppressed (with why), failed (then re-raised, for the task's
    retry) or sent. ``build()`` makes the mail only once it may go. Returns (sent, why not)."""
    from .actions import record_outbound
    from .loops import may_send_automatic

    allowed, why = may_send_automatic(address)
    if not allowed:
        record_outbound(
            ticket=ticket,
            message=message,
            kind=kind,
            message_id="",
            to=address,
            subject=unsent_subject,
            state=OutboundState.SUPPRESSED,
            error=why,
        )
        return False, why
    mail = build()
    sent = {"ticket": ticket, "message": message, "kind": kind, "to": address, "subject": mail.subject}
    try:
        mail.send()
    except Exception as exc:
        record_outbound(
            **sent,
            message_id=mail.extra_headers["Message-ID"],
            state=OutboundState.FAILED,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    record_outbound(**sent, message_id=mail.extra_headers["Message-ID"])
    return True, ""


def send_receipt_now(ticket_id: int) -> str:
    """Send the receipt of one ticket (once; rate-limited). Returns what happened, in words."""
    from charterdesk.tickets.models import Ticket

    ticket = Ticket.objects.select_related("customer", "protocol_version").get(pk=ticket_id)
    if OutboundMail.objects.filter(
        ticket=ticket, kind=OutboundKind.RECEIPT, state=OutboundState.SENT
    ).exists():
        return f"receipt for {ticket.reference} was already sent"
    address = ticket.customer.email or ""
    sent, why = send_automatic(
        ticket=ticket,
        message=None,
        kind=OutboundKind.RECEIPT,
        address=address,
        build=lambda: build_receipt(ticket),
        unsent_subject="(receipt not sent)",
    )
    if not sent:
        return f"no receipt for {ticket.reference}: {why}"
    return f"sent the receipt for {ticket.reference} to {address}"
