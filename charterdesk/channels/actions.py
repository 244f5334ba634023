"""Every write of the channels app: atomic, and audited where a person or a rule decided something.

Storing a raw message (``store_inbound``) is not audited: the stored row is itself the record
of what arrived, and ingestion has to keep up with thousands of messages. What the desk then does
with each message (a ticket, a reply, a hold, a quarantine) is audited, here or by the ticket
actions it calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, connections, router, transaction
from django.utils import timezone

from charterdesk.audit.actions import action, record
from charterdesk.audit.refs import ref, without_addresses
from charterdesk.tickets.actions import (
    TicketError,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
    stored_text,
)
from charterdesk.tickets.choices import Status
from charterdesk.tickets.history import actor_name
from charterdesk.tickets.models import Attachment, Customer, Message, Ticket

from .acknowledge import acknowledge_new_ticket
from .choices import InboundState, OutboundState
from .masking import mask_raw, masked_original
from .models import EmbedForm, InboundMessage, Mailbox, OutboundMail, TicketParticipant
from .parse import ParsedEmail, content_hash, decode_words, parse_email, raw_message_id

log = logging.getLogger("charterdesk.channels")


class ChannelError(Exception):
    """A change that cannot be made; the message names the field and says why."""


# --------------------------------------------------------------------------- storing what arrives


def dedupe_key(raw: bytes) -> tuple[str, str, str]:
    """(key, message_id, sha256): the content hash of the bytes as received. A duplicate is the
    same message: the same Message-ID *and* the same content, which the hash covers both of. The
    Message-ID alone is chosen by the sender, so a second, different message reusing one would
    otherwise be answered "already have it" and stored nowhere."""
    digest = content_hash(raw)
    message_id = raw_message_id(raw)
    return f"sha:{digest}", message_id, digest


def store_inbound(raw: bytes, **fields) -> tuple[InboundMessage, bool]:
    """Commit the raw message; returns (row, created). A message already stored is not stored again.

    Not an audited action: this is the channels' durable spool, written before the sender is told
    the message arrived; what the desk does with it (a ticket, a reply, quarantine) is audited when
    it is processed.

    ``fields``: source (required), source_ref, envelope_from, envelope_to, channel, mailbox, at, helo."""
    inbound = _inbound_row(raw, **fields)
    with transaction.atomic():
        if _insert_new([inbound]):
            flag_reused_message_ids([inbound])
            return inbound, True
        # Stored before, or meanwhile by another listener or poller: that copy wins.
        return _stored().get(dedupe_key=inbound.dedupe_key), False


def inbound_rows(raws: list[bytes], refs: list[str], **common) -> list[InboundMessage]:
    """The unsaved rows of a chunk for ``store_inbound_many``: its hashing and building, which
    needs no database, done before the caller's turn to write. ``common`` as ``store_inbound``."""
    common.setdefault("at", timezone.now())
    return [_inbound_row(raw, source_ref=ref, **common) for raw, ref in zip(raws, refs, strict=True)]


def flag_reused_message_ids(rows: list[InboundMessage]) -> None:
    """Mark the new rows whose Message-ID an earlier message, with other content, already used:
    stored as messages of their own, and flagged for people to see (not a write of the desk's
    decisions, so not an action: part of the spool's own bookkeeping)."""
    ids = {row.message_id for row in rows if row.message_id}
    if not ids:
        return
    earlier = set(
        InboundMessage.objects.filter(message_id__in=ids)
        .exclude(pk__in=[row.pk for row in rows])
        .values_list("message_id", flat=True)
    )
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: r.pk or 0):
        if row.message_id and (row.message_id in earlier or row.message_id in seen):
            row.reused_message_id = True
            InboundMessage.objects.filter(pk=row.pk).update(reused_message_id=True)
        seen.add(row.message_id)


