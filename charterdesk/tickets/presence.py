"""Two agents on one ticket: who else has it open (viewing or typing), and what changed since a
page was loaded, so that a reply written against an old page is not sent blind.

Presence lives in the database (``TicketPresence``), written with one atomic upsert, so every
worker process of ``charterdesk serve`` sees the same people; a sign of life lasts
``PRESENCE_FOR`` seconds, and the page renews it every ``PRESENCE_EVERY`` seconds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from .models import Message, Ticket, TicketEvent, TicketPresence

PRESENCE_EVERY = 10
PRESENCE_FOR = 30


@dataclass(frozen=True)
class Present:
    name: str
    state: str

    @property
    def words(self) -> str:
        return f"{self.name} is {'typing a reply' if self.state == TicketPresence.TYPING else 'viewing'}"


def mark_present(ticket: Ticket, person, state: str, now: dt.datetime) -> None:
    """Not an action: a sign of life on a page, renewed every few seconds, is not a change to the
    ticket and is not audited. One INSERT ... ON CONFLICT UPDATE, so two workers never race."""
    if state not in (TicketPresence.VIEWING, TicketPresence.TYPING):
        state = TicketPresence.VIEWING
    TicketPresence.objects.bulk_create(
        [TicketPresence(ticket=ticket, person=person, state=state, seen_at=now)],
        update_conflicts=True,
        unique_fields=["ticket", "person"],
        update_fields=["state", "seen_at"],
    )


def others_present(ticket: Ticket, person, now: dt.datetime) -> list[Present]:
    since = now - dt.timedelta(seconds=PRESENCE_FOR)
    rows = (
        TicketPresence.objects.filter(ticket=ticket, seen_at__gte=since)
        .exclude(person=person)
        .select_related("person")
        .order_by("person__name")
    )
    return [Present(row.person.name, row.state) for row in rows]


def page_version(ticket: Ticket) -> str:
    """What a page was drawn from: the last message and the last event of the ticket. Any reply,
    note, customer message, status or property change moves it."""
    last_message = Message.objects.filter(ticket=ticket).aggregate(n=Max("id"))["n"] or 0
    last_event = TicketEvent.objects.filter(ticket=ticket).aggregate(n=Max("id"))["n"] or 0
    return f"{last_message}.{last_event}"


def changes_since(ticket: Ticket, version: str, *, reader=None) -> list[str]:
    """What others did on the ticket after a page drawn at ``version``, in a few words each: their
    messages and changes of status, priority, tags, group or assignee. The reader's own changes
    (a step they ticked on the same page) and the desk's clocks do not count."""
    try:
        message_id, event_id = (int(part) for part in version.split("."))
    except ValueError:
        return []
    words = []
    messages = Message.objects.filter(ticket=ticket, id__gt=message_id)
    events = TicketEvent.objects.filter(
        ticket=ticket, id__gt=event_id, kind__in=("status", "priority", "tags", "group", "assignee")
    )
    if reader is not None:
        messages = messages.exclude(author_person=reader)
        events = events.exclude(actor=reader)
    for message in messages.select_related("author_person", "author_customer"):
        who = message.author_person or message.author_customer
        name = who.name if who else "The desk"
        kind = {"note": "added an internal note", "reply": "replied"}.get(message.kind, "wrote")
        words.append(f"{name} {kind}")
    for event in events:
        words.append(f"the {event.kind} changed")
    return list(dict.fromkeys(words))
