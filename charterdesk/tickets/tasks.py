"""Background work for tickets. Tasks take ids, not objects."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django_tasks import task


@task()
def send_reply(message_id: int) -> str:
    from .models import Message

    message = Message.objects.select_related("ticket__customer", "author_person").get(pk=message_id)
    ticket = message.ticket
    email = EmailMultiAlternatives(
        subject=f"[{ticket.reference}] {ticket.subject}",
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[ticket.customer.email],
    )
    email.send()
    return f"sent reply {message_id} to {ticket.customer.email}"
