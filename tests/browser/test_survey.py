"""A customer rates a solved ticket from the survey email, adds a comment, and the agent sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.db.models import F

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def survey_live(demo_live, settings):
    from charterdesk.library.models import ProtocolVersion

    # Tickets below are solved two hours ago: the version must have been in force before.
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(days=1))
    settings.SITE_URL = demo_live
    return demo_live


def test_a_customer_rates_from_the_email_and_comments_and_the_ticket_shows_it(page, survey_live):
    """Survey mail -> rating link (confirm page, button) -> comment -> the agent's ticket page
    shows 'CSAT 4 of 5' and the comment; the portal's ticket shows the rating too."""
    from django.utils import timezone

    from charterdesk.accounts.models import Person
    from charterdesk.surveys.tasks import send_due_surveys
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_set_status

    agent = Person.objects.get(email="alex@acme.example")
    now = timezone.now().replace(microsecond=0)
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = do_create_ticket(
        customer=customer,
        subject="Tent pole snapped",
        body="The middle pole broke.",
        channel="email",
        at=now - dt.timedelta(hours=3),
    )
    do_set_status(ticket, "solved", actor=agent, at=now - dt.timedelta(hours=2))
    mail.outbox.clear()
    send_due_surveys(now)
    survey = next(m for m in mail.outbox if "satisfied" in m.subject)
    link = re.search(r"^4: (http://\S+/surveys/r/\S+/)$", survey.body, re.MULTILINE).group(1)

    page.goto(link)
    assert "Your rating: 4 of 5" in page.locator("form").inner_text()
    page.click("#survey-send")
    page.locator(".messages", has_text="your rating is recorded").wait_for()
    assert page.locator("#survey-rating").inner_text() == "4"
    page.fill("#survey-comment", "Quick and friendly, thank you Alex.")
    page.click("#survey-comment-send")
    page.locator(".messages", has_text="your comment is saved").wait_for()
    page.screenshot(path="/tmp/survey-answer.png", full_page=True)

    sign_in(page, survey_live, "alex@acme.example", "demo-agent-1")
    page.goto(f"{survey_live}/tickets/{ticket.pk}/")
    card = page.locator("#panel-surveys")
    assert "CSAT 4 of 5" in card.inner_text()
    assert "Quick and friendly, thank you Alex." in card.inner_text()
    assert "Customer rated CSAT 4 of 5" in page.content()
    page.screenshot(path="/tmp/survey-ticket.png", full_page=True)
