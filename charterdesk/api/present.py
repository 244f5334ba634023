"""Rows as the API shows them. No queries here beyond what the caller selected or prefetched.

Customer data follows the desk's one rule (``core.permissions.sees_customer_contact``, the same
as the pages): every function that shows a customer takes ``contact``, the caller's
``Caller.contact``; without it a customer's name is masked as on the pages ('Jo W.') and their
email and phone are null (``contact_hidden`` says so).
"""

from __future__ import annotations

from typing import Any

from charterdesk.core.permissions import masked_name
from charterdesk.engine.sla import TicketSla
from charterdesk.tickets.lifecycle import hooks
from charterdesk.tickets.live_sla import to_datetime
from charterdesk.tickets.models import Customer, Message, Ticket


def person_ref(person) -> dict | None:
    return None if person is None else {"id": person.pk, "name": person.name}


def customer_name(customer: Customer, contact: bool) -> str:
    """The customer's name as the caller may see it: whole, or masked as on the pages."""
    return customer.name if contact else masked_name(customer.name)


def customer_ref(customer: Customer, contact: bool) -> dict:
    return {
        "id": customer.pk,
        "name": customer_name(customer, contact),
        "email": customer.email if contact else None,
        "contact_hidden": not contact,
    }


def customer_out(customer: Customer, contact: bool) -> dict:
    return {
        "id": customer.pk,
        "name": customer_name(customer, contact),
        "email": customer.email if contact else None,
        "phone": customer.phone if contact else None,
        "contact_hidden": not contact,
        "organization": customer.organization,
        "timezone": customer.timezone,
        "language": customer.language,
        "created_at": customer.created_at,
    }


def extensions_of(tickets: list[Ticket]) -> dict[int, dict[str, Any]]:
    """The families' fields (``api_ticket_fields`` hook) for a page of tickets: {id: {name: value}}."""
    found: dict[int, dict[str, Any]] = {t.pk: {} for t in tickets}
    if not tickets:
        return found
    for answer in hooks.api_ticket_fields(tickets=tickets):
        for name, values in (answer or {}).items():
            for ticket_id, value in values.items():
                found.setdefault(ticket_id, {})[name] = value
    return found


def ticket_summary(ticket: Ticket, contact: bool, extensions: dict[str, Any] | None = None) -> dict:
    """Needs ``customer`` and ``assignee`` selected with the ticket. ``extensions``: this ticket's
    share of ``extensions_of``; asked for this ticket alone when not given."""
    if extensions is None:
        extensions = extensions_of([ticket])[ticket.pk]
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "group": ticket.group or None,
        "tags": list(ticket.tags),
        "customer": customer_ref(ticket.customer, contact),
        "assignee": person_ref(ticket.assignee),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "solved_at": ticket.solved_at,
        "next_due_at": ticket.next_due_at,
        "breached": ticket.breached,
        "sla_policy": ticket.sla_policy or None,
        "extensions": extensions,
    }


def _author(message: Message, contact: bool) -> dict:
    if message.author_person is not None:
        return {"type": "person", "id": message.author_person.pk, "name": message.author_person.name}
    if message.author_customer is not None:
        customer = message.author_customer
        return {"type": "customer", "id": customer.pk, "name": customer_name(customer, contact)}
    return {"type": "system", "id": None, "name": "Charterdesk"}


def message_out(message: Message, contact: bool) -> dict:
    return {
        "id": message.pk,
        "kind": message.kind,
        "public": message.is_public,
        "author": _author(message, contact),
        "body": message.body_text,
        "body_html": message.body_html,
        "channel": message.channel,
        "created_at": message.created_at,
        "unverified_sender": message.unverified_sender or None,
        "sender_confirmed_at": message.sender_confirmed_at,
        "attachments": [
            {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments.all()
        ],
    }


def ticket_detail(ticket: Ticket, contact: bool) -> dict:
    messages = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_person", "author_customer")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    return {
        **ticket_summary(ticket, contact),
        "protocol_version": ticket.protocol_version.version,
        "created_by_agent": ticket.created_by_agent,
        "merged_into": ticket.merged_into_id,
        "messages": [message_out(m, contact) for m in messages],
    }


def sla_out(ticket: Ticket, result: TicketSla, carried_out: set[str]) -> dict:
    """The engine's answer at ``result.now``; ``carried_out`` holds the firing keys the desk has done."""
    from charterdesk.tickets.escalation_effects import firing_key
    from charterdesk.tickets.live_sla import is_breached, next_due

    metrics = {}
    for metric, cycles in result.metrics.items():
        metrics[metric] = [
            {
                "target": cycle.target.text if cycle.target else None,
                "start": to_datetime(cycle.start),
                "due": to_datetime(cycle.due),
                "fulfilled": to_datetime(cycle.fulfilled),
                "breached": cycle.breached,
                "paused": cycle.fulfilled is None and cycle.due is None and cycle.target is not None,
                "policy": cycle.policy,
                "calendar": cycle.calendar.id if cycle.calendar else None,
                "explain": cycle.explain(),
            }
            for cycle in cycles
        ]
    escalations = [
        {
            "rule": e.rule,
            "metric": e.metric,
            "at": to_datetime(e.at),
            "carried_out": firing_key(e.rule, e.metric, e.cycle_start) in carried_out,
        }
        for e in result.escalations
        if e.at < result.now
    ]
    upcoming = result.pending[0] if result.pending else None
    return {
        "ticket": ticket.pk,
        "evaluated_at": to_datetime(result.now),
        "priority": result.priority,
        "policy": result.policy,
        "breached": is_breached(result),
        "next_due_at": to_datetime(next_due(result)),
        "metrics": metrics,
        "escalations": escalations,
        "next_escalation": None
        if upcoming is None
        else {"rule": upcoming.rule, "metric": upcoming.metric, "at": to_datetime(upcoming.at)},
    }
