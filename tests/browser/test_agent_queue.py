"""An agent works the queue in a real browser: most urgent first, reply, pending, the clock pauses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def queue_of_tickets(demo_live):
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    # Tickets start before the demo version was published; let it be in force since yesterday.
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    kim = do_find_or_create_customer(email="kim@example.com", name="Kim Osei")
    now = timezone.now()
    made = {
        "low": do_create_ticket(
            customer=kim,
            subject="Catalogue request",
            body="Send me a catalogue",
            channel="web",
            priority="low",
        ),
        "urgent": do_create_ticket(
            customer=jo,
            subject="Stove leaks gas",
            body="My new stove smells of gas. What do I do?",
            channel="email",
            priority="urgent",
            tags=["vip"],
            at=now - dt.timedelta(minutes=10),
        ),
        "normal": do_create_ticket(
            customer=kim, subject="Where is my order", body="Order 1001 has not arrived", channel="email"
        ),
    }
    return made


def _shots(page, name: str) -> None:
    page.screenshot(path=f"/tmp/ws/{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"/tmp/ws/{name}-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_agent_opens_the_most_urgent_ticket_replies_and_sets_pending(page, demo_live, queue_of_tickets):
    """Alex sees three tickets with 'Stove leaks gas' first (due first) and no New ticket button; every view
    fits a phone; with j, o and r Alex opens it, replies and sets it pending, and the resolution clock
    shows paused with the engine's explanation on hover."""
    urgent = queue_of_tickets["urgent"]
    sign_in(page, demo_live, "alex@acme.example", "demo-agent-1")
    page.click("header nav >> text=Tickets")
    page.wait_for_url(f"{demo_live}/tickets/")
    rows = page.locator("table.queue tr.row")
    assert rows.count() == 3
    assert "Stove leaks gas" in rows.first.inner_text()  # due first
    assert "left" in page.locator(f"#sla-{urgent.pk}").inner_text()
    # The agent lacks ticket.create: no New ticket button.
    assert page.locator("text=New ticket").count() == 0
    _shots(page, "queue")
    # On a phone every view is in sight (Breached and its count included), none scrolled off.
    page.set_viewport_size({"width": 390, "height": 844})
    for link in page.locator(".ws-side .views a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})

    # The help overlay lists the shortcuts; j selects the first row, o opens it.
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    assert "current" in rows.first.get_attribute("class")
    page.keyboard.press("o")
    page.wait_for_url(f"{demo_live}/tickets/{urgent.pk}/")
    assert page.locator("h1").inner_text().endswith("Stove leaks gas")
    assert "left" in page.locator("#ticket-sla [data-metric=resolution]").inner_text()

    # r focuses the composer for a public reply; send it with "then pending".
    page.keyboard.press("r")
    page.keyboard.type("Hello Jo, please turn off the gas valve and open a window. We will call you. Thanks")
    page.select_option("#id_next_status", "pending")
    page.click("button[data-send]")
    page.locator(".messages", has_text="Reply sent; the ticket is now pending.").wait_for()
    assert page.locator(".timeline .msg-reply").count() == 1
    assert "Pending" in page.locator("[data-ticket-status]").inner_text()
    resolution = page.locator("#ticket-sla [data-metric=resolution]")
    assert "paused" in resolution.inner_text()
    # The engine's explanation is on hover.
    assert "policy 'vip-urgent'" in resolution.get_attribute("title")
    _shots(page, "ticket")
