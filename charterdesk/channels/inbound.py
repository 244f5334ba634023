"""Inbound email: store whole first, then parse, route and thread, one message at a time.

Every way in (the SMTP listener, the IMAP poller, ``charterdesk email import``) calls
``receive(raw, ...)``: it commits the raw bytes (``do_store_inbound``) and only then may the
caller acknowledge the message (SMTP 250, IMAP \\Seen). ``process(inbound)`` then turns the
stored message into a ticket, a reply, a held message or a quarantine entry inside one
transaction, so a crash at any point leaves the message either untouched-and-pending (done
again on the next run by ``process_pending``) or completely done, never half done.
Any error while processing one message quarantines that message with the reason and moves on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, close_old_connections, transaction

from charterdesk.protocols.library import protocol_of, version_in_force
from charterdesk.tickets.actions import TicketError, do_create_ticket, do_customer_message, do_link
from charterdesk.tickets.choices import Status
from charterdesk.tickets.models import Message, Ticket

from . import actions
from .addressing import base_address, ticket_from_address, ticket_from_message_id
from .choices import InboundState
from .conf import attachment_max_size
from .loops import automatic_reasons, is_auto_reply, is_bulk
from .models import InboundMessage, TicketParticipant
from .parse import ParsedEmail, ParseError, parse_email, subject_ticket_reference

log = logging.getLogger("charterdesk.channels")


STORE_ATTEMPTS = 10


def _backoff(attempt: int) -> float:
    return min(0.05 * 2**attempt, 2.0)


class Quarantine(Exception):
    """Processing found a reason a person must look at this message."""


@dataclass
class Thread:
    ticket: Ticket
    how: str  # "reply address", "message id", "subject reference"

    @property
    def trusted(self) -> bool:
        # A signed reply address or one of our signed Message-IDs proves the sender saw our mail.
        return self.how in ("reply address", "our message id")


def receive(
    raw: bytes,
    *,
    source: str,
    source_ref: str = "",
    envelope_from: str = "",
    envelope_to: list[str] | tuple[str, ...] = (),
    channel: str = "",
    mailbox=None,
    process_now: bool = True,
) -> tuple[InboundMessage, bool]:
    """Store ``raw`` durably (committed when this returns), then process it unless told not to.

    Returns the stored row and whether it was new; a message seen before is not stored or acted on
    again. Processing errors never propagate: the message is quarantined instead.
    """
    for attempt in range(STORE_ATTEMPTS):
        try:
            inbound, created = actions.do_store_inbound(
                raw,
                source=source,
                source_ref=source_ref,
                envelope_from=envelope_from,
                envelope_to=list(envelope_to),
                channel=channel,
                mailbox=mailbox,
            )
            break
        except OperationalError:
            # SQLite busy with another writer: wait a little rather than refuse the message.
            if attempt == STORE_ATTEMPTS - 1:
                raise
            close_old_connections()
            time.sleep(_backoff(attempt))
    if created and process_now:
        process(inbound)
        inbound.refresh_from_db()
    return inbound, created


def process_pending(limit: int | None = None) -> int:
    """Process every stored message still pending (after a crash, or stored with ``process_now=False``)."""
    done = 0
    queue = (
        InboundMessage.objects.filter(state=InboundState.PENDING).order_by("id").values_list("id", flat=True)
    )
    for pk in list(queue[:limit] if limit else queue):
        process(InboundMessage(pk=pk))
        done += 1
    return done


def process(inbound: InboundMessage, *, retries: int = 8) -> str:
    """Act on one stored message, exactly once. Returns its state afterwards.

    A database that is busy or gone is not the message's fault: the message stays pending (tried
    again here, then by ``process_pending``) instead of going to the quarantine.
    """
    for attempt in range(retries):
        try:
            return _process_once(inbound)
        except (OperationalError, InterfaceError):
            if attempt == retries - 1:
                log.warning("inbound message %s left pending: the database is not available", inbound.pk)
                return InboundState.PENDING
            close_old_connections()
            time.sleep(_backoff(attempt))
    return InboundState.PENDING


def _process_once(inbound: InboundMessage) -> str:
    try:
        with transaction.atomic():
            locked = InboundMessage.objects.select_for_update().filter(pk=inbound.pk).first()
            if locked is None or locked.state != InboundState.PENDING:
                return locked.state if locked else ""
            _route(locked)
            return locked.state
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # one bad message never stops the rest
        reason = _reason(exc)
        if not isinstance(exc, Quarantine | ParseError | TicketError):
            log.exception("inbound message %s could not be processed", inbound.pk)
        actions.do_quarantine(inbound, reason)
        return InboundState.QUARANTINED


def _reason(exc: Exception) -> str:
    if isinstance(exc, Quarantine | ParseError | TicketError):
        return str(exc)
    return f"unexpected error while processing: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- routing


def _route(inbound: InboundMessage) -> None:
    parsed = parse_email(inbound.raw_bytes, attachment_limit=attachment_max_size())
    actions.note_headers(inbound, parsed)
    if not parsed.from_address:
        raise Quarantine("the message has no usable sender address (From is missing or malformed)")
    version = version_in_force()
    if version is None:
        raise Quarantine("no protocol version is in force; publish one, then re-process this message")
    protocol = protocol_of(version)
    channel = _channel(inbound, parsed, protocol)
    our_addresses = {c.address.lower() for c in protocol.channels.customer if c.address}

    if parsed.bounce is not None:
        _bounce(inbound, parsed)
        return

    thread = find_thread(parsed)
    if thread is not None:
        ticket = thread.ticket
        if is_auto_reply(parsed):
            _auto_reply_note(inbound, parsed, ticket)
            return
        if not is_participant(ticket, parsed.from_address):
            actions.do_hold(
                inbound,
                ticket,
                f"{parsed.from_address} is not a participant of {ticket.reference} "
                f"(matched by {thread.how}); an agent decides whether to attach it",
            )
            return
        if ticket.status == Status.CLOSED:
            _new_ticket(inbound, parsed, channel, protocol, our_addresses, reopened_from=ticket)
            return
        message = do_customer_message(
            ticket, body=parsed.text or "(no text)", body_html=parsed.html, message_id=parsed.message_id
        )
        if message.author_customer_id and message.author_customer.email != parsed.from_address:
            # A participant other than the customer wrote: say who.
            actions.do_set_author(message, parsed.from_address, parsed.from_name)
        actions.do_attach_parts(message, parsed)
        actions.do_mark_processed(inbound, f"reply on {ticket.reference} (by {thread.how})", ticket, message)
        return

    if is_auto_reply(parsed):
        raise Quarantine("an automatic reply (out of office or similar) that concerns no ticket")
    _new_ticket(inbound, parsed, channel, protocol, our_addresses)


def _channel(inbound: InboundMessage, parsed: ParsedEmail, protocol) -> str:
    channels = protocol.channels.customer
    ids = {c.id for c in channels}
    if inbound.channel and inbound.channel in ids:
        return inbound.channel
    by_address = {c.address.lower(): c.id for c in channels if c.address}
    for address in [*inbound.envelope_to, *parsed.recipients]:
        found = by_address.get(base_address(address))
        if found:
            return found
    email_channels = [c.id for c in channels if c.kind == "email"]
    if not email_channels:
        raise Quarantine("the protocol in force has no email channel to put this message in")
    return email_channels[0]


def find_thread(parsed: ParsedEmail) -> Thread | None:
    """The ticket this message continues: by signed reply address, then our Message-IDs, then the
    customer's earlier Message-IDs, then a ``[#123]`` subject reference."""
    for address in parsed.recipients:
        ticket_id = ticket_from_address(address)
        if ticket_id is not None:
            ticket = _ticket(ticket_id)
            if ticket is not None:
                return Thread(ticket, "reply address")
    referenced = [*parsed.in_reply_to, *reversed(parsed.references)]
    for message_id in referenced:
        ticket_id = ticket_from_message_id(message_id)
        if ticket_id is not None:
            ticket = _ticket(ticket_id)
            if ticket is not None:
                return Thread(ticket, "our message id")
    if referenced:
        known = (
            Message.objects.filter(message_id__in=referenced[:50])
            .exclude(message_id="")
            .order_by("-created_at")
            .values_list("ticket_id", flat=True)
            .first()
        )
        if known is not None:
            ticket = _ticket(known)
            if ticket is not None:
                return Thread(ticket, "message id")
    number = subject_ticket_reference(parsed.subject)
    if number is not None:
        ticket = _ticket(number)
        if ticket is not None:
            return Thread(ticket, "subject reference")
    return None


