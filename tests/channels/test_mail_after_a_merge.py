"""Mail a customer sends about a ticket that was merged away lands on the ticket it was merged into."""

from __future__ import annotations

from charterdesk.channels.inbound import receive
from charterdesk.tickets.actions import do_merge
from charterdesk.tickets.models import Ticket

from . import email_corpus
from .email_corpus import plain

email_env = email_corpus.email_env  # the shared fixture

JO = "Jo <jo@customer.example>"


def _two_tickets_of_jo_merged(lead) -> tuple[Ticket, Ticket]:
    """Jo mails about order 1042, then separately about a snapped pole; the lead merges the pole
    ticket (the source) into the order ticket (the target)."""
    receive(plain("jo-order", "Where is order 1042?", sender=JO, subject="Order 1042")[0], source="smtp")
    receive(plain("jo-pole", "The middle pole snapped.", sender=JO, subject="Pole snapped")[0], source="smtp")
    target, source = Ticket.objects.order_by("pk")
    do_merge(source, target, actor=lead)
    return source, target


def test_a_reply_naming_the_merged_ticket_lands_on_the_ticket_it_was_merged_into(email_env):
    """Jo answers "Re: [#A] Pole snapped" after #A was merged into #B: the message is added to #B, last,
    and #A (closed) gets nothing; no third ticket is opened."""
    source, target = _two_tickets_of_jo_merged(email_env["lead"])

    inbound, _ = receive(
        plain("jo-later", "Found the receipt.", sender=JO, subject=f"Re: [#{source.pk}] Pole snapped")[0],
        source="smtp",
    )

    assert inbound.state == "processed"
    assert Ticket.objects.count() == 2
    last = target.messages.order_by("created_at", "id").last()
    assert (last.kind, last.body_text.strip()) == ("customer", "Found the receipt.")
    assert not source.messages.exists()
    source.refresh_from_db()
    assert source.status == "closed"


def test_a_reply_to_a_message_of_the_merged_ticket_lands_on_the_ticket_it_was_merged_into(email_env):
    """Jo's mail client answers the pole message itself (In-Reply-To, no ticket number in the subject):
    the answer is added to #B, where that message now is."""
    _source, target = _two_tickets_of_jo_merged(email_env["lead"])

    receive(
        plain(
            "jo-answer",
            "It is the left pole.",
            sender=JO,
            subject="Re: Pole snapped",
            extra={"In-Reply-To": "<jo-pole@customer.example>"},
        )[0],
        source="smtp",
    )

    assert Ticket.objects.count() == 2
    last = target.messages.order_by("created_at", "id").last()
    assert last.body_text.strip() == "It is the left pole."