def store_inbound_many(rows: list[InboundMessage]) -> list[tuple[InboundMessage | None, bool, str]]:
    """Commit a chunk of messages (``inbound_rows``) in one transaction, with one INSERT for them all.

    (row, created, "") for each in order; a message stored before (or earlier in the chunk) is not
    stored again. If the database refuses the INSERT, each message is stored in a savepoint of its
    own instead, so that one it refuses is left out alone, as (None, False, why). A database that is
    busy or gone fails the whole chunk (nothing of it is committed)."""
    fresh: dict[str, InboundMessage] = {}
    for row in rows:
        fresh.setdefault(row.dedupe_key, row)  # the first of a key repeated in the chunk
    failed: dict[str, str] = {}
    try:
        with transaction.atomic():
            inserted = _insert_new(list(fresh.values()))
            stored = _stored_copies([key for key in fresh if key not in inserted])
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.warning("a chunk of %s messages was refused; storing them one by one", len(rows), exc_info=True)
        inserted, stored = {}, {}
        with transaction.atomic():
            for key, row in fresh.items():
                try:
                    with transaction.atomic():
                        inserted.update(_insert_new([row]))
                        if key not in inserted:
                            stored.update(_stored_copies([key]))
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    log.exception("a message (%s) could not be stored", row.source_ref)
                    failed[key] = f"{type(exc).__name__}: {exc}"
    flag_reused_message_ids([fresh[key] for key in inserted if key in fresh])
    answer: list[tuple[InboundMessage | None, bool, str]] = []
    for row in rows:
        key = row.dedupe_key
        if key in failed:
            answer.append((None, False, failed[key]))
        elif key in stored:  # stored before, by this or another way in
            answer.append((stored[key], False, ""))
        elif key in inserted:
            answer.append((fresh[key], fresh[key] is row, ""))
        else:  # stored by another writer, and deleted again before we could read it: fetch it again
            answer.append((None, False, "stored meanwhile by another writer, then gone"))
    return answer


# What one INSERT of ``_insert_new`` carries at most: PostgreSQL refuses a statement of 1 GB, and
# mail of 25 MB each is allowed in.
INSERT_ROWS = 100
INSERT_BYTES = 32 * 1024 * 1024


def _insert_new(rows: list[InboundMessage]) -> dict[str, int]:
    """INSERT the rows, many in one statement, skipping those whose dedupe key is stored already;
    returns {dedupe key: id} of those inserted (and gives each its id).

    ``ON CONFLICT (dedupe_key) DO NOTHING RETURNING`` (PostgreSQL, and SQLite since 3.35) learns which
    were new in the same round trip, and a copy stored at the same moment by another writer is
    simply skipped. Django's ``bulk_create(ignore_conflicts=True)`` cannot say which rows it inserted."""
    inserted: dict[str, int] = {}
    group: list[InboundMessage] = []
    size = 0
    for row in rows:
        if group and (len(group) == INSERT_ROWS or size + row.size > INSERT_BYTES):
            inserted.update(_insert_group(group))
            group, size = [], 0
        group.append(row)
        size += row.size
    if group:
        inserted.update(_insert_group(group))
    return inserted


