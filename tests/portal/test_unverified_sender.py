"""The portal's web form cannot be used to write as an existing customer: a ticket opened with a
customer's address by someone not signed in as them is marked "unverified sender", shows nothing of
theirs, and stays out of their portal until they confirm by the link mailed to them (or in the
portal once signed in)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.db.models import F

from charterdesk.audit.models import AuditEntry
from charterdesk.channels.choices import OutboundKind
from charterdesk.channels.models import OutboundMail
from charterdesk.library.models import ProtocolVersion
from charterdesk.portal import spam
from charterdesk.portal.actions import SESSION_KEY
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
from charterdesk.tickets.models import Ticket

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def desk(demo, settings):
    """The demo in force since a second ago, mail kept in memory, tasks run at once; Jo Walker
    (Europe/Berlin) already has a ticket."""
    cache.clear()
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    settings.TASKS = IMMEDIATE_TASKS
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker", timezone_name="Europe/Berlin")
    do_create_ticket(customer=jo, subject="Earlier order", body="Where is it?", channel="web")
    mail.outbox.clear()
    yield jo
    cache.clear()


def form(**overrides) -> dict:
    data = {
        "name": "Someone",
        "email": "jo@example.com",
        "subject": "Send my refund to a new card",
        "message": "Please pay the refund to card 4000 0000 0000 0002.",
        "timezone": "Asia/Tokyo",
        "website": "",
        "started": spam.make_stamp(time.time() - 10),
    }
    data.update(overrides)
    return data


def sign_in_as(client, customer) -> None:
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()


def test_a_form_using_a_customers_address_unsigned_is_marked_and_hidden_until_confirmed(
    client, desk, django_capture_on_commit_callbacks
):
    """Someone not signed in opens a ticket with Jo's address: the thank-you page shows neither Jo's
    name nor anything of Jo's, Jo's settings are untouched, Jo gets a confirmation request (no
    sign-in link), and the ticket is missing from Jo's portal until Jo follows the link."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/new/", form())
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Send my refund to a new card")
    assert ticket.unverified_sender and ticket.customer_id == desk.pk
    assert (
        ticket.messages.get().unverified_sender == "sent on the web form without signing in as this customer"
    )
    page = client.get(response["Location"]).content.decode()
    assert 'id="unverified-sender"' in page and "Jo Walker" not in page and "Thank you, Jo" not in page
    desk.refresh_from_db()
    assert desk.timezone == "Europe/Berlin"

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jo@example.com"]
    assert "Please confirm you wrote" in mail.outbox[0].subject
    assert "/portal/link/" not in mail.outbox[0].body and "4000 0000" not in mail.outbox[0].body
    assert OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.CONFIRM).count() == 1

    jo = client_for(desk)
    listing = jo.get("/portal/tickets/").content.decode()
    assert f'href="/portal/tickets/{ticket.pk}/"' not in listing and "Waiting for you to confirm" in listing
    assert jo.get(f"/portal/tickets/{ticket.pk}/").status_code == 404

    link = re.search(r"https?://\S+/channels/confirm/\S+/", mail.outbox[0].body).group(0)
    jo.post(re.sub(r"^https?://[^/]+", "", link))
    listing = jo.get("/portal/tickets/").content.decode()
    assert f'href="/portal/tickets/{ticket.pk}/"' in listing and "Waiting for you to confirm" not in listing
    assert jo.get(f"/portal/tickets/{ticket.pk}/").status_code == 200
    assert AuditEntry.objects.get(action="ticket.confirm_sender").data["how"] == "link"


def client_for(customer):
    from django.test import Client

    browser = Client()
    sign_in_as(browser, customer)
    return browser


def test_a_signed_in_customers_own_request_is_not_marked(client, desk, django_capture_on_commit_callbacks):
    """Jo, signed in to the portal, opens a ticket: no mark, the usual receipt, and it is listed."""
    sign_in_as(client, desk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/new/", form(name="Jo Walker"))
    ticket = Ticket.objects.get(subject="Send my refund to a new card")
    assert not ticket.unverified_sender and not ticket.messages.get().unverified_sender
    assert not OutboundMail.objects.filter(kind=OutboundKind.CONFIRM).exists()
    assert f'href="/portal/tickets/{ticket.pk}/"' in client.get("/portal/tickets/").content.decode()


def test_signed_in_as_another_customer_the_address_still_needs_proof(client, desk):
    """Signed in as Sam, a ticket opened with Jo's address is still Jo's to confirm."""
    sam = do_find_or_create_customer(email="sam@example.com", name="Sam")
    sign_in_as(client, sam)
    client.post("/portal/new/", form())
    assert Ticket.objects.get(subject="Send my refund to a new card").unverified_sender


def test_a_first_contact_on_the_form_is_not_marked(client, desk):
    """An address no ticket has used cannot be proven either way: it is not marked."""
    client.post("/portal/new/", form(email="new@example.com"))
    assert not Ticket.objects.get(subject="Send my refund to a new card").unverified_sender


def test_the_signed_in_customer_confirms_from_the_portal(client, desk):
    """Signed in (with the link mailed to Jo), Jo confirms the waiting request with one button."""
    client.post("/portal/new/", form())
    ticket = Ticket.objects.get(subject="Send my refund to a new card")
    message = ticket.messages.get()
    jo = client_for(desk)
    response = jo.post(f"/portal/confirm/{message.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/portal/tickets/{ticket.pk}/"
    ticket.refresh_from_db()
    assert not ticket.unverified_sender
    assert AuditEntry.objects.get(action="ticket.confirm_sender").data == {
        "message": message.pk,
        "customer": desk.pk,
        "how": "portal",
    }
    # Another customer cannot confirm it: 404, like anything not theirs.
    sam = client_for(do_find_or_create_customer(email="sam@example.com", name="Sam"))
    assert sam.post(f"/portal/confirm/{message.pk}/").status_code == 404
