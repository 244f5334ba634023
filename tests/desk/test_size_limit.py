"""A form over the desk's size limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is told the limit on the desk's own
page, never Django's bare "Bad Request (400)", and every page carries the limit for the browser's check."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from charterdesk.core.limits import in_words
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
from charterdesk.tickets.models import Message


@pytest.fixture
def ticket(demo):
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    return do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_reply_over_the_limit_says_the_limit_and_stores_nothing(signed_in, ticket):
    """A 20 KB reply is answered 413 with "at most 10 KB" on a styled desk page; nothing is stored."""
    client = signed_in("lead")
    before = Message.objects.count()
    response = client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"body": "x" * 20_000, "kind": "reply"},
        HTTP_REFERER=f"/tickets/{ticket.pk}/",
    )
    page = response.content.decode()
    assert response.status_code == 413
    assert "Bad Request" not in page
    assert "at most 10 KB of text" in page and "Go back" in page
    assert 'class="topbar"' in page  # the desk's own page, signed in
    assert Message.objects.count() == before


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_the_portal_form_over_the_limit_gets_the_portal_page(demo):
    """A customer's too-long message gets the portal's page with the limit, not the desk's."""
    response = Client().post(reverse("portal:new"), {"body": "y" * 20_000})
    page = response.content.decode()
    assert response.status_code == 413
    assert "at most 10 KB of text" in page and 'class="portal"' in page


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_621_440)
def test_every_page_that_takes_text_carries_the_limit(signed_in, ticket):
    """The ticket page, the new-ticket page and the portal's form tell the browser the limit, so a
    text over it is stopped before it is sent, with the text kept in its box (size-limit.js)."""
    client = signed_in("lead")
    for url in (reverse("tickets:ticket", args=[ticket.pk]), reverse("tickets:new")):
        page = client.get(url).content.decode()
        assert 'data-post-limit="2621440"' in page and 'data-post-limit-words="2.5 MB"' in page
        assert "size-limit.js" in page
    portal = Client().get(reverse("portal:new")).content.decode()
    assert 'data-post-limit="2621440"' in portal and "size-limit.js" in portal


def test_the_limit_in_words():
    """Sizes read as people say them: 2,621,440 bytes is "2.5 MB", 1,048,576 is "1 MB"."""
    assert in_words(2_621_440) == "2.5 MB"
    assert in_words(1_048_576) == "1 MB"
    assert in_words(10_000) == "10 KB"
    assert in_words(100) == "1 KB"