def _insert_group(rows: list[InboundMessage]) -> dict[str, int]:
    db = connections[router.db_for_write(InboundMessage)]  # not the proxy: it is asked once per value
    meta = InboundMessage._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = db.ops.quote_name
    key = quote(meta.get_field("dedupe_key").column)
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
    tail = f" ON CONFLICT ({key}) DO NOTHING RETURNING {quote(meta.pk.column)}, {key}"
    if db.vendor == "postgresql":
        # One array a column, unnested into rows, and one value for a column the same in every row
        # (the source, the mailbox, the defaults): psycopg splits a statement's text at each
        # placeholder and writes each array in Python, which cost more than the insert itself.
        selects, constants, casts, arrays = [], [], [], []
        for f in fields:
            values = [getattr(row, f.attname) for row in rows]
            json_text = f.get_internal_type() == "JSONField"
            if json_text:
                values = [None if v is None else json.dumps(v, cls=f.encoder) for v in values]
            kind = "text" if json_text else f.db_type(db)
            first = values[0]
            if all(v == first for v in values):
                selects.append(f"%s::{kind}" + ("::jsonb" if json_text else ""))
                constants.append(first if json_text else f.get_db_prep_save(first, db))
            else:
                selects.append(f"c{len(arrays)}" + ("::jsonb" if json_text else ""))
                casts.append(f"%s::{kind}[]")
                arrays.append(values if json_text else [f.get_db_prep_save(v, db) for v in values])
        rows_from = (  # none when every column is the same: a single row
            f" FROM unnest({', '.join(casts)}) AS x({', '.join(f'c{n}' for n in range(len(arrays)))})"
            if arrays
            else ""
        )
        sql = f"{head}SELECT {', '.join(selects)}{rows_from}{tail}"
        params: list = [*constants, *arrays]
    else:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = f"{head}VALUES {', '.join([one] * len(rows))}{tail}"
        prepare = [(f.attname, f.get_db_prep_save) for f in fields]
        params = [to_db(getattr(row, name), db) for row in rows for name, to_db in prepare]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = {dedupe: pk for pk, dedupe in cursor.fetchall()}
    for row in rows:
        if row.dedupe_key in inserted:
            row.pk = inserted[row.dedupe_key]
            row._state.adding, row._state.db = False, db.alias
    return inserted


def _stored_copies(keys: list[str]) -> dict[str, InboundMessage]:
    return {row.dedupe_key: row for row in _stored().filter(dedupe_key__in=keys)} if keys else {}


def _stored():
    # The raw bytes are not needed to know that a message is already stored.
    return InboundMessage.objects.defer("raw")


def _inbound_row(
    raw: bytes,
    *,
    source: str,
    source_ref: str = "",
    envelope_from: str = "",
    envelope_to: list[str] | None = None,
    channel: str = "",
    mailbox: Mailbox | None = None,
    at: dt.datetime | None = None,
    helo: str = "",
) -> InboundMessage:
    key, message_id, digest = dedupe_key(raw)
    return InboundMessage(
        dedupe_key=key[:340],
        raw=raw,
        size=len(raw),
        sha256=digest,
        message_id=message_id[:300],
        source=source,
        source_ref=source_ref[:300],
        envelope_from=envelope_from[:320],
        helo=helo[:255],
        envelope_to=[a[:320] for a in (envelope_to or [])][:100],
        channel=channel,
        mailbox=mailbox,
        received_at=at or timezone.now(),
    )


def note_headers(inbound: InboundMessage, parsed: ParsedEmail) -> None:
    """Keep subject and sender on the row (saved with the outcome), for the lists of the desk."""
    inbound.subject = stored_text(parsed.subject[:300], "subject")
    inbound.from_address = parsed.from_address[:320]


# Saved with every outcome: the headers ``note_headers`` read, in the same UPDATE.
_HEADERS = ["subject", "from_address"]


def mark_processed(inbound: InboundMessage, outcome: str, ticket: Ticket | None, message) -> None:
    """A step of processing (inside the action that turned the message into a ticket change)."""
    inbound.state = InboundState.PROCESSED
    inbound.outcome = outcome[:300]
    inbound.reason = ""
    inbound.ticket = ticket
    inbound.ticket_message = message
    inbound.processed_at = timezone.now()
    inbound.save(
        update_fields=["state", "outcome", "reason", "ticket", "ticket_message", "processed_at", *_HEADERS]
    )


@action
def do_quarantine(inbound: InboundMessage, reason: str, *, actor=None, read_headers: bool = True) -> None:
    """Set a message aside, whole, for a lead to look at.

    ``read_headers=False`` keeps the row's subject and sender as they are (empty, if never read):
    the way out when the database refuses what the headers decode to."""
    with transaction.atomic():
        row = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if read_headers and not row.subject and not row.from_address:
            _best_effort_headers(row)
        row.state = InboundState.QUARANTINED
        row.reason = reason[:5000]
        row.attempts += 1
        row.processed_at = timezone.now()
        row.save()
        record(
            "channels.quarantine",
            f"Message {row.pk} quarantined: {without_addresses(reason)[:200]}",
            actor=actor,
            target=f"inbound:{row.pk}",
            data={"reason": without_addresses(reason[:1000]), "source": row.source},
        )
    inbound.state = InboundState.QUARANTINED


