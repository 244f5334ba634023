"""The queue's sort key, counts and pages, written so that 100,000 tickets cost what 100 do."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from charterdesk.library.models import ProtocolVersion
from charterdesk.tickets import queues
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_set_status
from charterdesk.tickets.models import NO_CLOCK, NOT_IN_QUEUE, Ticket
from charterdesk.tickets.queues import list_queryset, sort, view_condition


@pytest.fixture(autouse=True)
def in_force_since_yesterday(demo):
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))


@pytest.fixture
def make_ticket(demo):
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")

    def make(subject="Tent pole snapped", **kwargs):
        kwargs.setdefault("channel", "email")
        return do_create_ticket(customer=customer, subject=subject, body="My tent pole broke.", **kwargs)

    return make


def _sidebar(html: str) -> dict[str, int]:
    return {
        slug: int(count)
        for slug, count in re.findall(
            r'class="view-([\w-]+)">\s*<span>[^<]*</span><span class="count">(\d+)', html
        )
    }


def test_the_sort_key_follows_status_and_due_time(make_ticket, demo):
    """An unsolved ticket sorts by its next due time; without a running clock after those; solved last."""
    running = make_ticket("Running")
    paused = make_ticket("Paused")
    Ticket.objects.filter(pk=paused.pk).update(next_due_at=None)
    solved = make_ticket("Solved")
    do_set_status(solved, "solved", actor=demo["manager"])
    keys = dict(Ticket.objects.values_list("subject", "queue_due"))
    assert keys["Running"] == Ticket.objects.get(pk=running.pk).next_due_at
    assert keys["Paused"] == NO_CLOCK
    assert keys["Solved"] == NOT_IN_QUEUE


def test_the_open_view_lists_by_due_time_then_tickets_without_a_clock(make_ticket, signed_in):
    """All open: most urgent first, a ticket whose clocks are paused after every running one."""
    now = timezone.now()
    late = make_ticket("Late one", priority="low", at=now - dt.timedelta(minutes=10))
    urgent = make_ticket("Urgent one", priority="urgent", at=now - dt.timedelta(minutes=5))
    paused = make_ticket("Paused one", priority="urgent", at=now - dt.timedelta(minutes=1))
    Ticket.objects.filter(pk=paused.pk).update(next_due_at=None)
    html = signed_in("agent").get(reverse("tickets:queue") + "?view=open").content.decode()
    order = re.findall(r"(Late one|Urgent one|Paused one)", html)
    due = {t.subject: t.next_due_at for t in Ticket.objects.filter(pk__in=[late.pk, urgent.pk])}
    running = sorted(due, key=lambda s: due[s])
    assert order == [*running, "Paused one"]


def test_sidebar_counts_match_the_views_and_follow_a_change_at_once(make_ticket, signed_in, demo):
    """Each count is the number of tickets its view lists; solving a ticket updates them on the next page."""
    for n in range(3):
        make_ticket(f"Ticket {n}")
    client = signed_in("agent")
    url = reverse("tickets:queue")
    counts = _sidebar(client.get(url).content.decode())
    assert counts["open"] == 3 and counts["solved"] == 0
    for slug, count in counts.items():
        listed = client.get(url + f"?view={slug}").content.decode().count('name="ids"')
        assert listed == count, slug
    do_set_status(Ticket.objects.first(), "solved", actor=demo["manager"])
    after = _sidebar(client.get(url).content.decode())
    assert after["open"] == 2 and after["solved"] == 1
    assert (
        "Counts refresh after every change on the desk, and at least every 30 s."
        in client.get(url).content.decode()
    )


def test_pending_view_holds_pending_and_on_hold_tickets(make_ticket, signed_in, demo):
    """Pending: waiting on the customer (pending) or a third party (on hold), nothing else."""
    waiting = make_ticket("Waiting on customer")
    held = make_ticket("Held by the carrier")
    make_ticket("Still new")
    do_set_status(waiting, "pending", actor=demo["agent"])
    do_set_status(held, "on_hold", actor=demo["agent"])
    html = signed_in("agent").get(reverse("tickets:queue") + "?view=pending").content.decode()
    assert "Waiting on customer" in html and "Held by the carrier" in html
    assert "Still new" not in html


def test_a_search_counts_up_to_a_limit_and_still_pages_on(make_ticket, signed_in, monkeypatch):
    """Beyond the counting limit the total reads "N+" and a next page is offered."""
    monkeypatch.setattr(queues, "COUNT_UP_TO", 2)
    monkeypatch.setattr(queues, "PAGE_SIZE", 1)
    for n in range(4):
        make_ticket(f"Refund request {n}")
    html = signed_in("agent").get(reverse("tickets:queue") + "?q=refund").content.decode()
    assert "2+ tickets" in html
    assert "Next →" in html


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
@pytest.mark.parametrize("slug", ["open", "mine", "due-soon", "breached", "pending"])
def test_each_view_reads_its_first_page_off_an_index_without_sorting(demo, slug):
    """No view sorts its unsolved tickets to show fifty: the plan walks an index in queue order."""
    queryset = sort(
        list_queryset().filter(view_condition(slug, demo["agent"], ["support"], timezone.now())), "due"
    )
    sql, params = queryset[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " | ".join(row[-1] for row in cursor.fetchall())
    assert "TEMP B-TREE" not in plan, plan
    assert "ticket_queue_due" in plan or "ticket_assignee_due" in plan, plan
