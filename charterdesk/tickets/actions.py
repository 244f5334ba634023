"""Every change to a ticket: atomic, audited, and followed by the SLA engine's fresh answer.

Views, the API, email ingestion, the worker and the command line all call these functions;
none of them saves a ticket directly. Each action takes ``at`` (the instant it happens,
now by default) so that tests and imports can run at frozen times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from charterdesk.audit.actions import record
from charterdesk.engine.assignment import Candidate, choose_assignee, group_roles, route_group
from charterdesk.protocol.models import Protocol
from charterdesk.protocols.library import protocol_of, version_in_force

from .choices import EventKind, MessageKind, Status
from .models import (
    NOT_IN_QUEUE,
    AssignmentCursor,
    Customer,
    Message,
    ProcedureStep,
    ScheduledFollowUp,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketTag,
)
from .sla import engine_event, evaluate, is_breached, next_due, sla_state, to_datetime


class TicketError(Exception):
    """A change that cannot be made; the message says why in the agent's words."""


# --------------------------------------------------------------------------- helpers


def _now(at: dt.datetime | None) -> dt.datetime:
    moment = at or timezone.now()
    # The engine counts whole seconds; so does the event history.
    return moment.replace(microsecond=0)


def protocol_for(ticket: Ticket) -> Protocol:
    protocol = protocol_of(ticket.protocol_version)
    assert protocol is not None  # published versions always validate
    return protocol


def _label(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "name", None) or str(actor)


def _event(ticket: Ticket, kind: str, at: dt.datetime, data: dict, **fields) -> TicketEvent:
    row = _event_row(ticket, kind, at, data, **fields)
    row.save(force_insert=True)
    return row


def _event_row(
    ticket: Ticket,
    kind: str,
    at: dt.datetime,
    data: dict,
    *,
    actor=None,
    sla_input: bool = True,
    clause: str = "",
    summary: str = "",
    actor_label: str = "",
) -> TicketEvent:
    """One event of the ticket's history, not yet saved."""
    return TicketEvent(
        ticket=ticket,
        at=at,
        kind=kind,
        data=data,
        sla_input=sla_input,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label or _label(actor),
        protocol_version=ticket.protocol_version.version,
        clause=clause,
        summary=summary,
    )


def _audit(
    ticket: Ticket, action: str, summary: str, *, actor=None, clause: str = "", data=None, at=None
) -> None:
    record(
        action,
        summary,
        actor=actor if getattr(actor, "pk", None) else None,
        target=f"ticket:{ticket.pk}",
        protocol_version=ticket.protocol_version.version,
        clause=clause,
        data=data,
        at=at,
    )


