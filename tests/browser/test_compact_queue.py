"""The queue's compact density in a real browser: 15+ tickets on a 1366x768 laptop, remembered."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def twenty_tickets(demo_live):
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    jo = do_find_or_create_customer(email="jo.walker@example.com", name="Jo Walker")
    return [
        do_create_ticket(
            customer=jo,
            subject=f"Order {1000 + n} has a question about the tent poles and the pegs",
            body="Where is it?",
            channel="email",
            tags=["shipping"],
        )
        for n in range(20)
    ]


def _shot(page, name: str) -> None:
    """docs/img's screenshots, taken when CHARTERDESK_SCREENSHOTS names a folder (docs/workspace.md)."""
    folder = os.environ.get("CHARTERDESK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def _rows_in_view(page) -> int:
    return page.evaluate(
        """() => [...document.querySelectorAll('table.queue tr.row')]
              .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )


def test_compact_rows_fit_fifteen_tickets_on_a_laptop_and_are_remembered(browser, demo_live, twenty_tickets):
    """At 1366x768 the comfortable queue shows a handful of tickets; Compact shows 15 or more, and
    the choice is still there after signing in again in another browser."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, demo_live, "ravi@acme.example", "demo-lead-1")
    page.goto(f"{demo_live}/tickets/?view=open")
    comfortable = _rows_in_view(page)
    page.click("[data-density-compact]")
    page.wait_for_selector(".density-compact table.queue")
    compact = _rows_in_view(page)
    assert compact >= 15, (comfortable, compact)
    assert compact > comfortable
    _shot(page, "queue-compact")
    context.close()
    # Another device: the same person gets the compact queue at once.
    other = browser.new_context(viewport={"width": 1366, "height": 768})
    page = other.new_page()
    sign_in(page, demo_live, "ravi@acme.example", "demo-lead-1")
    page.goto(f"{demo_live}/tickets/?view=open")
    assert page.locator(".density-compact table.queue").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "queue-compact-390")
    other.close()
