"""Every write the customer portal makes: atomic, audited, in the customer's name.

Customers are not people of the desk, so audit entries carry no actor; the summary and the
target (``customer:<id>``) say who it was. Ticket changes themselves go through
``charterdesk.tickets.actions`` (which audit them too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction

from charterdesk.audit.actions import action, nothing_to_record, record
from charterdesk.audit.refs import ref
from charterdesk.channels.acknowledge import acknowledges
from charterdesk.channels.actions import record_outbound
from charterdesk.channels.choices import OutboundKind, OutboundState
from charterdesk.channels.senders import queue_confirmation, web_form_reason
from charterdesk.core.client import client_ip
from charterdesk.core.ratelimit import minutes_to_next_window
from charterdesk.protocol.models import Protocol
from charterdesk.tickets.actions import do_create_ticket, do_customer_message, do_find_or_create_customer
from charterdesk.tickets.history import whole_second
from charterdesk.tickets.models import Customer, Message, Ticket

from . import mail, spam
from .models import PortalLink
from .promise import promise_for

LINK_LIFETIME = dt.timedelta(minutes=30)
# The key under which a signed-in customer's id sits in the Django session. Not
# django.contrib.auth: customers are not Persons, and an agent signed in in the same
# browser stays signed in.
SESSION_KEY = "charterdesk_portal_customer"


class PortalError(Exception):
    """Something the customer asked for that cannot be done; the message says why, in their words."""


class RateLimited(PortalError):
    """Too many attempts from one address or network within the hour."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def web_channel(protocol: Protocol | None):
    """The protocol's first customer channel of kind ``web``: the portal exists only if there is one."""
    if protocol is None:
        return None
    return next((c for c in protocol.channels.customer if c.kind == "web"), None)


def _issue_link(customer: Customer, *, at: dt.datetime, ticket: Ticket | None = None) -> str:
    token = secrets.token_urlsafe(32)
    PortalLink.objects.create(
        token_hash=hash_token(token),
        customer=customer,
        ticket=ticket,
        created_at=at,
        expires_at=at + LINK_LIFETIME,
    )
    return token


