"""The worker's units of work: looking at a ticket whose deadline has come, closing solved tickets,
sending follow-ups, recording mail that could not be delivered, pruning old task results.

Each unit is safe to run twice and from several workers at once: it claims its row inside
its own transaction and checks again, under the lock, that the work is still to do. The
scheduler (``worker/loop.py``) decides when each one runs.

The writes here are actions like those in ``actions.py`` (atomic, audited in the same
transaction); they live here because only the worker calls them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.db import connection, transaction
from django.db.models import Max
from django.db.utils import OperationalError

from charterdesk.audit.actions import action, nothing_to_record
from charterdesk.audit.refs import ref, without_addresses
from charterdesk.library.versions import protocol_of

from .actions import do_auto_close, refresh_sla
from .choices import EventKind, MessageKind, Status
from .history import add_event, audit_ticket, lock, protocol_for, whole_second
from .lifecycle import hooks
from .models import Message, ScheduledFollowUp, Ticket, TicketEvent

log = logging.getLogger("charterdesk.worker")

TASK_RESULTS_KEPT = dt.timedelta(days=7)

FOLLOW_UP_CLAUSE = "resolution.follow_up"
AUTO_CLOSE_CLAUSE = "resolution.handling.auto_close_solved_after"


def _is_locked(error: OperationalError) -> bool:
    return "is locked" in str(error).lower()


# --------------------------------------------------------------------------- deadlines


def check_deadline(ticket_id: int, now: dt.datetime) -> list[str] | None:
    """Claim one ticket whose deadline has passed and ask the SLA engine about it at ``now``.

    Returns the escalation rules that fired (often none), or None when the ticket is not
    this worker's to look at: another worker holds it, or it is no longer due because
    someone else just did. On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED``;
    SQLite has one writer at a time, so the write transaction itself is the claim.
    """
    now = whole_second(now)
    try:
        with transaction.atomic():
            due = Ticket.objects.filter(pk=ticket_id, next_deadline__lt=now)
            if connection.features.has_select_for_update_skip_locked:
                # Lock the ticket row only: the joined protocol version is shared by every ticket.
                due = due.select_for_update(skip_locked=True, of=("self",))
            ticket = due.select_related("protocol_version", "customer", "assignee").first()
            if ticket is None:
                return None
            seen = ticket.events.aggregate(last=Max("id"))["last"] or 0
            refresh_sla(ticket, now)
            return list(
                TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATION, pk__gt=seen)
                .order_by("at", "pk")
                .values_list("data__rule", flat=True)
            )
    except OperationalError as error:
        if _is_locked(error):  # SQLite: another writer kept the database; the next tick retries
            return None
        raise


# --------------------------------------------------------------------------- auto-close


def close_solved_tickets(now: dt.datetime) -> int:
    """Close every solved ticket whose protocol's ``auto_close_solved_after`` has passed."""
    from charterdesk.library.models import ProtocolVersion

    now = whole_second(now)
    closed = 0
    version_ids = (
        Ticket.objects.filter(status=Status.SOLVED)
        .order_by()
        .values_list("protocol_version", flat=True)
        .distinct()
    )
    for version in ProtocolVersion.objects.filter(pk__in=list(version_ids)):
        protocol = protocol_of(version)
        after = (
            protocol.resolution.handling.auto_close_solved_after if protocol and protocol.resolution else None
        )
        if after is None:
            continue
        cutoff = now - dt.timedelta(seconds=after.seconds)
        due = Ticket.objects.filter(status=Status.SOLVED, protocol_version=version, solved_at__lte=cutoff)
        for ticket in due.order_by("solved_at", "pk").only("pk"):
            try:
                done = do_auto_close(ticket, at=now)
            except Exception:  # one bad ticket must not hold up the others
                log.exception("could not close %s automatically; trying again next time", ticket.reference)
                continue
            if done:
                closed += 1
                log.info("closed %s automatically (solved more than %s ago)", ticket.reference, after.text)
    return closed


# --------------------------------------------------------------------------- follow-ups

_PLACEHOLDER = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")


