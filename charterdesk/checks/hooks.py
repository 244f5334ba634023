"""The checks family's hold on tickets (lifecycle hooks; registered in apps.py).

- ``redact_text``: every subject, message text, HTML and file name is masked before it is stored.
- ``check_public_reply``: the etiquette problems of a reply (override: ``etiquette.override``)
  and placeholders of a saved reply left unfilled (no override).
- ``ticket_opened`` / ``customer_message_stored``: a customer's message is read for the
  protocol's contingencies; a match puts the ticket under it (``actions.do_start_contingency``).
- ``ticket_panels``, ``queue_filters``, ``api_ticket_fields``: where agents see contingencies.
"""

from __future__ import annotations

from collections import Counter

from charterdesk.audit.actions import record
from charterdesk.tickets.choices import MessageKind
from charterdesk.tickets.history import protocol_for
from charterdesk.tickets.lifecycle import Objection, Panel, QueueFilter, hookimpl
from charterdesk.tickets.macros import PLACEHOLDER
from charterdesk.tickets.models import Message
from charterdesk.tickets.rendering import split_quoted_text

from .actions import do_start_contingency
from .models import ContingencyActivation
from .rules import checks_for_ticket, checks_in_force

OVERRIDE = "etiquette.override"

# Places whose text is not stored: nothing to audit (the composer's check as the agent types).
NOT_STORED = {"draft"}


@hookimpl
def redact_text(text, where):
    checks = checks_in_force()
    if checks is None:
        return None
    redaction = checks.redact(text)
    if not redaction.findings:
        return None
    if where not in NOT_STORED:
        # The audit entry says what was masked and where, never the secret itself.
        found = Counter(f.detector for f in redaction.findings)
        record(
            "checks.redacted",
            f"Masked {', '.join(f'{n} {d}' for d, n in sorted(found.items()))} in a {where} "
            "before storing it",
            clause="privacy.redact",
            data={"where": where, "detectors": dict(sorted(found.items()))},
        )
    return redaction.text


def written_by_customer(text: str) -> str:
    """What the customer wrote in a message: without the quoted history and signature below it."""
    parts = split_quoted_text(text)
    return "\n".join(chunk for quoted, chunk in parts if not quoted) if parts else text


def _last_customer_words(ticket) -> str | None:
    if ticket.pk is None:  # a ticket an agent is opening: the customer has written nothing yet
        return None
    body = (
        Message.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER)
        .order_by("-created_at", "-id")
        .values_list("body_text", flat=True)
        .first()
    )
    return written_by_customer(body) if body is not None else None


@hookimpl
def check_public_reply(ticket, author, body):
    objections = []
    checks = checks_in_force()
    if checks is not None and checks.etiquette is not None:
        customer = ticket.customer
        # An empathy rule reads the customer's latest words; without one the query is not needed.
        last = _last_customer_words(ticket) if checks.etiquette.empathy is not None else None
        result = checks.etiquette.check(
            body, customer_name=customer.name if customer.name_known else None, last_customer_message=last
        )
        objections += [
            Objection(f"etiquette.{p.check}", p.detail, clause=p.clause, override=OVERRIDE)
            for p in result.problems
        ]
    seen = []
    for match in PLACEHOLDER.finditer(body):
        if match.group(0) not in seen:
            seen.append(match.group(0))
    objections += [
        Objection(
            "placeholder",
            f"The placeholder {name} is not filled in: write what it stands for (a saved reply's "
            "unknown placeholders are left as written).",
        )
        for name in seen
    ]
    return objections


def _detect(ticket, message) -> None:
    checks = checks_for_ticket(ticket)
    if checks is None:
        return
    for match in checks.contingencies.detect(written_by_customer(message.body_text)):
        do_start_contingency(ticket, match, message=message, at=message.created_at)


@hookimpl
def ticket_opened(ticket, message, by_agent, send_email):
    if by_agent is None:
        _detect(ticket, message)


@hookimpl
def customer_message_stored(ticket, message, reopened):
    _detect(ticket, message)


@hookimpl
def ticket_panels(request, ticket):
    activations = list(ticket.contingencies.all())
    if not activations:
        return None
    protocol = protocol_for(ticket)
    plans = []
    for activation in activations:
        try:
            steps = list(protocol.contingency(activation.contingency).steps) if protocol else []
        except KeyError:
            steps = []
        plans.append({"activation": activation, "steps": steps})
    return [
        Panel("contingencies", "Contingencies", "checks/_contingency_panel.html", {"plans": plans}, order=20)
    ]


def _contingency_choices(protocol) -> list[tuple[str, str]]:
    return [(c.id, c.title) for c in protocol.contingencies] if protocol is not None else []


def _under(tickets, value: str):
    return tickets.filter(pk__in=ContingencyActivation.objects.filter(contingency=value).values("ticket_id"))


@hookimpl
def queue_filters():
    return [QueueFilter("contingency", "Contingency", _contingency_choices, _under)]


@hookimpl
def api_ticket_fields(tickets):
    found: dict[int, list[str]] = {t.pk: [] for t in tickets}
    rows = ContingencyActivation.objects.filter(ticket_id__in=list(found)).values_list(
        "ticket_id", "contingency"
    )
    for ticket_id, contingency in rows:
        found[ticket_id].append(contingency)
    return {"contingencies": found}