def _minutes() -> int:
    return int(LINK_LIFETIME.total_seconds() // 60)


def _set_timezone(customer: Customer, zone: str, *, why: str) -> None:
    before = customer.timezone
    Customer.objects.filter(pk=customer.pk).update(timezone=zone)
    customer.timezone = zone
    record(
        "portal.customer_timezone",
        f"{ref(customer)} set their time zone to {zone} ({why})",
        target=f"customer:{customer.pk}",
        data={"before": before, "after": zone},
    )


@action
def do_open_ticket(
    *,
    protocol: Protocol,
    name: str,
    email: str,
    subject: str,
    message: str,
    timezone_name: str,
    ip: str,
    signed_in: Customer | None = None,
    at: dt.datetime | None = None,
) -> tuple[Ticket, Customer]:
    """A customer opens a ticket on the web form: on the protocol's web channel, counted against
    the per-IP limit. When the channel acknowledges tickets (``acknowledge: true``, the rule mail
    and the contact form follow too), an email with the ticket number, the promise and a sign-in
    link follows, listed on the ticket like every mail the desk sends.

    ``signed_in``: the customer signed in to the portal in this browser, if any. A ticket opened
    with the address of a customer who has tickets, by anyone but that customer signed in, is
    marked "unverified sender" and kept from their portal; instead of the receipt, the address is
    asked to confirm it (channels/senders.py)."""
    at = whole_second(at)
    channel = web_channel(protocol)
    if channel is None:
        raise PortalError("The customer portal is not offered: the protocol in force has no web channel.")
    limit = spam.ticket_limit()
    # Counted before the ticket is stored, inside this action's transaction: a ticket that is not
    # stored takes its count back with it, and requests arriving at once wait for each other's
    # count, so they can never open more tickets than the limit.
    if not limit.take(ip, at.timestamp()).allowed:
        raise RateLimited(
            f"You have opened {limit.count} tickets from this network in the last hour, which is our "
            f"limit. Please try again in {minutes_to_next_window(at.timestamp())} minutes, or reply "
            "to one of your tickets instead."
        )
    with transaction.atomic():
        # Decided before the customer row is looked up or made: a first contact has nothing to protect.
        unverified = web_form_reason(email, signed_in)
        customer = do_find_or_create_customer(email=email, name=name, timezone_name=timezone_name)
        if timezone_name and customer.timezone != timezone_name and not unverified:
            # An unverified sender does not get to change the customer's settings.
            _set_timezone(customer, timezone_name, why="on the web form")
        ticket = do_create_ticket(
            customer=customer,
            subject=subject,
            body=message,
            channel=channel.id,
            at=at,
            unverified_sender=unverified,
        )
        acknowledged = acknowledges(ticket) and not unverified
        token = _issue_link(customer, at=at, ticket=ticket) if acknowledged else ""
        if unverified:
            queue_confirmation(ticket.first_message)
            how = "; the sender is unverified: the address was asked to confirm it"
        elif acknowledged:
            how = "; a sign-in link was emailed"
        else:
            how = "; no receipt (the channel sends none)"
        record(
            "portal.ticket_open",
            f"Customer #{customer.pk} opened {ticket.reference} on the portal{how}",
            target=f"ticket:{ticket.pk}",
            protocol_version=ticket.protocol_version.version,
            clause=f"channels.customer.{channel.id}",
            data={"ip": ip, "customer": customer.pk, "unverified_sender": bool(unverified)},
            at=at,
        )
    ticket.refresh_from_db()
    if acknowledged:
        promise = promise_for(ticket, customer.timezone, protocol=protocol, now=at)
        error = mail.send_ticket_opened(
            customer,
            ticket,
            token,
            body=message,
            company=protocol.company,
            promise=promise.text,
            minutes=_minutes(),
        )
        with transaction.atomic():
            record_outbound(
                ticket=ticket,
                message=None,
                kind=OutboundKind.RECEIPT,
                message_id="",
                to=customer.email,
                subject=mail.ticket_opened_subject(ticket),
                state=OutboundState.FAILED if error else OutboundState.SENT,
                error=error,
                at=at,
            )
    return ticket, customer


@action
def do_request_link(*, email: str, ip: str, company: str, at: dt.datetime | None = None) -> None:
    """Email a sign-in link if the address belongs to a customer. Says nothing either way, so the
    portal never reveals which addresses it knows. Refusals over the limits are not audited, so that
    nobody can flood the audit log."""
    at = whole_second(at)
    email = (email or "").strip().lower()
    stamp = at.timestamp()
    per_email, per_ip = spam.link_limit_per_email(), spam.link_limit_per_ip()
    if not per_ip.take(ip, stamp).allowed or not per_email.take(email, stamp).allowed:
        raise RateLimited(
            "Too many sign-in links were asked for this address or from this network in the last hour. "
            f"Please try again in {minutes_to_next_window(stamp)} minutes, and use the newest link "
            "you received."
        )
    customer = Customer.objects.filter(email=email).first() if email else None
    with transaction.atomic():
        token = _issue_link(customer, at=at) if customer is not None else None
        record(
            "portal.link_request",
            f"a portal sign-in link was emailed to {ref(customer)}"
            if customer is not None
            else "a portal sign-in link was asked for an address that is not a customer's; nothing was sent",
            target=f"customer:{customer.pk}" if customer is not None else "",
            data={"ip": ip, "sent": customer is not None},
            at=at,
        )
    if customer is not None:
        mail.send_sign_in_link(customer, token, company=company, minutes=_minutes())


def find_link(token: str, at: dt.datetime | None = None) -> PortalLink | None:
    """The link for ``token`` if it can still be used (not used, not expired)."""
    link = PortalLink.objects.select_related("customer").filter(token_hash=hash_token(token or "")).first()
    if link is None or not link.usable_at(whole_second(at)):
        return None
    return link


@action
def do_sign_in_with_link(request, token: str, *, at: dt.datetime | None = None) -> PortalLink:
    """Use a sign-in link once and start a portal session for its customer."""
    at = whole_second(at)
    with transaction.atomic():
        link = (
            PortalLink.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(token_hash=hash_token(token or ""))
            .first()
        )
        if link is None or not link.usable_at(at):
            raise PortalError(
                "This sign-in link has expired or was already used. Links work once, for "
                f"{_minutes()} minutes; ask for a new one below."
            )
        PortalLink.objects.filter(pk=link.pk).update(used_at=at)
        link.used_at = at
        # A new session key on sign-in, so a key planted before it is worth nothing after.
        request.session.cycle_key()
        request.session[SESSION_KEY] = link.customer_id
        record(
            "portal.sign_in",
            f"customer #{link.customer_id} signed in to the customer portal with an emailed link",
            target=f"customer:{link.customer_id}",
            data={"ip": client_ip(request), "link": link.pk},
            at=at,
        )
    return link


@action
def do_sign_out(request, customer: Customer) -> None:
    with transaction.atomic():
        request.session.pop(SESSION_KEY, None)
        request.session.cycle_key()
        record(
            "portal.sign_out",
            f"{ref(customer)} signed out of the customer portal",
            target=f"customer:{customer.pk}",
            data={"ip": client_ip(request)},
        )


@action
def do_portal_reply(
    customer: Customer, ticket: Ticket, body: str, *, at: dt.datetime | None = None
) -> Message:
    """The customer answers on their ticket; a pending or solved ticket opens again (tickets.actions)."""
    if ticket.customer_id != customer.pk:  # access.py already refused; never trust one check alone
        raise PortalError("This is not your ticket.")
    if not body.strip():
        raise PortalError("Reply: write your message first.")
    return do_customer_message(ticket, body=body.strip(), at=at)


@action
def do_set_timezone(customer: Customer, zone: str) -> None:
    """The customer chooses the time zone the portal shows times in."""
    with transaction.atomic():
        if customer.timezone != zone:
            _set_timezone(customer, zone, why="on the portal")
        else:
            nothing_to_record("the time zone is already so")
