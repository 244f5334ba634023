"""How surveys take part in a ticket's life (tickets/lifecycle.py): scheduled when a ticket is
solved, cancelled when it is reopened or merged away, sent by the worker, shown on the ticket
page and in the API, and written by `tickets export-events` as `survey` events."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from charterdesk.library.versions import protocol_of
from charterdesk.tickets.lifecycle import HistoryEvent, NavItem, Panel, PeriodicJob, TimelineEntry, hookimpl

from . import rules
from .actions import do_cancel_surveys, do_schedule_surveys
from .models import SurveyAnswer, SurveyInvitation
from .tasks import send_due_surveys


@hookimpl
def ticket_status_changed(ticket, before, after, actor, at):
    if after == "solved":
        do_schedule_surveys(ticket, at=at)
    elif before == "solved" and after != "closed":
        do_cancel_surveys(ticket, reason="the ticket was reopened after it was solved", at=at)


@hookimpl
def customer_message_stored(ticket, message, reopened):
    if reopened:
        do_cancel_surveys(
            ticket, reason="the customer wrote again, reopening the ticket", at=message.created_at
        )


@hookimpl
def tickets_merged(source, target, actor, at):
    do_cancel_surveys(source, reason=f"the ticket was merged into {target.reference}", at=at)


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob(
            "surveys",
            dt.timedelta(minutes=1),
            send_due_surveys,
            "emails the CSAT, CES and NPS surveys that are due (send_after a solve), or says why not",
        )
    ]


@hookimpl
def history_events(ticket_ids):
    answers = SurveyAnswer.objects.order_by("ticket_id", "changed_at")
    if ticket_ids is not None:
        answers = answers.filter(ticket_id__in=ticket_ids)
    # One event per answer at its latest change: a changed rating counts once, as the customer
    # left it (specs/kpi-format.md counts only the latest answer per ticket and kind anyway).
    return [
        HistoryEvent(ticket_id, at, "survey", {"kind": kind, "score": score})
        for ticket_id, at, kind, score in answers.values_list(
            "ticket_id", "changed_at", "kind", "score"
        ).iterator(chunk_size=5000)
    ]


@hookimpl
def history_changed_since(since):
    # An answer's event is at its latest change (history_events above), so a new or changed
    # answer has changed_at at or after the moment asked about.
    return list(
        SurveyAnswer.objects.filter(changed_at__gte=since).values_list("ticket_id", flat=True).distinct()
    )


def answer_text(answer: SurveyAnswer, protocol) -> str:
    _low, high = rules.scale(protocol, answer.kind)
    return f"{answer.kind.upper()} {answer.score} of {high}"


@hookimpl
def ticket_panels(request, ticket):
    invitations = list(
        SurveyInvitation.objects.filter(ticket=ticket)
        .select_related("answer")
        .order_by("-solved_at", "kind")[:10]
    )
    if not invitations:
        return None
    protocol = protocol_of(ticket.protocol_version)
    rows = []
    for invitation in invitations:
        answer = getattr(invitation, "answer", None)
        rows.append(
            {
                "invitation": invitation,
                "answer": answer,
                "text": answer_text(answer, protocol) if answer else "",
                "low": answer is not None and rules.is_low(protocol, answer.kind, answer.score),
            }
        )
    return [Panel("surveys", "Surveys", "surveys/_ticket_panel.html", {"survey_rows": rows}, order=60)]


@hookimpl
def timeline_entries(ticket):
    protocol = protocol_of(ticket.protocol_version)
    entries = []
    for answer in SurveyAnswer.objects.filter(ticket=ticket).order_by("answered_at"):
        changed = (
            f" (changed {answer.changed_at:%Y-%m-%d %H:%M} UTC)"
            if answer.changed_at != answer.answered_at
            else ""
        )
        entries.append(
            TimelineEntry(
                answer.answered_at,
                f"Customer rated {answer_text(answer, protocol)}{changed}",
                answer.comment,
            )
        )
    return entries


@hookimpl
def api_ticket_fields(tickets):
    found: dict[int, list] = {}
    rows = SurveyAnswer.objects.filter(ticket_id__in=[t.pk for t in tickets]).order_by("answered_at")
    for answer in rows:
        found.setdefault(answer.ticket_id, []).append(
            {
                "kind": answer.kind,
                "score": answer.score,
                "comment": answer.comment,
                "answered_at": answer.answered_at.isoformat(),
                "changed_at": answer.changed_at.isoformat(),
            }
        )
    return {"surveys": found}


@hookimpl
def navigation(request):
    return [NavItem("Survey answers", reverse("surveys:mine"), ("ticket.view",), app="surveys", order=35)]
