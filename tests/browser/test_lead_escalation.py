"""A lead receives an escalation: the bell, the notification naming the rule, the clause on the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_lead_sees_the_breach_notification_and_the_escalation_on_the_timeline(page, demo_live):
    """An urgent VIP email opened 10 hours ago (first response 30m on the 24x7 calendar) is breached;
    once the worker's refresh_sla runs, 'lead-on-breach' has notified every lead."""
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, refresh_sla

    now = timezone.now()
    ProtocolVersion.objects.update(effective_at=now - dt.timedelta(days=1))
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = do_create_ticket(
        customer=customer,
        subject="Tent collapsed in the storm",
        body="The poles bent in the wind last night.",
        channel="email",
        priority="urgent",
        tags=["vip"],
        at=now - dt.timedelta(hours=10),
        assign=False,
    )
    with transaction.atomic():  # what the worker does when the ticket's next deadline comes
        refresh_sla(ticket)

    sign_in(page, demo_live, "ravi@acme.example", "demo-lead-1")
    bell = page.locator("header a.bell")
    assert int(bell.locator(".bell-count").inner_text()) >= 1
    bell.click()
    page.wait_for_url(f"{demo_live}/notifications/")
    notification = page.locator("li.notification", has_text="lead-on-breach").first
    assert "Tent collapsed in the storm" in notification.inner_text()
    assert "missed its resolution time; you are told as team lead" in notification.inner_text()
    assert "escalation.lead-on-breach" in notification.inner_text()  # the reason names the clause
    page.screenshot(path="/tmp/ws/notifications-1280.png", full_page=True)
    card = page.locator(f".notification-group[data-ticket='{ticket.pk}']")
    card.locator("button", has_text=f"Open #{ticket.pk}").click()
    page.wait_for_url(f"{demo_live}/tickets/{ticket.pk}/")

    escalation = page.locator(".timeline .ev-escalation", has_text="lead-on-breach").first
    text = escalation.inner_text()
    assert "clause escalation.lead-on-breach" in text and "protocol version 3.2" in text
    assert "breached" in page.locator("#ticket-sla [data-metric=first_response]").inner_text()
    page.screenshot(path="/tmp/ws/escalated-ticket-1280.png", full_page=True)