def _require_open(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketError(f"ticket {ticket.reference} is closed; a closed ticket takes no further changes")


# Tags are for sorting work; a ticket with more is a script gone wrong, and every tag is a row.
MAX_TAGS = 50


def _clean_tags(tags: Iterable[str]) -> list[str]:
    return sorted({t.strip().lower() for t in tags if t and t.strip()})


def _check_tag_count(tags: Iterable[str]) -> None:
    """For what people and clients ask; a protocol rule's add_tag is carried out regardless."""
    count = len(set(tags))
    if count > MAX_TAGS:
        raise TicketError(f"tags: a ticket carries at most {MAX_TAGS} tags, not {count}")


def _set_tags(ticket: Ticket, tags: Iterable[str], *, new: bool = False) -> None:
    wanted = _clean_tags(tags)
    ticket.tags = wanted
    if new:  # a ticket created in this transaction has no tag rows yet
        if wanted:
            TicketTag.objects.bulk_create([TicketTag(ticket=ticket, tag=t) for t in wanted])
        return
    TicketTag.objects.filter(ticket=ticket).exclude(tag__in=wanted).delete()
    have = set(TicketTag.objects.filter(ticket=ticket).values_list("tag", flat=True))
    TicketTag.objects.bulk_create([TicketTag(ticket=ticket, tag=t) for t in wanted if t not in have])


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so two changes to it never interleave."""
    # of=("self",): lock the ticket row only, not the shared protocol version and customer rows.
    rows = Ticket.objects.select_for_update(of=("self",)).select_related("protocol_version", "customer")
    return rows.get(pk=ticket.pk)


def _normalised(data: dict) -> dict:
    """``data`` as the JSON column gives it back (what the engine would read from the row)."""
    return json.loads(json.dumps(data))


_SPACE = re.compile(r"\s+")


def _search_words(*parts: str) -> str:
    return _SPACE.sub(" ", " ".join(p for p in parts if p)).strip()


# --------------------------------------------------------------------------- routing and assignment

_lookups = threading.local()


@contextlib.contextmanager
def reusing_lookups(seconds: float = 5.0):
    """Inside this block (a batch of inbound mail), who may be assigned in a group is read once every
    ``seconds`` instead of for every new ticket; a person marked away or given other roles is seen
    within that time. Counts of open tickets are always read fresh."""
    outer = getattr(_lookups, "memo", None)
    if outer is None:
        _lookups.memo = {}
        _lookups.seconds = seconds
    try:
        yield
    finally:
        if outer is None:
            _lookups.memo = None


def _remembered(key, read):
    memo = getattr(_lookups, "memo", None)
    if memo is None:
        return read()
    found = memo.get(key)
    if found is None or time.monotonic() > found[0]:
        found = memo[key] = (time.monotonic() + _lookups.seconds, read())
    return found[1]


def auto_assignee(protocol: Protocol, group: str | None):
    """The person the protocol's assignment rule picks in ``group`` (None for manual or nobody)."""
    from charterdesk.accounts.models import Person

    method = protocol.resolution.handling.assignment if protocol.resolution else "manual"
    roles = group_roles(protocol, group)
    if method == "manual" or not roles:
        return None
    # Round robin reads and moves the group's cursor, locked so that two workers opening tickets
    # in one group never pick the same next person. least_open needs no cursor: it counts.
    round_robin = method == "round_robin"
    cursor = AssignmentCursor.objects.select_for_update().filter(group=group).first() if round_robin else None
    people = _remembered(
        ("assignable", tuple(roles)),
        lambda: {p.pk: p for p in Person.objects.filter(is_active=True, roles__role__in=roles).distinct()},
    )
    available = [pk for pk, p in people.items() if not p.away]
    counts: dict[int, int] = {}
    if method == "least_open" and len(available) > 1:
        # Unsolved is a range of the indexed queue_due column (see models.NOT_IN_QUEUE), so each
        # person's count is read from the (assignee, queue_due) index instead of from the tickets.
        counts = dict(
            Ticket.objects.filter(assignee_id__in=available, queue_due__lt=NOT_IN_QUEUE)
            .values_list("assignee_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    candidates = [Candidate(pk, counts.get(pk, 0), p.away) for pk, p in people.items()]
    chosen = choose_assignee(method, candidates, cursor.last_person_id if cursor else None)
    if chosen is None:
        return None
    if round_robin:
        AssignmentCursor.objects.update_or_create(group=group, defaults={"last_person_id": chosen})
    return people[chosen]


# --------------------------------------------------------------------------- SLA


def refresh_sla(ticket: Ticket, now: dt.datetime | None = None, *, events: list | None = None) -> Ticket:
    """Ask the engine about the ticket at ``now``, store its answer, and carry out new escalations.

    ``events``: the ticket's whole SLA history as engine events, when the caller has just written
    all of it (a new ticket); otherwise it is read back from the ticket's rows."""
    from .escalations import carry_out_escalations

    now = _now(now)
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


def do_find_or_create_customer(
    *, email: str | None, name: str = "", phone: str = "", organization: str = "", timezone_name: str = ""
) -> Customer:
    email = (email or "").strip().lower() or None
    if email:
        customer = Customer.objects.filter(email=email).first()
        if customer is not None:
            return customer
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                email=email,
                name=(name or (email.split("@")[0] if email else "") or phone or "Customer").strip()[:200],
                phone=phone,
                organization=organization,
                timezone=timezone_name or "UTC",
            )
    except IntegrityError:
        if not email:
            raise
        # Created meanwhile by another worker (two messages from one new sender side by side).
        return Customer.objects.get(email=email)
    return customer


def do_update_customer(customer: Customer, *, actor, **fields) -> Customer:
    allowed = {"name", "email", "phone", "organization", "timezone", "language"}
    unknown = set(fields) - allowed
    if unknown:
        raise TicketError(f"unknown customer field(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        before = {k: getattr(customer, k) for k in fields}
        for key, value in fields.items():
            setattr(customer, key, value)
        customer.full_clean()
        customer.save()
        record(
            "customer.update",
            f"{_label(actor)} changed {', '.join(sorted(fields))} of {customer.name}",
            actor=actor,
            target=f"customer:{customer.pk}",
            data={"before": before, "after": fields},
        )
    return customer


# --------------------------------------------------------------------------- tickets


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
) -> Ticket:
    """Open a ticket with its first message. ``by_agent`` (a person) opens it on the customer's
    behalf: no first_response clock, and the creation counts as the agent's first public reply,
    emailed to the customer like any reply (on email-like channels; ``send_email=False`` not).

    ``version``: the protocol version in force at ``at``, when the caller has just looked it up
    (inbound mail looks it up once for a batch of messages). The first message is ``ticket.first_message``.
    """
    at = _now(at)
    subject = (subject or "").strip()[:300] or "(no subject)"
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
        if priority not in ("low", "normal", "high", "urgent"):
            raise TicketError(f"priority: '{priority}' is not low, normal, high or urgent")
        tags = _clean_tags(tags)
        _check_tag_count(tags)
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
            created_at=at,
            updated_at=at,
            search_text=_search_words(subject, customer.name, customer.email or "", body),
        )
        assignee = auto_assignee(protocol, ticket.group or None) if assign else None
        ticket.assignee = assignee
        data = {"priority": priority, "channel": channel, "tags": ticket.tags, "group": group}
        if by_agent is not None:
            data["by"] = "agent"
        # The new ticket's whole SLA history is its created event (as the engine reads it back from
        # the row), so the engine is asked before the row is written and its answer goes into the
        # INSERT: one write of the ticket instead of an INSERT and an UPDATE of every indexed column.
        history = [engine_event(EventKind.CREATED, at, _normalised(data))]
        result = evaluate(ticket, at, history)
        settled = _nothing_to_carry_out(ticket, result)
        if settled:
            _take_sla(ticket, result)
        ticket.save(force_insert=True)
        _set_tags(ticket, ticket.tags, new=True)
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
        )
        events = [
            _event_row(
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
                _event_row(ticket, EventKind.STATUS, at, {"status": "open"}, actor=by_agent, sla_input=False)
            )
        if assignee is not None:
            events.append(
                _event_row(
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
        _audit(
            ticket,
            "ticket.create",
            f"Ticket {ticket.reference} opened on {channel} for {customer}"
            + (f" by {by_agent.name}" if by_agent is not None else ""),
            actor=by_agent,
            at=at,
        )
        if not settled:
            # A rule fired at once: carried out (and stored) the usual way, once the ticket exists.
            refresh_sla(ticket, at, events=history)
    if by_agent is not None and send_email:
        # The agent's first message is a public reply: the customer gets it, as any reply.
        from .outbound import queue_reply

        queue_reply(ticket.first_message)
    return ticket


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
) -> Message:
    """An agent's public reply (or internal note, ``public=False``), optionally setting the next status.

    ``send_email=False`` for a reply given another way (a phone call): the same SLA events, no mail.
    """
    at = _now(at)
    if not body.strip():
        raise TicketError(f"body: write the {'reply' if public else 'note'} first")
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY if public else MessageKind.NOTE,
            author_person=author,
            body_text=body,
            body_html=body_html,
            channel=channel or ticket.channel,
            created_at=at,
        )
        _event(ticket, EventKind.REPLY, at, {"author": "agent", "public": public}, actor=author)
        if public and ticket.status == Status.NEW:
            ticket.status = Status.OPEN
            _event(ticket, EventKind.STATUS, at, {"status": "open"}, actor=author, sla_input=False)
        ticket.updated_at = at
        ticket.search_text = _search_words(ticket.search_text, body)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=ticket.status, updated_at=at, search_text=ticket.search_text
        )
        _audit(
            ticket,
            "ticket.reply" if public else "ticket.note",
            f"{_label(author)} {'replied on' if public else 'added a note to'} {ticket.reference}",
            actor=author,
            at=at,
        )
        if next_status and next_status != ticket.status:
            _change_status(ticket, next_status, actor=author, at=at)
        refresh_sla(ticket, at)
    if public and send_email:
        from .outbound import queue_reply

        queue_reply(message)
    return message


