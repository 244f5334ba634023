"""A customer opens a ticket on the portal, signs in with the emailed link and talks with an agent."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.db.models import F

from .conftest import WAIT_MS

pytestmark = pytest.mark.browser

SHOTS = "/tmp"


@pytest.fixture
def portal_live(demo_live, settings):
    """The live desk with the portal's minimum fill time off and links pointing at the live server."""
    from charterdesk.library.models import ProtocolVersion

    # The ticket actions count whole seconds: make the demo version in force since a second ago.
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    settings.CHARTERDESK_PORTAL_MIN_SECONDS = 0
    settings.SITE_URL = demo_live
    from django.core.cache import cache

    cache.clear()
    return demo_live


@pytest.fixture
def berlin_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.screenshot(path=f"{SHOTS}/portal-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_customer_opens_a_ticket_follows_the_link_and_answers_the_agent(berlin_page, portal_live):
    """Form -> ticket number and promise -> emailed link -> the ticket -> agent asks -> customer answers,
    and the ticket is open again."""
    from charterdesk.accounts.models import Person
    from charterdesk.tickets.actions import do_reply
    from charterdesk.tickets.models import Ticket

    agent = Person.objects.get(email="alex@acme.example")

    page = berlin_page
    page.goto(f"{portal_live}/portal/new/")
    # Nothing of the agents' desk shows, and the browser's own zone is preselected.
    assert page.locator(".topbar").count() == 0
    assert page.locator("#id_timezone").input_value() == "Europe/Berlin"
    # Sent empty: each field says what it needs.
    page.click("button:has-text('Send')")
    page.locator("#name-errors", has_text="Your name: tell us what to call you.").wait_for()
    assert "Message: tell us what happened" in page.locator("#message-errors").inner_text()
    shoot(page, "errors")
    page.fill("#id_name", "Jo Walker")
    page.fill("#id_email", "jo@example.com")
    page.fill("#id_subject", "Tent pole snapped")
    page.fill("#id_message", "The middle pole of my Ridge 2 tent broke on the first night.")
    shoot(page, "new")
    page.click("button:has-text('Send')")

    promise = page.locator("#promise")
    promise.wait_for()
    ticket = Ticket.objects.get()
    assert f"Your ticket number is #{ticket.pk}" in page.locator("h1").inner_text()
    assert re.search(r"We will reply by \w+day .*\d\d:\d\d Berlin time\.", promise.inner_text())
    assert "We emailed you a link" in page.content()
    shoot(page, "sent")

    # The emailed link: a confirmation page, then the ticket itself.
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/portal/link/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    shoot(page, "link")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{portal_live}/portal/tickets/{ticket.pk}/")
    assert "Tent pole snapped" in page.locator("h1").inner_text()
    assert "The middle pole" in page.locator("#conversation").inner_text()

    # An agent asks for a photo and waits for the customer.
    do_reply(
        ticket,
        author=agent,
        body="Hello Jo, sorry about that! Could you send a photo of the break? Thanks, Alex",
        next_status="pending",
    )
    do_reply(ticket, author=agent, body="Internal: stock check needed", public=False)
    page.reload()
    conversation = page.locator("#conversation").inner_text()
    assert "Could you send a photo" in conversation
    assert "stock check" not in page.content()
    assert page.locator("#status").inner_text() == "Waiting for your reply"
    shoot(page, "ticket")

    page.fill("#id_body", "Here it is: the pole split just above the joint.")
    page.click("button:has-text('Send reply')")
    page.locator(".messages", has_text="The ticket is open again").wait_for()
    assert "split just above the joint" in page.locator("#conversation").inner_text()
    ticket.refresh_from_db()
    assert ticket.status == "open"

    page.click("text=Your tickets")
    row = page.locator(".ticket-row", has_text="Tent pole snapped")
    assert "We are on it" in row.inner_text()
    shoot(page, "tickets")

    page.click("button:has-text('Sign out')")
    page.locator(".messages", has_text="You are signed out").wait_for()
    page.goto(f"{portal_live}/portal/tickets/{ticket.pk}/")
    page.wait_for_url(f"{portal_live}/portal/")
    shoot(page, "start")
