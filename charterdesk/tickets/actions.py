"""Every change to a ticket: atomic, audited, and followed by the SLA engine's fresh answer.

Views, the API, email ingestion, the worker and the command line all call these functions;
none of them saves a ticket directly. Each action takes ``at`` (the instant it happens,
now by default) so that tests and imports can run at frozen times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.audit.refs import ref, without_names
from charterdesk.core.permissions import permissions_of
from charterdesk.engine.assignment import route_group
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.protocol.tags import normal_tag
from charterdesk.protocol.vocabulary import PRIORITY_RANK

from .assignment import auto_assignee
from .choices import EventKind, MessageKind, Status
from .escalation_effects import carry_out_escalations
from .history import (
    TicketError,
    add_event,
    audit_ticket,
    check_tag_count,
    clean_tags,
    event_row,
    lock,
    normalised,
    protocol_for,
    require_open,
    search_words,
    set_tags,
    whole_second,
)
from .lifecycle import Objection, all_answers, hooks
from .live_sla import engine_event, evaluate, is_breached, next_due, sla_state, to_datetime
from .models import (
    Customer,
    Message,
    ProcedureStep,
    ScheduledFollowUp,
    Ticket,
    TicketEvent,
    TicketLink,
)
from .worktime import move_work


class ReplyRefused(TicketError):
    """A public reply that the families object to (``check_public_reply``): every objection,
    and whether the author may send it anyway by giving a reason."""

    def __init__(self, objections: list[Objection], *, may_override: bool, reason_missing: bool = False):
        self.objections = objections
        self.may_override = may_override
        words = "; ".join(o.message for o in objections)
        if may_override and reason_missing:
            words += " (to send it anyway, give a reason)"
        super().__init__(f"body: {words}")


def stored_text(text: str, where: str) -> str:
    """``text`` as it may be stored: with whatever a family masks in it (``redact_text``)."""
    if not text:
        return text
    redacted = hooks.redact_text(text=text, where=where)
    return text if redacted is None else redacted


def reply_objections(ticket: Ticket, author, body: str) -> list[Objection]:
    """What the families object to in a public reply, before it is sent (the composer asks too)."""
    return all_answers(hooks.check_public_reply(ticket=ticket, author=author, body=body))


def _overridden(objections: list[Objection], author, reason: str, customer=None) -> dict | None:
    """The audit record of sending despite ``objections``; raises ReplyRefused unless the author's
    roles grant every objection's override and a reason is given.

    An objection may quote the customer's name ("the reply never says Maria"), and so may the
    reason; the record keeps their words without the customer's or the author's name."""
    if not objections:
        return None
    version = version_in_force()
    held = permissions_of(author, protocol_of(version) if version else None)
    may = all(o.override and o.override in held for o in objections)
    if not may or not reason.strip():
        raise ReplyRefused(objections, may_override=may, reason_missing=may and not reason.strip())
    names = (getattr(customer, "name", ""), getattr(customer, "email", ""), getattr(author, "name", ""))
    objections_said = [o.as_dict() for o in objections]
    for said in objections_said:
        said["message"] = without_names(said["message"], *names)
    return {
        "reason": without_names(reason.strip(), *names),
        "objections": objections_said,
        "protocol_version": version.version if version else None,
    }


def _override_clauses(override: dict | None) -> str:
    """The protocol clauses an audited override went against (none when nothing was overridden)."""
    if not override:
        return ""
    return ", ".join(dict.fromkeys(o["clause"] for o in override["objections"] if o["clause"]))[:200]


# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- SLA


def refresh_sla(ticket: Ticket, now: dt.datetime | None = None, *, events: list | None = None) -> Ticket:
    """Ask the engine about the ticket at ``now``, store its answer, and carry out new escalations.

    ``events``: the ticket's whole SLA history as engine events, when the caller has just written
    all of it (a new ticket); otherwise it is read back from the ticket's rows."""
    now = whole_second(now)
    result = evaluate(ticket, now, events)
    carry_out_escalations(ticket, result, now)
    _take_sla(ticket, result)
    Ticket.objects.filter(pk=ticket.pk).update(
        sla_policy=ticket.sla_policy,
        sla_state=ticket.sla_state,
        next_due_at=ticket.next_due_at,
        next_deadline=ticket.next_deadline,
        breached=ticket.breached,
        priority=ticket.priority,
        group=ticket.group,
        tags=ticket.tags,
        assignee=ticket.assignee,
        updated_at=ticket.updated_at,
    )
    return ticket


def _take_sla(ticket: Ticket, result) -> None:
    """Put the engine's answer on the ticket (not saved)."""
    ticket.sla_policy = result.policy or ""
    ticket.sla_state = sla_state(result)
    ticket.next_due_at = to_datetime(next_due(result))
    ticket.next_deadline = to_datetime(result.next_deadline)
    ticket.breached = is_breached(result)


