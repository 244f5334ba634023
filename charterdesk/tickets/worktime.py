"""Agents' working time on tickets, which the ``handle_time`` KPI reports (docs/reports.md).

Two sources, both kept as seconds per person, ticket, team's day and kind (``WorkTime``):

- **The ticket page.** The page's sign of life (``presence``, every ``PRESENCE_EVERY`` seconds)
  says how many of the seconds since its previous one the page was *worked on*: visible, and its
  person typed, clicked or scrolled within the last ``ACTIVE_WITHIN`` seconds (the browser
  measures this, ticket-page.js). The desk credits at most ``CREDIT_AT_MOST`` seconds a beat, and
  never more than the time since this person's last credited beat on the ticket, so a tab left
  open counts one minute at most, and two windows on one ticket count its time once. Nothing is
  credited while the ticket is solved or closed: reading a finished ticket is not handling it.
- **Phone calls** logged on a ticket (channels): the call's length, for the agent who logged it.

Not actions: a sign of life is not a change to the ticket and is not audited (as presence); a
call's time is written inside the call's own action, which records it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from charterdesk.engine.kpis import Work, make_period, team_timezone

from .choices import Status
from .models import Ticket, TicketPresence, WorkTime
from .presence import PRESENCE_EVERY

ACTIVE_WITHIN = 60
"""A page counts as worked on while its person typed, clicked or scrolled in it this many seconds
ago or less (reading a long message without touching the page still counts for a minute)."""
CREDIT_AT_MOST = PRESENCE_EVERY + 5
"""The most one sign of life credits: its interval, with room for a late timer or a slow network."""

_DONE = (Status.SOLVED, Status.CLOSED)


def team_day(protocol, when: dt.datetime) -> dt.date:
    """The team's day (the first calendar's time zone, as the reports cut days) of ``when``."""
    zone = team_timezone(protocol) if protocol is not None else "UTC"
    return when.astimezone(ZoneInfo(zone)).date()


def add_work(ticket_id: int, person_id: int, day: dt.date, kind: str, seconds: int) -> None:
    """Add ``seconds`` to a person's time on a ticket that day: one ``INSERT ... ON CONFLICT DO
    UPDATE SET seconds = seconds + excluded.seconds``, so writes from concurrent workers add up
    (PostgreSQL, and SQLite since 3.24)."""
    if seconds <= 0:
        return
    table = connection.ops.quote_name(WorkTime._meta.db_table)
    sql = (
        f"INSERT INTO {table} (ticket_id, person_id, day, kind, seconds) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (ticket_id, person_id, day, kind) "
        f"DO UPDATE SET seconds = {table}.seconds + excluded.seconds"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket_id, person_id, connection.ops.adapt_datefield_value(day), kind, seconds])


def move_work(source: Ticket, target: Ticket) -> int:
    """A step of merging ``source`` into ``target``: the time worked on the duplicate was spent on
    the customer's one request, so it moves with the messages (added to the target's rows of the
    same person, day and kind). Returns the seconds moved."""
    rows = WorkTime.objects.filter(ticket=source)
    moved = 0
    for person_id, day, kind, seconds in rows.values_list("person_id", "day", "kind", "seconds"):
        add_work(target.pk, person_id, day, kind, seconds)
        moved += seconds
    rows.delete()
    return moved


def credit_page_time(ticket: Ticket, person, active: int, now: dt.datetime, day: dt.date) -> int:
    """Credit a sign of life from the ticket page that says the page was worked on for ``active``
    of the seconds since its previous one; returns the seconds credited.

    Call after ``mark_present`` (the presence row holds ``worked_at``, the last credited beat). The
    credit is at most ``CREDIT_AT_MOST`` and at most the time since ``worked_at``; moving
    ``worked_at`` is a compare-and-set, so of two beats racing (two windows) only one credits the
    shared interval, and the other credits nothing."""
    if active <= 0 or ticket.status in _DONE:
        return 0
    with transaction.atomic():
        row = (
            TicketPresence.objects.filter(ticket=ticket, person=person).values_list("pk", "worked_at").first()
        )
        if row is None:
            return 0
        pk, before = row
        credit = min(active, CREDIT_AT_MOST)
        if before is not None:
            credit = min(credit, max(0, round((now - before).total_seconds())))
        if not TicketPresence.objects.filter(pk=pk, worked_at=before).update(worked_at=now):
            return 0
        add_work(ticket.pk, person.pk, day, WorkTime.PAGE, credit)
    return credit


def work_of(ticket_ids: Iterable[int], timezone: str) -> dict[int, list[Work]]:
    """The measured work on these tickets, as the KPI engine takes it: per ticket, one ``Work`` per
    person and day (page and calls summed), at the start of that day in ``timezone`` (the team's,
    in which the rows' days were cut), in time order. The ``handle_time`` KPI is this summed per
    ticket up to its solve."""
    starts: dict[dt.date, int] = {}
    out: dict[int, list[Work]] = {}
    rows = (
        WorkTime.objects.filter(ticket_id__in=list(ticket_ids), seconds__gt=0)
        .values_list("ticket_id", "person_id", "day", "seconds")
        .order_by("ticket_id", "day", "person_id")
    )
    for ticket_id, person_id, day, seconds in rows.iterator(chunk_size=5000):
        start = starts.get(day)
        if start is None:
            start = starts[day] = make_period(day, day, timezone).start
        found = out.setdefault(ticket_id, [])
        agent = str(person_id)
        if found and found[-1].at == start and found[-1].agent == agent:
            found[-1].seconds += seconds
        else:
            found.append(Work(start, agent, seconds))
    return out
