"""The customer portal: open a ticket on the web, sign in with an emailed link, read and answer."""

from __future__ import annotations

import datetime as dt
import re
import time
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.cache import cache
from django.db.models import F

from charterdesk.audit.models import AuditEntry
from charterdesk.demo.loader import EXAMPLE
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.portal import spam
from charterdesk.portal.actions import SESSION_KEY, do_open_ticket, do_request_link
from charterdesk.portal.models import PortalLink
from charterdesk.portal.promise import promise_for
from charterdesk.tickets.actions import (
    do_create_ticket,
    do_find_or_create_customer,
    do_reply,
    do_set_status,
)
from charterdesk.tickets.models import Ticket

NY = dt.timezone(dt.timedelta(hours=-5))  # New York in December (EST)


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(demo):
    """The demo, in force since a second ago. The ticket actions count whole seconds, so a ticket opened
    within the second of publishing would otherwise find no version in force (reported to the lead)."""
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    return demo


@pytest.fixture
def protocol(demo):
    return protocol_of(version_in_force())


def form(**overrides) -> dict:
    data = {
        "name": "Jo Walker",
        "email": "Jo@Example.com",
        "subject": "Tent pole snapped",
        "message": "The middle pole broke on the first night.",
        "timezone": "Europe/Berlin",
        "website": "",
        "started": spam.make_stamp(time.time() - 10),
    }
    data.update(overrides)
    return data


def sign_in_as(client, customer) -> None:
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()


def link_in(message) -> str:
    return re.search(r"https?://\S+/portal/link/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --------------------------------------------------------------------------- opening a ticket


def test_a_customer_opens_a_ticket_and_reads_the_number_the_promise_and_the_email(client, demo):
    """The form opens a web ticket; the next page shows its number, the promise and 'we emailed you'."""
    response = client.post("/portal/new/", form())
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "web" and ticket.customer.email == "jo@example.com"
    assert ticket.customer.timezone == "Europe/Berlin"
    page = client.get(response["Location"]).content.decode()
    assert f"#{ticket.pk}" in page
    assert promise_for(ticket, "Europe/Berlin").text in page
    assert "We will reply by" in page and "Berlin time" in page
    assert "We emailed you a link" in page
    assert len(mail.outbox) == 1
    assert f"#{ticket.pk}" in mail.outbox[0].subject
    assert "/portal/link/" in mail.outbox[0].body and "We will reply by" in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="portal.ticket_open", target=f"ticket:{ticket.pk}").exists()


def test_the_promise_is_the_first_response_due_time_in_the_customers_zone(protocol):
    """Friday 17:30 in New York, normal priority: 'We will reply by Monday 11:30 New York time.'"""
    friday = dt.datetime(2026, 12, 4, 17, 30, tzinfo=NY)
    ticket, _ = do_open_ticket(
        protocol=protocol,
        name="Jo Walker",
        email="jo@example.com",
        subject="Tent pole",
        message="Broken.",
        timezone_name="America/New_York",
        ip="203.0.113.5",
        at=friday,
    )
    assert ticket.sla_state["metrics"]["first_response"][0]["due"] == int(
        dt.datetime(2026, 12, 7, 11, 30, tzinfo=NY).timestamp()
    )
    assert promise_for(ticket, "America/New_York", protocol=protocol, now=friday).text == (
        "We will reply by Monday 11:30 New York time."
    )
    # The same instant in Berlin, where it is already evening.
    assert promise_for(ticket, "Europe/Berlin", protocol=protocol, now=friday).text == (
        "We will reply by Monday 17:30 Berlin time."
    )
    assert "8 hours of our business hours" in promise_for(ticket, "UTC", protocol=protocol, now=friday).terms


