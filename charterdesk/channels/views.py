"""The channels pages: quarantine, held replies, mailboxes, phone calls. Thin: parse, access, act, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.core.permissions import request_permissions, require, sees_customer_contact
from charterdesk.tickets.actions import do_find_or_create_customer

from . import actions
from .access import (
    access_held,
    access_mailbox,
    access_quarantined,
    access_ticket_for_call,
)
from .actions import ChannelError
from .choices import InboundState
from .forms import CallForm, MailboxForm, QuarantineTicketForm
from .models import InboundMessage, Mailbox
from .parse import ParseError, fold, parse_email

RAW_SHOWN = 200_000


def ticket_url(ticket_id: int) -> str:
    for name in ("tickets:detail", "tickets:ticket"):
        try:
            return reverse(name, args=[ticket_id])
        except NoReverseMatch:
            continue
    return f"/tickets/{ticket_id}/"


def _channels(request, kind: str | None = None) -> list[str]:
    protocol = request.protocol
    if protocol is None:
        return []
    return [c.id for c in protocol.channels.customer if kind is None or c.kind == kind]


def _parsed(item: InboundMessage):
    try:
        return parse_email(item.raw_bytes), ""
    except ParseError as exc:
        return None, str(exc)


# --------------------------------------------------------------------------- quarantine


@login_required
def index(request):
    """The channels at a glance: what waits for a person, and where each channel is set up."""
    rights = request_permissions(request)
    if not rights & {"ticket.create", "ticket.reply", "channels.manage"}:
        raise PermissionDenied("Your roles do not grant ticket.create, ticket.reply or channels.manage.")
    waiting = InboundMessage.objects.filter(state__in=[InboundState.QUARANTINED, InboundState.HELD])
    counts = dict(waiting.values_list("state").annotate(n=Count("id")))
    channels = request.protocol.channels.customer if request.protocol else []
    return render(
        request,
        "channels/index.html",
        {
            "rights": rights,
            "quarantined": counts.get(InboundState.QUARANTINED, 0),
            "held": counts.get(InboundState.HELD, 0),
            "mailboxes": Mailbox.objects.count(),
            "channels": channels,
        },
    )


@login_required
def quarantine(request):
    require(request, "ticket.create")
    items = (
        InboundMessage.objects.filter(state=InboundState.QUARANTINED).defer("raw").order_by("-received_at")
    )
    return render(request, "channels/quarantine.html", {"items": items[:500], "count": items.count()})


@login_required
def quarantined(request, pk: int):
    item = access_quarantined(request, pk)
    parsed, error = _parsed(item)
    initial = {
        "email": (parsed.from_address if parsed else "") or item.from_address,
        "name": parsed.from_name if parsed else "",
        "subject": (parsed.subject if parsed else item.subject) or "(no subject)",
        "body": parsed.text if parsed else "",
        "channel": item.channel or "email",
    }
    form = QuarantineTicketForm(initial=initial, channels=_channels(request))
    return _inbound_page(request, item, parsed, error, form=form)


def _audit_raw(request, item, how: str) -> None:
    """Opening a message as it arrived (headers, addresses, text) is reading customer data: each
    view and download is audited as ``read.raw_email``, by id."""
    from charterdesk.audit.actions import do_record_reading
    from charterdesk.core.client import client_ip

    do_record_reading(
        request.user,
        "raw_email",
        f"inbound:{item.pk}",
        ip=client_ip(request),
        data={"ticket": item.ticket_id, "how": how},
    )


def _inbound_page(request, item, parsed, error, **extra):
    _audit_raw(request, item, "page")
    raw = item.raw_text
    main, folded = fold(parsed.text) if parsed else ("", "")
    context = {
        "item": item,
        "parsed": parsed,
        "parse_error": error,
        "raw": raw[:RAW_SHOWN],
        "raw_cut": len(raw) > RAW_SHOWN,
        "main": main,
        "folded": folded,
        "ticket_url": ticket_url(item.ticket_id) if item.ticket_id else "",
        **extra,
    }
    return render(request, "channels/inbound.html", context)


@login_required
def raw_message(request, pk: int):
    item = access_quarantined(request, pk)
    _audit_raw(request, item, "download")
    response = HttpResponse(item.raw_bytes, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{item.pk}.eml"'
    return response


@login_required
@require_POST
def reprocess(request, pk: int):
    from .inbound import process

    item = access_quarantined(request, pk)
    try:
        actions.do_requeue(item, actor=request.user)
    except ChannelError as exc:
        messages.error(request, str(exc))
        return redirect("channels:quarantined", pk)
    state = process(item)
    item.refresh_from_db()
    if state == InboundState.QUARANTINED:
        messages.error(request, f"Still quarantined: {item.reason}")
    else:
        messages.success(request, f"Re-processed: {item.outcome or item.get_state_display()}.")
    return redirect("channels:quarantined", pk)


@login_required
@require_POST
def quarantine_to_ticket(request, pk: int):
    item = access_quarantined(request, pk)
    form = QuarantineTicketForm(request.POST, channels=_channels(request))
    if form.is_valid():
        try:
            ticket = actions.do_ticket_from_quarantine(item, actor=request.user, **form.cleaned_data)
        except ChannelError as exc:
            field = str(exc).split(":", 1)[0]
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Opened {ticket.reference} from the quarantined message.")
            return redirect(ticket_url(ticket.pk))
    parsed, error = _parsed(item)
    return _inbound_page(request, item, parsed, error, form=form)


# --------------------------------------------------------------------------- held replies


@login_required
def held_list(request):
    require(request, "ticket.reply")
    items = (
        InboundMessage.objects.filter(state=InboundState.HELD)
        .select_related("ticket")
        .defer("raw")
        .order_by("received_at")
    )
    return render(request, "channels/held.html", {"items": items[:500]})


@login_required
def held(request, pk: int):
    item = access_held(request, pk)
    parsed, error = _parsed(item)
    # The ticket's customer by the desk's one rule for contact details, as on the ticket page.
    contact = sees_customer_contact(request.user, request.protocol)
    return _inbound_page(request, item, parsed, error, held=True, customer_contact=contact)


@login_required
@require_POST
def decide_held(request, pk: int, decision: str):
    item = access_held(request, pk)
    try:
        if decision == "approve":
            actions.do_approve_held(item, actor=request.user)
            messages.success(
                request, f"Attached to {item.ticket.reference}; the sender is now a participant."
            )
            return redirect(ticket_url(item.ticket_id))
        if decision == "new-ticket":
            ticket = actions.do_held_to_new_ticket(item, actor=request.user)
            messages.success(request, f"Opened {ticket.reference} for {item.from_address}.")
            return redirect(ticket_url(ticket.pk))
        if decision == "reject":
            actions.do_reject_held(item, actor=request.user, note=request.POST.get("note", "")[:500])
            messages.success(request, "Rejected. The message stays stored.")
            return redirect("channels:held")
    except ChannelError as exc:
        messages.error(request, str(exc))
        return redirect("channels:held-message", pk)
    return HttpResponse(status=404)


# --------------------------------------------------------------------------- mailboxes


@login_required
def mailboxes(request):
    require(request, "channels.manage")
    return render(request, "channels/mailboxes.html", {"mailboxes": Mailbox.objects.all()})


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_edit(request, pk: int | None = None):
    mailbox = access_mailbox(request, pk) if pk else None
    if mailbox is None:
        require(request, "channels.manage")
    channels = _channels(request, "email")
    fields = [
        "name",
        "channel",
        "host",
        "port",
        "security",
        "username",
        "folder",
        "is_active",
        "verify_certificate",
        "trusted_authserv_id",
    ]
    initial = {f: getattr(mailbox, f) for f in fields} if mailbox else None
    form = MailboxForm(request.POST or None, initial=initial, channels=channels, mailbox=mailbox)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password")
        try:
            mailbox = actions.do_save_mailbox(mailbox, actor=request.user, password=password, **data)
        except ChannelError as exc:
            form.add_error("password", str(exc).split(": ", 1)[-1])
        else:
            messages.success(request, f"Saved mailbox {mailbox.name}.")
            return redirect("channels:mailboxes")
    return render(request, "channels/mailbox_form.html", {"form": form, "mailbox": mailbox})


@login_required
@require_POST
def mailbox_test(request, pk: int):
    from .imap import MailboxError, test_connection
    from .secrets import SecretError

    mailbox = access_mailbox(request, pk)
    try:
        messages.success(request, f"{mailbox.name}: {test_connection(mailbox)}")
    except (MailboxError, SecretError) as exc:
        messages.error(request, f"{mailbox.name}: {exc}")
    return redirect("channels:mailboxes")


@login_required
@require_POST
def mailbox_poll(request, pk: int):
    from .imap import INTERACTIVE_TIMEOUT, poll_mailbox

    mailbox = access_mailbox(request, pk)
    result = poll_mailbox(mailbox, timeout=INTERACTIVE_TIMEOUT)
    if result.error or result.skipped:
        messages.error(request, f"{mailbox.name}: {result.error or result.skipped}")
    else:
        messages.success(request, f"{mailbox.name}: {result.new} new message(s).")
    return redirect("channels:mailboxes")


@login_required
@require_POST
def mailbox_delete(request, pk: int):
    mailbox = access_mailbox(request, pk)
    actions.do_delete_mailbox(mailbox, actor=request.user)
    messages.success(request, f"Removed mailbox {mailbox.name}. Mail already stored stays.")
    return redirect("channels:mailboxes")


# --------------------------------------------------------------------------- phone


@login_required
@require_http_methods(["GET", "POST"])
def log_call(request):
    require(request, "ticket.reply")
    form = CallForm(
        request.POST or None, initial={"ticket": request.GET.get("ticket"), "direction": "inbound"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = access_ticket_for_call(request, data["ticket"]) if data["ticket"] else None
        except Http404:
            # A mistyped number: say so on the field and keep what was typed (the call's notes).
            form.add_error("ticket", f"there is no ticket #{data['ticket']}")
            return render(request, "channels/phone.html", {"form": form})
        customer = None
        if ticket is None:
            require(request, "ticket.create")
            customer = do_find_or_create_customer(
                email=data["customer_email"] or None, name=data["customer_name"], phone=data["phone_number"]
            )
        try:
            call = actions.do_log_call(
                actor=request.user,
                direction=data["direction"],
                duration_seconds=data["duration"],
                notes=data["notes"],
                ticket=ticket,
                customer=customer,
                subject=data["subject"],
                phone_number=data["phone_number"],
            )
        except ChannelError as exc:
            field = str(exc).split(":", 1)[0]
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Logged the call on {call.ticket.reference}.")
            return redirect(ticket_url(call.ticket_id))
    return render(request, "channels/phone.html", {"form": form})


# --------------------------------------------------------------------------- attachments


# --------------------------------------------------------------------------- confirming a sender


@require_http_methods(["GET", "POST"])
def confirm_sender(request, token: str):
    """The customer's page behind the confirmation link (senders.py): no sign-in, the signed link is
    the proof. GET shows what it is about and a button; only the POST confirms, so a mail scanner
    that opens every link confirms nothing."""
    from charterdesk.tickets.actions import do_confirm_sender

    from .senders import BadConfirmation, read_confirm_token

    protocol = request.protocol
    context = {"company": protocol.company if protocol else "Support", "customer": None}
    try:
        message = read_confirm_token(token)
    except BadConfirmation as exc:
        return render(request, "channels/confirm_invalid.html", {**context, "reason": str(exc)}, status=400)
    from charterdesk.tickets.models import Message

    context.update(
        message=message,
        ticket=message.ticket,
        confirmed=message.sender_confirmed_at is not None,
        opened=not Message.objects.filter(ticket=message.ticket_id, pk__lt=message.pk).exists(),
        portal=protocol is not None and any(c.kind == "web" for c in protocol.channels.customer),
    )
    if request.method == "POST" and not context["confirmed"]:
        do_confirm_sender(message, how="link")
        context["confirmed"] = True
        context["just_confirmed"] = True
    return render(request, "channels/confirm_sender.html", context)