def _nothing_to_carry_out(ticket: Ticket, result) -> bool:
    """True when ``carry_out_escalations`` would change nothing: no firing, and the engine's priority,
    tags and group are the ticket's own (always so for a new ticket unless a rule fires at once)."""
    if result.status is None:
        return True
    return (
        not result.escalations
        and result.priority in (None, ticket.priority)
        and set(result.tags) == set(ticket.tags)
        and result.group == (ticket.group or None)
    )


# --------------------------------------------------------------------------- customers


def _add_customer(customer: Customer, *, actor, how: str) -> Customer:
    """Save a new customer and audit it, by id: the entry never holds their personal data."""
    customer.save(force_insert=True)
    record(
        "customer.create",
        f"{ref(actor)} added customer #{customer.pk} ({how})",
        actor=actor if getattr(actor, "pk", None) else None,
        target=f"customer:{customer.pk}",
    )
    return customer


@action
def do_create_customer(
    *,
    actor,
    name: str,
    email: str | None = None,
    phone: str = "",
    organization: str = "",
    timezone_name: str = "UTC",
    language: str = "en",
) -> Customer:
    """A new customer record that a person typed (the API, the workspace), checked like the
    desk's forms (``full_clean``). Raises ``django.core.exceptions.ValidationError`` naming the
    field, e.g. an email that another customer already has."""
    customer = Customer(
        name=(name or "").strip(),
        name_known=bool((name or "").strip()),
        email=(email or "").strip().lower() or None,
        phone=(phone or "").strip(),
        organization=(organization or "").strip(),
        timezone=timezone_name or "UTC",
        language=language or "en",
    )
    customer.full_clean()
    return _add_customer(customer, actor=actor, how="typed in")


@action
def do_find_or_create_customer(
    *,
    email: str | None,
    name: str = "",
    phone: str = "",
    organization: str = "",
    timezone_name: str = "",
    actor=None,
) -> Customer:
    """The customer with this email address, or a new one (from a message that arrived, a call,
    a form): what a customer sent is never refused for a name or number the desk would not type."""
    email = (email or "").strip().lower() or None
    if email:
        customer = Customer.objects.filter(email=email).first()
        if customer is not None:
            nothing_to_record("a customer already known by this address")
            return customer
    customer = Customer(
        email=email,
        name=(name or (email.split("@")[0] if email else "") or phone or "Customer").strip()[:200],
        # A stand-in made from the address or the number is not the customer's name.
        name_known=bool((name or "").strip()),
        phone=phone,
        organization=organization,
        timezone=timezone_name or "UTC",
    )
    try:
        with transaction.atomic():
            return _add_customer(customer, actor=actor, how="first contact")
    except IntegrityError:
        if not email:
            raise
        # Created meanwhile by another worker (two messages from one new sender side by side).
        nothing_to_record("created meanwhile by another worker")
        return Customer.objects.get(email=email)


# A customer's personal data enters the audit log only as hashes, so that erasing it later from
# the customer row leaves the signed chain intact (and the log holds nothing to erase).
PERSONAL_FIELDS = frozenset({"name", "email", "phone", "organization"})


def _audited_values(values: dict) -> dict:
    return {
        key: (
            "sha256:" + hashlib.sha256(str(value).encode()).hexdigest() if key in PERSONAL_FIELDS else value
        )
        for key, value in values.items()
    }