def test_the_time_zone_select_defaults_to_the_web_channels_calendar(client, demo):
    """With no zone chosen, the form offers (and uses) the calendar's zone, America/New_York."""
    page = client.get("/portal/new/").content.decode()
    assert '<option value="America/New_York" selected>' in page
    client.post("/portal/new/", form(timezone=""))
    assert Ticket.objects.get().customer.timezone == "America/New_York"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "", "Your name: tell us what to call you."),
        ("name", "x" * 201, "Your name: at most 200 characters"),
        ("email", "", "Your email: we need it to answer you."),
        ("email", "jo.example.com", "Your email: this is not an email address"),
        ("subject", "   ", "Subject: say in a few words what it is about."),
        ("subject", "s" * 301, "Subject: at most 300 characters"),
        ("message", "", "Message: tell us what happened and how we can help."),
        ("message", "m" * 20001, "Message: at most 20000 characters"),
        ("timezone", "Mars/Olympus", "Your time zone: &#x27;Mars/Olympus&#x27; is not a time zone we know."),
    ],
)
def test_each_field_is_checked_and_its_error_names_it(client, demo, field, value, words):
    """A bad value re-shows the form with the field's own message; nothing is opened or sent."""
    response = client.post("/portal/new/", form(**{field: value}))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert Ticket.objects.count() == 0 and len(mail.outbox) == 0


def test_a_filled_honeypot_is_refused(client, demo):
    """A bot that fills the hidden 'leave this empty' field gets a 400 and opens nothing."""
    response = client.post("/portal/new/", form(website="https://spam.example"))
    assert response.status_code == 400
    assert "leave this empty" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_a_form_sent_faster_than_a_person_types_is_refused_then_accepted_later(client, demo, monkeypatch):
    """Sent 1 s after it was shown: refused, the same stamp is kept, and it passes once 3 s have gone by."""
    shown = float(int(time.time()))
    stamp = spam.make_stamp(shown)
    # The desk's clock reads 1 s after the form was shown, however long the request takes to run.
    with monkeypatch.context() as frozen:
        frozen.setattr(spam, "time", SimpleNamespace(time=lambda: shown + 1))
        response = client.post("/portal/new/", form(started=stamp))
    assert response.status_code == 400
    assert "faster than a person can type" in response.content.decode()
    assert stamp in response.content.decode()
    assert Ticket.objects.count() == 0
    assert spam.stamp_problem(stamp, now=shown + 3) is None


def test_a_form_older_than_a_day_or_with_a_forged_stamp_is_refused(client, demo):
    """The stamp is signed: an old one is refused, an edited one too."""
    old = client.post("/portal/new/", form(started=spam.make_stamp(time.time() - 86400 - 60)))
    assert old.status_code == 400 and "more than a day" in old.content.decode()
    forged = client.post("/portal/new/", form(started='{"t": 0}'))
    assert forged.status_code == 400 and "could not be checked" in forged.content.decode()
    missing = client.post("/portal/new/", form(started=""))
    assert missing.status_code == 400
    assert Ticket.objects.count() == 0


def test_the_minimum_fill_time_is_a_setting(client, demo, settings):
    """CHARTERDESK_PORTAL_MIN_SECONDS = 0 lets a form through at once (the browser test uses it)."""
    settings.CHARTERDESK_PORTAL_MIN_SECONDS = 0
    response = client.post("/portal/new/", form(started=spam.make_stamp()))
    assert response.status_code == 302