def _best_effort_headers(row: InboundMessage) -> None:
    head = row.raw_bytes[:20000].decode("utf-8", "replace")
    for name, attribute in (("subject", "subject"), ("from", "from_address")):
        match = re.search(rf"(?im)^{name}:[ \t]*(.*)$", head)
        if match:
            setattr(row, attribute, decode_words(match.group(1))[:300])


@action
def do_hold(inbound: InboundMessage, ticket: Ticket, reason: str) -> None:
    """A reply from someone who is not on the ticket: kept aside until an agent decides."""
    inbound.state = InboundState.HELD
    inbound.ticket = ticket
    inbound.reason = reason
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["state", "ticket", "reason", "processed_at", *_HEADERS])
    record(
        "channels.hold",
        f"Message {inbound.pk}, from someone not on the ticket, held for approval on {ticket.reference}",
        target=f"ticket:{ticket.pk}",
        data={"inbound": inbound.pk, "reason": without_addresses(reason)},
    )


def set_author(message: Message, address: str, name: str) -> None:
    """Attribute a message to the participant who really wrote it (a step of processing it)."""
    customer = do_find_or_create_customer(email=address, name=name)
    Message.objects.filter(pk=message.pk).update(author_customer=customer)
    message.author_customer = customer


def add_participants(ticket: Ticket, emails) -> None:
    """A step of processing a message: its other recipients may write on the ticket too."""
    wanted = {e.strip().lower() for e in emails if e and "@" in e}
    wanted.discard((ticket.customer.email or "").lower())
    TicketParticipant.objects.bulk_create(
        [TicketParticipant(ticket=ticket, email=e[:254]) for e in sorted(wanted)], ignore_conflicts=True
    )


def attach_parts(message: Message, parsed: ParsedEmail) -> list[Attachment]:
    """Store attachments and inline images (a step of processing a message). The HTML keeps its
    ``cid:`` links: the desk and the portal each point them at their own download address when
    they show the message."""
    from charterdesk.tickets.attachments import stored_filename, stored_name

    stored = []
    for part in parsed.parts:
        attachment = Attachment(
            message=message,
            filename=stored_filename(part.filename),
            content_type=part.content_type[:120],
            size=part.size,
            content_id=part.content_id[:255],
        )
        attachment.file.save(stored_name(part.filename), ContentFile(part.data), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


@action
def do_system_note(ticket: Ticket, text: str) -> Message:
    return do_reply(ticket, author=None, body=text, public=False)


@action
def do_record_bounce(inbound: InboundMessage, ticket: Ticket, details: dict) -> None:
    """A delivery failure: the mail it concerns is marked bounced, and the ticket says so."""
    recipients = ", ".join(details.get("recipients") or []) or "the customer"
    why = " ".join(x for x in (details.get("status"), details.get("diagnostic")) if x) or "no reason given"
    original = details.get("original_message_id") or ""
    mails = OutboundMail.objects.filter(ticket=ticket)
    mails = (
        mails.filter(message_id=original)
        if original
        else mails.filter(to_address__in=details.get("recipients") or [])
    )
    mails.update(state=OutboundState.BOUNCED, error=why[:2000])
    record(
        "channels.bounce",
        f"Mail on {ticket.reference} bounced: {without_addresses(why)[:200]}",
        target=f"ticket:{ticket.pk}",
        data={"inbound": inbound.pk, "original_message_id": original[:300]},
    )
    message = None
    if ticket.status != Status.CLOSED:
        message = do_system_note(ticket, f"Mail to {recipients} bounced: {why}")
    mark_processed(inbound, f"bounce on {ticket.reference}: {why[:150]}", ticket, message)


def record_outbound(
    *,
    ticket: Ticket,
    message: Message | None,
    kind: str,
    message_id: str,
    to: str,
    subject: str,
    state: str = OutboundState.SENT,
    error: str = "",
    at: dt.datetime | None = None,
) -> OutboundMail:
    """The channels' log of a mail sent (or not): the ticket's "Email and calls" card lists it.
    Not an audited action; the OutboundMail rows are themselves the record of what went out."""
    with transaction.atomic():
        return OutboundMail.objects.create(
            ticket=ticket,
            ticket_message=message,
            kind=kind,
            message_id=message_id[:300],
            to_address=(to or "").lower()[:320],
            subject=subject[:400],
            state=state,
            error=error[:5000],
            created_at=at or timezone.now(),
        )


# --------------------------------------------------------------------------- decisions by people


def _locked(inbound: InboundMessage, *states: str) -> InboundMessage:
    # of=("self",): lock the message only; PostgreSQL cannot lock the nullable side of the join.
    row = InboundMessage.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=inbound.pk)
    if row.state not in states:
        raise ChannelError(f"message {row.pk} is {row.get_state_display().lower()}, so this cannot be done")
    return row


