"""Background work for the channels. Tasks take ids, not objects; `charterdesk worker` runs them.

Sending mail is retried: django-tasks-db runs a task once, so ``send_reply`` schedules its own
next attempt (``run_after``) when the mail server fails, waiting 1 min, 5 min, 25 min and about
2 h between the five attempts. A mail server that answers with a permanent error (5xx) is not
asked again. When the last attempt fails, the ticket's timeline shows it with the server's
answer, and the person who wrote the reply (or the assignee) is told.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.utils import timezone
from django_tasks import task

from charterdesk.tickets.jobs import do_record_delivery_failure
from charterdesk.tickets.models import Message

from .outbound import deliver_reply

log = logging.getLogger("charterdesk.worker")

SEND_ATTEMPTS = 5
RETRY_FIRST_WAIT = dt.timedelta(minutes=1)
RETRY_FACTOR = 5


def retry_wait(attempt: int) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): 1 min, 5 min, 25 min, 125 min."""
    return RETRY_FIRST_WAIT * RETRY_FACTOR ** (attempt - 1)


def server_answer(error: BaseException) -> str:
    """What the mail server (or the network) said, in one line, for the ticket's timeline."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {_text(reply)}" for address, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def is_permanent(error: BaseException) -> bool:
    """A 5xx answer means the server will refuse this message however often it is sent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


@task()
def send_reply(message_id: int, attempt: int = 1) -> str:
    """Email a public reply (or a follow-up) to the ticket's customer; attempt ``attempt`` of five."""
    message = (
        Message.objects.select_related("ticket__customer", "ticket__protocol_version", "author_person")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return f"message {message_id} no longer exists; nothing sent"
    ticket = message.ticket
    address = ticket.customer.email
    if not address:
        return f"{ticket.customer} has no email address; message {message_id} not emailed"
    try:
        # Builds the mail with our Message-ID, threading headers and the ticket's reply address,
        # sends it, and records it on the ticket (a failure with the server's answer).
        deliver_reply(message)
    except OSError as error:  # smtplib's errors, refused connections and timeouts are all OSErrors
        answer = server_answer(error)
        if attempt < SEND_ATTEMPTS and not is_permanent(error):
            run_after = timezone.now() + retry_wait(attempt)
            send_reply.using(run_after=run_after).enqueue(message_id, attempt=attempt + 1)
            log.warning(
                "could not email %s on %s (attempt %d of %d): %s; trying again at %s",
                address,
                ticket.reference,
                attempt,
                SEND_ATTEMPTS,
                answer,
                run_after.strftime("%H:%M:%S"),
            )
        else:
            do_record_delivery_failure(message, answer=answer, attempts=attempt)
            log.error(
                "gave up emailing %s on %s after %d attempt(s): %s",
                address,
                ticket.reference,
                attempt,
                answer,
            )
        raise
    log.info("emailed %s on %s (message %d)", address, ticket.reference, message_id)
    return f"sent message {message_id} to {address}"


@task()
def send_receipt(ticket_id: int) -> str:
    from .acknowledge import send_receipt_now

    return send_receipt_now(ticket_id)


@task()
def send_sender_confirmation(message_id: int) -> str:
    """Ask a customer to confirm they wrote a message marked "unverified sender" (senders.py)."""
    from .senders import send_confirmation_now

    return send_confirmation_now(message_id)