def test_one_network_may_open_only_so_many_tickets_an_hour(client, demo, settings):
    """The third ticket within the hour from one IP is refused with a clear message (429)."""
    settings.CHARTERDESK_PORTAL_TICKETS_PER_HOUR = 2
    for n in range(2):
        assert client.post("/portal/new/", form(subject=f"Question {n}")).status_code == 302
    response = client.post("/portal/new/", form(subject="Question 3"))
    assert response.status_code == 429
    page = response.content.decode()
    assert "You have opened 2 tickets from this network in the last hour" in page
    assert "try again in" in page
    assert Ticket.objects.count() == 2
    # Another network is not affected.
    other = client.post("/portal/new/", form(subject="Question 4"), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302


def test_without_a_web_channel_the_portal_is_not_offered(client, demo):
    """A protocol whose channels include none of kind web: every portal page says so and answers 404."""
    from charterdesk.library.actions import do_create_draft, do_publish

    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    source = source.replace("    - id: web\n      kind: web\n", "    - id: web\n      kind: api\n")
    do_publish(do_create_draft(source, actor=demo["manager"]), actor=demo["manager"])
    for url in ("/portal/", "/portal/new/", "/portal/tickets/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "The support portal is not offered" in response.content.decode()
    assert client.post("/portal/new/", form()).status_code == 404
    assert Ticket.objects.count() == 0


# --------------------------------------------------------------------------- sign-in links


def test_asking_for_a_link_never_reveals_whether_the_address_is_known(client, demo):
    """Known and unknown addresses get the same answer; only the known one gets an email."""
    do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    known = client.post("/portal/", {"email": "JO@example.com"}, follow=True)
    unknown = client.post("/portal/", {"email": "nobody@example.com"}, follow=True)
    for response in (known, unknown):
        assert "If we know this address, a link is on its way." in response.content.decode()
    assert [m.to for m in mail.outbox] == [["jo@example.com"]]
    assert "/portal/link/" in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="portal.link_request").count() == 2


def test_the_link_request_form_names_the_email_field(client, demo):
    """No address, or not an address: the error says 'Your email'."""
    assert "Your email: enter the address" in client.post("/portal/", {"email": ""}).content.decode()
    assert (
        "Your email: this is not an email address"
        in client.post("/portal/", {"email": "jo"}).content.decode()
    )


def test_link_requests_are_limited_per_address_and_per_network(client, demo, settings):
    """The fourth request for an address within the hour is refused (429); so is one past the IP limit."""
    do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    for _ in range(3):
        client.post("/portal/", {"email": "jo@example.com"})
    response = client.post("/portal/", {"email": "jo@example.com"})
    assert response.status_code == 429
    assert "Too many sign-in links" in response.content.decode()
    assert len(mail.outbox) == 3
    # Three links went out from this IP; with a limit of three per IP, another address is refused too.
    settings.CHARTERDESK_PORTAL_LINKS_PER_IP = 3
    assert client.post("/portal/", {"email": "a@example.com"}).status_code == 429
    assert client.post("/portal/", {"email": "a@example.com"}, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_a_link_signs_in_once(client, demo):
    """The link page asks for a click; the click signs in; the same link then no longer works."""
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    client.post("/portal/", {"email": "jo@example.com"})
    url = path_of(link_in(mail.outbox[0]))
    confirm = client.get(url)
    assert confirm.status_code == 200 and "jo@example.com" in confirm.content.decode()
    assert SESSION_KEY not in client.session  # showing the page does not use the link
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == "/portal/tickets/"
    assert client.session[SESSION_KEY] == customer.pk
    assert "Your tickets" in client.get("/portal/tickets/").content.decode()
    assert AuditEntry.objects.filter(action="portal.sign_in", target=f"customer:{customer.pk}").exists()
    # Used: a second click (even in another browser) is refused.
    from django.test import Client

    again = Client().post(url)
    assert again.status_code == 410
    assert "expired or was already used" in again.content.decode()
    assert Client().get(url).status_code == 410


def test_a_link_expires_after_30_minutes(client, demo):
    """A link asked for 31 minutes ago no longer signs in."""
    do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    do_request_link(
        email="jo@example.com",
        ip="203.0.113.5",
        company="Acme",
        at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31),
    )
    url = path_of(link_in(mail.outbox[0]))
    assert client.get(url).status_code == 410
    assert client.post(url).status_code == 410
    assert SESSION_KEY not in client.session
    assert PortalLink.objects.get().used_at is None


def test_a_made_up_link_is_refused(client, demo):
    """A token that was never issued signs nobody in."""
    assert client.post("/portal/link/not-a-real-token/").status_code == 410
    assert SESSION_KEY not in client.session


def test_the_link_sent_after_opening_a_ticket_lands_on_that_ticket(client, demo):
    """Following the emailed link from a new ticket signs in and opens the ticket itself."""
    client.post("/portal/new/", form())
    ticket = Ticket.objects.get()
    response = client.post(path_of(link_in(mail.outbox[0])))
    assert response["Location"] == f"/portal/tickets/{ticket.pk}/"


def test_signing_out_ends_the_portal_session_only(client, demo):
    """Sign out: the portal forgets the customer (audited); an agent signed in in the same browser stays."""
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    client.force_login(demo["agent"])
    sign_in_as(client, customer)
    response = client.post("/portal/sign-out/")
    assert response["Location"] == "/portal/"
    assert SESSION_KEY not in client.session
    assert client.get("/portal/tickets/")["Location"] == "/portal/"
    assert "_auth_user_id" in client.session
    assert AuditEntry.objects.filter(action="portal.sign_out").exists()


# --------------------------------------------------------------------------- signed in


@pytest.fixture
def two_customers(demo):
    jo = do_find_or_create_customer(
        email="jo@example.com", name="Jo Walker", timezone_name="America/New_York"
    )
    sam = do_find_or_create_customer(email="sam@example.com", name="Sam Lee")
    mine = do_create_ticket(customer=jo, subject="Tent pole snapped", body="Broken pole.", channel="web")
    theirs = do_create_ticket(customer=sam, subject="Refund for boots", body="Too small.", channel="email")
    return jo, mine, theirs


def test_a_customer_sees_only_their_own_tickets(client, two_customers):
    """Jo's list holds Jo's ticket, not Sam's; Sam's ticket id in the URL is a 404."""
    jo, mine, theirs = two_customers
    sign_in_as(client, jo)
    page = client.get("/portal/tickets/").content.decode()
    assert "Tent pole snapped" in page and "Refund for boots" not in page
    assert "Received" in page and "We will reply by" in page
    assert client.get(f"/portal/tickets/{mine.pk}/").status_code == 200
    assert client.get(f"/portal/tickets/{theirs.pk}/").status_code == 404
    assert client.post(f"/portal/tickets/{theirs.pk}/", {"body": "hello"}).status_code == 404
    assert theirs.messages.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, two_customers):
    """Without a portal session, ticket pages redirect to the start page."""
    _, mine, _ = two_customers
    assert client.get(f"/portal/tickets/{mine.pk}/")["Location"] == "/portal/"