@action
def do_approve_held(inbound: InboundMessage, *, actor) -> Message:
    """Attach a held reply to its ticket and make its sender a participant."""
    with transaction.atomic():
        row = _locked(inbound, InboundState.HELD)
        parsed = parse_email(row.raw_bytes)
        ticket = row.ticket
        if ticket is None:
            raise ChannelError("the ticket this message was held for no longer exists")
        if ticket.status == Status.CLOSED:
            raise ChannelError(f"{ticket.reference} is closed; turn the message into a new ticket instead")
        message = do_customer_message(
            ticket, body=parsed.text or "(no text)", body_html=parsed.html, message_id=parsed.message_id
        )
        set_author(message, parsed.from_address, parsed.from_name)
        attach_parts(message, parsed)
        add_participants(ticket, [parsed.from_address])
        row.decided_by = actor
        row.save(update_fields=["decided_by"])
        mask_raw(row, parsed, message)
        mark_processed(row, f"reply on {ticket.reference} (approved by {actor_name(actor)})", ticket, message)
        record(
            "channels.approve",
            f"{ref(actor)} attached held message {row.pk} to {ticket.reference}",
            actor=actor,
            target=f"ticket:{ticket.pk}",
            data={"inbound": row.pk},
        )
    return message


@action
def do_held_to_new_ticket(inbound: InboundMessage, *, actor) -> Ticket:
    """Open a new ticket for the sender of a held message, linked to the ticket it referred to."""
    from charterdesk.tickets.actions import do_link

    with transaction.atomic():
        row = _locked(inbound, InboundState.HELD)
        parsed = parse_email(row.raw_bytes)
        ticket = _ticket_from(row, parsed, actor=actor)
        if row.ticket is not None:
            do_link(ticket, row.ticket, actor=actor)
        row.decided_by = actor
        row.save(update_fields=["decided_by"])
        first = ticket.messages.order_by("id").first()
        mask_raw(row, parsed, first)
        mark_processed(row, f"new ticket {ticket.reference} (by {actor_name(actor)})", ticket, first)
        record(
            "channels.held_to_ticket",
            f"{ref(actor)} opened {ticket.reference} from held message {row.pk}",
            actor=actor,
            target=f"ticket:{ticket.pk}",
            data={"inbound": row.pk},
        )
    return ticket


def _ticket_from(row: InboundMessage, parsed: ParsedEmail, *, actor, customer=None, subject=None, body=None):
    channel = row.channel or (row.ticket.channel if row.ticket else "") or "email"
    customer = customer or do_find_or_create_customer(email=parsed.from_address, name=parsed.from_name)
    ticket = do_create_ticket(
        customer=customer,
        subject=subject if subject is not None else parsed.subject,
        body=body if body is not None else (parsed.text or "(no text)"),
        body_html=parsed.html if body is None else "",
        channel=channel,
        message_id=parsed.message_id,
    )
    attach_parts(ticket.messages.order_by("id").first(), parsed)
    return ticket