@action
def do_update_customer(customer: Customer, *, actor, **fields) -> Customer:
    allowed = {"name", "email", "phone", "organization", "timezone", "language"}
    unknown = set(fields) - allowed
    if unknown:
        raise TicketError(f"unknown customer field(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        before = {k: getattr(customer, k) for k in fields}
        for key, value in fields.items():
            setattr(customer, key, value)
        if "name" in fields:
            customer.name_known = bool(customer.name.strip())
        customer.full_clean()
        customer.save()
        record(
            "customer.update",
            f"{ref(actor)} changed {', '.join(sorted(fields))} of customer #{customer.pk}",
            actor=actor,
            target=f"customer:{customer.pk}",
            data={"before": _audited_values(before), "after": _audited_values(fields)},
        )
    return customer


# --------------------------------------------------------------------------- tickets


@action
def do_create_ticket(
    *,
    customer: Customer,
    subject: str,
    body: str,
    channel: str,
    priority: str = "normal",
    tags: Iterable[str] = (),
    group: str | None = None,
    by_agent=None,
    body_html: str = "",
    message_id: str = "",
    at: dt.datetime | None = None,
    assign: bool = True,
    version=None,
    send_email: bool = True,
    override_reason: str = "",
    unverified_sender: str = "",
) -> Ticket:
    """Open a ticket with its first message. ``by_agent`` (a person) opens it on the customer's
    behalf: no first_response clock, and the creation counts as the agent's first public reply,
    emailed to the customer like any reply (on email-like channels; ``send_email=False`` not).
    So that first message is checked as any public reply is (``check_public_reply``): with
    objections it raises ReplyRefused, unless ``by_agent`` may override them all and gives
    ``override_reason`` (audited on the ticket's creation).

    ``version``: the protocol version in force at ``at``, when the caller has just looked it up
    (inbound mail looks it up once for a batch of messages). The first message is ``ticket.first_message``.

    ``unverified_sender``: why the sender could not be verified (the channels and the portal decide);
    the ticket and its first message are marked, and kept from the customer's portal until confirmed.
    """
    at = whole_second(at)
    subject = stored_text((subject or "").strip()[:300], "subject") or "(no subject)"
    written = body
    body, body_html = stored_text(body, "body"), stored_text(body_html, "html")
    with transaction.atomic():
        version = version or version_in_force(at)
        if version is None:
            raise TicketError("no protocol version is in force; publish one before opening tickets")
        protocol = protocol_of(version)
        assert protocol is not None
        channels = {c.id for c in protocol.channels.customer}
        if channel not in channels:
            raise TicketError(
                f"channel: '{channel}' is not a channel of the protocol ({', '.join(sorted(channels))})"
            )
        if priority not in PRIORITY_RANK:
            raise TicketError(f"priority: '{priority}' is not low, normal, high or urgent")
        tags = clean_tags(tags)
        check_tag_count(tags)
        group = group or route_group(protocol, channel)
        ticket = Ticket(
            subject=subject,
            customer=customer,
            # An agent's ticket starts as their public reply: it is open, not new.
            status=Status.OPEN if by_agent is not None else Status.NEW,
            priority=priority,
            channel=channel,
            group=group or "",
            tags=tags,
            protocol_version=version,
            created_by_agent=by_agent is not None,
            unverified_sender=bool(unverified_sender),
            created_at=at,
            updated_at=at,
            search_text=search_words(subject, customer.name, customer.email or "", body),
        )
        # The agent's first message is their public reply: checked as any reply is, on the words
        # as written (before masking), and not when it was given another way (a phone call).
        override = (
            _overridden(reply_objections(ticket, by_agent, written), by_agent, override_reason, customer)
            if by_agent is not None and send_email
            else None
        )
        assignee = auto_assignee(protocol, ticket.group or None) if assign else None
        ticket.assignee = assignee
        data = {"priority": priority, "channel": channel, "tags": ticket.tags, "group": group}
        if by_agent is not None:
            data["by"] = "agent"
        # The new ticket's whole SLA history is its created event (as the engine reads it back from
        # the row), so the engine is asked before the row is written and its answer goes into the
        # INSERT: one write of the ticket instead of an INSERT and an UPDATE of every indexed column.
        history = [engine_event(EventKind.CREATED, at, normalised(data))]
        result = evaluate(ticket, at, history)
        settled = _nothing_to_carry_out(ticket, result)
        if settled:
            _take_sla(ticket, result)
        ticket.save(force_insert=True)
        set_tags(ticket, ticket.tags, new=True)
        ticket.first_message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY if by_agent is not None else MessageKind.CUSTOMER,
            author_person=by_agent,
            author_customer=None if by_agent is not None else customer,
            body_text=body,
            body_html=body_html,
            channel=channel,
            created_at=at,
            message_id=message_id,
            unverified_sender=unverified_sender[:300],
        )
        events = [
            event_row(
                ticket,
                EventKind.CREATED,
                at,
                data,
                actor=by_agent,
                actor_label="" if by_agent is not None else customer.name,
                summary=f"Opened on {channel}",
            )
        ]
        if by_agent is not None:
            events.append(
                event_row(ticket, EventKind.STATUS, at, {"status": "open"}, actor=by_agent, sla_input=False)
            )
        if assignee is not None:
            events.append(
                event_row(
                    ticket,
                    EventKind.ASSIGNEE,
                    at,
                    {"assignee": assignee.pk},
                    sla_input=False,
                    clause="resolution.handling.assignment",
                    summary=f"Assigned to {assignee.name} ({protocol.resolution.handling.assignment})",
                )
            )
        # One INSERT for the opening events, in the order they happened.
        TicketEvent.objects.bulk_create(events)
        audit_ticket(
            ticket,
            "ticket.create",
            f"Ticket {ticket.reference} opened on {channel} for {ref(customer)}"
            + (f" by {ref(by_agent)}" if by_agent is not None else "")
            + (
                f", its first message sent despite: {'; '.join(o['message'] for o in override['objections'])}"
                f" (reason: {override['reason']})"
                if override
                else ""
            ),
            actor=by_agent,
            at=at,
            clause=_override_clauses(override),
            data={"override": override} if override else None,
        )
        if not settled:
            # A rule fired at once: carried out (and stored) the usual way, once the ticket exists.
            refresh_sla(ticket, at, events=history)
        # An agent's first message is a public reply: the channels send it, as any reply.
        hooks.ticket_opened(
            ticket=ticket, message=ticket.first_message, by_agent=by_agent, send_email=send_email
        )
    return ticket


