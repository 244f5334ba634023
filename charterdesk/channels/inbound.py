"""Inbound email: store whole first, then parse, route and thread, one message at a time.

Every way in (the SMTP listener, the IMAP poller, ``charterdesk email import``) calls
``receive(raw, ...)``: it commits the raw bytes (``store_inbound``) and only then may the
caller acknowledge the message (SMTP 250, IMAP \\Seen). ``process(inbound)`` then turns the
stored message into a ticket, a reply, a held message or a quarantine entry inside one
transaction, so a crash at any point leaves the message either untouched-and-pending (done
again on the next run by ``process_pending``) or completely done, never half done.
Any error while processing one message quarantines that message with the reason and moves on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from charterdesk.audit.actions import deferred_entries
from charterdesk.library.versions import next_scheduled, protocol_of, version_in_force
from charterdesk.tickets.actions import (
    TicketError,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_link,
)
from charterdesk.tickets.assignment import reusing_lookups
from charterdesk.tickets.choices import Status
from charterdesk.tickets.models import Message, Ticket

from . import actions, senders
from .acknowledge import acknowledge_new_ticket
from .addressing import base_address, ticket_from_address, ticket_from_message_id
from .choices import InboundState
from .conf import attachment_max_size
from .loops import automatic_reasons, is_auto_reply, is_bulk
from .masking import mask_raw
from .models import InboundMessage, TicketParticipant
from .parse import ParsedEmail, ParseError, parse_email, subject_ticket_reference

log = logging.getLogger("charterdesk.channels")


STORE_ATTEMPTS = 10


def _backoff(attempt: int) -> float:
    return min(0.05 * 2**attempt, 2.0)


class Quarantine(Exception):
    """Processing found a reason a person must look at this message."""


class EarlierFirst(Exception):
    """The message refers to earlier stored messages that are still pending: they go first, so a
    reply is never processed before the message it answers (when several workers share the work)."""

    def __init__(self, ids: list[int]):
        super().__init__(f"waits for {ids}")
        self.ids = ids


# --------------------------------------------------------------------------- a batch of messages

# How long a batch trusts the protocol version it looked up. A version published meanwhile is
# used from the next look-up on; one scheduled to take effect is used from its effective time.
BATCH_SECONDS = 5.0

_batch = threading.local()


@contextlib.contextmanager
def batch():
    """Process many messages with the protocol in force (and who may be assigned tickets) looked up
    once every few seconds, not once per message. Each thread (an IMAP poller, a worker) keeps its own."""
    outer = getattr(_batch, "state", None)
    if outer is None:
        _batch.state = {}
    try:
        with reusing_lookups(BATCH_SECONDS):
            yield
    finally:
        if outer is None:
            _batch.state = None


def in_force():
    """(version, protocol) in force now, or (None, None); remembered for a while inside ``batch()``."""
    state = getattr(_batch, "state", None)
    now = timezone.now()
    if state and time.monotonic() < state["until"] and (state["switch"] is None or now < state["switch"]):
        return state["version"], state["protocol"]
    version = version_in_force()
    protocol = protocol_of(version) if version is not None else None
    if state is not None and version is not None:
        upcoming = next_scheduled()
        state.update(
            version=version,
            protocol=protocol,
            until=time.monotonic() + BATCH_SECONDS,
            switch=upcoming.effective_at if upcoming is not None else None,
        )
    return version, protocol


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
    helo: str = "",
    process_now: bool = True,
) -> tuple[InboundMessage, bool]:
    """Store ``raw`` durably (committed when this returns), then process it unless told not to.

    Returns the stored row and whether it was new; a message seen before is not stored or acted on
    again. Processing errors never propagate: the message is quarantined instead.
    """
    inbound, created = _stubborn(
        lambda: actions.store_inbound(
            raw,
            source=source,
            source_ref=source_ref,
            envelope_from=envelope_from,
            envelope_to=list(envelope_to),
            channel=channel,
            mailbox=mailbox,
            helo=helo,
        )
    )
    if created and process_now:
        process(inbound)
        # What processing wrote (not the raw bytes again).
        inbound.refresh_from_db(fields=RESULT_FIELDS)
    return inbound, created


def _stubborn(store):
    for attempt in range(STORE_ATTEMPTS):
        try:
            return store()
        except OperationalError:
            # SQLite busy with another writer: wait a little rather than refuse the message.
            if attempt == STORE_ATTEMPTS - 1:
                raise
            close_old_connections()
            time.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


# SQLite lets one connection write at a time. Threads of one process (the IMAP pollers) take turns
# on this lock for their writes instead of racing for SQLite's own lock, whose busy handler sleeps
# and polls; on PostgreSQL they write concurrently. Reentrant, so a turn may be taken inside one.
_SQLITE_WRITER = threading.RLock()


def writer_turn():
    """``with writer_turn():`` around a write: one thread at a time on SQLite, no wait on PostgreSQL."""
    from django.db import connection

    return _SQLITE_WRITER if connection.vendor == "sqlite" else contextlib.nullcontext()


@contextlib.contextmanager
def writer_turns_shared(lock):
    """Inside the block ``writer_turn`` takes ``lock``: a ``multiprocessing`` lock made before forking
    processes that write to the same SQLite database take turns on it as threads do on their own."""
    global _SQLITE_WRITER
    own, _SQLITE_WRITER = _SQLITE_WRITER, lock
    try:
        yield
    finally:
        _SQLITE_WRITER = own


def store_many(
    items: list[tuple[bytes, str]], *, source: str, channel: str = "", mailbox=None
) -> list[tuple[InboundMessage | None, bool, str]]:
    """Store a chunk of (raw bytes, source reference) durably in one transaction: committed when this
    returns, not processed. (row, created, "") for each in order, or (None, False, why) for a message
    that could not be stored (the caller leaves it unacknowledged); one such never holds back the rest.
    Only the write itself waits for ``writer_turn``."""
    rows = actions.inbound_rows(
        [raw for raw, _ in items], [ref for _, ref in items], source=source, channel=channel, mailbox=mailbox
    )

    def store():
        with writer_turn():
            return actions.store_inbound_many(rows)

    return _stubborn(store)


def pending_ids(*, part: tuple[int, int] = (0, 1), limit: int | None = None) -> list[int]:
    """Ids of the stored messages still pending, oldest first; ``part=(k, n)``: those that are k modulo n."""
    queue = InboundMessage.objects.filter(state=InboundState.PENDING)
    k, n = part
    if n > 1:
        queue = queue.alias(slot=F("id") % n).filter(slot=k)
    queue = queue.order_by("id").values_list("id", flat=True)
    return list(queue[:limit] if limit else queue)


RESULT_FIELDS = ["state", "outcome", "reason", "ticket", "ticket_message", "subject", "from_address"]


def process_pending(limit: int | None = None) -> int:
    """Process every stored message still pending (after a crash, or stored with ``process_now=False``)."""
    ids = pending_ids(limit=limit)
    process_all(ids)
    return len(ids)


# Messages acted on in one transaction (each in its own savepoint) by ``process_many``.
PROCESS_BATCH = 20


def process_all(pks: list[int]) -> dict[int, str]:
    """``process_many`` over any number of messages, a batch at a time; {id: state afterwards}."""
    states: dict[int, str] = {}
    with batch():
        for start in range(0, len(pks), PROCESS_BATCH):
            chunk = pks[start : start + PROCESS_BATCH]
            with contextlib.suppress(OperationalError, InterfaceError):  # then checked in processing
                senders.check_ahead(chunk)  # DNS outside the batch's transaction
            states.update(process_many(chunk))
    return states


def process_many(pks: list[int]) -> dict[int, str]:
    """Act on several stored messages in one transaction, each in its own savepoint; {id: state}.

    The same outcome as ``process`` on each in turn, with one commit (and one append to the audit
    chain) for the batch instead of one per message. A message that fails is rolled back to its
    savepoint and quarantined, and the others go on. If the database itself fails, nothing of the
    batch happened and each message is processed on its own (with ``process``'s retries)."""
    states: dict[int, str] = {}
    later: list[int] = []
    try:
        with transaction.atomic(), deferred_entries():
            rows = InboundMessage.objects.select_for_update().filter(pk__in=pks).order_by("id")
            for row in rows:
                if row.state != InboundState.PENDING:
                    states[row.pk] = row.state
                    continue
                try:
                    with transaction.atomic(), deferred_entries():
                        _route(row)
                    states[row.pk] = row.state
                except (OperationalError, InterfaceError):
                    raise
                except EarlierFirst:
                    later.append(row.pk)  # after this batch commits, with the messages it waits for
                except Exception as exc:  # one bad message never stops the rest
                    states[row.pk] = _set_aside(row, exc)
    except (OperationalError, InterfaceError):
        return {pk: process(InboundMessage(pk=pk)) for pk in pks}
    for pk in later:
        states[pk] = process(InboundMessage(pk=pk))
    return states


def process(inbound: InboundMessage, *, retries: int = 8) -> str:
    """Act on one stored message, exactly once. Returns its state afterwards.

    A database that is busy or gone is not the message's fault: the message stays pending (tried
    again here, then by ``process_pending``) instead of going to the quarantine.
    """
    with contextlib.suppress(OperationalError, InterfaceError):  # a busy database: checked in processing
        senders.check_ahead([inbound.pk])  # DNS outside the processing transaction
    for attempt in range(retries):
        try:
            return _process_once(inbound)
        except EarlierFirst as earlier:
            for pk in earlier.ids:  # ids are lower than this one's, so this ends
                process(InboundMessage(pk=pk))
            continue
        except (OperationalError, InterfaceError):
            if attempt == retries - 1:
                log.warning("inbound message %s left pending: the database is not available", inbound.pk)
                return InboundState.PENDING
            close_old_connections()
            time.sleep(_backoff(attempt))
    return InboundState.PENDING


def _process_once(inbound: InboundMessage) -> str:
    try:
        # The audit entries go to the chain at the end, so that workers side by side wait for
        # each other only for the last moments of each message (see audit.deferred_entries).
        with transaction.atomic(), deferred_entries():
            locked = InboundMessage.objects.select_for_update().filter(pk=inbound.pk).first()
            if locked is None or locked.state != InboundState.PENDING:
                return locked.state if locked else ""
            _route(locked)
            return locked.state
    except (OperationalError, InterfaceError, EarlierFirst):
        raise
    except Exception as exc:  # one bad message never stops the rest
        return _set_aside(inbound, exc)


def _set_aside(inbound: InboundMessage, exc: Exception) -> str:
    if not isinstance(exc, Quarantine | ParseError | TicketError):
        log.exception("inbound message %s could not be processed", inbound.pk)
    try:
        actions.do_quarantine(inbound, _reason(exc))
    except (OperationalError, InterfaceError):
        raise
    except DatabaseError as refused:
        # The database refused even the quarantine (text it cannot hold, such as a NUL that a
        # header decoded to): set the message aside without the headers rather than stop the batch.
        log.exception("inbound message %s could not be quarantined with its headers", inbound.pk)
        reason = f"{_reason(exc)}; its subject and sender could not be kept ({type(refused).__name__})"
        actions.do_quarantine(inbound, reason.replace("\x00", ""), read_headers=False)
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
    version, protocol = in_force()
    if version is None:
        raise Quarantine("no protocol version is in force; publish one, then re-process this message")
    channel = _channel(inbound, parsed, protocol)
    our_addresses = {c.address.lower() for c in protocol.channels.customer if c.address}

    if parsed.bounce is not None:
        _bounce(inbound, parsed)
        return

    # Before looking for the thread, not after: an earlier message that is no longer pending then was
    # committed, outcome and all, before find_thread looks. Checked after, another worker could finish
    # it between the two queries and this reply would open a ticket of its own.
    _earlier_first(inbound, parsed)
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
            _new_ticket(
                inbound, parsed, channel, version, our_addresses, reopened_from=ticket, trusted=thread.trusted
            )
            return
        # Checked before anything is stored or masked: on the bytes as they arrived.
        unverified = senders.email_reason(inbound, parsed.from_address, trusted_thread=thread.trusted)
        message = do_customer_message(
            ticket,
            body=parsed.text or "(no text)",
            body_html=parsed.html,
            message_id=parsed.message_id,
            unverified_sender=unverified,
        )
        if message.author_customer_id and message.author_customer.email != parsed.from_address:
            # A participant other than the customer wrote: say who.
            actions.set_author(message, parsed.from_address, parsed.from_name)
        if unverified:
            senders.queue_confirmation(message, suppress_reasons=_automatic_mail_refusals(inbound, parsed))
        actions.attach_parts(message, parsed)
        mask_raw(inbound, parsed, message)
        actions.mark_processed(inbound, f"reply on {ticket.reference} (by {thread.how})", ticket, message)
        return

    if is_auto_reply(parsed):
        raise Quarantine("an automatic reply (out of office or similar) that concerns no ticket")
    _new_ticket(inbound, parsed, channel, version, our_addresses)


def _earlier_first(inbound: InboundMessage, parsed: ParsedEmail) -> None:
    """A message that names earlier messages still pending (stored, not yet acted on) waits for them:
    otherwise a reply processed before the message it answers would open a ticket of its own."""
    referenced = [*parsed.in_reply_to, *parsed.references][:50]
    if not referenced:
        return
    waiting = list(
        InboundMessage.objects.filter(
            message_id__in=referenced, state=InboundState.PENDING, pk__lt=inbound.pk
        ).values_list("pk", flat=True)
    )
    if waiting:
        raise EarlierFirst(sorted(waiting))


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


def _new_ticket(
    inbound, parsed: ParsedEmail, channel, version, our_addresses, reopened_from=None, trusted=False
) -> None:
    # Before the customer row is looked up or made: a first contact has no history to protect.
    unverified = senders.email_reason(inbound, parsed.from_address, trusted_thread=trusted)
    customer = do_find_or_create_customer(email=parsed.from_address, name=parsed.from_name)
    tags = ["bulk"] if is_bulk(parsed) else []
    ticket = do_create_ticket(
        customer=customer,
        subject=parsed.subject,
        body=parsed.text or "(no text)",
        body_html=parsed.html,
        channel=channel,
        tags=tags,
        message_id=parsed.message_id,
        version=version,
        unverified_sender=unverified,
    )
    message = ticket.first_message
    actions.attach_parts(message, parsed)
    mask_raw(inbound, parsed, message)
    others = [
        a
        for a in [*parsed.to, *parsed.cc]
        if a != parsed.from_address and base_address(a) not in our_addresses and not ticket_from_address(a)
    ]
    actions.add_participants(ticket, others)
    outcome = f"new ticket {ticket.reference}"
    if reopened_from is not None:
        do_link(ticket, reopened_from, actor=None)
        outcome += f" (a reply to closed {reopened_from.reference}, linked)"
    actions.mark_processed(inbound, outcome, ticket, message)
    reasons = _automatic_mail_refusals(inbound, parsed)
    if unverified:
        # The customer is asked whether they wrote it instead of being sent a receipt for it.
        senders.queue_confirmation(message, suppress_reasons=reasons)
    else:
        acknowledge_new_ticket(ticket, suppress_reasons=reasons)


def _automatic_mail_refusals(inbound, parsed: ParsedEmail) -> list[str]:
    """Why no automatic mail (a receipt, a confirmation request) may answer this message."""
    reasons = automatic_reasons(parsed)
    if inbound.source == "import":
        # Mail moved over from another desk or an archive was written long ago, often already
        # answered there: a receipt now would mail every past customer.
        reasons = [
            *reasons,
            "imported from a file (email import): automatic mail goes only to mail that arrives live",
        ]
    return reasons


def _auto_reply_note(inbound, parsed: ParsedEmail, ticket: Ticket) -> None:
    """An out-of-office answer on a ticket: an internal note, so it neither reopens the ticket nor
    counts as the customer writing."""
    message = None
    if ticket.status != Status.CLOSED:
        message = actions.do_system_note(
            ticket, f"Automatic reply from {parsed.from_address}: {parsed.subject}\n\n{parsed.text}".strip()
        )
    actions.mark_processed(inbound, f"automatic reply on {ticket.reference}", ticket, message)


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
