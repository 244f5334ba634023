"""Every change surveys make: scheduling on a solve, cancelling, sending, answers, comments, opt-outs."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.library.versions import protocol_of
from charterdesk.notifications.actions import notify, resolve_recipients
from charterdesk.tickets.choices import Status
from charterdesk.tickets.history import whole_second
from charterdesk.tickets.models import Customer, Ticket

from . import rules
from .choices import AnsweredVia, InvitationState, SurveyKind
from .models import SurveyAnswer, SurveyInvitation, SurveyOptOut

log = logging.getLogger("charterdesk.surveys")

CLAUSE = "surveys"


class SurveyError(Exception):
    """A survey answer that cannot be taken, in the customer's words."""


def opted_out(customer_id: int) -> bool:
    return SurveyOptOut.objects.filter(customer_id=customer_id).exists()


def _audit(action_name: str, summary: str, *, ticket: Ticket | None = None, actor=None, at=None, data=None):
    record(
        action_name,
        summary,
        actor=actor if getattr(actor, "pk", None) else None,
        target=f"ticket:{ticket.pk}" if ticket is not None else "",
        protocol_version=ticket.protocol_version.version if ticket is not None else "",
        clause=CLAUSE,
        data=data,
        at=at,
    )


# --------------------------------------------------------------------------- a ticket's life


@action
def do_schedule_surveys(ticket: Ticket, *, at: dt.datetime) -> list[SurveyInvitation]:
    """The surveys a solve asks for, due ``send_after`` later (NPS with the CSAT survey). Called
    inside the action that solved the ticket; the worker sends them when due."""
    at = whole_second(at)
    due = rules.due_after_solve(protocol_of(ticket.protocol_version))
    if not due or not ticket.customer_id or opted_out(ticket.customer_id):
        nothing_to_record("the protocol asks for no survey, or the customer opted out")
        return []
    rows = [
        SurveyInvitation(
            ticket=ticket,
            customer_id=ticket.customer_id,
            kind=kind,
            solved_at=at,
            due_at=at + delay,
            protocol_version=ticket.protocol_version.version,
        )
        for kind, delay in due.items()
    ]
    SurveyInvitation.objects.bulk_create(rows, ignore_conflicts=True)
    _audit(
        "surveys.scheduled",
        f"Surveys for {ticket.reference}: "
        + ", ".join(f"{k} at {(at + d).strftime('%Y-%m-%d %H:%M')} UTC" for k, d in due.items()),
        ticket=ticket,
        at=at,
    )
    return rows


@action
def do_cancel_surveys(ticket: Ticket, *, reason: str, at: dt.datetime) -> int:
    """Cancel the ticket's surveys not yet sent (it was reopened, merged away)."""
    cancelled = SurveyInvitation.objects.filter(ticket=ticket, state=InvitationState.SCHEDULED).update(
        state=InvitationState.CANCELLED, reason=reason[:300]
    )
    if not cancelled:
        nothing_to_record("no survey was waiting")
        return 0
    _audit(
        "surveys.cancelled",
        f"{cancelled} survey(s) on {ticket.reference} not sent: {reason}",
        ticket=ticket,
        at=at,
    )
    return cancelled


def why_not_send(invitation: SurveyInvitation) -> str:
    """Why a due survey must not go out (empty: it may). Read again at sending time, since the
    ticket may have been reopened or merged, or the customer may have opted out, since it was
    scheduled."""
    from charterdesk.channels.loops import may_send_automatic

    ticket = invitation.ticket
    if ticket.merged_into_id:
        return f"the ticket was merged into #{ticket.merged_into_id}"
    if ticket.status not in (Status.SOLVED, Status.CLOSED) or ticket.solved_at != invitation.solved_at:
        return "the ticket was reopened after it was solved"
    if opted_out(invitation.customer_id):
        return "the customer opted out of surveys"
    if SurveyAnswer.objects.filter(invitation=invitation).exists():
        return "the customer already answered in the portal"
    if invitation.kind == SurveyKind.NPS:
        every = rules.nps_every(protocol_of(ticket.protocol_version))
        if every is not None:
            last = (
                SurveyInvitation.objects.filter(
                    customer_id=invitation.customer_id,
                    kind=SurveyKind.NPS,
                    state=InvitationState.SENT,
                    sent_at__gt=invitation.due_at - every,
                )
                .exclude(pk=invitation.pk)
                .order_by("-sent_at")
                .first()
            )
            if last is not None:
                return (
                    f"the customer was asked for NPS on {last.sent_at:%Y-%m-%d}, "
                    f"less than {every.days} days ago"
                )
    address = ticket.customer.email or ""
    if not address:
        return "the customer has no email address"
    automatic = opened_by_automatic_mail(ticket)
    if automatic:
        return f"loop protection: the ticket came from automatic mail ({automatic})"
    allowed, why = may_send_automatic(address, now=invitation.due_at)
    if not allowed:
        return f"loop protection: {why}"
    return ""


