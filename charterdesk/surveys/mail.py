"""The survey mail: the question, one signed link per rating, and the opt-out link."""

from __future__ import annotations

import html

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from charterdesk.channels.addressing import our_message_id
from charterdesk.channels.outbound import channel_address, domain_of, sender
from charterdesk.library.versions import protocol_of

from . import rules
from .tokens import opt_out_token, rating_token


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def rating_links(invitation) -> list[tuple[int, str]]:
    """(score, signed link) for every rating of the invitation's scale."""
    low, high = rules.scale(protocol_of(invitation.ticket.protocol_version), invitation.kind)
    return [
        (score, absolute(reverse("surveys:rate", args=[rating_token(invitation.pk, score)])))
        for score in range(low, high + 1)
    ]


def opt_out_link(customer_id: int) -> str:
    return absolute(reverse("surveys:opt-out", args=[opt_out_token(customer_id)]))


def build_survey_email(invitation) -> EmailMultiAlternatives:
    ticket = invitation.ticket
    protocol = protocol_of(ticket.protocol_version)
    question = rules.question(protocol, invitation.kind)
    ends = rules.labels(protocol, invitation.kind)
    links = rating_links(invitation)
    opt_out = opt_out_link(invitation.customer_id)
    name = ticket.customer.first_name or ticket.customer.name
    lines = [
        f"Hello {name},",
        "",
        f"About your request {ticket.reference} ({ticket.subject}):",
        question,
        "",
        *(f"{score}{' (' + ends[score] + ')' if score in ends else ''}: {link}" for score, link in links),
        "",
        "Open the link of your rating and confirm it; you can add a comment, and change it for seven days.",
        "",
        f"No more surveys from us: {opt_out}",
    ]
    buttons = "".join(
        f'<a href="{html.escape(link)}" style="display:inline-block;min-width:2em;padding:.5em;margin:2px;'
        f'border:1px solid #888;border-radius:4px;text-align:center;text-decoration:none">{score}</a>'
        for score, link in links
    )
    low, high = links[0][0], links[-1][0]
    body_html = (
        f"<p>Hello {html.escape(name)},</p>"
        f"<p>About your request {html.escape(ticket.reference)} ({html.escape(ticket.subject)}):</p>"
        f"<p><strong>{html.escape(question)}</strong></p>"
        f"<p>{buttons}</p>"
        f"<p><small>{low} = {html.escape(ends[low])}, {high} = {html.escape(ends[high])}. Choose your "
        "rating and confirm it; you can add a comment, and change it for seven days.</small></p>"
        f'<p><small><a href="{html.escape(opt_out)}">No more surveys from us</a></small></p>'
    )
    address = channel_address(ticket)
    mail = EmailMultiAlternatives(
        subject=f"[{ticket.reference}] {question}",
        body="\n".join(lines) + "\n",
        from_email=sender(ticket),
        to=[ticket.customer.email],
        headers={
            "Message-ID": our_message_id(ticket.pk, f"s{invitation.pk}", domain_of(address)),
            "X-Charterdesk-Ticket": str(ticket.pk),
            # Marks the mail as the desk's own, so mail programs and other desks do not answer it.
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<{opt_out}>",
        },
    )
    mail.attach_alternative(body_html, "text/html")
    return mail
