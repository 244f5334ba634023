"""Merging and linking tickets from the ticket page, as the lead who does it and the agent who reads the
result see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from charterdesk.audit.models import AuditEntry
from charterdesk.library.models import ProtocolVersion
from charterdesk.tickets.actions import do_create_ticket, do_customer_message, do_find_or_create_customer
from charterdesk.tickets.models import Ticket, TicketEvent, TicketLink


@pytest.fixture
def start(demo) -> dt.datetime:
    """Three hours ago, on a whole second; the demo's version is put in force the day before, so every
    ticket here opens under it."""
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)


@pytest.fixture
def jo(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def _open(customer, subject: str, body: str, at: dt.datetime) -> Ticket:
    return do_create_ticket(customer=customer, subject=subject, body=body, channel="email", at=at)


def _page(client, ticket: Ticket) -> str:
    return client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()


def _related(page: str) -> str:
    """The "Related tickets" card of a ticket page."""
    start = page.index("<h2>Related tickets</h2>")
    return page[start : page.index("</div>", start)]


# --------------------------------------------------------------------------- merge


def test_a_merged_ticket_closes_says_where_it_went_and_its_messages_join_the_other_in_order(
    signed_in, demo, jo, start
):
    """Jo wrote about a snapped pole (#A, 1 h after #B) between two messages on #B. The lead merges #A
    into #B: the page goes to #B saying "#A is merged into #B."; #A is closed and reads "merged into #B"
    and "Merged into #B"; #B shows all three messages in the order Jo wrote them, then the note naming #A."""
    target = _open(jo, "Order 1042 has not arrived", "Where is order 1042?", start)
    source = _open(jo, "Pole snapped", "The middle pole snapped.", start + dt.timedelta(hours=1))
    do_customer_message(target, body="Any news on 1042?", at=start + dt.timedelta(hours=2))
    client = signed_in("lead")

    response = client.post(
        reverse("tickets:merge", args=[source.pk]), {"other": f"#{target.pk}"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("tickets:ticket", args=[target.pk])
    shown = response.content.decode()
    assert f"#{source.pk} is merged into #{target.pk}." in shown
    source.refresh_from_db()
    assert source.status == "closed" and source.merged_into_id == target.pk
    page = _page(client, source)
    assert "data-ticket-status>Closed<" in page
    assert f'merged into <a href="/tickets/{target.pk}/">#{target.pk}</a>' in page
    assert f"Merged into #{target.pk}" in page
    assert list(target.messages.order_by("created_at", "id").values_list("body_text", flat=True)) == [
        "Where is order 1042?",
        "The middle pole snapped.",
        "Any news on 1042?",
        f"Merged #{source.pk} (Pole snapped) into this ticket.",
    ]
    assert not source.messages.exists()
    page = _page(client, target)
    positions = [
        page.index(text)
        for text in ("Where is order 1042?", "The middle pole snapped.", "Any news on 1042?", "Merged #")
    ]
    assert positions == sorted(positions)
    assert f"1 message(s) merged in from #{source.pk}" in page


def test_the_audit_log_names_who_merged_which_ticket_into_which(signed_in, demo, jo, start):
    """The merge's audit entry reads "person #<lead> merged #A into #B", under protocol 3.2."""
    target = _open(jo, "Order 1042 has not arrived", "Where is order 1042?", start)
    source = _open(jo, "Pole snapped", "The middle pole snapped.", start + dt.timedelta(hours=1))

    signed_in("lead").post(reverse("tickets:merge", args=[source.pk]), {"other": f"#{target.pk}"})

    entry = AuditEntry.objects.get(action="ticket.merge")
    assert entry.summary == f"person #{demo['lead'].pk} merged #{source.pk} into #{target.pk}"
    assert entry.protocol_version == "3.2" and entry.actor == demo["lead"]


def test_merging_another_customers_ticket_is_refused_with_the_reason(signed_in, demo, jo, start):
    """Merging Jo's ticket into Sam's is refused with "only tickets of the same customer can be merged";
    both stay new (as the customer opened them) with their own messages and nothing is audited."""
    sam = do_find_or_create_customer(email="sam@example.com", name="Sam Lee")
    jos = _open(jo, "Pole snapped", "The middle pole snapped.", start)
    sams = _open(sam, "Stove leaks", "The stove leaks gas.", start + dt.timedelta(minutes=5))

    response = signed_in("lead").post(
        reverse("tickets:merge", args=[jos.pk]), {"other": f"#{sams.pk}"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("tickets:ticket", args=[jos.pk])
    assert "only tickets of the same customer can be merged" in response.content.decode()
    jos.refresh_from_db()
    sams.refresh_from_db()
    assert (jos.status, jos.merged_into_id, sams.status) == ("new", None, "new")
    assert [m.body_text for m in jos.messages.all()] == ["The middle pole snapped."]
    assert [m.body_text for m in sams.messages.all()] == ["The stove leaks gas."]
    assert not AuditEntry.objects.filter(action="ticket.merge").exists()


def test_a_ticket_cannot_be_merged_into_itself(signed_in, demo, jo, start):
    """Merging #A into #A is refused with "a ticket cannot be merged into itself"; it stays new."""
    ticket = _open(jo, "Pole snapped", "The middle pole snapped.", start)

    response = signed_in("lead").post(
        reverse("tickets:merge", args=[ticket.pk]), {"other": f"#{ticket.pk}"}, follow=True
    )

    assert "a ticket cannot be merged into itself" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.merged_into_id is None


# --------------------------------------------------------------------------- link


def test_linked_tickets_show_each_other_under_related_tickets(signed_in, demo, jo, start):
    """The lead links #A to #B: the page says "Linked to #B."; #A's Related tickets lists #B with its
    subject, #B's lists #A, and each timeline says "Linked to" the other; neither is closed or merged."""
    pole = _open(jo, "Pole snapped", "The middle pole snapped.", start)
    order = _open(jo, "Order 1042 has not arrived", "Where is order 1042?", start + dt.timedelta(hours=1))
    client = signed_in("lead")

    response = client.post(reverse("tickets:link", args=[pole.pk]), {"other": f"#{order.pk}"}, follow=True)

    assert f"Linked to #{order.pk}." in response.content.decode()
    pole_page, order_page = _page(client, pole), _page(client, order)
    assert f'<a href="/tickets/{order.pk}/">#{order.pk} Order 1042 has not arrived</a>' in _related(pole_page)
    assert f'<a href="/tickets/{pole.pk}/">#{pole.pk} Pole snapped</a>' in _related(order_page)
    assert f"Linked to #{order.pk}" in pole_page and f"Linked to #{pole.pk}" in order_page
    assert Ticket.objects.filter(pk__in=[pole.pk, order.pk], status="new", merged_into=None).count() == 2


def test_linking_the_same_tickets_twice_records_the_link_once(signed_in, demo, jo, start):
    """Linking #A to #B, then #B to #A: one link, one "Linked to" event on each ticket, one audit entry
    naming both, and #B listed once under #A's Related tickets."""
    pole = _open(jo, "Pole snapped", "The middle pole snapped.", start)
    order = _open(jo, "Order 1042 has not arrived", "Where is order 1042?", start + dt.timedelta(hours=1))
    client = signed_in("lead")

    client.post(reverse("tickets:link", args=[pole.pk]), {"other": f"#{order.pk}"})
    client.post(reverse("tickets:link", args=[order.pk]), {"other": f"#{pole.pk}"})

    assert TicketLink.objects.count() == 1
    assert TicketEvent.objects.filter(ticket=pole, kind="link").count() == 1
    assert TicketEvent.objects.filter(ticket=order, kind="link").count() == 1
    [entry] = AuditEntry.objects.filter(action="ticket.link")
    assert entry.summary == f"person #{demo['lead'].pk} linked #{pole.pk} and #{order.pk}"
    assert _related(_page(client, pole)).count(f'href="/tickets/{order.pk}/"') == 1


def test_a_ticket_cannot_be_linked_to_itself(signed_in, demo, jo, start):
    """Linking #A to #A is refused with "a ticket cannot be linked to itself" and records nothing."""
    ticket = _open(jo, "Pole snapped", "The middle pole snapped.", start)

    response = signed_in("lead").post(
        reverse("tickets:link", args=[ticket.pk]), {"other": f"#{ticket.pk}"}, follow=True
    )

    assert "a ticket cannot be linked to itself" in response.content.decode()
    assert not TicketLink.objects.exists()
    assert not AuditEntry.objects.filter(action="ticket.link").exists()