def test_internal_notes_are_never_shown(client, two_customers, demo):
    """The customer reads our public reply but never an internal note."""
    jo, mine, _ = two_customers
    do_reply(mine, author=demo["agent"], body="Customer sounds upset; check stock first.", public=False)
    do_reply(mine, author=demo["agent"], body="Hello Jo, a new pole is on its way. Thanks", public=True)
    sign_in_as(client, jo)
    page = client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert "a new pole is on its way" in page
    assert "check stock first" not in page
    assert "Alex Kim" in page  # the agent's name on the public reply


def test_a_reply_reopens_a_solved_ticket(client, two_customers, demo):
    """A solved ticket: the customer answers, the ticket is open again and the message is there."""
    jo, mine, _ = two_customers
    do_reply(mine, author=demo["agent"], body="Hello Jo, sent a new pole. Thanks", next_status="solved")
    sign_in_as(client, jo)
    page = client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert "Solved" in page and "reply and it opens again" in page
    response = client.post(f"/portal/tickets/{mine.pk}/", {"body": "It has not arrived yet."})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "open"
    page = client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert "It has not arrived yet." in page and "The ticket is open again." in page


def test_an_empty_reply_names_the_field(client, two_customers):
    """An empty reply is refused with 'Your reply: write your message first.'"""
    jo, mine, _ = two_customers
    sign_in_as(client, jo)
    response = client.post(f"/portal/tickets/{mine.pk}/", {"body": "  "})
    assert response.status_code == 400
    assert "Your reply: write your message first." in response.content.decode()
    assert mine.messages.count() == 1


