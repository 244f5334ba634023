"""Phone calls logged by agents: stored on the protocol's phone channel, whatever its id; never emailed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from charterdesk.channels.actions import do_log_call
from charterdesk.demo.loader import EXAMPLE
from charterdesk.library.actions import do_create_draft, do_publish
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer, do_reply


def queued_mail() -> int:
    """Replies waiting in the task queue to be emailed."""
    return DBTaskResult.objects.filter(task_path="charterdesk.channels.tasks.send_reply").count()


@pytest.fixture
def voice(demo):
    """A version whose phone channel is called 'voice' (its kind is still phone)."""
    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    source = source.replace("channels: [email, web, chat, phone]", "channels: [email, web, chat, voice]")
    source = source.replace("    - id: phone\n      kind: phone\n", "    - id: voice\n      kind: phone\n")
    do_publish(do_create_draft(source, actor=demo["manager"]), actor=demo["manager"])
    return demo


def test_an_outbound_call_on_a_channel_not_named_phone_is_not_emailed(
    voice, django_capture_on_commit_callbacks
):
    """A protocol whose phone channel is `id: voice`: an outbound call, as a new ticket or on an email
    ticket, is stored on 'voice' and mails nothing (before, its notes were emailed to the customer and
    the message was stored on a channel named 'phone' that the protocol does not have)."""
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    with django_capture_on_commit_callbacks(execute=True):
        call = do_log_call(
            actor=voice["agent"],
            direction="outbound",
            duration_seconds=95,
            notes="Told Jo it ships",
            customer=customer,
        )
    assert call.ticket.channel == "voice"
    assert [m.channel for m in call.ticket.messages.all()] == ["voice"]
    assert queued_mail() == 0

    ticket = do_create_ticket(customer=customer, subject="Order", body="Where is it?", channel="email")
    with django_capture_on_commit_callbacks(execute=True):
        call = do_log_call(
            actor=voice["agent"],
            direction="outbound",
            duration_seconds=60,
            notes="Called back",
            ticket=ticket,
        )
    assert call.message.channel == "voice"
    assert queued_mail() == 0
    # An ordinary reply on the same email ticket is still emailed, and only it.
    with django_capture_on_commit_callbacks(execute=True):
        do_reply(ticket, author=voice["agent"], body="Hello Jo, it ships today. Thanks")
    assert queued_mail() == 1
    call_command("worker", "--once")
    assert [(m.to, m.body) for m in mail.outbox] == [(["jo@example.com"], "Hello Jo, it ships today. Thanks")]
