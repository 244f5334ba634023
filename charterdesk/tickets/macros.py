"""Saved replies (macros): which ones a person sees, filling in their placeholders, and their upkeep.

A macro's body may hold placeholders such as ``{customer.first_name}``. :func:`render` fills
the known ones from the ticket, its customer and the agent; a placeholder it does not know is
left in the text exactly as written and reported, so the agent sees it before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from charterdesk.audit.actions import action, record
from charterdesk.audit.refs import ref

from .choices import Status
from .models import Macro

PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)*)\}")

PLACEHOLDERS = {
    "customer.first_name": "the customer's first name",
    "customer.name": "the customer's full name",
    "ticket.reference": "the ticket number, such as #42",
    "ticket.subject": "the ticket's subject",
    "agent.first_name": "your first name",
    "agent.name": "your full name",
}


class MacroError(Exception):
    """A macro that cannot be saved or used; the message names the field."""


@dataclass(frozen=True)
class Rendered:
    text: str
    unknown: tuple[str, ...]  # placeholders left as written, e.g. ("{order.number}",)


def values_for(ticket, agent) -> dict[str, str]:
    customer = ticket.customer
    return {
        "customer.first_name": customer.first_name,
        "customer.name": customer.name,
        "ticket.reference": ticket.reference,
        "ticket.subject": ticket.subject,
        "agent.first_name": agent.first_name,
        "agent.name": agent.name,
    }


def render(body: str, ticket, agent) -> Rendered:
    """``body`` with the known placeholders filled in; unknown ones kept and listed."""
    values = values_for(ticket, agent)
    unknown: list[str] = []

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if match.group(0) not in unknown:
            unknown.append(match.group(0))
        return match.group(0)

    return Rendered(PLACEHOLDER.sub(fill, body), tuple(unknown))


def unknown_placeholders(body: str) -> list[str]:
    found = []
    for match in PLACEHOLDER.finditer(body):
        if match.group(1) not in PLACEHOLDERS and match.group(0) not in found:
            found.append(match.group(0))
    return found


def macros_for(person):
    """The shared macros and the person's own, by title."""
    return Macro.objects.filter(Q(owner__isnull=True) | Q(owner=person)).order_by("title", "pk")


def _check(title: str, body: str, next_status: str) -> None:
    if not title.strip():
        raise MacroError("title: give the saved reply a title")
    if not body.strip():
        raise MacroError("body: write the text of the saved reply")
    if next_status and next_status not in Status.values:
        raise MacroError(f"next_status: '{next_status}' is not a ticket status")


@action
def do_save_macro(
    macro: Macro | None, *, title: str, body: str, shared: bool, next_status: str = "", actor
) -> Macro:
    """Create (``macro`` None) or change a saved reply; shared ones have no owner."""
    _check(title, body, next_status)
    with transaction.atomic():
        created = macro is None
        macro = macro or Macro()
        macro.title = title.strip()[:120]
        macro.body = body
        macro.owner = None if shared else actor
        macro.next_status = next_status
        macro.save()
        record(
            "macro.create" if created else "macro.update",
            # By id: a saved reply's title is its author's words and may name a customer.
            f"{ref(actor)} {'created' if created else 'changed'} the "
            f"{'shared' if shared else 'personal'} saved reply #{macro.pk}",
            actor=actor,
            target=f"macro:{macro.pk}",
        )
    return macro


@action
def do_delete_macro(macro: Macro, *, actor) -> None:
    with transaction.atomic():
        record(
            "macro.delete",
            f"{ref(actor)} deleted the saved reply #{macro.pk}",
            actor=actor,
            target=f"macro:{macro.pk}",
        )
        macro.delete()
