"""Who may write as an existing customer: the "unverified sender" mark and its confirmation by mail.

A message that uses the address of a customer who already has tickets (a customer "with history")
must prove it is theirs, or it is marked *unverified sender* (``Message.unverified_sender``, and
``Ticket.unverified_sender`` when it opened the ticket) and kept from that customer's portal until
they confirm it by the signed link this module mails to their known address. Proof is:

- email: an aligned DKIM or SPF pass, or a trusted receiving server's Authentication-Results
  saying so (``sender_auth.py``, checked once on the bytes as received, kept in
  ``InboundMessage.sender_auth``), or a reply to our mail through the ticket's signed reply address
  or one of our signed Message-IDs (only someone who received our mail for this ticket knows them);
- the portal's web form: being signed in there as that customer (an emailed one-use link);
- the embeddable contact form: none is possible, so it always needs the confirmation.

A first contact (an address no ticket has used) cannot be proven either way and is not marked:
there is nothing of that customer's yet for a stranger to read or add to. Agents opening tickets
or logging calls for a customer vouch for them and are never marked, nor is mail an operator brings
in with ``charterdesk email import`` (the history of another desk or an archive).

The confirmation mail is automatic mail and follows the loop rules (``loops.py``): none to machine
or no-reply addresses, nor in answer to automatic mail, and at most ``CHARTERDESK_AUTOMAIL_PER_HOUR``
to an address an hour; it replaces the receipt of a ticket it concerns. Each decision is an
``OutboundMail`` row on the ticket.
"""

from __future__ import annotations

import email.parser
import logging

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, transaction
from django.urls import reverse

from charterdesk.tickets.models import Customer, Message, Ticket

from . import sender_auth
from .addressing import our_message_id
from .choices import OutboundKind, OutboundState
from .models import InboundMessage, OutboundMail
from .outbound import channel_address, domain_of, sender, text_to_html

log = logging.getLogger("charterdesk.channels")

# A confirmation link works this long; after it the message stays hidden unless an agent confirms.
CONFIRM_MAX_AGE = 30 * 24 * 3600
_CONFIRM_SALT = "charterdesk.channels.confirm-sender"

WEB_FORM_REASON = "sent on the web form without signing in as this customer"
CONTACT_FORM_REASON = "sent on the contact form, which cannot prove who the sender is"


class BadConfirmation(Exception):
    """The confirmation link was edited, cut short, made for another purpose or is too old."""


# --------------------------------------------------------------------------- who needs proof


def has_history(address: str) -> bool:
    """Whether ``address`` belongs to a customer who already has a ticket."""
    address = (address or "").strip().lower()
    if not address:
        return False
    # The join on the unique email and the (customer, created_at) index: a third of the time of an
    # EXISTS subquery on SQLite (0.5 against 1.4 ms), and this is asked for every message that arrives.
    return Ticket.objects.filter(customer__email=address).exists()


def web_form_reason(email: str, signed_in: Customer | None, *, contact_form: bool = False) -> str:
    """The mark for a ticket opened on a web form with ``email``: "" when nothing needs proving."""
    if not has_history(email):
        return ""
    if signed_in is not None and (signed_in.email or "").lower() == email.strip().lower():
        return ""
    return CONTACT_FORM_REASON if contact_form else WEB_FORM_REASON


# --------------------------------------------------------------------------- email


def trusted_authserv_id(inbound: InboundMessage) -> str:
    """Whose Authentication-Results to believe for this message: the mailbox's setting (IMAP), or
    ``CHARTERDESK_SMTP_TRUSTED_AUTHSERV_ID`` for the listener behind another mail server."""
    from .conf import smtp_trusted_authserv_id

    if inbound.source == "imap" and inbound.mailbox_id:
        return inbound.mailbox.trusted_authserv_id if inbound.mailbox else ""
    if inbound.source == "smtp":
        return smtp_trusted_authserv_id()
    return ""


