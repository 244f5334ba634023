"""The queue and the ticket page make as many SQL queries with 50 tickets as with 5 (no N+1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charterdesk.library.models import ProtocolVersion
from charterdesk.notifications.actions import notify
from charterdesk.tickets.actions import (
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
    do_tick_step,
)


@pytest.fixture(autouse=True)
def in_force_since_yesterday(demo):
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))


def _add_tickets(count: int, demo) -> list:
    """``count`` tickets of several customers, with replies, notes, tags, procedures and notifications."""
    made = []
    start = timezone.now() - dt.timedelta(hours=3)
    for n in range(count):
        customer = do_find_or_create_customer(email=f"c{n % 7}@example.com", name=f"Customer {n % 7}")
        ticket = do_create_ticket(
            customer=customer,
            subject=f"Question {n}",
            body=f"Message {n}",
            channel=("email", "web", "chat")[n % 3],
            priority=("low", "normal", "high", "urgent")[n % 4],
            tags=["damaged", f"t{n}"] if n % 2 else ["shipping"],
            at=start + dt.timedelta(seconds=n),
        )
        do_reply(ticket, author=demo["agent"], body=f"Hello, reply {n}. Thanks", next_status="pending")
        do_customer_message(ticket, body=f"Answer {n}")
        do_reply(ticket, author=demo["lead"], body=f"Note {n}", public=False)
        if n % 2:
            do_tick_step(ticket, "damaged-item", 0, ticked=True, actor=demo["agent"])
        notify([demo["agent"]], f"About {n}", ticket=ticket)
        made.append(ticket)
    return made


def _count(client, url: str) -> int:
    client.get(url)  # warm the per-process caches (protocol, engine, calendars, templates)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("view", ["open", "mine", "breached", "due-soon"])
def test_the_queue_makes_the_same_number_of_queries_for_5_and_50_tickets(signed_in, demo, view):
    """Each queue view (open, mine, breached, due soon) makes as many database queries with 50 tickets as with
    5, so a long queue does not slow down query by query."""
    client = signed_in("agent")
    url = reverse("tickets:queue") + f"?view={view}"
    _add_tickets(5, demo)
    few = _count(client, url)
    _add_tickets(45, demo)
    many = _count(client, url)
    assert few == many, f"{view}: {few} queries with 5 tickets, {many} with 50"


def test_the_ticket_page_makes_the_same_number_of_queries_for_5_and_50_tickets(signed_in, demo):
    """The customer's other tickets, the timeline and the procedures are fetched a fixed number of times."""
    client = signed_in("lead")
    first = _add_tickets(5, demo)[1]
    url = reverse("tickets:ticket", args=[first.pk])
    few = _count(client, url)
    _add_tickets(45, demo)
    for n in range(10):  # and a longer conversation on the ticket itself
        do_reply(first, author=demo["agent"], body=f"More {n}", public=bool(n % 2))
    many = _count(client, url)
    assert few == many, f"{few} queries with 5 tickets, {many} with 50"


def test_badges_and_notifications_do_not_grow_with_the_data(signed_in, demo):
    """The queue's live badges and the notifications page make as many queries for 50 tickets as for 5."""
    client = signed_in("agent")
    tickets = _add_tickets(5, demo)
    badge_url = reverse("tickets:badges") + "?ids=" + ",".join(str(t.pk) for t in tickets)
    few = (_count(client, badge_url), _count(client, reverse("notifications:list")))
    tickets += _add_tickets(45, demo)
    badge_url = reverse("tickets:badges") + "?ids=" + ",".join(str(t.pk) for t in tickets)
    many = (_count(client, badge_url), _count(client, reverse("notifications:list")))
    assert few == many
