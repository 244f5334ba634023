"""A ticket's SLA events in the replay format (specs/replay-format.md), with the families'
events (survey answers) that specs/kpi-format.md adds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .lifecycle import all_answers, hooks
from .live_sla import replay_line
from .models import TicketEvent

# The field whose null is the change itself (no group; unlinked from the incident), kept where
# other nulls (an optional field left empty) are left out.
_NULL_IS_THE_VALUE = {"group": "group", "incident": "policy"}


def event_lines(ticket_ids: Iterable[int] | None = None, *, families: bool = True) -> Iterator[str]:
    """JSON lines, tickets in order of creation, each ticket's events in time order; the families'
    events (``history_events`` hook: survey answers) go in among them, in time order too, unless
    ``families`` is False (the replay format's events only, for `charterdesk sla replay`)."""
    events = TicketEvent.objects.filter(sla_input=True).order_by("ticket_id", "at", "id")
    if ticket_ids is not None:
        ticket_ids = list(ticket_ids)
        events = events.filter(ticket_id__in=ticket_ids)
    extra: dict[int, list] = {}
    answers = all_answers(hooks.history_events(ticket_ids=ticket_ids)) if families else []
    for event in sorted(answers, key=lambda e: e.at):
        extra.setdefault(event.ticket_id, []).append(event)

    def family_lines(ticket_id: int, before=None) -> Iterator[str]:
        waiting = extra.get(ticket_id)
        while waiting and (before is None or waiting[0].at < before):
            event = waiting.pop(0)
            yield json.dumps(
                replay_line(ticket_id, event.event, event.at, dict(event.data)), separators=(",", ":")
            )

    current = None
    for ticket_id, kind, at, data in events.values_list("ticket_id", "kind", "at", "data").iterator(
        chunk_size=5000
    ):
        if ticket_id != current:
            if current is not None:
                yield from family_lines(current)
            current = ticket_id
        yield from family_lines(ticket_id, at)
        keep = _NULL_IS_THE_VALUE.get(kind)
        clean = {k: v for k, v in data.items() if v is not None or k == keep}
        yield json.dumps(replay_line(ticket_id, kind, at, clean), separators=(",", ":"))
    if current is not None:
        yield from family_lines(current)
    # A ticket with no event of its own (none in practice: every ticket has its `created`).
    for ticket_id in sorted(extra):
        yield from family_lines(ticket_id)