@action
def do_reply(
    ticket: Ticket,
    *,
    author,
    body: str,
    public: bool = True,
    next_status: str | None = None,
    body_html: str = "",
    at: dt.datetime | None = None,
    send_email: bool = True,
    channel: str | None = None,
    override_reason: str = "",
) -> Message:
    """An agent's public reply (or internal note, ``public=False``), optionally setting the next status.

    ``send_email=False`` for a reply given another way (a phone call): the same SLA events, no mail.
    A public reply the families object to (``check_public_reply``) raises ReplyRefused, unless
    the author may override every objection and gives ``override_reason`` (audited).
    """
    at = whole_second(at)
    if not body.strip():
        raise TicketError(f"body: write the {'reply' if public else 'note'} first")
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        # A reply given another way (a phone call's record, send_email=False) was spoken, not
        # written: the families' objections concern the words the customer will read.
        override = (
            _overridden(reply_objections(ticket, author, body), author, override_reason, ticket.customer)
            if public and send_email
            else None
        )
        body, body_html = stored_text(body, "body"), stored_text(body_html, "html")
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY if public else MessageKind.NOTE,
            author_person=author,
            body_text=body,
            body_html=body_html,
            channel=channel or ticket.channel,
            created_at=at,
        )
        add_event(ticket, EventKind.REPLY, at, {"author": "agent", "public": public}, actor=author)
        if public and ticket.status == Status.NEW:
            ticket.status = Status.OPEN
            add_event(ticket, EventKind.STATUS, at, {"status": "open"}, actor=author, sla_input=False)
        ticket.updated_at = at
        ticket.search_text = search_words(ticket.search_text, body)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=ticket.status, updated_at=at, search_text=ticket.search_text
        )
        audit_ticket(
            ticket,
            "ticket.reply" if public else "ticket.note",
            f"{ref(author)} {'replied on' if public else 'added a note to'} {ticket.reference}"
            + (
                f", sending it despite: {'; '.join(o['message'] for o in override['objections'])}"
                f" (reason: {override['reason']})"
                if override
                else ""
            ),
            actor=author,
            at=at,
            clause=_override_clauses(override),
            data={"override": override} if override else None,
        )
        if next_status and next_status != ticket.status:
            _change_status(ticket, next_status, actor=author, at=at)
        refresh_sla(ticket, at)
        if public:
            hooks.public_reply_stored(ticket=ticket, message=message, send_email=send_email)
    return message


@action
def do_customer_message(
    ticket: Ticket,
    *,
    body: str,
    body_html: str = "",
    message_id: str = "",
    at: dt.datetime | None = None,
    unverified_sender: str = "",
) -> Message:
    """A message from the customer on an existing ticket; pending or solved tickets open again.
    ``unverified_sender``: why its sender could not be verified (kept from the portal until confirmed)."""
    at = whole_second(at)
    body, body_html = stored_text(body, "body"), stored_text(body_html, "html")
    reopened = False
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.CUSTOMER,
            author_customer=ticket.customer,
            body_text=body,
            body_html=body_html,
            channel=ticket.channel,
            created_at=at,
            message_id=message_id,
            unverified_sender=unverified_sender[:300],
        )
        add_event(
            ticket,
            EventKind.REPLY,
            at,
            {"author": "customer"},
            actor_label=ticket.customer.name,
            summary="Customer wrote",
        )
        if ticket.status in (Status.PENDING, Status.SOLVED):
            reopened = ticket.status == Status.SOLVED
            ticket.status = Status.OPEN
            ticket.solved_at = None if reopened else ticket.solved_at
            # The engine reopens the ticket from the reply itself; this row is for the timeline.
            add_event(
                ticket,
                EventKind.STATUS,
                at,
                {"status": "open"},
                sla_input=False,
                summary="Reopened by the customer",
            )
            ScheduledFollowUp.objects.filter(ticket=ticket, sent_at__isnull=True).update(cancelled=True)
        ticket.updated_at = at
        ticket.search_text = search_words(ticket.search_text, body)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=ticket.status, solved_at=ticket.solved_at, updated_at=at, search_text=ticket.search_text
        )
        audit_ticket(
            ticket, "ticket.customer_message", f"{ref(ticket.customer)} wrote on {ticket.reference}", at=at
        )
        refresh_sla(ticket, at)
        hooks.customer_message_stored(ticket=ticket, message=message, reopened=reopened)
    return message