def check_sender(inbound: InboundMessage, from_address: str, *, save: bool = True) -> sender_auth.SenderAuth:
    """The sender check of a stored message, made once on its bytes as received and kept on the row
    (a message processed again, or approved later, is not checked again: its bytes may since have
    been rewritten by redaction)."""
    if inbound.sender_auth:
        return sender_auth.SenderAuth.from_dict(inbound.sender_auth)
    from .conf import sender_dns_timeout

    listener = inbound.source == "smtp"
    trusted = trusted_authserv_id(inbound)
    result = sender_auth.authenticate(
        inbound.raw_bytes,
        from_address,
        # SPF needs the sending server's own address: only the listener, with no relay before it, has it.
        client_ip=inbound.source_ref if listener and not trusted else "",
        mail_from=inbound.envelope_from,
        helo=inbound.helo,
        trusted_authserv_id=trusted,
        dns_txt=DNS_TXT,
        spf_check=SPF_CHECK,
        timeout=sender_dns_timeout(),
    )
    inbound.sender_auth = result.as_dict()
    if save:
        InboundMessage.objects.filter(pk=inbound.pk).update(sender_auth=inbound.sender_auth)
    return result


def check_ahead(pks: list[int]) -> None:
    """Make the sender checks the messages ``pks`` will need, before they are processed: their DNS
    lookups (seconds, when a server is slow) then happen outside the processing transaction, which
    on SQLite would hold the desk's one writer meanwhile. Only where ``email_reason`` will ask: a
    pending message, not imported, from an address with history, not a reply through our signed
    reply address or Message-IDs. Any error here is left for processing to meet again."""
    from .addressing import ticket_from_address, ticket_from_message_id
    from .choices import InboundState
    from .parse import addresses, message_ids

    rows = InboundMessage.objects.select_related("mailbox").filter(pk__in=pks, state=InboundState.PENDING)
    checked = []
    for row in rows.exclude(source="import"):
        if row.sender_auth:
            continue
        try:
            head = row.raw_bytes.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            message = email.parser.BytesHeaderParser().parsebytes(head + b"\n\n")
            found = addresses(message.get_all("From") or []) or addresses(message.get_all("Sender") or [])
            recipients = [
                a for _, a in addresses([*(message.get_all("To") or []), *(message.get_all("Cc") or [])])
            ]
            referenced = [
                *message_ids(message.get("In-Reply-To")),
                *message_ids(message.get("References")),
            ]
            ours = any(ticket_from_address(a) for a in recipients) or any(
                ticket_from_message_id(m) for m in referenced
            )
            if found and not ours and has_history(found[0][1]):
                check_sender(row, found[0][1], save=False)
                checked.append(row)
        except Exception:  # processing meets it again, in its own error handling
            log.warning("could not check the sender of message %s ahead", row.pk, exc_info=True)
    if checked:
        # One statement for the chunk's verdicts, committed before processing reads them. Should
        # the database refuse it, processing checks each message again in its own error handling.
        try:
            with transaction.atomic():
                InboundMessage.objects.bulk_update(checked, ["sender_auth"])
        except DatabaseError:
            log.warning(
                "could not keep the sender checks of messages %s", [r.pk for r in checked], exc_info=True
            )


# The lookups ``check_sender`` uses: None for the real ones (dnspython). Tests put fakes here.
DNS_TXT: sender_auth.DnsTxt | None = None
SPF_CHECK: sender_auth.SpfCheck | None = None


def email_reason(inbound: InboundMessage, from_address: str, *, trusted_thread: bool) -> str:
    """The mark for an email from ``from_address``: "" when nothing needs proving or it is proven.
    Mail brought in with ``charterdesk email import`` is not marked: it is the desk's own history
    (another desk's or an archive's), brought in by the operator, not a claim arriving live."""
    if inbound.source == "import" or trusted_thread:
        return ""
    # Checked ahead (check_ahead) only for an address with history: no need to ask again.
    if not inbound.sender_auth and not has_history(from_address):
        return ""
    result = check_sender(inbound, from_address)
    return "" if result.verified else f"email not authenticated: {result.reason}"[:300]


# --------------------------------------------------------------------------- the confirmation link


def confirm_token(message: Message) -> str:
    return signing.dumps([message.pk, message.author_customer_id], salt=_CONFIRM_SALT, compress=False)


def read_confirm_token(token: str) -> Message:
    """The message a confirmation link is for, if the link is whole and not too old."""
    try:
        message_id, customer_id = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        message = (
            Message.objects.select_related("ticket", "author_customer")
            .filter(pk=int(message_id), author_customer_id=int(customer_id))
            .first()
        )
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadConfirmation("this confirmation link is not valid") from exc
    if message is None:
        raise BadConfirmation("this confirmation link is for a message that no longer exists")
    return message


