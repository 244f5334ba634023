"""Outgoing mail: agent replies that thread in the customer's mail program, receipts that state the SLA
promise in the customer's zone, and loop protection."""

from __future__ import annotations

import datetime as dt
import email

from django.core import mail

from charterdesk.channels.acknowledge import promise
from charterdesk.channels.addressing import ticket_from_address, ticket_from_message_id
from charterdesk.channels.inbound import receive
from charterdesk.channels.loops import may_send_automatic
from charterdesk.channels.models import OutboundMail
from charterdesk.channels.outbound import build_reply_email, deliver_reply
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_reply
from charterdesk.tickets.models import Ticket

from . import email_corpus
from .email_corpus import plain

email_env = email_corpus.email_env  # the shared fixture

NY = dt.timezone(dt.timedelta(hours=-5))


def test_an_agent_reply_is_multipart_threaded_and_carries_the_ticket_address(email_env, settings):
    """The reply has text and HTML, our Message-ID, In-Reply-To the customer's mail, and a signed
    plus address; the customer's answer to it comes back to the same ticket."""
    receive(plain("jo", "My tent pole snapped")[0], source="smtp")
    ticket = Ticket.objects.get()
    reply = do_reply(
        ticket, author=email_env["agent"], body="Hello Jo,\n\nA new pole is on its way.\n\nRegards"
    )
    built = build_reply_email(reply)
    parsed = email.message_from_bytes(built.message().as_bytes())
    assert parsed["In-Reply-To"] == "<jo@customer.example>"
    assert ticket_from_message_id(parsed["Message-ID"]) == ticket.pk
    assert ticket_from_address(parsed["Reply-To"]) == ticket.pk
    assert parsed["Subject"] == f"Re: [#{ticket.pk}] Order question"
    assert [p.get_content_type() for p in parsed.walk()][:3] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    deliver_reply(reply)
    assert mail.outbox[-1].to == ["jo@customer.example"]
    assert OutboundMail.objects.filter(ticket=ticket, kind="reply", state="sent").count() == 1
    answer = plain(
        "jo-answer", "Thanks!", sender="jo@customer.example", extra={"In-Reply-To": parsed["Message-ID"]}
    )
    inbound, _ = receive(answer[0], source="smtp")
    assert inbound.ticket_id == ticket.pk and "our message id" in inbound.outcome


def test_a_failed_send_is_recorded_with_the_servers_answer(email_env, settings):
    """When the mail server refuses, the ticket keeps the failure and the task sees the error (to retry)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    ticket = do_create_ticket(
        customer=do_find_or_create_customer(email="jo@example.com"), subject="x", body="y", channel="email"
    )
    reply = do_reply(ticket, author=email_env["agent"], body="Hello Jo, done. Regards")
    try:
        deliver_reply(reply)
    except OSError:
        pass
    else:
        raise AssertionError("the send should have failed")
    failed = OutboundMail.objects.get(ticket=ticket, kind="reply")
    assert failed.state == "failed" and "refused" in failed.error.lower()


def test_the_receipt_states_the_promise_in_the_customers_time_zone(email_env):
    """A Friday 17:30 New York email to an acknowledging channel is promised by Monday 11:30 New York time."""
    customer = do_find_or_create_customer(
        email="jo@example.com", name="Jo Walker", timezone_name="America/New_York"
    )
    ticket = do_create_ticket(
        customer=customer,
        subject="Tent",
        body="broken",
        channel="email",
        at=dt.datetime(2026, 12, 4, 17, 30, tzinfo=NY),
    )
    assert (
        promise(ticket, now=dt.datetime(2026, 12, 4, 17, 30, tzinfo=NY))
        == "We will reply by Monday 11:30 New York time."
    )
    customer.timezone = "Europe/Berlin"
    assert "Monday 17:30 Berlin time" in promise(ticket, now=dt.datetime(2026, 12, 4, 17, 30, tzinfo=NY))


def test_receipts_go_out_once_never_to_machines_and_at_most_five_an_hour(
    email_env, django_capture_on_commit_callbacks
):
    """A new email gets one receipt (auto-replied, threaded); auto-submitted mail gets none; an address
    writing again and again gets at most the hourly limit."""
    with django_capture_on_commit_callbacks(execute=True):
        receive(plain("jo", "hello")[0], source="smtp")
    [receipt] = mail.outbox
    assert receipt.extra_headers["Auto-Submitted"] == "auto-replied"
    assert receipt.extra_headers["In-Reply-To"] == "<jo@customer.example>"
    assert "We will reply by" in receipt.body
    with django_capture_on_commit_callbacks(execute=True):
        receive(plain("robot", "alert", extra={"Auto-Submitted": "auto-generated"})[0], source="smtp")
    assert len(mail.outbox) == 1
    for n in range(7):
        with django_capture_on_commit_callbacks(execute=True):
            receive(
                plain(f"storm-{n}", "again", sender="storm@example.com", subject=f"Storm {n}")[0],
                source="smtp",
            )
    assert sum(1 for m in mail.outbox if m.to == ["storm@example.com"]) == 5
    allowed, why = may_send_automatic("storm@example.com")
    assert not allowed and "limit 5" in why
    assert OutboundMail.objects.filter(to_address="storm@example.com", state="suppressed").count() == 2
    assert may_send_automatic("MAILER-DAEMON@example.com")[0] is False


def test_a_ticket_an_agent_opens_by_email_is_mailed_to_the_customer(
    email_env, django_capture_on_commit_callbacks
):
    """Opening a ticket on a customer's behalf (the API, or the page) on the email channel sends its
    first message as a reply; on the phone channel nothing is mailed."""
    customer = do_find_or_create_customer(email="sam@customer.example", name="Sam Lee")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = do_create_ticket(
            customer=customer,
            subject="Your order",
            body="Hello Sam,\n\nYour order ships today.\n\nRegards",
            channel="email",
            by_agent=email_env["lead"],
        )
        do_create_ticket(
            customer=customer,
            subject="Callback",
            body="As said on the phone",
            channel="phone",
            by_agent=email_env["lead"],
        )
    [sent] = mail.outbox
    assert sent.to == ["sam@customer.example"] and "Your order ships today." in sent.body
    assert f"[#{ticket.pk}]" in sent.subject
    assert OutboundMail.objects.get(kind="reply").ticket_id == ticket.pk