@action
def do_reject_held(inbound: InboundMessage, *, actor, note: str = "") -> None:
    """Decide a held message is not for the ticket. It stays stored, marked rejected."""
    with transaction.atomic():
        row = _locked(inbound, InboundState.HELD)
        row.state = InboundState.REJECTED
        row.decided_by = actor
        row.outcome = f"rejected by {actor_name(actor)}" + (f": {note}" if note else "")
        row.save(update_fields=["state", "decided_by", "outcome"])
        record(
            "channels.reject",
            f"{ref(actor)} rejected held message {row.pk}",
            actor=actor,
            target=f"inbound:{row.pk}",
            data={"note": without_addresses(note)},
        )


@action
def do_requeue(inbound: InboundMessage, *, actor) -> None:
    """Put a quarantined message back in the queue (after the cause was fixed)."""
    with transaction.atomic():
        row = _locked(inbound, InboundState.QUARANTINED)
        row.state = InboundState.PENDING
        row.save(update_fields=["state"])
        record(
            "channels.reprocess",
            f"{ref(actor)} re-processed quarantined message {row.pk}",
            actor=actor,
            target=f"inbound:{row.pk}",
            data={"previous_reason": without_addresses(row.reason[:1000])},
        )


@action
def do_ticket_from_quarantine(
    inbound: InboundMessage, *, actor, email: str, name: str, subject: str, body: str, channel: str
) -> Ticket:
    """Turn a quarantined message into a ticket by hand; the original is attached as an .eml file."""
    email = (email or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ChannelError("email: enter the customer's address, such as jo@example.com")
    if not body.strip():
        raise ChannelError("body: write what the customer asked (copy it from the original below)")
    with transaction.atomic():
        row = _locked(inbound, InboundState.QUARANTINED)
        customer = do_find_or_create_customer(email=email, name=name)
        try:
            ticket = do_create_ticket(
                customer=customer,
                subject=subject,
                body=body,
                channel=channel,
                message_id=row.message_id
                if not Message.objects.filter(message_id=row.message_id).exclude(message_id="").exists()
                else "",
            )
        except TicketError as exc:
            raise ChannelError(str(exc)) from exc
        message = ticket.messages.order_by("id").first()
        kept = masked_original(row)
        original = Attachment(
            message=message, filename="original.eml", content_type="message/rfc822", size=len(kept)
        )
        original.file.save("original.eml", ContentFile(kept), save=False)
        original.save()
        row.decided_by = actor
        row.save(update_fields=["decided_by"])
        mark_processed(
            row, f"ticket {ticket.reference} opened by hand by {actor_name(actor)}", ticket, message
        )
        record(
            "channels.quarantine_to_ticket",
            f"{ref(actor)} turned quarantined message {row.pk} into {ticket.reference}",
            actor=actor,
            target=f"ticket:{ticket.pk}",
            data={"inbound": row.pk},
        )
    return ticket


# --------------------------------------------------------------------------- configuration by managers


@action
def do_save_mailbox(mailbox: Mailbox | None, *, actor, password: str = "", **fields) -> Mailbox:
    """Create or change an IMAP mailbox. An empty password keeps the stored one."""
    from .secrets import encrypt

    creating = mailbox is None
    mailbox = mailbox or Mailbox()
    where = (*Mailbox.SIGN_IN_FIELDS, "folder", "verify_certificate")
    moved = not creating and (
        bool(password) or any(k in where and getattr(mailbox, k) != v for k, v in fields.items())
    )
    for key, value in fields.items():
        setattr(mailbox, key, value)
    if moved:
        # The last poll's result was about another server (or folder, or sign-in): no longer true.
        mailbox.last_polled_at, mailbox.last_error, mailbox.last_count = None, "", 0
    if password:
        mailbox.password_encrypted = encrypt(password)
    elif creating:
        raise ChannelError("password: enter the mailbox password")
    with transaction.atomic():
        mailbox.save()
        changed = sorted(fields) + (["password"] if password else [])
        record(
            "channels.mailbox.create" if creating else "channels.mailbox.update",
            f"{ref(actor)} {'added' if creating else 'changed'} mailbox #{mailbox.pk} ({', '.join(changed)})",
            actor=actor,
            target=f"mailbox:{mailbox.pk}",
            data=_audited_mailbox_fields(fields),
        )
    return mailbox


# A mailbox's sign-in name is often a person's address, and its name may be one; the log keeps
# their SHA-256 (which still tells whether they changed), like a customer's details.
PERSONAL_MAILBOX_FIELDS = frozenset({"name", "username"})


def _audited_mailbox_fields(fields: dict) -> dict:
    return {
        key: ("sha256:" + hashlib.sha256(str(value).encode()).hexdigest())
        if key in PERSONAL_MAILBOX_FIELDS
        else value
        for key, value in fields.items()
        if key != "password"
    }


@action
def do_delete_mailbox(mailbox: Mailbox, *, actor) -> None:
    with transaction.atomic():
        record(
            "channels.mailbox.delete",
            f"{ref(actor)} removed mailbox #{mailbox.pk}",
            actor=actor,
            target=f"mailbox:{mailbox.pk}",
        )
        mailbox.delete()


def record_poll(mailbox: Mailbox, *, count: int, error: str = "") -> None:
    """The mailbox's last poll, shown on its page. Not an audited action: it is the poller's
    status, rewritten every minute, and the mail it fetched is audited as it is processed."""
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=timezone.now(), last_count=count, last_error=error[:2000]
    )


