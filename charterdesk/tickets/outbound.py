"""Sending an agent's public reply to the customer, through the task queue."""

from __future__ import annotations

from django.db import transaction


def queue_reply(message) -> None:
    """Email the reply to the customer once the transaction commits (email-like channels only)."""
    ticket = message.ticket
    if not ticket.customer.email or ticket.channel in ("phone", "chat"):
        return
    from .tasks import send_reply

    transaction.on_commit(lambda: send_reply.enqueue(message.pk))
