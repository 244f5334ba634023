"""Two agents on one ticket: each sees the other (viewing or typing), and a reply written on a page
the ticket has since moved past asks before it is sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_reply
from charterdesk.tickets.models import Message, TicketPresence
from charterdesk.tickets.presence import PRESENCE_FOR, mark_present, others_present, page_version


@pytest.fixture
def ticket(demo):
    from charterdesk.library.models import ProtocolVersion

    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    return do_create_ticket(customer=customer, subject="Tent", body="Broken pole", channel="email")


def test_each_sees_the_other_viewing_then_typing(signed_in, demo, ticket):
    """Ravi opens the ticket; Dana's page then says Ravi is viewing, and typing once he types."""
    ravi, dana = signed_in("lead"), None
    url = reverse("tickets:presence", args=[ticket.pk])
    version = page_version(ticket)
    assert ravi.post(url, {"state": "viewing", "version": version}).status_code == 200
    from django.test import Client

    dana = Client()
    dana.force_login(demo["manager"])
    answer = dana.post(url, {"state": "viewing", "version": version}).content.decode()
    assert "Ravi Menon is viewing" in answer
    ravi.post(url, {"state": "typing", "version": version})
    assert (
        "Ravi Menon is typing a reply"
        in dana.post(url, {"state": "viewing", "version": version}).content.decode()
    )
    # Ravi's own page lists Dana, not himself.
    mine = ravi.post(url, {"state": "typing", "version": version}).content.decode()
    assert "Dana Whitfield is viewing" in mine and "Ravi Menon" not in mine


def test_presence_is_one_row_per_person_and_fades(demo, ticket):
    """Renewing presence updates the one row (an atomic upsert, shared by every worker process);
    a person not seen for PRESENCE_FOR seconds is no longer listed."""
    now = timezone.now().replace(microsecond=0)
    for state in ("viewing", "typing", "viewing"):
        mark_present(ticket, demo["lead"], state, now)
    assert TicketPresence.objects.filter(ticket=ticket).count() == 1
    assert [p.words for p in others_present(ticket, demo["manager"], now)] == ["Ravi Menon is viewing"]
    later = now + dt.timedelta(seconds=PRESENCE_FOR + 1)
    assert others_present(ticket, demo["manager"], later) == []


def test_a_reply_on_a_page_the_ticket_moved_past_asks_first(signed_in, demo, ticket):
    """Dana loaded the page; Ravi replied meanwhile. Dana's Send is not sent: the page names what
    changed and keeps her text; sending again from the fresh page goes through."""
    dana = signed_in("manager")
    loaded = page_version(ticket)
    do_reply(ticket, author=demo["lead"], body="Hello Jo, a new pole is on its way.")
    before = Message.objects.count()
    response = dana.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"body": "Hi Jo, we will send a pole.", "kind": "reply", "loaded_version": loaded},
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "this ticket changed since you opened it: Ravi Menon replied" in page
    assert "Hi Jo, we will send a pole.</textarea>" in page
    assert Message.objects.count() == before
    again = dana.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"body": "Hi Jo, we will send a pole.", "kind": "reply", "loaded_version": page_version(ticket)},
    )
    assert again.status_code == 302
    assert Message.objects.count() == before + 1


def test_the_ticket_page_carries_its_version_for_the_composer(signed_in, ticket):
    """The composer sends the version its page was drawn from (a field tied to the form)."""
    page = signed_in("lead").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert f'name="loaded_version" value="{page_version(ticket)}" form="composer"' in page
    assert 'id="presence-ping"' in page


def test_ones_own_changes_on_the_page_do_not_hold_a_reply(signed_in, demo, ticket):
    """Ravi changes the priority from the page he is replying on: his reply is not held for it."""
    from charterdesk.tickets.actions import do_set_priority

    ravi = signed_in("lead")
    loaded = page_version(ticket)
    do_set_priority(ticket, "high", actor=demo["lead"])
    response = ravi.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"body": "Hi Jo, on it.", "kind": "reply", "loaded_version": loaded},
    )
    assert response.status_code == 302
