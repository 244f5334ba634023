"""A ticket's SLA events in the replay format (specs/replay-format.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .models import TicketEvent
from .sla import replay_line


def event_lines(ticket_ids: Iterable[int] | None = None) -> Iterator[str]:
    """JSON lines, tickets in order of creation, each ticket's events in time order."""
    events = TicketEvent.objects.filter(sla_input=True).order_by("ticket_id", "at", "id")
    if ticket_ids is not None:
        events = events.filter(ticket_id__in=list(ticket_ids))
    for ticket_id, kind, at, data in events.values_list("ticket_id", "kind", "at", "data").iterator(
        chunk_size=5000
    ):
        clean = {k: v for k, v in data.items() if v is not None}
        yield json.dumps(replay_line(ticket_id, kind, at, clean), separators=(",", ":"))
