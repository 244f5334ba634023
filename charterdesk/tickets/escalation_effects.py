"""Carrying out the escalation rules the engine says have fired: once each, audited, naming the rule.

The engine decides *when* a rule fires and what the ticket looks like afterwards (it applies
`set_priority`, `assign_group` and `add_tag` itself, and chooses the policy again). The desk
stores that state and does the side effects the engine cannot: notifications, notes, a new
assignee in the new group, the timeline entry and the audit entry. A firing is identified by
(rule, metric, cycle start), which stays the same however often the ticket is evaluated, so
nothing is done twice, even with several workers.
"""

from __future__ import annotations

import datetime as dt

from charterdesk.audit.actions import record
from charterdesk.engine.sla import TicketSla
from charterdesk.notifications.actions import notify, resolve_recipients
from charterdesk.protocol.vocabulary import METRIC_WORDS

from .assignment import auto_assignee
from .choices import EventKind, MessageKind
from .history import protocol_for, set_tags
from .live_sla import to_datetime
from .models import Message, TicketEvent


def firing_key(rule: str, metric: str, cycle_start: int) -> str:
    return f"{rule}/{metric}/{cycle_start}"


def notify_and_note(ticket, actions, *, protocol, text, reason: str, signed: str, at: dt.datetime) -> None:
    """The actions the engine cannot apply to the ticket's state: ``notify`` (``text``, or
    ``text(who)`` for words that name who is told and why, with ``reason`` naming the protocol
    version and clause) and ``add_note`` (an internal note ending with ``(signed)``). Escalation
    rules and contingencies (the checks family) both use it."""
    for action in actions:
        if action.kind == "notify":
            people, addresses = resolve_recipients(action.value, ticket=ticket, protocol=protocol)
            words = text(action.value) if callable(text) else text
            notify(people, words, ticket=ticket, reason=reason, addresses=addresses, at=at)
        elif action.kind == "add_note":
            Message.objects.create(
                ticket=ticket, kind=MessageKind.NOTE, body_text=f"{action.value}\n\n({signed})", created_at=at
            )


def carry_out_escalations(ticket, result: TicketSla, now: dt.datetime) -> list[str]:
    """Do the side effects of every firing not yet carried out; update the ticket's fields to the
    engine's view. Must run inside the transaction of the change that led to ``result``."""
    if result.status is None:
        return []
    # Only a ticket with firings needs to know which were carried out already (a query on JSON).
    done = (
        set(
            TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATION).values_list(
                "data__key", flat=True
            )
        )
        if result.escalations
        else set()
    )
    protocol = protocol_for(ticket)
    version = ticket.protocol_version.version
    fired = []
    group_before = ticket.group or None
    for escalation in result.escalations:
        key = firing_key(escalation.rule, escalation.metric, escalation.cycle_start)
        if key in done:
            continue
        done.add(key)
        fired.append(key)
        at = to_datetime(escalation.at)
        metric = METRIC_WORDS.get(escalation.metric, escalation.metric)
        clause = f"escalation.{escalation.rule}"
        actions = ", ".join(str(a) for a in escalation.actions)
        summary = f"Rule '{escalation.rule}' fired on {metric}: {actions}"
        TicketEvent.objects.create(
            ticket=ticket,
            at=at,
            kind=EventKind.ESCALATION,
            data={
                "key": key,
                "rule": escalation.rule,
                "metric": escalation.metric,
                "cycle_start": escalation.cycle_start,
                "actions": [[a.kind, a.value] for a in escalation.actions],
            },
            sla_input=False,
            actor_label="protocol",
            protocol_version=version,
            clause=clause,
            summary=summary,
        )
        record(
            "ticket.escalation",
            f"Escalation rule '{escalation.rule}' fired on {ticket.reference} ({metric}): {actions}",
            target=f"ticket:{ticket.pk}",
            protocol_version=version,
            clause=clause,
            data={"metric": escalation.metric, "fired_at": at.isoformat(), "key": key},
        )
        notify_and_note(
            ticket,
            escalation.actions,
            protocol=protocol,
            text=lambda told, rule=escalation.rule, metric=metric: escalation_words(
                protocol, rule, metric, ticket, told
            ),
            reason=f"protocol {version}, {clause}",
            signed=f"added by escalation rule '{escalation.rule}'",
            at=at,
        )
    # The engine's view of the ticket after the rules that fired.
    if result.priority is not None:
        ticket.priority = result.priority
    if set(result.tags) != set(ticket.tags):
        set_tags(ticket, result.tags)
    group_after = result.group
    if group_after != group_before:
        ticket.group = group_after or ""
        new_assignee = auto_assignee(protocol, group_after)
        if new_assignee is not None or ticket.assignee_id is not None:
            ticket.assignee = new_assignee
            TicketEvent.objects.create(
                ticket=ticket,
                at=now,
                kind=EventKind.ASSIGNEE,
                data={"assignee": new_assignee.pk if new_assignee else None},
                sla_input=False,
                actor_label="protocol",
                protocol_version=version,
                clause="resolution.handling.assignment",
                summary=f"Assigned to {new_assignee or 'nobody'} in group {group_after}",
            )
    return fired


def escalation_words(protocol, rule_id: str, metric: str, ticket, audience: str) -> str:
    """The notification of an escalation in plain words ("#292 missed its resolution time; you are
    told as the team lead"), the rule's name and clause being in the notification's reason."""
    rule = next((r for r in protocol.escalation if r.id == rule_id), None)
    when = rule.when if rule else None
    subject = f"{ticket.reference} “{ticket.subject}”"
    if when is not None and when.before_breach is not None:
        what = f"{subject} must have its {metric} within {when.before_breach.in_words()}"
    elif when is not None and when.after_breach is not None:
        what = f"{subject} is {when.after_breach.in_words()} past its {metric} time"
    else:
        what = f"{subject} missed its {metric} time"
    kind, _, name = audience.partition(":")
    if kind == "role":
        role = next((r for r in protocol.team.roles if r.id == name), None)
        why = f"you are told as {(role.title if role else name).lower()}"
    elif kind == "group":
        why = "you are in its group"
    elif audience == "assignee":
        why = "it is assigned to you"
    else:
        why = ""
    return f"{what}; {why}" if why else what