def test_a_closed_ticket_takes_no_reply_and_points_to_a_new_one(client, two_customers, demo):
    """Closed: the page says so with a link to open a new ticket, and a reply is not added."""
    jo, mine, _ = two_customers
    do_set_status(mine, "closed", actor=demo["lead"])
    sign_in_as(client, jo)
    page = client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert "This ticket is closed;" in page and 'href="/portal/new/"' in page and 'id="reply"' not in page
    assert client.post(f"/portal/tickets/{mine.pk}/", {"body": "Hello?"}).status_code == 400
    assert mine.messages.count() == 1


def test_the_ticket_page_says_when_we_replied(client, two_customers, demo):
    """After our first reply the promise reads 'We replied on ...' in the customer's zone."""
    jo, mine, _ = two_customers
    do_reply(mine, author=demo["agent"], body="Hello Jo, on it. Thanks")
    sign_in_as(client, jo)
    page = client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert "We replied on" in page and "New York time" in page


def test_the_customer_can_change_the_zone_times_are_shown_in(client, two_customers):
    """Choosing Asia/Tokyo shows times in Tokyo time from then on (audited)."""
    jo, mine, _ = two_customers
    sign_in_as(client, jo)
    client.post("/portal/timezone/", {"timezone": "Asia/Tokyo"})
    jo.refresh_from_db()
    assert jo.timezone == "Asia/Tokyo"
    assert "Tokyo time" in client.get(f"/portal/tickets/{mine.pk}/").content.decode()
    assert AuditEntry.objects.filter(action="portal.customer_timezone").exists()


def test_an_overdue_reply_is_owned_up_to(protocol):
    """Monday 12:00 New York with the reply due at 11:30 and not given: the portal apologises."""
    friday = dt.datetime(2026, 12, 4, 17, 30, tzinfo=NY)
    ticket, _ = do_open_ticket(
        protocol=protocol,
        name="Jo Walker",
        email="jo@example.com",
        subject="Tent pole",
        message="Broken.",
        timezone_name="America/New_York",
        ip="203.0.113.5",
        at=friday,
    )
    promise = promise_for(ticket, "America/New_York", protocol=protocol, now=friday + dt.timedelta(days=3))
    assert promise.late
    assert promise.text.startswith(
        "We meant to reply by Monday 11:30 New York time. We are sorry for the wait"
    )


def test_the_thank_you_page_needs_a_ticket_just_opened_in_this_browser(client, demo):
    """Without a ticket opened in this session, /portal/new/sent/ goes back to the form."""
    assert client.get("/portal/new/sent/")["Location"] == "/portal/new/"


def test_the_portal_receipt_is_listed_on_the_ticket_with_the_other_mail(client, demo):
    """The mail with the ticket number and sign-in link is listed in the ticket's "Email and calls"
    card, as every mail the desk sends about a ticket (it said "No email sent yet")."""
    client.post("/portal/new/", form())
    ticket = Ticket.objects.get()
    assert len(mail.outbox) == 1
    client.force_login(demo["agent"])
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    card = page[page.index('id="panel-channels"') :]
    assert "No email sent yet" not in card
    assert "automatic receipt to jo@example.com" in card


def test_a_web_channel_without_acknowledge_sends_no_receipt_from_the_portal(client, demo):
    """The portal follows the protocol's `acknowledge` for its web channel, as mail and the contact
    form do: with `acknowledge: false` no mail goes out, and the page says how to follow the ticket."""
    from charterdesk.library.actions import do_create_draft, do_publish

    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    web = "    - id: web\n      kind: web\n      calendar: office\n      acknowledge: true\n"
    assert web in source
    source = source.replace(web, web.replace("acknowledge: true", "acknowledge: false"))
    do_publish(do_create_draft(source, actor=demo["manager"]), actor=demo["manager"])
    response = client.post("/portal/new/", form(), follow=True)
    assert mail.outbox == []
    assert "ask for a sign-in link" in response.content.decode()
    assert "We emailed you a link" not in response.content.decode()
    assert Ticket.objects.get().outbound_mails.count() == 0
