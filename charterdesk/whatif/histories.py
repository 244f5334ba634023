"""The desk's ticket histories as the engine's events, for a what-if over a period.

Reads the same rows as ``charterdesk tickets export-events`` (``sla_input`` events, in time
order), so a what-if in the desk and ``sla replay`` on the export see the same tickets.

``period_histories`` is the what-if's bulk reader: one SQL statement that picks the tickets
with activity in the period and returns their events with each time already in POSIX seconds
(the database converts it), streamed on PostgreSQL, and turned into events by the compiled
engine (``replay.stored_histories``). Django's row machinery (a datetime and a decoded JSON per
row, then the conversion back to seconds) was most of the reading time at 600,000 events;
``histories`` (a few tickets: a sample page) goes through the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator

from django.db import connection

from charterdesk.engine.kpis import Survey
from charterdesk.engine.replay import stored_histories
from charterdesk.tickets.lifecycle import hooks
from charterdesk.tickets.live_sla import engine_event, to_seconds
from charterdesk.tickets.models import TicketEvent

CHUNK = 20_000
FETCH = 10_000


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


def _seconds_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    raise NotImplementedError(f"what-if reads histories on PostgreSQL and SQLite, not {connection.vendor}")


def period_histories(start: dt.datetime | None, end: dt.datetime) -> dict[str, list]:
    """The SLA events up to ``end`` of every ticket with activity from ``start`` (None: ever) to
    ``end``, keyed by the id as the export writes it, tickets by id, events in time order."""
    table = connection.ops.quote_name(TicketEvent._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    if start is None:
        active = f"SELECT a.ticket_id FROM {table} a WHERE a.at <= %s"
        params = [adapt(end)]
    else:
        active = f"SELECT a.ticket_id FROM {table} a WHERE a.at >= %s AND a.at <= %s"
        params = [adapt(start), adapt(end)]
    sql = (
        f"SELECT e.ticket_id, e.kind, {_seconds_sql('e.at')}, e.data FROM {table} e "
        f"WHERE e.sla_input AND e.at <= %s AND e.ticket_id IN ({active}) "
        "ORDER BY e.ticket_id, e.at, e.id"
    )
    with connection.cursor() as cursor:
        # The rows become events in the compiled engine (as fast as reading them allows).
        return stored_histories(_rows(cursor, sql, [adapt(end), *params]))


def _rows(cursor, sql: str, params: list) -> Iterator[tuple]:
    """The rows of ``sql``. On PostgreSQL they are streamed in chunks as the server produces
    them (psycopg's chunked mode, libpq 17 or later), so the desk turns rows into events while
    the server still sorts and sends the rest; otherwise they are fetched in batches."""
    raw = getattr(cursor, "cursor", None)
    if connection.vendor == "postgresql" and hasattr(raw, "stream") and _chunked():
        yield from raw.stream(sql, params, size=FETCH)
        return
    cursor.execute(sql, params)
    while True:
        rows = cursor.fetchmany(FETCH)
        if not rows:
            return
        yield from rows


def _chunked() -> bool:
    """Whether psycopg can stream rows in chunks (libpq 17 or later); row by row would be slower
    than fetching in batches."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL without psycopg 3
        return False
    return psycopg.pq.version() >= 170000


def survey_answers(tickets: Collection[str], end: dt.datetime) -> dict[str, list[Survey]]:
    """The survey answers about these tickets (ids as ``period_histories`` keys them) given by
    ``end``, each ticket's in time order: what the KPI engine counts for CSAT, NPS and CES. They
    come from the families (the ``history_events`` hook), as `tickets export-events` writes them."""
    found: dict[str, list[Survey]] = {}
    last = to_seconds(end)
    for answers in hooks.history_events(ticket_ids=None):
        for event in answers or ():
            if event.event != "survey":
                continue
            ticket = str(event.ticket_id)
            at = to_seconds(event.at)
            if ticket in tickets and at <= last:
                found.setdefault(ticket, []).append(Survey(at, event.data["kind"], int(event.data["score"])))
    for answers in found.values():
        answers.sort(key=_survey_at)
    return found


def _survey_at(survey: Survey) -> int:
    return survey.at
