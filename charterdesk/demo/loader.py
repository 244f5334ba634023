"""The demo: the example protocol in force and one person per role, with sign-in details to print."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from charterdesk.accounts.actions import do_add_person
from charterdesk.accounts.models import Person
from charterdesk.library.actions import do_create_draft, do_publish
from charterdesk.library.versions import version_in_force

EXAMPLE = Path(__file__).with_name("acme-outdoor.protocol.yaml")

# One person per role of the example protocol. Demo passwords are printed on purpose.
DEMO_PEOPLE = [
    ("manager", "Dana Whitfield", "dana@acme.example", "demo-manager-1"),
    ("lead", "Ravi Menon", "ravi@acme.example", "demo-lead-1"),
    ("agent", "Alex Kim", "alex@acme.example", "demo-agent-1"),
]


@dataclass
class DemoPerson:
    role: str
    name: str
    email: str
    password: str


def load_demo(now: dt.datetime | None = None) -> list[DemoPerson]:
    """Idempotent: publishes the example if nothing is in force and adds the demo people who are missing.

    ``now``: the moment of the publish, so the example is in force from then (the tests pass a fixed
    date early in 2026, so that the times they freeze never come before the protocol's)."""
    people = [DemoPerson(*row) for row in DEMO_PEOPLE]
    with transaction.atomic():
        for p in people:
            if not Person.objects.filter(email=p.email).exists():
                do_add_person(p.email, p.name, [p.role], password=p.password)
        if version_in_force(now) is None:
            manager = Person.objects.get(email=people[0].email)
            draft = do_create_draft(
                EXAMPLE.read_text(encoding="utf-8"), actor=manager, note="The demo protocol"
            )
            do_publish(draft, actor=manager, now=now)
    return people


# Shared saved replies a new team would write first, in the protocol's own voice (greeting, the
# customer's name, a next step, a closing), so the workspace shows what macros are for.
DEMO_SAVED_REPLIES = [
    (
        "Ask for photos of the damage",
        "Hi {customer.first_name},\n\nI'm sorry your order arrived damaged. Could you send one photo of "
        "the item and one of the box? As soon as we have them I'll arrange a replacement or a refund.\n\n"
        "Best regards,\n{agent.first_name}",
        "pending",
    ),
    (
        "Tracking number on its way",
        "Hi {customer.first_name},\n\nThanks for your patience. I've looked up your parcel for "
        "{ticket.reference} and will send you the tracking number within the hour.\n\n"
        "Best regards,\n{agent.first_name}",
        "",
    ),
    (
        "Anything else?",
        "Hi {customer.first_name},\n\nI'm glad that's sorted. I'll close this ticket now; just reply to "
        "this email if anything else comes up.\n\nThanks,\n{agent.first_name}",
        "solved",
    ),
]


def load_demo_saved_replies() -> int:
    """The demo's shared saved replies, once (a desk that has any keeps its own). How many were added."""
    from charterdesk.tickets.macros import do_save_macro
    from charterdesk.tickets.models import Macro

    if Macro.objects.exists():
        return 0
    manager = Person.objects.get(email=DEMO_PEOPLE[0][2])
    for title, body, next_status in DEMO_SAVED_REPLIES:
        do_save_macro(None, title=title, body=body, shared=True, next_status=next_status, actor=manager)
    return len(DEMO_SAVED_REPLIES)
