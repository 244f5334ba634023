"""The desk's ticket histories as the engine's events, for a what-if over a period.

Reads the same rows as ``charterdesk tickets export-events`` (``sla_input`` events, in time
order), so a what-if in the desk and ``sla replay`` on the export see the same tickets.
"""

from __future__ import annotations

import datetime as dt

from charterdesk.tickets.live_sla import engine_event
from charterdesk.tickets.models import TicketEvent

CHUNK = 20_000


def active_ticket_ids(start: dt.datetime, end: dt.datetime) -> list[int]:
    """Tickets with anything on their timeline from ``start`` to ``end`` (inclusive), by id."""
    # No ordering: the model's default (at, id) would make DISTINCT keep one row per event.
    rows = (
        TicketEvent.objects.filter(at__gte=start, at__lte=end).order_by().values_list("ticket_id", flat=True)
    )
    return sorted(set(rows.distinct()))


def histories(ticket_ids: list[int], end: dt.datetime) -> dict[str, list]:
    """Each ticket's SLA events up to ``end``, keyed by the id as the export writes it."""
    found: dict[str, list] = {}
    # Ids in slices: one query per slice keeps each IN list (and PostgreSQL's plan) small.
    for first in range(0, len(ticket_ids), CHUNK):
        rows = (
            TicketEvent.objects.filter(
                ticket_id__in=ticket_ids[first : first + CHUNK], sla_input=True, at__lte=end
            )
            .order_by("ticket_id", "at", "id")
            .values_list("ticket_id", "kind", "at", "data")
        )
        current = None
        events: list = []
        for ticket_id, kind, at, data in rows.iterator(chunk_size=5000):
            if ticket_id != current:
                current = ticket_id
                events = found[str(ticket_id)] = []
            events.append(engine_event(kind, at, data))
    return found