@action
def do_confirm_sender(message: Message, *, how: str, actor=None, at: dt.datetime | None = None) -> bool:
    """The customer confirmed that they sent a message marked "unverified sender" (``how``: "link",
    the signed link mailed to their address; "portal", signed in there), or an agent did for them
    (``actor``, "agent"). The message, and its ticket when it opened it, then show in their portal.
    Audited by ids only. Returns False when there was nothing to confirm."""
    at = whole_second(at)
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message.pk)
        if not message.awaits_sender_confirmation:
            nothing_to_record("the sender is not awaiting confirmation")
            return False
        Message.objects.filter(pk=message.pk).update(sender_confirmed_at=at)
        message.sender_confirmed_at = at
        ticket = message.ticket
        opened_it = not Message.objects.filter(ticket=ticket, pk__lt=message.pk).exists()
        if ticket.unverified_sender and opened_it:
            Ticket.objects.filter(pk=ticket.pk).update(unverified_sender=False)
            ticket.unverified_sender = False
        who = ref(actor) if actor is not None else f"customer #{message.author_customer_id}"
        record(
            "ticket.confirm_sender",
            f"{who} confirmed the sender of message #{message.pk} on {ticket.reference} ({how})",
            actor=actor,
            target=f"ticket:{ticket.pk}",
            data={"message": message.pk, "customer": message.author_customer_id, "how": how},
            at=at,
        )
    return True


def unticked_required_steps(ticket: Ticket) -> list[tuple[str, list[tuple[int, str]]]]:
    """Required procedures that fit the ticket and still have unticked steps:
    [(title, [(step number from 1, step)])]."""
    missing = []
    ticked = set(ProcedureStep.objects.filter(ticket=ticket).values_list("procedure", "step"))
    for procedure in procedures_for(ticket):
        if not procedure.required:
            continue
        open_steps = [
            (n + 1, step) for n, step in enumerate(procedure.steps) if (procedure.id, n) not in ticked
        ]
        if open_steps:
            missing.append((procedure.title, open_steps))
    return missing


def procedures_for(ticket: Ticket):
    protocol = protocol_for(ticket)
    if protocol.resolution is None:
        return []
    return [
        p
        for p in protocol.resolution.procedures
        if p.match.fits(
            priority=ticket.priority,
            channel=ticket.channel,
            group=ticket.group or None,
            tags=set(ticket.tags),
        )
    ]


def unticked_words(missing: list[tuple[str, list[tuple[int, str]]]]) -> str:
    """One sentence a person reads: 'tick step 2 of “Damaged item” (Ask for a photo) first', and
    for several steps and procedures: '... steps 1 and 3 of “A” (x; y) and step 2 of “B” (z) first'."""
    parts = []
    for title, steps in missing:
        numbers = [str(n) for n, _ in steps]
        label = (
            f"step {numbers[0]}"
            if len(numbers) == 1
            else f"steps {', '.join(numbers[:-1])} and {numbers[-1]}"
        )
        texts = "; ".join(text.strip().rstrip(".") for _, text in steps)
        parts.append(f"{label} of “{title}” ({texts})")
    joined = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"tick the required {joined} first"


def _change_status(ticket: Ticket, status: str, *, actor, at: dt.datetime) -> None:
    if status not in Status.values:
        raise TicketError(f"status: '{status}' is not one of {', '.join(Status.values)}")
    if status == Status.NEW:
        raise TicketError("status: a ticket cannot go back to new")
    if status == Status.SOLVED:
        missing = unticked_required_steps(ticket)
        if missing:
            raise TicketError(f"cannot solve yet: {unticked_words(missing)}")
    before = ticket.status
    ticket.status = status
    ticket.updated_at = at
    if status == Status.SOLVED:
        ticket.solved_at = at
    if status == Status.CLOSED:
        ticket.closed_at = at
    add_event(ticket, EventKind.STATUS, at, {"status": status}, actor=actor, summary=f"{before} -> {status}")
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status, solved_at=ticket.solved_at, closed_at=ticket.closed_at, updated_at=at
    )
    audit_ticket(
        ticket,
        "ticket.status",
        f"{ref(actor)} set {ticket.reference} {before} -> {status}",
        actor=actor,
        at=at,
    )
    if status == Status.SOLVED:
        _schedule_follow_up(ticket, at)
    elif before == Status.SOLVED:
        ScheduledFollowUp.objects.filter(ticket=ticket, sent_at__isnull=True).update(cancelled=True)
    hooks.ticket_status_changed(ticket=ticket, before=before, after=status, actor=actor, at=at)


def _schedule_follow_up(ticket: Ticket, at: dt.datetime) -> None:
    protocol = protocol_for(ticket)
    follow_up = protocol.resolution.follow_up if protocol.resolution else None
    if follow_up is None:
        return
    ScheduledFollowUp.objects.create(
        ticket=ticket, due_at=at + dt.timedelta(seconds=follow_up.after_solved.seconds)
    )


