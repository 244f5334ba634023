"""The portal's emails. Links are absolute, built on settings.SITE_URL."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

log = logging.getLogger(__name__)


def link_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:link", args=[token])


def _send(subject: str, body: str, to: str) -> str:
    """Send; returns "" when the mail server took it, else what went wrong."""
    # A failed send must not undo a ticket the customer has already opened; it is logged for
    # the operator, and the customer can ask for another link on the portal's start page.
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as error:
        log.exception("could not email a portal sign-in link to customer address %s", to)
        return f"{type(error).__name__}: {error}"
    return ""


def send_sign_in_link(customer, token: str, *, company: str, minutes: int) -> None:
    _send(
        f"Your sign-in link for {company} support",
        (
            f"Hello {customer.first_name or customer.name},\n\n"
            f"Here is your link to see your tickets with {company} support:\n"
            f"{link_url(token)}\n\n"
            f"It works once, for the next {minutes} minutes. If you did not ask for it, you can ignore "
            "this email: nobody can sign in without it.\n"
        ),
        customer.email,
    )


def ticket_opened_subject(ticket) -> str:
    return f"[{ticket.reference}] We received your request: {ticket.subject}"


def send_ticket_opened(
    customer, ticket, token: str, *, body: str, company: str, promise: str, minutes: int
) -> str:
    """The receipt of a ticket opened on the portal, with a sign-in link; "" or what went wrong."""
    return _send(
        ticket_opened_subject(ticket),
        (
            f"Hello {customer.first_name or customer.name},\n\n"
            f"Thank you for writing to {company} support. Your ticket number is {ticket.reference}.\n"
            f"{promise}\n\n"
            f"Follow the conversation and reply here (the link works once, for {minutes} minutes; "
            "you can always ask for a new one on the portal):\n"
            f"{link_url(token)}\n\n"
            f"What you wrote:\n\n{ticket.subject}\n\n{body}\n"
        ),
        customer.email,
    )