def opened_by_automatic_mail(ticket: Ticket) -> str:
    """Why the mail that opened the ticket must get no automatic answer (an auto-reply, a list,
    a robot), or empty."""
    from charterdesk.channels.loops import automatic_reasons
    from charterdesk.channels.parse import parse_email

    first = ticket.inbound_messages.order_by("received_at", "id").first()
    if first is None:
        return ""
    try:
        parsed = parse_email(first.raw_bytes)
    except Exception:  # a message kept whole because it could not be parsed says nothing here
        return ""
    return "; ".join(automatic_reasons(parsed))


@action
def do_send_survey(invitation: SurveyInvitation, *, at: dt.datetime) -> bool:
    """Send one due survey by email, or cancel it saying why; True when it was sent.

    The mail goes out inside the action: a mail server that fails leaves the survey scheduled
    (the worker tries again on its next tick) and the failure on the ticket's *Email and calls*."""
    from charterdesk.channels.actions import record_outbound
    from charterdesk.channels.choices import OutboundKind, OutboundState

    from .mail import build_survey_email

    at = whole_second(at)
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("ticket__customer", "ticket__protocol_version")
        .filter(pk=invitation.pk, state=InvitationState.SCHEDULED)
        .first()
    )
    if invitation is None:
        nothing_to_record("sent or cancelled meanwhile")
        return False
    ticket = invitation.ticket
    reason = why_not_send(invitation)
    if reason:
        invitation.state = InvitationState.CANCELLED
        invitation.reason = reason[:300]
        invitation.save(update_fields=["state", "reason"])
        if reason.startswith("loop protection"):
            record_outbound(
                ticket=ticket,
                message=None,
                kind=OutboundKind.SURVEY,
                message_id="",
                to=ticket.customer.email or "",
                subject=f"({invitation.kind} survey not sent)",
                state=OutboundState.SUPPRESSED,
                error=reason,
                at=at,
            )
        _audit(
            "surveys.not_sent",
            f"{invitation.kind} survey on {ticket.reference} not sent: {reason}",
            ticket=ticket,
            at=at,
        )
        return False
    mail = build_survey_email(invitation)
    address = ticket.customer.email
    try:
        mail.send()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        transaction.on_commit(
            lambda: record_outbound(
                ticket=ticket,
                message=None,
                kind=OutboundKind.SURVEY,
                message_id=mail.extra_headers["Message-ID"],
                to=address,
                subject=mail.subject,
                state=OutboundState.FAILED,
                error=error,
                at=at,
            )
        )
        nothing_to_record("the mail server refused; the survey stays scheduled")
        return False
    invitation.state = InvitationState.SENT
    invitation.sent_at = at
    invitation.save(update_fields=["state", "sent_at"])
    record_outbound(
        ticket=ticket,
        message=None,
        kind=OutboundKind.SURVEY,
        message_id=mail.extra_headers["Message-ID"],
        to=address,
        subject=mail.subject,
        at=at,
    )
    _audit(
        "surveys.sent",
        f"{invitation.kind} survey on {ticket.reference} sent to customer #{ticket.customer_id}",
        ticket=ticket,
        at=at,
    )
    return True


# --------------------------------------------------------------------------- answers


def lead_people(ticket: Ticket, protocol) -> list:
    """Who reads a low rating besides the assignee: everyone holding the role the assignee's
    roles report to; when nobody is assigned, or their roles report to no one, everyone holding
    the protocol's ``lead`` role (when it has one)."""
    targets: set[str] = set()
    roles = {r.id: r for r in protocol.team.roles} if protocol is not None else {}
    if ticket.assignee_id:
        for held in ticket.assignee.roles.values_list("role", flat=True):
            above = roles[held].reports_to if held in roles else None
            if above:
                targets.add(above)
    if not targets and "lead" in roles:
        targets.add("lead")
    people = []
    for role in sorted(targets):
        people.extend(resolve_recipients(f"role:{role}")[0])
    return people


