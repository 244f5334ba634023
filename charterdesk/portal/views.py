"""The customer portal: open a ticket, sign in with an emailed link, read and answer your tickets.
Thin: parse, check access, act, render."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.channels.acknowledge import acknowledges
from charterdesk.core.client import client_ip
from charterdesk.surveys.portal import portal_surveys
from charterdesk.tickets.actions import TicketError, do_confirm_sender
from charterdesk.tickets.attachments import serve
from charterdesk.tickets.choices import Status
from charterdesk.tickets.rendering import render_message

from . import spam
from .access import (
    access_awaiting_message,
    access_opened_ticket,
    access_portal_attachment,
    access_portal_ticket,
    awaiting_confirmation,
    customer_tickets,
    portal_customer,
    public_messages,
)
from .actions import (
    PortalError,
    RateLimited,
    do_open_ticket,
    do_portal_reply,
    do_request_link,
    do_set_timezone,
    do_sign_in_with_link,
    do_sign_out,
    find_link,
    web_channel,
)
from .forms import LinkRequestForm, NewTicketForm, ReplyForm, TimezoneForm
from .promise import STATUS_WORDS, default_zone, promise_for, zone_label

OPENED_KEY = "charterdesk_portal_opened"


def _page(request, template: str, context: dict | None = None, *, status: int = 200, customer=None):
    protocol = request.protocol
    context = {
        "company": protocol.company if protocol else "Support",
        "customer": customer,
        **(context or {}),
    }
    return render(request, template, context, status=status)


def _offered(request):
    """The web channel of the protocol in force, or the 'not offered' page (404)."""
    channel = web_channel(request.protocol or None)
    if channel is None:
        return None, _page(request, "portal/unavailable.html", status=404)
    return channel, None


def _signed_in_or_redirect(request):
    customer = portal_customer(request)
    if customer is None:
        messages.info(request, "Sign in to see your tickets: we email you a link.")
        return None, redirect("portal:start")
    return customer, None


@require_http_methods(["GET", "POST"])
def start(request):
    """Ask for a sign-in link by email (or go straight to your tickets when signed in)."""
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer = portal_customer(request)
    if customer is not None and request.method == "GET":
        return redirect("portal:tickets")
    form = LinkRequestForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            do_request_link(
                email=form.cleaned_data["email"], ip=client_ip(request), company=request.protocol.company
            )
        except RateLimited as exc:
            form.add_error(None, str(exc))
            status = 429
        else:
            return redirect("portal:link-sent")
    return _page(request, "portal/start.html", {"form": form}, status=status, customer=customer)


def link_sent(request):
    _, refusal = _offered(request)
    if refusal:
        return refusal
    return _page(request, "portal/link_sent.html", customer=portal_customer(request))


@require_http_methods(["GET", "POST"])
def link(request, token: str):
    """GET shows a button; only the POST uses the link. Mail scanners that open every link in an
    email would otherwise use up the customer's one-use link before they click it."""
    _, refusal = _offered(request)
    if refusal:
        return refusal
    if request.method == "POST":
        try:
            used = do_sign_in_with_link(request, token)
        except PortalError as exc:
            return _page(request, "portal/link_invalid.html", {"reason": str(exc)}, status=410)
        messages.success(request, f"You are signed in as {used.customer.email}.")
        if used.ticket_id:
            return redirect("portal:ticket", ticket_id=used.ticket_id)
        return redirect("portal:tickets")
    found = find_link(token)
    if found is None:
        reason = "This sign-in link has expired or was already used. Ask for a new one below."
        return _page(request, "portal/link_invalid.html", {"reason": reason}, status=410)
    return _page(request, "portal/link.html", {"link": found, "token": token})


@require_POST
def sign_out(request):
    customer = portal_customer(request)
    if customer is not None:
        do_sign_out(request, customer)
    messages.success(request, "You are signed out.")
    return redirect("portal:start")


@require_http_methods(["GET", "POST"])
def new_ticket(request):
    channel, refusal = _offered(request)
    if refusal:
        return refusal
    customer = portal_customer(request)
    zone = default_zone(request.protocol, channel.id)
    initial = (
        {"name": customer.name, "email": customer.email, "timezone": customer.timezone} if customer else {}
    )
    form = NewTicketForm(request.POST or None, initial=initial, default_zone=zone)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket, _ = do_open_ticket(
                    protocol=request.protocol,
                    name=data["name"],
                    email=data["email"],
                    subject=data["subject"],
                    message=data["message"],
                    timezone_name=data["timezone"],
                    ip=client_ip(request),
                    signed_in=customer,
                )
            except RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            except (PortalError, TicketError) as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                request.session[OPENED_KEY] = {"ticket": ticket.pk, "timezone": data["timezone"]}
                return redirect("portal:sent")
        else:
            status = 400 if form.refused else 200
    stamp = spam.stamp_to_keep(request.POST.get(spam.STAMP_FIELD, ""))
    return _page(
        request,
        "portal/new.html",
        {
            "form": form,
            "stamp": stamp,
            "default_zone": zone,
            "prefill_zone": not form.is_bound and customer is None,
        },
        status=status,
        customer=customer,
    )