def _ticket(ticket_id: int) -> Ticket | None:
    ticket = Ticket.objects.select_related("customer", "protocol_version").filter(pk=ticket_id).first()
    seen = set()
    while ticket is not None and ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.select_related("customer", "protocol_version").get(pk=ticket.merged_into_id)
    return ticket


def is_participant(ticket: Ticket, address: str) -> bool:
    address = address.lower()
    if ticket.customer.email and ticket.customer.email.lower() == address:
        return True
    return TicketParticipant.objects.filter(ticket=ticket, email=address).exists()


def _new_ticket(inbound, parsed: ParsedEmail, channel, protocol, our_addresses, reopened_from=None) -> None:
    customer = actions.do_sender_customer(parsed.from_address, parsed.from_name)
    tags = ["bulk"] if is_bulk(parsed) else []
    ticket = do_create_ticket(
        customer=customer,
        subject=parsed.subject,
        body=parsed.text or "(no text)",
        body_html=parsed.html,
        channel=channel,
        tags=tags,
        message_id=parsed.message_id,
    )
    message = ticket.messages.order_by("id").first()
    actions.do_attach_parts(message, parsed)
    others = [
        a
        for a in [*parsed.to, *parsed.cc]
        if a != parsed.from_address and base_address(a) not in our_addresses and not ticket_from_address(a)
    ]
    actions.do_add_participants(ticket, others)
    outcome = f"new ticket {ticket.reference}"
    if reopened_from is not None:
        do_link(ticket, reopened_from, actor=None)
        outcome += f" (a reply to closed {reopened_from.reference}, linked)"
    actions.do_mark_processed(inbound, outcome, ticket, message)
    channel_config = next((c for c in protocol.channels.customer if c.id == channel), None)
    if channel_config is not None and channel_config.acknowledge:
        from .acknowledge import queue_receipt

        queue_receipt(ticket, suppress_reasons=automatic_reasons(parsed))