def do_customer_message(
    ticket: Ticket, *, body: str, body_html: str = "", message_id: str = "", at: dt.datetime | None = None
) -> Message:
    """A message from the customer on an existing ticket; pending or solved tickets open again."""
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.CUSTOMER,
            author_customer=ticket.customer,
            body_text=body,
            body_html=body_html,
            channel=ticket.channel,
            created_at=at,
            message_id=message_id,
        )
        _event(
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
            _event(
                ticket,
                EventKind.STATUS,
                at,
                {"status": "open"},
                sla_input=False,
                summary="Reopened by the customer",
            )
            ScheduledFollowUp.objects.filter(ticket=ticket, sent_at__isnull=True).update(cancelled=True)
        ticket.updated_at = at
        ticket.search_text = _search_words(ticket.search_text, body)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=ticket.status, solved_at=ticket.solved_at, updated_at=at, search_text=ticket.search_text
        )
        _audit(ticket, "ticket.customer_message", f"{ticket.customer} wrote on {ticket.reference}", at=at)
        refresh_sla(ticket, at)
    return message


def unticked_required_steps(ticket: Ticket) -> list[tuple[str, list[str]]]:
    """Required procedures that fit the ticket and still have unticked steps: [(title, [steps])]."""
    missing = []
    ticked = set(ProcedureStep.objects.filter(ticket=ticket).values_list("procedure", "step"))
    for procedure in procedures_for(ticket):
        if not procedure.required:
            continue
        open_steps = [step for n, step in enumerate(procedure.steps) if (procedure.id, n) not in ticked]
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


