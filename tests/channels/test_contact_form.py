"""The contact form a company embeds on its own site: what the visitor is told and what the desk gets."""

from __future__ import annotations

import time

import pytest
from django.core import mail, signing

from charterdesk.channels.actions import do_save_embed_form
from charterdesk.channels.embed import PER_IP_PER_HOUR, SALT
from charterdesk.demo.loader import EXAMPLE
from charterdesk.tickets.models import Customer, Ticket

from . import email_corpus

email_env = email_corpus.email_env  # the shared fixture

SITE = "https://www.acme.example"
SUBMIT = "/channels/embed/web/submit"


class _SignedAMinuteAgo(signing.TimestampSigner):
    """The token the form's script carried, as if the page had been open a minute: a person takes
    longer than the form's three seconds to type (the test does not wait for them)."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 60)


def _typed(**overrides) -> dict:
    data = {
        "name": "Jo Walker",
        "email": "jo@example.com",
        "subject": "",
        "message": "Where is order 1042?\nIt was due on Friday.",
        "website": "",
        "token": _SignedAMinuteAgo(salt=SALT).sign("web"),
    }
    return {**data, **overrides}


@pytest.fixture
def contact_form(email_env):
    """The web channel's form switched on by the manager for www.acme.example only."""
    do_save_embed_form(
        "web", actor=email_env["manager"], allowed_origins=[SITE], enabled=True, title="Write to us"
    )
    return email_env


def test_a_message_sent_through_the_form_opens_a_web_ticket_with_the_name_and_message(
    client, contact_form, django_capture_on_commit_callbacks
):
    """Jo Walker writes "Where is order 1042?" with no subject: the visitor reads "Thank you, we have
    your message (#N).", and #N is a web ticket of Jo Walker <jo@example.com> titled by the first line,
    holding the whole message as Jo's."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SUBMIT, _typed(), HTTP_ORIGIN=SITE)

    ticket = Ticket.objects.get()
    assert response.status_code == 201
    assert response.json() == {"ok": True, "message": f"Thank you, we have your message (#{ticket.pk})."}
    assert response["Access-Control-Allow-Origin"] == SITE  # the page's script may read the answer
    assert (ticket.channel, ticket.subject) == ("web", "Where is order 1042?")
    assert (ticket.customer.name, ticket.customer.email) == ("Jo Walker", "jo@example.com")
    [message] = ticket.messages.all()
    assert message.kind == "customer"
    assert message.body_text == "Where is order 1042?\nIt was due on Friday."


def test_the_form_acknowledges_the_ticket_when_the_web_channel_acknowledges(
    client, contact_form, django_capture_on_commit_callbacks
):
    """The example protocol's web channel has `acknowledge: true`: Jo gets one receipt by email naming
    the ticket number."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SUBMIT, _typed(), HTTP_ORIGIN=SITE)

    ticket = Ticket.objects.get()
    [receipt] = mail.outbox
    assert receipt.to == ["jo@example.com"]
    assert f"#{ticket.pk}" in receipt.subject + receipt.body