@action
def do_set_status(ticket: Ticket, status: str, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        if ticket.status != status:
            _change_status(ticket, status, actor=actor, at=at)
            refresh_sla(ticket, at)
        else:
            nothing_to_record("the status is already so")
    return ticket


@action
def do_set_priority(ticket: Ticket, priority: str, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = whole_second(at)
    if priority not in PRIORITY_RANK:
        raise TicketError(f"priority: '{priority}' is not low, normal, high or urgent")
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        if ticket.priority == priority:
            nothing_to_record("the priority is already so")
            return ticket
        before = ticket.priority
        ticket.priority = priority
        ticket.updated_at = at
        add_event(
            ticket,
            EventKind.PRIORITY,
            at,
            {"priority": priority},
            actor=actor,
            summary=f"{before} -> {priority}",
        )
        audit_ticket(
            ticket,
            "ticket.priority",
            f"{ref(actor)} set {ticket.reference} priority {before} -> {priority}",
            actor=actor,
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


@action
def do_change_tags(
    ticket: Ticket,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor,
    at: dt.datetime | None = None,
) -> Ticket:
    at = whole_second(at)
    add = clean_tags(add)
    # Removing is never refused: it is how a tag that breaks the rule is taken off.
    remove = sorted({normal_tag(t) for t in remove if t.strip()})
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        current = set(ticket.tags)
        really_add = [t for t in add if t not in current]
        really_remove = [t for t in remove if t in current and t not in add]
        if not really_add and not really_remove:
            nothing_to_record("the tags are already so")
            return ticket
        wanted = (current | set(really_add)) - set(really_remove)
        if really_add:
            check_tag_count(wanted)
        set_tags(ticket, wanted)
        ticket.updated_at = at
        add_event(ticket, EventKind.TAGS, at, {"add": really_add, "remove": really_remove}, actor=actor)
        words = ", ".join([f"+{t}" for t in really_add] + [f"-{t}" for t in really_remove])
        audit_ticket(
            ticket,
            "ticket.tags",
            f"{ref(actor)} changed tags of {ticket.reference}: {words}",
            actor=actor,
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


@action
def do_set_group(ticket: Ticket, group: str | None, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        protocol = protocol_for(ticket)
        groups = {g.id for g in protocol.team.groups}
        if group and group not in groups:
            raise TicketError(
                f"group: '{group}' is not a group of the protocol ({', '.join(sorted(groups))})"
            )
        if (ticket.group or None) == (group or None):
            nothing_to_record("the group is already so")
            return ticket
        before = ticket.group
        ticket.group = group or ""
        ticket.updated_at = at
        add_event(
            ticket,
            EventKind.GROUP,
            at,
            {"group": group},
            actor=actor,
            summary=f"{before or '-'} -> {group or '-'}",
        )
        audit_ticket(
            ticket,
            "ticket.group",
            f"{ref(actor)} moved {ticket.reference} to group {group or '(none)'}",
            actor=actor,
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


def incident_policy(ticket: Ticket) -> str | None:
    """The SLA policy of the incident the ticket is linked to (its latest ``incident`` event), or None."""
    data = (
        ticket.events.filter(kind=EventKind.INCIDENT)
        .order_by("-at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    return (data or {}).get("policy") or None


@action
def do_set_incident(
    ticket: Ticket, policy: str | None, *, incident: str = "", actor=None, at: dt.datetime | None = None
) -> Ticket:
    """Link the ticket to a declared critical incident whose SLA policy is ``policy`` (the protocol's
    ``emergency.critical_incident.sla_policy``), or unlink it (None: unlinked, or the incident is
    resolved). While it is linked, that policy applies whatever its ``match`` says.

    ``incident`` names the incident in the ticket's timeline. Linking again to the same policy, or
    unlinking a ticket that is not linked, records nothing (the engine would change nothing). A
    closed ticket takes no link, like any change; the policy must be one of the ticket's protocol
    version.
    """
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        if policy is not None:
            policies = [p.id for p in protocol_for(ticket).sla.policies]
            if policy not in policies:
                raise TicketError(
                    f"incident: '{policy}' is not an SLA policy of the protocol ({', '.join(policies)})"
                )
        if incident_policy(ticket) == policy:
            nothing_to_record("the ticket's incident link is already so")
            return ticket
        named = f" '{incident}'" if incident else ""
        if policy is not None:
            summary = f"Linked to incident{named}: SLA policy '{policy}' applies while it lasts"
            audit = f"{ref(actor)} linked {ticket.reference} to incident{named} (SLA policy '{policy}')"
        else:
            summary = f"Unlinked from incident{named}: the SLA policy is chosen by its match again"
            audit = f"{ref(actor)} unlinked {ticket.reference} from incident{named}"
        ticket.updated_at = at
        clause = "emergency.critical_incident.sla_policy"
        add_event(
            ticket,
            EventKind.INCIDENT,
            at,
            {"policy": policy},
            actor=actor,
            clause=clause,
            summary=summary[:500],
        )
        audit_ticket(
            ticket,
            "ticket.incident",
            audit,
            actor=actor,
            clause=clause,
            data={"policy": policy, "incident": incident},
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


@action
def do_assign(ticket: Ticket, assignee, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            nothing_to_record("the assignee is already so")
            return ticket
        if assignee is not None and not assignee.is_active:
            raise TicketError(f"assignee: {assignee.name} is deactivated")
        ticket.assignee = assignee
        ticket.updated_at = at
        name = assignee.name if assignee else "nobody"
        add_event(
            ticket,
            EventKind.ASSIGNEE,
            at,
            {"assignee": assignee.pk if assignee else None},
            actor=actor,
            sla_input=False,
            summary=f"Assigned to {name}",
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee, updated_at=at)
        audit_ticket(
            ticket,
            "ticket.assign",
            f"{ref(actor)} assigned {ticket.reference} to {ref(assignee) if assignee else 'nobody'}",
            actor=actor,
            at=at,
        )
    if assignee is not None and actor is not None and assignee.pk != getattr(actor, "pk", None):
        from charterdesk.notifications.actions import notify

        with transaction.atomic():
            notify(
                [assignee],
                f"{actor.name} assigned {ticket.reference} to you: {ticket.subject}",
                ticket=ticket,
                reason="assignment",
            )
    return ticket


@action
def do_tick_step(
    ticket: Ticket, procedure_id: str, step: int, *, ticked: bool, actor, at: dt.datetime | None = None
) -> None:
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        require_open(ticket)
        procedure = next((p for p in procedures_for(ticket) if p.id == procedure_id), None)
        if procedure is None or not 0 <= step < len(procedure.steps):
            raise TicketError(f"procedure: '{procedure_id}' step {step + 1} does not apply to this ticket")
        existing = ProcedureStep.objects.filter(ticket=ticket, procedure=procedure_id, step=step)
        if ticked == existing.exists():
            nothing_to_record("the step is already so")
            return
        if ticked:
            ProcedureStep.objects.create(
                ticket=ticket, procedure=procedure_id, step=step, ticked_by=actor, ticked_at=at
            )
        else:
            existing.delete()
        verb = "ticked" if ticked else "unticked"
        text = f"{verb} step {step + 1} of '{procedure.title}': {procedure.steps[step]}"
        add_event(
            ticket,
            EventKind.PROCEDURE,
            at,
            {"procedure": procedure_id, "step": step, "ticked": ticked},
            actor=actor,
            sla_input=False,
            clause=f"resolution.procedures.{procedure_id}",
            summary=text,
        )
        audit_ticket(
            ticket,
            "ticket.procedure",
            f"{ref(actor)} {text} on {ticket.reference}",
            actor=actor,
            clause=f"resolution.procedures.{procedure_id}",
            at=at,
        )


@action
def do_record_troubleshooting(
    ticket: Ticket, tree_id: str, path: list[int], *, actor, at: dt.datetime | None = None
) -> Message:
    """Record a walk through a troubleshooting tree (questions, answers, resolution) as an internal note."""
    at = whole_second(at)
    protocol = protocol_for(ticket)
    trees = {t.id: t for t in (protocol.resolution.troubleshooting if protocol.resolution else [])}
    node = trees.get(tree_id)
    if node is None:
        raise TicketError(f"troubleshooting: '{tree_id}' is not a tree of the protocol")
    lines = [f"Troubleshooting '{tree_id}':"]
    resolution = None
    for index in path:
        if node is None or not 0 <= index < len(node.answers):
            raise TicketError("troubleshooting: that path does not exist in the tree")
        answer = node.answers[index]
        lines.append(f"- {node.question} -> {answer.label}")
        resolution = answer.resolution
        node = answer.next
    if resolution is None:
        raise TicketError("troubleshooting: the path must end at a resolution")
    lines.append(f"Resolution: {resolution}")
    with transaction.atomic():
        message = do_reply(ticket, author=actor, body="\n".join(lines), public=False, at=at)
        add_event(
            ticket,
            EventKind.TROUBLESHOOTING,
            at,
            {"tree": tree_id, "path": path},
            actor=actor,
            sla_input=False,
            clause=f"resolution.troubleshooting.{tree_id}",
            summary=f"Walked '{tree_id}' to: {resolution}",
        )
    return message


@action
def do_merge(source: Ticket, target: Ticket, *, actor, at: dt.datetime | None = None) -> Ticket:
    """Merge ``source`` into ``target`` (same customer): its messages move over, it closes."""
    at = whole_second(at)
    if source.pk == target.pk:
        raise TicketError("a ticket cannot be merged into itself")
    with transaction.atomic():
        # Both rows locked in id order, so two merges of the same pair cannot deadlock.
        rows = Ticket.objects.select_for_update(of=("self",)).select_related("protocol_version", "customer")
        locked = {t.pk: t for t in rows.filter(pk__in=[source.pk, target.pk]).order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.customer_id != target.customer_id:
            raise TicketError("only tickets of the same customer can be merged")
        require_open(source)
        require_open(target)
        moved = Message.objects.filter(ticket=source).update(ticket=target)
        move_work(source, target)
        add_event(
            target,
            EventKind.MERGE,
            at,
            {"from": source.pk},
            actor=actor,
            sla_input=False,
            summary=f"{moved} message(s) merged in from {source.reference}",
        )
        Message.objects.create(
            ticket=target,
            kind=MessageKind.NOTE,
            author_person=actor,
            body_text=f"Merged {source.reference} ({source.subject}) into this ticket.",
            created_at=at,
        )
        _change_status(source, Status.CLOSED, actor=actor, at=at)
        Ticket.objects.filter(pk=source.pk).update(merged_into=target)
        add_event(
            source,
            EventKind.MERGE,
            at,
            {"into": target.pk},
            actor=actor,
            sla_input=False,
            summary=f"Merged into {target.reference}",
        )
        target.search_text = search_words(target.search_text, source.search_text)
        Ticket.objects.filter(pk=target.pk).update(search_text=target.search_text, updated_at=at)
        audit_ticket(
            target,
            "ticket.merge",
            f"{ref(actor)} merged {source.reference} into {target.reference}",
            actor=actor,
            at=at,
        )
        refresh_sla(source, at)
        refresh_sla(target, at)
        hooks.tickets_merged(source=source, target=target, actor=actor, at=at)
    return target


# "Leave as it is" for do_set_properties (None is a value there: no group, nobody).
UNCHANGED = object()


@action
def do_set_properties(
    ticket: Ticket,
    *,
    actor,
    priority: str | None = None,
    group=UNCHANGED,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    assignee=UNCHANGED,
    status: str | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Change several of a ticket's properties at once (the ticket page's form, the API's PATCH):
    all of them happen, or none. A refusal names the field it is about (``group: ...``)."""
    at = whole_second(at)
    changes = [
        ("group", group is not UNCHANGED, lambda t: do_set_group(t, group, actor=actor, at=at)),
        ("assignee", assignee is not UNCHANGED, lambda t: do_assign(t, assignee, actor=actor, at=at)),
        ("priority", priority is not None, lambda t: do_set_priority(t, priority, actor=actor, at=at)),
        (
            "tags",
            bool(add_tags or remove_tags),
            lambda t: do_change_tags(t, add=add_tags, remove=remove_tags, actor=actor, at=at),
        ),
        ("status", status is not None, lambda t: do_set_status(t, status, actor=actor, at=at)),
    ]
    for field, wanted, change in changes:
        if not wanted:
            continue
        try:
            ticket = change(ticket)
        except TicketError as error:
            text = str(error)
            raise TicketError(text if text.startswith(f"{field}:") else f"{field}: {text}") from error
    nothing_to_record("each change recorded its own entry, or there was none to make")
    return ticket


@action
def do_link(ticket: Ticket, other: Ticket, *, actor, at: dt.datetime | None = None) -> None:
    at = whole_second(at)
    if ticket.pk == other.pk:
        raise TicketError("a ticket cannot be linked to itself")
    low, high = sorted([ticket.pk, other.pk])
    with transaction.atomic():
        _, created = TicketLink.objects.get_or_create(ticket_id=low, other_id=high)
        if not created:
            nothing_to_record("the tickets were linked before")
            return
        for a, b in ((ticket, other), (other, ticket)):
            add_event(
                a,
                EventKind.LINK,
                at,
                {"other": b.pk},
                actor=actor,
                sla_input=False,
                summary=f"Linked to {b.reference}",
            )
        audit_ticket(
            ticket,
            "ticket.link",
            f"{ref(actor)} linked {ticket.reference} and {other.reference}",
            actor=actor,
            at=at,
        )


def linked_tickets(ticket: Ticket):
    ids = set()
    for a, b in TicketLink.objects.filter(Q(ticket=ticket) | Q(other=ticket)).values_list(
        "ticket_id", "other_id"
    ):
        ids.add(b if a == ticket.pk else a)
    return Ticket.objects.filter(pk__in=ids)


@action
def do_auto_close(ticket: Ticket, *, at: dt.datetime | None = None) -> bool:
    """Close a solved ticket once the protocol's `auto_close_solved_after` has passed."""
    at = whole_second(at)
    with transaction.atomic():
        ticket = lock(ticket)
        protocol = protocol_for(ticket)
        after = protocol.resolution.handling.auto_close_solved_after if protocol.resolution else None
        if ticket.status != Status.SOLVED or after is None or ticket.solved_at is None:
            nothing_to_record("not a solved ticket the protocol closes")
            return False
        if ticket.solved_at + dt.timedelta(seconds=after.seconds) > at:
            nothing_to_record("not yet time to close it")
            return False
        _change_status(ticket, Status.CLOSED, actor=None, at=at)
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS, at=at, data__status="closed").update(
            clause="resolution.handling.auto_close_solved_after",
            summary=f"Closed automatically {after.text} after solve",
        )
        refresh_sla(ticket, at)
    return True