def _change_status(ticket: Ticket, status: str, *, actor, at: dt.datetime) -> None:
    if status not in Status.values:
        raise TicketError(f"status: '{status}' is not one of {', '.join(Status.values)}")
    if status == Status.NEW:
        raise TicketError("status: a ticket cannot go back to new")
    if status == Status.SOLVED:
        missing = unticked_required_steps(ticket)
        if missing:
            parts = [f"'{title}': {'; '.join(steps)}" for title, steps in missing]
            raise TicketError(
                "cannot solve yet; required procedure steps are not ticked: " + " | ".join(parts)
            )
    before = ticket.status
    ticket.status = status
    ticket.updated_at = at
    if status == Status.SOLVED:
        ticket.solved_at = at
    if status == Status.CLOSED:
        ticket.closed_at = at
    _event(ticket, EventKind.STATUS, at, {"status": status}, actor=actor, summary=f"{before} -> {status}")
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status, solved_at=ticket.solved_at, closed_at=ticket.closed_at, updated_at=at
    )
    _audit(
        ticket,
        "ticket.status",
        f"{_label(actor)} set {ticket.reference} {before} -> {status}",
        actor=actor,
        at=at,
    )
    if status == Status.SOLVED:
        _schedule_follow_up(ticket, at)
    elif before == Status.SOLVED:
        ScheduledFollowUp.objects.filter(ticket=ticket, sent_at__isnull=True).update(cancelled=True)


def _schedule_follow_up(ticket: Ticket, at: dt.datetime) -> None:
    protocol = protocol_for(ticket)
    follow_up = protocol.resolution.follow_up if protocol.resolution else None
    if follow_up is None:
        return
    ScheduledFollowUp.objects.create(
        ticket=ticket, due_at=at + dt.timedelta(seconds=follow_up.after_solved.seconds)
    )


