"""The notifications page in a browser: one card per ticket, plain words; screenshots for the docs."""

from __future__ import annotations

import os

import pytest
from django.db import transaction

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_notifications_are_one_card_per_ticket(browser, demo_live):
    """Escalations and an assignment on two tickets show as two cards; Mark all read clears them."""
    from charterdesk.accounts.models import Person
    from charterdesk.notifications.actions import notify
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    ravi = Person.objects.get(email="ravi@acme.example")
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    tent = do_create_ticket(customer=jo, subject="Tent pole snapped", body="x", channel="email")
    boots = do_create_ticket(customer=jo, subject="Boots too small", body="y", channel="email")
    soon = f"{tent.reference} “Tent pole snapped” must have its first response within 15 minutes"
    missed = f"{tent.reference} “Tent pole snapped” missed its first response time"
    with transaction.atomic():
        lead = "; you are told as team lead"
        notify([ravi], soon + lead, ticket=tent, reason="protocol 3.2, escalation.warn-assignee")
        notify([ravi], missed + lead, ticket=tent, reason="protocol 3.2, escalation.lead-on-breach")
        notify([ravi], f"Alex Kim assigned {boots.reference} to you", ticket=boots, reason="assignment")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, demo_live, "ravi@acme.example", "demo-lead-1")
    page.goto(f"{demo_live}/notifications/")
    assert page.locator(".notification-group").count() == 2
    assert page.locator(f".notification-group[data-ticket='{tent.pk}'] .notification-lines li").count() == 2
    folder = os.environ.get("CHARTERDESK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, "notifications.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=os.path.join(folder, "notifications-390.png"))
    page.click("text=Mark all read")
    page.wait_for_selector("text=Marked 3 notifications read.")
    context.close()