def _auto_reply_note(inbound, parsed: ParsedEmail, ticket: Ticket) -> None:
    """An out-of-office answer on a ticket: an internal note, so it neither reopens the ticket nor
    counts as the customer writing."""
    message = None
    if ticket.status != Status.CLOSED:
        message = actions.do_system_note(
            ticket, f"Automatic reply from {parsed.from_address}: {parsed.subject}\n\n{parsed.text}".strip()
        )
    actions.do_mark_processed(inbound, f"automatic reply on {ticket.reference}", ticket, message)


def _bounce(inbound, parsed: ParsedEmail) -> None:
    details = parsed.bounce or {}
    ticket = None
    original = details.get("original_message_id") or ""
    if original:
        ticket_id = ticket_from_message_id(original)
        ticket = _ticket(ticket_id) if ticket_id else None
    if ticket is None:
        thread = find_thread(parsed)
        ticket = thread.ticket if thread else None
    if ticket is None and details.get("recipients"):
        # The bounced address is a customer of ours: the newest ticket mailed to them.
        from .models import OutboundMail

        mail = (
            OutboundMail.objects.filter(to_address__in=details["recipients"]).order_by("-created_at").first()
        )
        ticket = mail.ticket if mail else None
    if ticket is None:
        raise Quarantine("a bounce (delivery status notification) that concerns no ticket of ours")
    actions.do_record_bounce(inbound, ticket, details)