def sent(request):
    """After opening a ticket: its number, when we will reply, and that a link is in the inbox."""
    _, refusal = _offered(request)
    if refusal:
        return refusal
    ticket = access_opened_ticket(request, OPENED_KEY)
    if ticket is None:
        return redirect("portal:new")
    opened = request.session[OPENED_KEY]
    zone = opened.get("timezone") or ticket.customer.timezone
    promise = promise_for(ticket, zone, protocol=request.protocol)
    return _page(
        request,
        "portal/sent.html",
        {
            "ticket": ticket,
            "promise": promise,
            "zone_label": zone_label(zone),
            "emailed": acknowledges(ticket),
            # The address belongs to a customer with tickets and whoever typed it is not signed in as
            # them: nothing of that customer's (not even their name) is shown, and they are asked.
            "unverified": ticket.unverified_sender,
        },
        customer=portal_customer(request),
    )


def tickets(request):
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer, redirect_to = _signed_in_or_redirect(request)
    if redirect_to:
        return redirect_to
    now = timezone.now()
    rows = [
        {
            "ticket": ticket,
            "status": STATUS_WORDS.get(ticket.status, ticket.status),
            "promise": promise_for(ticket, customer.timezone, protocol=request.protocol, now=now),
        }
        for ticket in customer_tickets(customer)
    ]
    return _page(
        request,
        "portal/tickets.html",
        {
            "rows": rows,
            "awaiting": list(awaiting_confirmation(customer)),
            "zone_label": zone_label(customer.timezone),
            "timezone_form": TimezoneForm(initial={"timezone": customer.timezone}),
        },
        customer=customer,
    )


@require_http_methods(["GET", "POST"])
def ticket(request, ticket_id: int):
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer, redirect_to = _signed_in_or_redirect(request)
    if redirect_to:
        return redirect_to
    found = access_portal_ticket(customer, ticket_id)
    form = ReplyForm(request.POST or None)
    closed = found.status == Status.CLOSED
    if request.method == "POST" and closed:
        form = ReplyForm()
        messages.error(request, "This ticket is closed, so it takes no more replies. Please open a new one.")
    elif request.method == "POST" and form.is_valid():
        was = found.status
        try:
            do_portal_reply(customer, found, form.cleaned_data["body"])
        except (PortalError, TicketError) as exc:
            form.add_error("body", str(exc))
        else:
            reopened = " The ticket is open again." if was in (Status.PENDING, Status.SOLVED) else ""
            messages.success(request, f"Your reply was sent.{reopened}")
            return redirect("portal:ticket", ticket_id=found.pk)
    found.refresh_from_db()
    conversation = list(public_messages(found))
    for message in conversation:
        message.rendered = render_message(message, _attachment_url)
    return _page(
        request,
        "portal/ticket.html",
        {
            "ticket": found,
            "status": STATUS_WORDS.get(found.status, found.status),
            "conversation": conversation,
            "promise": promise_for(found, customer.timezone, protocol=request.protocol),
            "form": form,
            "closed": closed,
            "zone": customer.timezone,
            "zone_label": zone_label(customer.timezone),
            "surveys": portal_surveys(found),
            # Messages on this ticket that used the customer's address unverified: theirs to confirm.
            "awaiting": list(awaiting_confirmation(customer).filter(ticket=found)),
        },
        status=400 if request.method == "POST" else 200,
        customer=customer,
    )


def _attachment_url(attachment) -> str:
    return reverse("portal:attachment", args=[attachment.pk])


@require_http_methods(["GET"])
def attachment(request, attachment_id: int):
    """A file of the customer's conversation (never of an internal note); pictures open inline."""
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer, redirect_to = _signed_in_or_redirect(request)
    if redirect_to:
        return redirect_to
    return serve(access_portal_attachment(customer, attachment_id))


@require_POST
def confirm_sender(request, message_id: int):
    """The signed-in customer confirms they wrote a message marked "unverified sender": signing in
    with the link mailed to their address is the same proof as the confirmation link."""
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer, redirect_to = _signed_in_or_redirect(request)
    if redirect_to:
        return redirect_to
    message = access_awaiting_message(customer, message_id)
    do_confirm_sender(message, how="portal")
    messages.success(
        request, f"Thank you: {message.ticket.reference} {message.ticket.subject} is confirmed as yours."
    )
    return redirect("portal:ticket", ticket_id=message.ticket_id)


@require_POST
def set_timezone(request):
    _, refusal = _offered(request)
    if refusal:
        return refusal
    customer, redirect_to = _signed_in_or_redirect(request)
    if redirect_to:
        return redirect_to
    form = TimezoneForm(request.POST)
    if form.is_valid():
        do_set_timezone(customer, form.cleaned_data["timezone"])
        messages.success(request, f"Times are now shown in {zone_label(customer.timezone)}.")
    else:
        messages.error(request, form.errors["timezone"][0])
    return redirect("portal:tickets")
