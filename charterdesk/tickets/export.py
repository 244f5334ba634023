"""A ticket's SLA events in the replay format (specs/replay-format.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .live_sla import replay_line
from .models import TicketEvent

# The field whose null is the change itself (no group; unlinked from the incident), kept where
# other nulls (an optional field left empty) are left out.
_NULL_IS_THE_VALUE = {"group": "group", "incident": "policy"}


def event_lines(ticket_ids: Iterable[int] | None = None) -> Iterator[str]:
    """JSON lines, tickets in order of creation, each ticket's events in time order."""
    events = TicketEvent.objects.filter(sla_input=True).order_by("ticket_id", "at", "id")
    if ticket_ids is not None:
        events = events.filter(ticket_id__in=list(ticket_ids))
    for ticket_id, kind, at, data in events.values_list("ticket_id", "kind", "at", "data").iterator(
        chunk_size=5000
    ):
        keep = _NULL_IS_THE_VALUE.get(kind)
        clean = {k: v for k, v in data.items() if v is not None or k == keep}
        yield json.dumps(replay_line(ticket_id, kind, at, clean), separators=(",", ":"))
