"""The demo: the example protocol in force and one person per role, with sign-in details to print."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from charterdesk.accounts.actions import do_add_person
from charterdesk.accounts.models import Person
from charterdesk.protocols.actions import do_create_draft, do_publish
from charterdesk.protocols.library import version_in_force

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