def do_set_status(ticket: Ticket, status: str, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        if ticket.status != status:
            _change_status(ticket, status, actor=actor, at=at)
            refresh_sla(ticket, at)
    return ticket


def do_set_priority(ticket: Ticket, priority: str, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = _now(at)
    if priority not in ("low", "normal", "high", "urgent"):
        raise TicketError(f"priority: '{priority}' is not low, normal, high or urgent")
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        if ticket.priority == priority:
            return ticket
        before = ticket.priority
        ticket.priority = priority
        ticket.updated_at = at
        _event(
            ticket,
            EventKind.PRIORITY,
            at,
            {"priority": priority},
            actor=actor,
            summary=f"{before} -> {priority}",
        )
        _audit(
            ticket,
            "ticket.priority",
            f"{_label(actor)} set {ticket.reference} priority {before} -> {priority}",
            actor=actor,
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


def do_change_tags(
    ticket: Ticket,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor,
    at: dt.datetime | None = None,
) -> Ticket:
    at = _now(at)
    add = sorted({t.strip().lower() for t in add if t.strip()})
    remove = sorted({t.strip().lower() for t in remove if t.strip()})
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        current = set(ticket.tags)
        really_add = [t for t in add if t not in current]
        really_remove = [t for t in remove if t in current and t not in add]
        if not really_add and not really_remove:
            return ticket
        wanted = (current | set(really_add)) - set(really_remove)
        if really_add:
            _check_tag_count(wanted)
        _set_tags(ticket, wanted)
        ticket.updated_at = at
        _event(ticket, EventKind.TAGS, at, {"add": really_add, "remove": really_remove}, actor=actor)
        words = ", ".join([f"+{t}" for t in really_add] + [f"-{t}" for t in really_remove])
        _audit(
            ticket,
            "ticket.tags",
            f"{_label(actor)} changed tags of {ticket.reference}: {words}",
            actor=actor,
            at=at,
        )
        refresh_sla(ticket, at)
    return ticket


def do_set_group(ticket: Ticket, group: str | None, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        protocol = protocol_for(ticket)
        groups = {g.id for g in protocol.team.groups}
        if group and group not in groups:
            raise TicketError(
                f"group: '{group}' is not a group of the protocol ({', '.join(sorted(groups))})"
            )
        if (ticket.group or None) == (group or None):
            return ticket
        before = ticket.group
        ticket.group = group or ""
        ticket.updated_at = at
        _event(
            ticket,
            EventKind.GROUP,
            at,
            {"group": group},
            actor=actor,
            summary=f"{before or '-'} -> {group or '-'}",
        )
        _audit(
            ticket,
            "ticket.group",
            f"{_label(actor)} moved {ticket.reference} to group {group or '(none)'}",
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
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        if policy is not None:
            policies = [p.id for p in protocol_for(ticket).sla.policies]
            if policy not in policies:
                raise TicketError(
                    f"incident: '{policy}' is not an SLA policy of the protocol ({', '.join(policies)})"
                )
        if incident_policy(ticket) == policy:
            return ticket
        named = f" '{incident}'" if incident else ""
        if policy is not None:
            summary = f"Linked to incident{named}: SLA policy '{policy}' applies while it lasts"
            audit = f"{_label(actor)} linked {ticket.reference} to incident{named} (SLA policy '{policy}')"
        else:
            summary = f"Unlinked from incident{named}: the SLA policy is chosen by its match again"
            audit = f"{_label(actor)} unlinked {ticket.reference} from incident{named}"
        ticket.updated_at = at
        clause = "emergency.critical_incident.sla_policy"
        _event(
            ticket,
            EventKind.INCIDENT,
            at,
            {"policy": policy},
            actor=actor,
            clause=clause,
            summary=summary[:500],
        )
        _audit(
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


def do_assign(ticket: Ticket, assignee, *, actor, at: dt.datetime | None = None) -> Ticket:
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        if assignee is not None and not assignee.is_active:
            raise TicketError(f"assignee: {assignee.name} is deactivated")
        ticket.assignee = assignee
        ticket.updated_at = at
        name = assignee.name if assignee else "nobody"
        _event(
            ticket,
            EventKind.ASSIGNEE,
            at,
            {"assignee": assignee.pk if assignee else None},
            actor=actor,
            sla_input=False,
            summary=f"Assigned to {name}",
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee, updated_at=at)
        _audit(
            ticket,
            "ticket.assign",
            f"{_label(actor)} assigned {ticket.reference} to {name}",
            actor=actor,
            at=at,
        )
    if assignee is not None and actor is not None and assignee.pk != getattr(actor, "pk", None):
        from charterdesk.notifications.actions import do_notify

        with transaction.atomic():
            do_notify(
                [assignee],
                f"{actor.name} assigned {ticket.reference} to you: {ticket.subject}",
                ticket=ticket,
                reason="assignment",
            )
    return ticket


def do_tick_step(
    ticket: Ticket, procedure_id: str, step: int, *, ticked: bool, actor, at: dt.datetime | None = None
) -> None:
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_open(ticket)
        procedure = next((p for p in procedures_for(ticket) if p.id == procedure_id), None)
        if procedure is None or not 0 <= step < len(procedure.steps):
            raise TicketError(f"procedure: '{procedure_id}' step {step + 1} does not apply to this ticket")
        existing = ProcedureStep.objects.filter(ticket=ticket, procedure=procedure_id, step=step)
        if ticked == existing.exists():
            return
        if ticked:
            ProcedureStep.objects.create(
                ticket=ticket, procedure=procedure_id, step=step, ticked_by=actor, ticked_at=at
            )
        else:
            existing.delete()
        verb = "ticked" if ticked else "unticked"
        text = f"{verb} step {step + 1} of '{procedure.title}': {procedure.steps[step]}"
        _event(
            ticket,
            EventKind.PROCEDURE,
            at,
            {"procedure": procedure_id, "step": step, "ticked": ticked},
            actor=actor,
            sla_input=False,
            clause=f"resolution.procedures.{procedure_id}",
            summary=text,
        )
        _audit(
            ticket,
            "ticket.procedure",
            f"{_label(actor)} {text} on {ticket.reference}",
            actor=actor,
            clause=f"resolution.procedures.{procedure_id}",
            at=at,
        )


def do_record_troubleshooting(
    ticket: Ticket, tree_id: str, path: list[int], *, actor, at: dt.datetime | None = None
) -> Message:
    """Record a walk through a troubleshooting tree (questions, answers, resolution) as an internal note."""
    at = _now(at)
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
        _event(
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


def do_merge(source: Ticket, target: Ticket, *, actor, at: dt.datetime | None = None) -> Ticket:
    """Merge ``source`` into ``target`` (same customer): its messages move over, it closes."""
    at = _now(at)
    if source.pk == target.pk:
        raise TicketError("a ticket cannot be merged into itself")
    with transaction.atomic():
        # Both rows locked in id order, so two merges of the same pair cannot deadlock.
        rows = Ticket.objects.select_for_update(of=("self",)).select_related("protocol_version", "customer")
        locked = {t.pk: t for t in rows.filter(pk__in=[source.pk, target.pk]).order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.customer_id != target.customer_id:
            raise TicketError("only tickets of the same customer can be merged")
        _require_open(source)
        _require_open(target)
        moved = Message.objects.filter(ticket=source).update(ticket=target)
        _event(
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
        _event(
            source,
            EventKind.MERGE,
            at,
            {"into": target.pk},
            actor=actor,
            sla_input=False,
            summary=f"Merged into {target.reference}",
        )
        target.search_text = _search_words(target.search_text, source.search_text)
        Ticket.objects.filter(pk=target.pk).update(search_text=target.search_text, updated_at=at)
        _audit(
            target,
            "ticket.merge",
            f"{_label(actor)} merged {source.reference} into {target.reference}",
            actor=actor,
            at=at,
        )
        refresh_sla(source, at)
        refresh_sla(target, at)
    return target


def do_link(ticket: Ticket, other: Ticket, *, actor, at: dt.datetime | None = None) -> None:
    at = _now(at)
    if ticket.pk == other.pk:
        raise TicketError("a ticket cannot be linked to itself")
    low, high = sorted([ticket.pk, other.pk])
    with transaction.atomic():
        _, created = TicketLink.objects.get_or_create(ticket_id=low, other_id=high)
        if not created:
            return
        for a, b in ((ticket, other), (other, ticket)):
            _event(
                a,
                EventKind.LINK,
                at,
                {"other": b.pk},
                actor=actor,
                sla_input=False,
                summary=f"Linked to {b.reference}",
            )
        _audit(
            ticket,
            "ticket.link",
            f"{_label(actor)} linked {ticket.reference} and {other.reference}",
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


def do_auto_close(ticket: Ticket, *, at: dt.datetime | None = None) -> bool:
    """Close a solved ticket once the protocol's `auto_close_solved_after` has passed."""
    at = _now(at)
    with transaction.atomic():
        ticket = _lock(ticket)
        protocol = protocol_for(ticket)
        after = protocol.resolution.handling.auto_close_solved_after if protocol.resolution else None
        if ticket.status != Status.SOLVED or after is None or ticket.solved_at is None:
            return False
        if ticket.solved_at + dt.timedelta(seconds=after.seconds) > at:
            return False
        _change_status(ticket, Status.CLOSED, actor=None, at=at)
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS, at=at, data__status="closed").update(
            clause="resolution.handling.auto_close_solved_after",
            summary=f"Closed automatically {after.text} after solve",
        )
        refresh_sla(ticket, at)
    return True
