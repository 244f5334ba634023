"""The corpus: every shape of mail the desk meets becomes the right ticket, reply, hold or quarantine
entry; none is lost and none is acted on twice."""

from __future__ import annotations

import pytest
from django.core import mail

from charterdesk.channels.inbound import receive
from charterdesk.channels.models import InboundMessage, OutboundMail
from charterdesk.tickets.actions import do_set_status, linked_tickets
from charterdesk.tickets.models import Message, Ticket

from . import email_corpus
from .email_corpus import Context, build_corpus

email_env = email_corpus.email_env  # the shared fixture


def _check(case, inbound, created, ctx: Context) -> None:
    kind = case.expect[0]
    inbound.refresh_from_db()
    if kind == "duplicate":
        assert not created, "a message seen before was stored again"
        return
    assert created, "a new message was taken for a duplicate"
    if kind == "quarantine":
        assert inbound.state == "quarantined", (inbound.state, inbound.outcome)
        assert case.expect[1] in inbound.reason, inbound.reason
        return
    assert inbound.state in ("processed", "held"), (inbound.state, inbound.reason)
    if kind == "held":
        assert inbound.state == "held"
        assert inbound.ticket_id == ctx.tickets[case.expect[1]]
        return
    ticket = inbound.ticket
    assert ticket is not None
    if kind == "new":
        assert ticket.pk not in ctx.tickets.values()
        message = ticket.messages.order_by("id").first()
        assert inbound.ticket_message_id == message.pk
        ctx.tickets[case.name] = ticket.pk
        if case.check:
            case.check(ticket, message)
    elif kind == "reply":
        assert ticket.pk == ctx.tickets[case.expect[1]], inbound.outcome
        assert inbound.ticket_message.kind == "customer"
        assert inbound.ticket_message.message_id == case.message_id or not case.message_id
    elif kind == "note":
        assert ticket.pk == ctx.tickets[case.expect[1]]
        assert inbound.ticket_message.kind == "note"
        assert ticket.status == "new", "an automatic reply must not change the ticket"
    elif kind == "bounce":
        assert ticket.pk == ctx.tickets[case.expect[1]], inbound.outcome
        assert "bounced" in inbound.ticket_message.body_text
        assert OutboundMail.objects.filter(ticket=ticket, state="bounced").exists()
    elif kind == "linked":
        old = ctx.tickets[case.expect[1]]
        assert ticket.pk != old
        assert old in {t.pk for t in linked_tickets(ticket)}
        ctx.tickets[case.name] = ticket.pk


def test_every_corpus_message_ends_in_the_right_place_exactly_once(
    email_env, django_capture_on_commit_callbacks
):
    """Sixty-plus messages (charsets, multipart shapes, attachments, bad headers, huge mail, auto-replies,
    bounces, replies to open and closed tickets, forwards) each become the expected ticket, reply, note,
    hold or quarantine entry; duplicates are recognised; nothing is lost."""
    cases = build_corpus()
    assert len(cases) >= 60
    ctx = Context()
    failures = []
    distinct = set()
    for case in cases:
        if case.before:
            do_set_status(Ticket.objects.get(pk=ctx.tickets[case.before]), "closed", actor=email_env["lead"])
        raw = case.build(ctx)
        with django_capture_on_commit_callbacks(execute=True):
            inbound, created = receive(raw, source="smtp", source_ref=case.name)
        distinct.add(inbound.pk)
        try:
            _check(case, inbound, created, ctx)
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
    assert not failures, "\n".join(failures)
    # None lost: every distinct message is stored once and is in a final state.
    assert InboundMessage.objects.count() == len(distinct)
    assert not InboundMessage.objects.filter(state="pending").exists()
    # None duplicated: no message made two customer messages. The one second, different message
    # that reused an earlier Message-ID is a message of its own, and flagged.
    ids = list(Message.objects.exclude(message_id="").values_list("message_id", flat=True))
    assert len(ids) == len(set(ids)) + 1
    (reused,) = InboundMessage.objects.filter(reused_message_id=True)
    assert reused.source_ref == "same-id-other-copy"
    # Receipts went out for ordinary new mail, and never to machines.
    sent_to = {m.to[0] for m in mail.outbox}
    assert "ascii@customer.example" in sent_to
    assert not {"no-reply@shop.example", "bulk@customer.example", "list@customer.example"} & sent_to


@pytest.mark.parametrize("repeat", [2])
def test_importing_the_same_messages_again_changes_nothing(
    email_env, repeat, django_capture_on_commit_callbacks
):
    """Feeding every message a second time stores nothing new and opens no ticket."""
    ctx = Context()
    raws = []
    for case in build_corpus()[:30]:
        raws.append(case.build(ctx))
        with django_capture_on_commit_callbacks(execute=True):
            receive(raws[-1], source="smtp")
    tickets, stored = Ticket.objects.count(), InboundMessage.objects.count()
    for _ in range(repeat - 1):
        for raw in raws:
            _, created = receive(raw, source="smtp")
            assert not created
    assert (Ticket.objects.count(), InboundMessage.objects.count()) == (tickets, stored)
