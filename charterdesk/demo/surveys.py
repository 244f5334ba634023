"""Survey answers for demo tickets: some solved tickets were asked and answered, so the ticket
page, the agents' pages and the export show surveys working on coherent data.

Written the bulk way, like the tickets: one read of the loaded tickets that were solved long
enough ago, the rows made in memory, two bulk inserts with ids taken up front."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from charterdesk.library.versions import protocol_of
from charterdesk.surveys.models import SurveyAnswer, SurveyInvitation
from charterdesk.surveys.rules import due_after_solve
from charterdesk.tickets.models import Ticket

# How a demo customer rates: mostly satisfied, some not (the lowest two notify in the live desk).
CSAT_WEIGHTS = ((5, 46), (4, 28), (3, 12), (2, 8), (1, 6))
ANSWERED = 0.45
COMMENTS = {
    5: ("Quick and friendly, thank you!", "Solved on the first reply.", ""),
    4: ("Good help, took a little while.", ""),
    3: ("It worked out in the end.", ""),
    2: ("I had to explain the problem twice.",),
    1: ("Nobody read what I wrote.",),
}


def add_demo_answers(after_ticket_id: int, *, version, now: dt.datetime, seed: int = 2026) -> int:
    """CSAT invitations (sent) for the tickets above ``after_ticket_id`` solved at least
    ``send_after`` before ``now``, and an answer for about 45 % of them; returns the answers."""
    from .tickets import _reserve_ids

    due = due_after_solve(protocol_of(version)).get("csat")
    if due is None:
        return 0
    rng = random.Random(f"{seed}:surveys:{after_ticket_id}")
    solved = (
        Ticket.objects.filter(pk__gt=after_ticket_id, solved_at__lte=now - due, merged_into__isnull=True)
        .exclude(solved_at=None)
        .order_by("pk")
        .values_list("pk", "customer_id", "solved_at", "assignee_id")
    )
    rows = list(solved)
    if not rows:
        return 0
    scores, weights = zip(*CSAT_WEIGHTS, strict=True)
    with transaction.atomic():
        ids = _reserve_ids(SurveyInvitation, len(rows))
        invitations, answers = [], []
        for invitation_id, (ticket_id, customer_id, solved_at, assignee_id) in zip(ids, rows, strict=True):
            sent = solved_at + due
            invitations.append(
                SurveyInvitation(
                    id=invitation_id,
                    ticket_id=ticket_id,
                    customer_id=customer_id,
                    kind="csat",
                    solved_at=solved_at,
                    due_at=sent,
                    state="sent",
                    sent_at=sent,
                    protocol_version=version.version,
                )
            )
            if rng.random() >= ANSWERED:
                continue
            answered = min(now, sent + dt.timedelta(minutes=5 + int(rng.random() * 600)))
            score = rng.choices(scores, weights)[0]
            answers.append(
                SurveyAnswer(
                    invitation_id=invitation_id,
                    ticket_id=ticket_id,
                    kind="csat",
                    score=score,
                    comment=rng.choice(COMMENTS[score]),
                    agent_id=assignee_id,
                    answered_at=answered,
                    changed_at=answered,
                )
            )
        SurveyInvitation.objects.bulk_create(invitations, batch_size=2000)
        SurveyAnswer.objects.bulk_create(answers, batch_size=2000)
    return len(answers)
