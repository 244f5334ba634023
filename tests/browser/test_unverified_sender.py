"""Someone writes as an existing customer on the portal: the agent sees the mark, the customer's
portal hides it until the customer confirms by the emailed link, in a real browser."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from .conftest import sign_in
from .test_customer_portal import portal_live  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_a_request_in_a_customers_name_is_marked_until_the_customer_confirms_it(
    page,
    portal_live,  # noqa: F811
    settings,
):
    """A stranger opens a ticket with Jo's address: the page shows nothing of Jo's and says Jo
    is asked; the agent sees the badge and the composer's warning; Jo's emailed link shows a
    button that confirms it, and the ticket then shows without the mark."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
    from charterdesk.tickets.models import Ticket

    settings.TASKS = IMMEDIATE_TASKS
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    do_create_ticket(customer=jo, subject="Earlier order", body="Where is it?", channel="web")
    mail.outbox.clear()

    page.goto(f"{portal_live}/portal/new/")
    page.fill("#id_name", "Someone")
    page.fill("#id_email", "jo@example.com")
    page.fill("#id_subject", "Send my refund to a new card")
    page.fill("#id_message", "Please pay it to another card.")
    page.click("button:has-text('Send')")
    notice = page.locator("#unverified-sender")
    notice.wait_for()
    assert "We emailed jo@example.com a link to confirm" in notice.inner_text()
    assert "Jo Walker" not in page.content()
    page.screenshot(path="/tmp/unverified-portal-sent.png", full_page=True)
    ticket = Ticket.objects.get(subject="Send my refund to a new card")

    sign_in(page, portal_live, "alex@acme.example", "demo-agent-1")
    page.goto(f"{portal_live}/tickets/{ticket.pk}/")
    page.locator("#unverified-sender").wait_for()
    badge = page.locator("[data-unverified-sender]")
    assert "unverified sender: sent on the web form" in badge.inner_text()
    assert "do not share account details" in page.locator("[data-unverified-warning]").inner_text()
    page.screenshot(path="/tmp/unverified-ticket-page.png", full_page=True)

    link = re.search(r"https?://\S+/channels/confirm/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.click("#confirm-sender")
    page.locator("h1", has_text="Thank you").wait_for()
    page.screenshot(path="/tmp/unverified-confirmed.png", full_page=True)
    ticket.refresh_from_db()
    assert not ticket.unverified_sender

    page.goto(f"{portal_live}/tickets/{ticket.pk}/")
    page.locator(".badge.sender-confirmed").wait_for()
    assert page.locator("#unverified-sender").count() == 0
