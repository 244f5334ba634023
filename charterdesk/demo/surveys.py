"""Survey answers for demo tickets: some solved tickets were asked and answered, so the ticket
page, the agents' pages and the export show surveys working on coherent data.

Written the bulk way, like the tickets, and faster still: two INSERT ... SELECT statements over
the tickets just loaded, so the rows never pass through Python (at 20,000 tickets, making them
in Python cost about a twentieth of the whole load). Which tickets were answered, the score and
the minutes to answer are hashes of the ticket id: the same tickets give the same answers."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from charterdesk.library.versions import protocol_of
from charterdesk.surveys.models import SurveyAnswer, SurveyInvitation
from charterdesk.surveys.rules import due_after_solve
from charterdesk.tickets.models import Ticket

# Of every 100 surveys sent, how many are answered; of every 100 answers, the scores (mostly
# satisfied, some low: the lowest two notify the assignee and the lead in the live desk).
ANSWERED_PERCENT = 45
CSAT_SHARES = ((5, 46), (4, 28), (3, 12), (2, 8), (1, 6))
COMMENTS = {
    5: "Quick and friendly, thank you!",
    4: "Good help, it took a little while.",
    3: "",
    2: "I had to explain the problem twice.",
    1: "Nobody read what I wrote.",
}


def _hash(column: str, prime: int) -> str:
    """An SQL expression: a number 0-99 spread over ticket ids (the same on SQLite and PostgreSQL;
    ``%%`` is the modulo in a statement that has parameters). Each use takes its own ``prime``, so
    that the numbers of one ticket are not tied to each other."""
    return f"(({column} * {prime}) %% 1000003 %% 100)"


def _plus_seconds(column: str, seconds: str) -> str:
    if connection.vendor == "sqlite":
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', {column}, '+' || ({seconds}) || ' seconds')"
    return f"({column} + ({seconds}) * interval '1 second')"


def _earlier(a: str, b: str) -> str:
    return f"MIN({a}, {b})" if connection.vendor == "sqlite" else f"LEAST({a}, {b})"


def add_demo_answers(after_ticket_id: int, *, version, now: dt.datetime) -> int:
    """CSAT invitations (sent ``send_after`` after the solve) for the tickets above
    ``after_ticket_id`` solved at least that long before ``now`` and not merged away, and an
    answer for about 45 % of them, credited to the ticket's assignee; returns the answers."""
    due = due_after_solve(protocol_of(version)).get("csat")
    if due is None:
        return 0
    quote = connection.ops.quote_name
    tickets = quote(Ticket._meta.db_table)
    invitations = quote(SurveyInvitation._meta.db_table)
    answers = quote(SurveyAnswer._meta.db_table)
    seconds = int(due.total_seconds())
    stamp = connection.ops.adapt_datetimefield_value
    sent = _plus_seconds("t.solved_at", str(seconds))
    score = (
        "CASE "
        + " ".join(
            f"WHEN {_hash('i.ticket_id', 2654435761)} < {upto} THEN {value}"
            for value, upto in _cumulative(CSAT_SHARES)
        )
        + " ELSE 5 END"
    )
    comment = "CASE " + " ".join(f"WHEN {score} = {value} THEN %s" for value in COMMENTS) + " ELSE '' END"
    answered = _earlier(_plus_seconds("i.sent_at", f"300 + {_hash('i.ticket_id', 40503)} * 360"), "%s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {invitations} (ticket_id, customer_id, kind, solved_at, due_at, state, sent_at, "
            "reason, protocol_version) "
            f"SELECT t.id, t.customer_id, 'csat', t.solved_at, {sent}, 'sent', {sent}, '', %s "
            f"FROM {tickets} t WHERE t.id > %s AND t.solved_at IS NOT NULL AND t.solved_at <= %s "
            "AND t.merged_into_id IS NULL",
            [version.version, after_ticket_id, stamp(now - due)],
        )
        cursor.execute(
            f"INSERT INTO {answers} (invitation_id, ticket_id, kind, score, comment, agent_id, via, "
            "answered_at, changed_at) "
            f"SELECT i.id, i.ticket_id, 'csat', {score}, {comment}, t.assignee_id, 'email', {answered}, "
            f"{answered} FROM {invitations} i JOIN {tickets} t ON t.id = i.ticket_id "
            f"WHERE i.ticket_id > %s AND {_hash('i.ticket_id', 97787)} < %s",
            [*COMMENTS.values(), stamp(now), stamp(now), after_ticket_id, ANSWERED_PERCENT],
        )
        return cursor.rowcount


def _cumulative(shares) -> list[tuple[int, int]]:
    total, out = 0, []
    for value, share in shares:
        total += share
        out.append((value, total))
    return out
