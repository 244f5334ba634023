"""The notifications page and the bell in the top bar."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from charterdesk.notifications.actions import notify
from charterdesk.notifications.context import unread_notifications
from charterdesk.notifications.models import Notification


@pytest.fixture
def notes(demo):
    with transaction.atomic():
        first = notify(
            [demo["agent"]], "Escalation 'lead-on-breach': first response on #1", reason="protocol 3.2"
        )
        second = notify([demo["agent"]], "Ravi assigned #2 to you", reason="assignment")
        notify([demo["lead"]], "Only for the lead")
    return first[0], second[0]


def _bell(page: str) -> str:
    start = page.index('class="bell')
    return page[start : page.index("</a>", start)]


def test_the_bell_shows_the_unread_count_on_every_page(signed_in, notes):
    """With two unread notifications, the bell on the handbook, the queue and the notifications page says '2
    unread'."""
    client = signed_in("agent")
    for url in (reverse("handbook:index"), reverse("tickets:queue"), reverse("notifications:list")):
        bell = _bell(client.get(url).content.decode())
        assert "2 unread" in bell and ">2</span>" in bell


def test_the_list_shows_ones_own_notifications_with_their_reason(signed_in, notes):
    """The agent's notifications list shows their escalation (with protocol 3.2) and 'Ravi assigned #2 to
    you', and not the lead's notification."""
    page = signed_in("agent").get(reverse("notifications:list")).content.decode()
    assert "Escalation &#x27;lead-on-breach&#x27;" in page and "protocol 3.2" in page
    assert "Ravi assigned #2 to you" in page
    assert "Only for the lead" not in page


def test_mark_one_read_then_all(signed_in, notes):
    """Marking one notification read leaves '1 unread' and hides it under Unread; Mark all read says 'Marked 1
    notification(s) read.' and leaves none unread."""
    first, second = notes
    client = signed_in("agent")
    client.post(reverse("notifications:read", args=[first.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert "1 unread" in _bell(client.get(reverse("notifications:list")).content.decode())
    unread_only = client.get(reverse("notifications:list") + "?show=unread").content.decode()
    assert "Ravi assigned" in unread_only and "lead-on-breach" not in unread_only
    response = client.post(reverse("notifications:read-all"), follow=True)
    assert "Marked 1 notification read." in response.content.decode()
    assert not Notification.objects.filter(person__email="alex@acme.example", read_at__isnull=True).exists()
    assert 'class="bell"' in client.get(reverse("notifications:list")).content.decode()


def test_someone_elses_notification_is_not_found(signed_in, demo, notes):
    """Reading or opening the lead's notification as the agent is 404, and it stays unread."""
    lead_note = Notification.objects.get(text="Only for the lead")
    client = signed_in("agent")
    assert client.post(reverse("notifications:read", args=[lead_note.pk])).status_code == 404
    assert client.post(reverse("notifications:open", args=[lead_note.pk])).status_code == 404
    lead_note.refresh_from_db()
    assert lead_note.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_its_ticket(signed_in, demo):
    """Opening a notification marks it read and goes to its ticket's page."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    customer = do_find_or_create_customer(email="jo@example.com", name="Jo")
    from datetime import timedelta

    from django.utils import timezone

    from charterdesk.library.models import ProtocolVersion

    ProtocolVersion.objects.update(effective_at=timezone.now() - timedelta(days=1))
    ticket = do_create_ticket(customer=customer, subject="Hi", body="Help", channel="web")
    with transaction.atomic():
        note = notify([demo["agent"]], "Look at this", ticket=ticket)[0]
    response = signed_in("agent").post(reverse("notifications:open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_the_context_processor_is_lazy_and_counts_unread(rf, demo, notes):
    """Registered in settings, it gives base.html the count without a second query."""
    request = rf.get("/")
    request.user = demo["agent"]
    value = unread_notifications(request)["unread_notifications"]
    assert int(value) == 2


def test_signed_out_pages_show_no_bell(client, demo):
    """The sign-in page shows no notification bell."""
    assert 'class="bell' not in client.get(reverse("accounts:sign-in")).content.decode()


def test_notifications_are_grouped_per_ticket(signed_in, demo):
    """Three notifications about one ticket are one card with three lines, and a notification
    about another ticket is a card of its own."""
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    tent = do_create_ticket(customer=jo, subject="Tent pole snapped", body="x", channel="email")
    boots = do_create_ticket(customer=jo, subject="Boots too small", body="y", channel="email")
    with transaction.atomic():
        for n in range(3):
            notify([demo["agent"]], f"Tent line {n}", ticket=tent)
        notify([demo["agent"]], "Boots line", ticket=boots)
    page = signed_in("agent").get(reverse("notifications:list")).content.decode()
    assert page.count('class="card notification-group') == 2
    tent_card = page.split(f'data-ticket="{tent.pk}"')[1].split("</li>\n  \n")[0]
    assert all(f"Tent line {n}" in tent_card for n in range(3)) and "3 new" in tent_card
    assert "Boots line" not in tent_card


def test_a_burst_of_notifications_is_one_mail_then_one_digest(
    demo, mailoutbox, django_capture_on_commit_callbacks
):
    """The first notification after a quiet spell is mailed at once; the next two, within 15 minutes,
    wait and go out together in one digest once the window has passed (the worker's job)."""
    import datetime as dt

    from django.utils import timezone

    from charterdesk.notifications.actions import DIGEST_WINDOW, send_digests

    start = timezone.now().replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            with transaction.atomic():
                notify([demo["agent"]], f"Event {n}", at=start + dt.timedelta(minutes=n))
    assert [m.subject for m in mailoutbox] == ["[Charterdesk] Event 0"]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_digests(start + dt.timedelta(minutes=5)) == 0  # the window is still open
        assert send_digests(start + DIGEST_WINDOW) == 1
        assert send_digests(start + DIGEST_WINDOW + dt.timedelta(minutes=1)) == 0  # nothing twice
    assert len(mailoutbox) == 2
    digest = mailoutbox[1]
    assert digest.subject == "[Charterdesk] 2 notifications since the last mail"
    assert "- Event 1" in digest.body and "- Event 2" in digest.body and "Event 0" not in digest.body