@action
def do_save_embed_form(
    channel: str, *, actor, allowed_origins: list[str], enabled: bool, title: str
) -> EmbedForm:
    with transaction.atomic():
        form, _ = EmbedForm.objects.get_or_create(channel=channel)
        before = {"allowed_origins": form.allowed_origins, "enabled": form.enabled, "title": form.title}
        form.allowed_origins = allowed_origins
        form.enabled = enabled
        form.title = title or "Contact us"
        form.save()
        record(
            "channels.embed.update",
            f"{ref(actor)} set the contact form of {channel}: "
            f"{'on' if enabled else 'off'}, origins {', '.join(allowed_origins) or '(none)'}",
            actor=actor,
            target=f"channel:{channel}",
            data={"before": before, "after": {"allowed_origins": allowed_origins, "enabled": enabled}},
        )
    return form


# --------------------------------------------------------------------------- phone calls


def phone_channel(protocol) -> str:
    found = next((c.id for c in protocol.channels.customer if c.kind == "phone"), None)
    if found is None:
        raise ChannelError("the protocol in force has no phone channel (channels.customer with kind: phone)")
    return found


@action
def do_log_call(
    *,
    actor,
    direction: str,
    duration_seconds: int,
    notes: str,
    ticket: Ticket | None = None,
    customer: Customer | None = None,
    subject: str = "",
    phone_number: str = "",
    at: dt.datetime | None = None,
):
    """Log a call as a new ticket or on an existing one. Only an outbound call (we called the customer)
    counts as a public reply for the SLA; an inbound call is the customer getting in touch."""
    from charterdesk.library.versions import protocol_of, version_in_force
    from charterdesk.tickets.models import WorkTime
    from charterdesk.tickets.worktime import add_work, team_day

    from .choices import CallDirection
    from .models import PhoneCall

    if direction not in CallDirection.values:
        raise ChannelError("direction: choose inbound or outbound")
    if not 0 <= duration_seconds <= 24 * 3600:
        raise ChannelError("duration: enter the call's length, at most 24 hours")
    if not notes.strip():
        raise ChannelError("notes: write what was said")
    if ticket is None and customer is None:
        raise ChannelError("customer: name the customer, or choose a ticket")
    at = (at or timezone.now()).replace(microsecond=0)
    outbound = direction == CallDirection.OUTBOUND
    minutes, seconds = divmod(duration_seconds, 60)
    who = "we called" if outbound else "the customer called"
    body = f"Phone call ({who}, {minutes} min {seconds:02d} s)\n\n{notes}"
    with transaction.atomic():
        version = version_in_force(at)
        if version is None:
            raise ChannelError("no protocol version is in force; publish one first")
        # The protocol's own id for its phone channel ('phone', 'voice', ...): the call's message
        # is stored on it, and the channels decide by its kind that a call is not emailed.
        channel = phone_channel(protocol_of(version))
        if ticket is None:
            try:
                ticket = do_create_ticket(
                    customer=customer,
                    subject=subject or f"Phone call with {customer.name}",
                    body=body,
                    channel=channel,
                    by_agent=actor if outbound else None,
                    at=at,
                    send_email=False,
                )
            except TicketError as exc:
                raise ChannelError(str(exc)) from exc
            message = ticket.messages.order_by("id").first()
        elif outbound:
            message = _public_reply_without_mail(ticket, actor=actor, body=body, at=at, channel=channel)
        else:
            try:
                message = do_customer_message(ticket, body=body, at=at)
            except TicketError as exc:
                raise ChannelError(str(exc)) from exc
        if not outbound and message.author_customer_id is None:
            Message.objects.filter(pk=message.pk).update(author_customer=ticket.customer)
        Message.objects.filter(pk=message.pk).update(channel=channel)
        call = PhoneCall.objects.create(
            ticket=ticket,
            message=message,
            direction=direction,
            duration_seconds=duration_seconds,
            notes=notes,
            phone_number=phone_number[:40],
            agent=actor,
            at=at,
        )
        if actor is not None:
            # A call is working time on the ticket (the handle_time KPI), on the day it was made.
            add_work(ticket.pk, actor.pk, team_day(protocol_of(version), at), WorkTime.CALL, duration_seconds)
        record(
            "channels.call",
            f"{ref(actor)} logged a {direction} call of {minutes} min on {ticket.reference}",
            actor=actor,
            target=f"ticket:{ticket.pk}",
            data={"direction": direction, "duration_seconds": duration_seconds},
            at=at,
        )
    return call