def follow_up_text(template: str, ticket: Ticket) -> str:
    """The protocol's follow-up message for this ticket; unknown placeholders stay as written."""
    values = {
        "customer.first_name": ticket.customer.first_name or ticket.customer.name,
        "customer.name": ticket.customer.name,
        "ticket.reference": ticket.reference,
        "ticket.subject": ticket.subject,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@action
def do_send_follow_up(follow_up: ScheduledFollowUp, *, at: dt.datetime | None = None) -> Message | None:
    """Send a due follow-up as a public reply written by the desk itself (no author).

    A follow-up does not reopen the ticket or start a clock: it is a message and a timeline
    event that the SLA engine does not read. The email goes out through the task queue once
    the transaction commits. Returns None when there is nothing to send any more (already
    sent, cancelled, the ticket no longer solved, or the customer has no email address; the
    last two cancel it, saying why on the timeline).
    """

    at = whole_second(at)
    with transaction.atomic():
        # Ticket first, then the follow-up: the same order as a customer's message, which
        # locks the ticket and then cancels its follow-ups, so the two never deadlock.
        ticket = lock(follow_up.ticket)
        follow_up = (
            ScheduledFollowUp.objects.select_for_update()
            .filter(pk=follow_up.pk, sent_at__isnull=True, cancelled=False)
            .first()
        )
        if follow_up is None:
            nothing_to_record("sent or cancelled meanwhile")
            return None
        protocol = protocol_for(ticket)
        rule = protocol.resolution.follow_up if protocol.resolution else None
        reason = ""
        if ticket.status != Status.SOLVED:
            reason = f"the ticket is {ticket.get_status_display().lower()}, not solved"
        elif rule is None:
            reason = f"protocol {ticket.protocol_version.version} asks for no follow-up"
        elif not ticket.customer.email:
            reason = "the customer has no email address"
        if reason:
            follow_up.cancelled = True
            follow_up.save(update_fields=["cancelled"])
            add_event(
                ticket,
                EventKind.FOLLOW_UP,
                at,
                {"follow_up": follow_up.pk, "sent": False},
                sla_input=False,
                clause=FOLLOW_UP_CLAUSE,
                summary=f"Follow-up not sent: {reason}",
            )
            audit_ticket(
                ticket,
                "ticket.follow_up_cancelled",
                f"Follow-up on {ticket.reference} not sent: {reason}",
                clause=FOLLOW_UP_CLAUSE,
                at=at,
            )
            return None
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author_person=None,  # the desk itself, on the protocol's behalf
            body_text=follow_up_text(rule.message, ticket),
            channel=ticket.channel,
            created_at=at,
        )
        follow_up.sent_at = at
        follow_up.save(update_fields=["sent_at"])
        add_event(
            ticket,
            EventKind.FOLLOW_UP,
            at,
            {"author": "desk", "public": True, "follow_up": follow_up.pk, "message": message.pk},
            sla_input=False,
            clause=FOLLOW_UP_CLAUSE,
            # The timeline is read by people the customer-data rule may hide the address from.
            summary=f"Follow-up sent to the customer ({rule.after_solved.text} after solve)",
        )
        audit_ticket(
            ticket,
            "ticket.follow_up",
            f"Follow-up sent on {ticket.reference} to {ref(ticket.customer)}",
            clause=FOLLOW_UP_CLAUSE,
            data={"message": message.pk},
            at=at,
        )
        # The channels email it once this commits, as any public reply.
        hooks.public_reply_stored(ticket=ticket, message=message, send_email=True)
    return message


def send_due_follow_ups(now: dt.datetime) -> int:
    """Send every follow-up whose time has come; returns how many went out."""
    now = whole_second(now)
    sent = 0
    due = ScheduledFollowUp.objects.filter(sent_at__isnull=True, cancelled=False, due_at__lte=now)
    for follow_up in due.select_related("ticket").order_by("due_at", "pk"):
        try:
            message = do_send_follow_up(follow_up, at=now)
        except Exception:  # one bad ticket must not hold up the others
            log.exception(
                "could not send the follow-up on %s; trying again next time", follow_up.ticket.reference
            )
            continue
        if message is not None:
            sent += 1
            log.info("sent the follow-up on %s", follow_up.ticket.reference)
    return sent


# --------------------------------------------------------------------------- mail that failed


@action
def do_record_delivery_failure(message: Message, *, answer: str, attempts: int, at=None) -> TicketEvent:
    """Show on the ticket that a message could not be emailed, with the mail server's answer,
    and tell the person who wrote it (or the assignee)."""
    from charterdesk.notifications.actions import notify

    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(message.ticket)
        address = ticket.customer.email or ""
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        what = "The follow-up" if message.author_person_id is None else "A reply"
        event = add_event(
            ticket,
            EventKind.DELIVERY,
            at,
            {
                "delivery": "failed",
                "message": message.pk,
                "to": address,
                "attempts": attempts,
                "answer": answer,
            },
            sla_input=False,
            summary=f"{what} could not be emailed to {address} after {tries}. The mail server said: {answer}",
        )
        audit_ticket(
            ticket,
            "ticket.delivery_failed",
            f"Message {message.pk} on {ticket.reference} could not be emailed after {tries}",
            data={"message": message.pk, "answer": without_addresses(answer)},
            at=at,
        )
        person = message.author_person or ticket.assignee
        if person is not None and person.is_active:
            notify(
                [person],
                f"{what} on {ticket.reference} could not be emailed to {address}: {answer}"[:500],
                ticket=ticket,
                reason="mail delivery",
                at=at,
            )
    return event


# --------------------------------------------------------------------------- housekeeping


def prune_task_results(now: dt.datetime) -> int:
    """Delete finished (succeeded or failed) background task results older than seven days."""
    from django_tasks_db.models import DBTaskResult

    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lte=now - TASK_RESULTS_KEPT).delete()
    if deleted:
        log.info("pruned %d finished task result(s) older than %d days", deleted, TASK_RESULTS_KEPT.days)
    return deleted