@action
def do_answer(
    invitation: SurveyInvitation, score: int, *, via: str = AnsweredVia.EMAIL, at: dt.datetime | None = None
) -> SurveyAnswer:
    """Record (or change, within seven days of the first answer) a customer's rating. The same
    rating again changes nothing, so a link opened twice records once. A low rating notifies the
    ticket's assignee and the lead (rules.is_low, lead_people)."""
    at = whole_second(at)
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("ticket__customer", "ticket__protocol_version", "ticket__assignee")
        .get(pk=invitation.pk)
    )
    ticket = invitation.ticket
    protocol = protocol_of(ticket.protocol_version)
    low, high = rules.scale(protocol, invitation.kind)
    if not low <= score <= high:
        raise SurveyError(f"score: {score} is not a rating from {low} to {high}")
    if (
        invitation.state == InvitationState.CANCELLED
        and invitation.reason != "the customer already answered in the portal"
    ):
        raise SurveyError("this survey is closed")
    answer = SurveyAnswer.objects.filter(invitation=invitation).first()
    if answer is not None:
        if at > answer.answered_at + rules.CHANGE_WINDOW:
            raise SurveyError(
                "ratings can be changed for seven days after the first answer; this one is final"
            )
        if answer.score == score:
            nothing_to_record("the same rating again")
            return answer
        before = answer.score
        answer.score, answer.changed_at, answer.via = score, at, via
        answer.save(update_fields=["score", "changed_at", "via"])
        summary = (
            f"{ticket.customer} changed their {invitation.kind} rating on {ticket.reference} "
            f"from {before} to {score}"
        )
    else:
        answer = SurveyAnswer.objects.create(
            invitation=invitation,
            ticket=ticket,
            kind=invitation.kind,
            score=score,
            agent=ticket.assignee,
            via=via,
            answered_at=at,
            changed_at=at,
        )
        summary = f"{ticket.customer} rated {ticket.reference} {score} ({invitation.kind}, {low} to {high})"
    _audit("surveys.answer", summary, ticket=ticket, at=at, data={"kind": invitation.kind, "score": score})
    if rules.is_low(protocol, invitation.kind, score):
        people = ([ticket.assignee] if ticket.assignee_id else []) + lead_people(ticket, protocol)
        notify(
            people,
            f"Low {invitation.kind.upper()} rating on {ticket.reference}: {score} of {high}",
            ticket=ticket,
            reason="surveys: a low rating is read by the assignee and the lead",
            at=at,
        )
    return answer


@action
def do_comment(answer: SurveyAnswer, comment: str, *, at: dt.datetime | None = None) -> SurveyAnswer:
    """The customer's comment after their rating (replacing an earlier one), within the change window."""
    at = whole_second(at)
    answer = (
        SurveyAnswer.objects.select_for_update()
        .select_related("ticket__protocol_version", "ticket__customer")
        .get(pk=answer.pk)
    )
    if at > answer.answered_at + rules.CHANGE_WINDOW:
        raise SurveyError("comments can be added for seven days after the rating; this answer is final")
    comment = comment.strip()[:5000]
    if comment == answer.comment:
        nothing_to_record("the same comment again")
        return answer
    answer.comment, answer.changed_at = comment, at
    answer.save(update_fields=["comment", "changed_at"])
    _audit(
        "surveys.comment",
        f"{answer.ticket.customer} commented on their {answer.kind} rating of {answer.ticket.reference}",
        ticket=answer.ticket,
        at=at,
    )
    return answer


@action
def do_opt_out(customer: Customer, *, at: dt.datetime | None = None) -> bool:
    """No more surveys for this customer, from now on: every survey not yet sent is cancelled."""
    at = whole_second(at)
    _row, created = SurveyOptOut.objects.get_or_create(customer=customer, defaults={"at": at})
    cancelled = SurveyInvitation.objects.filter(customer=customer, state=InvitationState.SCHEDULED).update(
        state=InvitationState.CANCELLED, reason="the customer opted out of surveys"
    )
    if not created:
        nothing_to_record("the customer had already opted out")
        return False
    record(
        "surveys.opt_out",
        f"{customer} opted out of surveys ({cancelled} waiting survey(s) cancelled)",
        target=f"customer:{customer.pk}",
        clause=CLAUSE,
        at=at,
    )
    return True