def test_the_form_sends_no_receipt_when_the_web_channel_does_not_acknowledge(
    client, contact_form, django_capture_on_commit_callbacks
):
    """With version 3.3 in force and `acknowledge: false` on the web channel, the ticket is opened and
    the visitor thanked, but no email goes out."""
    from charterdesk.library.actions import do_create_draft, do_publish

    manager = contact_form["manager"]
    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    web = "    - id: web\n      kind: web\n      calendar: office\n      acknowledge: true\n"
    assert web in source
    source = source.replace(web, web.replace("acknowledge: true", "acknowledge: false"))
    do_publish(do_create_draft(source, actor=manager), actor=manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SUBMIT, _typed(), HTTP_ORIGIN=SITE)

    assert response.status_code == 201
    assert Ticket.objects.get().protocol_version.version == "3.3"
    assert mail.outbox == []


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://acme.example", "http://www.acme.example"]
)
def test_a_site_the_manager_did_not_list_is_refused_with_a_reason_the_page_can_show(
    client, contact_form, origin
):
    """A post from another site, the bare domain or plain http is refused (403) with "This site may
    not send this form.", readable by that page's script; no ticket and no customer are made."""
    response = client.post(SUBMIT, _typed(), HTTP_ORIGIN=origin)

    assert response.status_code == 403
    assert response.json() == {"error": "This site may not send this form."}
    assert response["Access-Control-Allow-Origin"] == origin
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_a_post_with_no_origin_is_refused_and_a_stranger_gets_no_preflight(client, contact_form):
    """A post that names no site (a script outside any browser) is refused with the same reason; the
    browser's preflight from an unlisted site is refused, and from the listed one answered."""
    bare = client.post(SUBMIT, _typed())
    assert bare.status_code == 403 and bare.json() == {"error": "This site may not send this form."}
    stranger = client.options(SUBMIT, HTTP_ORIGIN="https://evil.example")
    assert stranger.status_code == 403
    listed = client.options(SUBMIT, HTTP_ORIGIN=SITE)
    assert listed.status_code == 204 and listed["Access-Control-Allow-Origin"] == SITE
    assert "POST" in listed["Access-Control-Allow-Methods"]
    assert not Ticket.objects.exists()


def test_a_mistake_is_named_beside_its_field_and_nothing_is_stored(client, contact_form):
    """A bad address and an empty message come back as one message per field ("Enter your email
    address, such as jo@example.com.", "Write your message."), for the form to show beside what the
    visitor typed; no ticket is opened."""
    response = client.post(SUBMIT, _typed(email="jo at example", message="   "), HTTP_ORIGIN=SITE)

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "email": "Enter your email address, such as jo@example.com.",
            "message": "Write your message.",
        }
    }
    assert not Ticket.objects.exists()


def test_one_address_may_send_ten_messages_an_hour(client, contact_form, monkeypatch):
    """Ten messages from 203.0.113.7 in one hour open ten tickets; the eleventh is told "Too many
    messages; please try again later." (429) and opens none; another address is still heard, and
    refused attempts (a typo) did not use up the allowance."""
    # One fixed instant for the hourly counter, so the run cannot straddle the top of an hour.
    monkeypatch.setattr("charterdesk.core.ratelimit._now", lambda: 1_796_000_000.0)
    assert PER_IP_PER_HOUR == 10
    for _ in range(3):
        typo = client.post(SUBMIT, _typed(email="jo@"), HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.7")
        assert typo.status_code == 400
    for n in range(PER_IP_PER_HOUR):
        sent = client.post(
            SUBMIT, _typed(message=f"Message {n}"), HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.7"
        )
        assert sent.status_code == 201, sent.content

    refused = client.post(SUBMIT, _typed(message="One more"), HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.7")

    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many messages; please try again later."}
    assert refused["Access-Control-Allow-Origin"] == SITE
    assert Ticket.objects.count() == PER_IP_PER_HOUR
    other = client.post(SUBMIT, _typed(message="From the shop"), HTTP_ORIGIN=SITE, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 201


def test_a_second_message_with_a_known_address_asks_the_customer_to_confirm_it(
    client, contact_form, django_capture_on_commit_callbacks
):
    """Nobody signs in on the company's site: Jo's first message gets a receipt, but a second one with
    Jo's address (which anyone could type) is marked "unverified sender", and Jo is asked to confirm
    it instead of sent a receipt."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SUBMIT, _typed(), HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.7")
        client.post(SUBMIT, _typed(message="Cancel my order."), HTTP_ORIGIN=SITE, REMOTE_ADDR="203.0.113.8")

    first, second = Ticket.objects.order_by("pk")
    assert not first.unverified_sender
    assert second.unverified_sender
    assert second.messages.get().unverified_sender.startswith("sent on the contact form")
    receipt, confirmation = mail.outbox
    assert f"#{first.pk}" in receipt.subject and "Please confirm you wrote" in confirmation.subject
    assert confirmation.to == ["jo@example.com"] and "Cancel my order" not in confirmation.body