def _public_reply_without_mail(ticket: Ticket, *, actor, body: str, at: dt.datetime, channel: str) -> Message:
    """An agent's public reply that was spoken, not written: the same SLA events as any reply, no email."""
    from charterdesk.tickets.actions import do_reply

    try:
        return do_reply(ticket, author=actor, body=body, at=at, send_email=False, channel=channel)
    except TicketError as exc:
        raise ChannelError(str(exc)) from exc


# --------------------------------------------------------------------------- the embeddable form


@action
def do_submit_web_form(*, channel: str, name: str, email: str, subject: str, message: str) -> Ticket:
    """A contact-form submission from a company's own site: a ticket on the `web` channel. Nobody
    signs in there, so one that uses the address of a customer with tickets is marked "unverified
    sender" and the customer is asked to confirm it instead of sent a receipt (senders.py)."""
    from .senders import queue_confirmation, web_form_reason

    unverified = web_form_reason(email, None, contact_form=True)
    customer = do_find_or_create_customer(email=email, name=name)
    first_line = message.strip().splitlines()[0][:80] if message.strip() else "Contact form"
    with transaction.atomic():
        try:
            ticket = do_create_ticket(
                customer=customer,
                subject=subject or first_line,
                body=message,
                channel=channel,
                unverified_sender=unverified,
            )
        except TicketError as exc:
            raise ChannelError(str(exc)) from exc
        if unverified:
            queue_confirmation(ticket.first_message)
        else:
            acknowledge_new_ticket(ticket)
    return ticket
