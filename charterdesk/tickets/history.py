"""Writing a ticket's history: the small pieces every ticket action (and the worker's jobs, the
attachments, the escalations' effects) use, in one public module.

An action locks the ticket (``lock``), takes the instant (``whole_second``), writes its events
(``add_event``) and its audit entry (``audit_ticket``), all inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable

from django.utils import timezone

from charterdesk.audit.actions import record
from charterdesk.library.versions import protocol_of
from charterdesk.protocol.models import Protocol
from charterdesk.protocol.tags import normal_tag, tag_problem

from .choices import Status
from .models import Ticket, TicketEvent, TicketTag


class TicketError(Exception):
    """A change that cannot be made; the message says why in the agent's words."""


def whole_second(at: dt.datetime | None) -> dt.datetime:
    moment = at or timezone.now()
    # The engine counts whole seconds; so does the event history.
    return moment.replace(microsecond=0)


def protocol_for(ticket: Ticket) -> Protocol:
    protocol = protocol_of(ticket.protocol_version)
    assert protocol is not None  # published versions always validate
    return protocol


def actor_name(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "name", None) or str(actor)


def add_event(ticket: Ticket, kind: str, at: dt.datetime, data: dict, **fields) -> TicketEvent:
    row = event_row(ticket, kind, at, data, **fields)
    row.save(force_insert=True)
    return row


def event_row(
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
        actor_label=actor_label or actor_name(actor),
        protocol_version=ticket.protocol_version.version,
        clause=clause,
        summary=summary,
    )


def audit_ticket(
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


def require_open(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketError(f"ticket {ticket.reference} is closed; a closed ticket takes no further changes")


# Tags are for sorting work; a ticket with more is a script gone wrong, and every tag is a row.
MAX_TAGS = 50


def clean_tags(tags: Iterable[str]) -> list[str]:
    """The tags as stored (trimmed, lower case, sorted, once each); a TicketError names the first that
    breaks the one tag rule (charterdesk.protocol.tags), whoever wrote it: a page, the API, an email,
    an escalation's add_tag."""
    wanted = sorted({normal_tag(t) for t in tags if t and t.strip()})
    for tag in wanted:
        problem = tag_problem(tag)
        if problem:
            raise TicketError(f"tags: {problem}")
    return wanted


def check_tag_count(tags: Iterable[str]) -> None:
    """For what people and clients ask; a protocol rule's add_tag is carried out regardless."""
    count = len(set(tags))
    if count > MAX_TAGS:
        raise TicketError(f"tags: a ticket carries at most {MAX_TAGS} tags, not {count}")


def set_tags(ticket: Ticket, tags: Iterable[str], *, new: bool = False) -> None:
    wanted = clean_tags(tags)
    ticket.tags = wanted
    if new:  # a ticket created in this transaction has no tag rows yet
        if wanted:
            TicketTag.objects.bulk_create([TicketTag(ticket=ticket, tag=t) for t in wanted])
        return
    TicketTag.objects.filter(ticket=ticket).exclude(tag__in=wanted).delete()
    have = set(TicketTag.objects.filter(ticket=ticket).values_list("tag", flat=True))
    TicketTag.objects.bulk_create([TicketTag(ticket=ticket, tag=t) for t in wanted if t not in have])


def lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so two changes to it never interleave."""
    # of=("self",): lock the ticket row only, not the shared protocol version and customer rows.
    rows = Ticket.objects.select_for_update(of=("self",)).select_related("protocol_version", "customer")
    return rows.get(pk=ticket.pk)


def normalised(data: dict) -> dict:
    """``data`` as the JSON column gives it back (what the engine would read from the row)."""
    return json.loads(json.dumps(data))


SPACE = re.compile(r"\s+")


def search_words(*parts: str) -> str:
    return SPACE.sub(" ", " ".join(p for p in parts if p)).strip()