def confirm_url(message: Message) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("channels:confirm-sender", args=[confirm_token(message)])


def build_confirmation(message: Message) -> EmailMultiAlternatives:
    """The mail asking the customer whether they wrote ``message``. Nothing the sender wrote is in
    it, not even the subject, so the desk cannot be used to carry a stranger's words (a link to a
    fake site, say) to anyone's inbox; the page behind the link shows the subject, on the desk's own site."""
    from charterdesk.library.versions import protocol_of

    ticket = message.ticket
    customer = message.author_customer or ticket.customer
    protocol = protocol_of(ticket.protocol_version)
    company = protocol.company if protocol else "our team"
    name = customer.first_name
    opened = not Message.objects.filter(ticket=ticket, pk__lt=message.pk).exists()
    what = f"a request ({ticket.reference})" if opened else f"a message on your request {ticket.reference}"
    text = (
        f"Hello{' ' + name if name else ''},\n\n"
        f"{company} received {what} that uses your address, {customer.email}, "
        f"on {message.created_at:%d %B %Y at %H:%M} UTC.\n\n"
        "We could not verify that it came from you. If you wrote it, please confirm with this link "
        "(it shows what it is about first), and it will show among your tickets:\n"
        f"{confirm_url(message)}\n\n"
        "If you did not write it, you need do nothing: it stays out of your account, and our team "
        "sees that its sender was not verified.\n\n"
        f"{company} Support"
    )
    address = channel_address(ticket)
    mail = EmailMultiAlternatives(
        subject=f"[{ticket.reference}] Please confirm you wrote to {company}",
        body=text,
        from_email=sender(ticket),
        to=[customer.email],
        headers={
            "Message-ID": our_message_id(ticket.pk, f"c{message.pk}", domain_of(address)),
            # RFC 3834: the desk's own mail; robots must not answer it.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "X-Charterdesk-Ticket": str(ticket.pk),
        },
    )
    mail.attach_alternative(text_to_html(text), "text/html")
    return mail


def queue_confirmation(message: Message, *, suppress_reasons: list[str] = ()) -> None:
    """Mail the confirmation once the message is committed, unless the loop rules forbid it."""
    from .actions import record_outbound

    customer = message.author_customer or message.ticket.customer
    if not customer.email:
        return
    if suppress_reasons:
        record_outbound(
            ticket=message.ticket,
            message=message,
            kind=OutboundKind.CONFIRM,
            message_id="",
            to=customer.email,
            subject="(confirmation request not sent)",
            state=OutboundState.SUPPRESSED,
            error="; ".join(suppress_reasons),
        )
        return
    from .acknowledge import _queue_is_the_database
    from .tasks import send_sender_confirmation

    if _queue_is_the_database(send_sender_confirmation) and transaction.get_connection().in_atomic_block:
        # In the message's own transaction: there is a confirmation request exactly when there is the message.
        send_sender_confirmation.enqueue(message.pk)
    else:
        transaction.on_commit(lambda: send_sender_confirmation.enqueue(message.pk))


def send_confirmation_now(message_id: int) -> str:
    """Send the confirmation request for one message (once; rate-limited). What happened, in words."""
    from .acknowledge import send_automatic

    message = (
        Message.objects.select_related("ticket__customer", "ticket__protocol_version", "author_customer")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return f"message {message_id} no longer exists; nothing sent"
    if not message.awaits_sender_confirmation:
        return f"message {message_id} needs no confirmation"
    ticket = message.ticket
    if OutboundMail.objects.filter(
        ticket_message=message, kind=OutboundKind.CONFIRM, state=OutboundState.SENT
    ).exists():
        return f"the confirmation request for message {message_id} was already sent"
    address = (message.author_customer or ticket.customer).email or ""
    sent, why = send_automatic(
        ticket=ticket,
        message=message,
        kind=OutboundKind.CONFIRM,
        address=address,
        build=lambda: build_confirmation(message),
        unsent_subject="(confirmation request not sent)",
    )
    if not sent:
        return f"no confirmation request for message {message_id}: {why}"
    return f"sent the confirmation request for message {message_id} to {address}"
