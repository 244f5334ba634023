"""/api/v1/tickets: list, open, read, change, reply, note, and each ticket's SLA clocks."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone
from ninja import Query, Router
from ninja import Status as HttpStatus

from charterdesk.accounts.models import Person
from charterdesk.tickets.access import NOT_BY_HAND, STATUS_NEEDS
from charterdesk.tickets.actions import (
    UNCHANGED,
    ReplyRefused,
    TicketError,
    do_confirm_sender,
    do_create_ticket,
    do_find_or_create_customer,
    do_reply,
    do_set_properties,
)
from charterdesk.tickets.attachments import serve
from charterdesk.tickets.choices import EventKind
from charterdesk.tickets.history import protocol_for
from charterdesk.tickets.live_sla import evaluate
from charterdesk.tickets.models import Customer, Message, Ticket, TicketEvent
from charterdesk.tickets.search import ADDRESS_NEEDS_CONTACT, names_an_address
from charterdesk.tickets.search import search as search_tickets

from . import cursor
from .access import access_attachment, access_ticket
from .auth import caller_of
from .errors import ApiError, conflict, from_ticket_error, invalid, not_found
from .present import extensions_of, message_out, sla_out, ticket_detail, ticket_summary
from .schemas import (
    ASSIGNEE_WORD,
    BODY_ERRORS_WITH_404,
    ERRORS_WITH_404,
    PRIORITIES,
    STATUSES,
    MessageOut,
    NoteIn,
    ReplyIn,
    SlaOut,
    TicketCreate,
    TicketDetail,
    TicketPage,
    TicketPatch,
    text,
)

router = Router(tags=["tickets"])

ORDERS = {
    # Queue order: unsolved tickets by next due time, then those without a running clock, then the
    # solved and closed ones (Ticket.queue_due), so a page is the next entries of one index.
    "due": cursor.Order("due", "queue_due"),
    "created": cursor.Order("created", "created_at"),
    "-created": cursor.Order("-created", "created_at", descending=True),
    "updated": cursor.Order("updated", "updated_at"),
}


# What a list item shows (present.ticket_summary): the wide columns (the SLA state, the search
# text) stay in the database.
SUMMARY_COLUMNS = (
    "id",
    "subject",
    "status",
    "priority",
    "channel",
    "group",
    "tags",
    "created_at",
    "updated_at",
    "solved_at",
    "next_due_at",
    "breached",
    "sla_policy",
    "queue_due",
    "customer__name",
    "customer__email",
    "assignee__name",
)


def require_status(caller, status: str, field: str) -> None:
    """403 unless the caller may set ``status`` (the pages' rule: tickets.access.STATUS_NEEDS);
    422 (naming ``field``) for a status nobody sets by hand."""
    if status in NOT_BY_HAND:
        raise invalid(field, NOT_BY_HAND[status])
    caller.require_any(*STATUS_NEEDS[status])


def _check(values: list[str] | None, allowed: tuple[str, ...], field: str) -> list[str]:
    for value in values or ():
        if value not in allowed:
            raise invalid(field, f"'{value}' is not one of {', '.join(allowed)}")
    return values or []


@router.get("", response={200: TicketPage, **ERRORS_WITH_404}, summary="List tickets")
def list_tickets(
    request,
    status: list[text(enum=list(STATUSES))] = Query(
        None, description=f"repeatable; one of {', '.join(STATUSES)}"
    ),
    priority: list[text(enum=list(PRIORITIES))] = Query(
        None, description=f"repeatable; one of {', '.join(PRIORITIES)}"
    ),
    group: list[str] = Query(None, description="repeatable; a group id, or 'none'"),
    assignee: text(pattern=ASSIGNEE_WORD) | None = Query(None, description="a person id, 'me' or 'none'"),
    tag: list[str] = Query(None, description="repeatable; tickets carrying every tag given"),
    channel: list[str] = Query(None, description="repeatable; a channel id"),
    breached: bool | None = Query(None, description="true: only tickets with an open cycle past due"),
    q: str | None = Query(None, description="words in the subject, messages or customer"),
    sort: text(enum=list(ORDERS)) = Query(
        "due",
        description="due (unsolved by next due time, then unsolved without a running clock, then solved "
        "and closed), created, -created, updated",
    ),
    cursor_: text(pattern=cursor.PATTERN) | None = Query(
        None,
        alias="cursor",
        description="the next_cursor of the previous page (404 when it names no page of this list)",
    ),
    limit: int = Query(25, ge=1, le=100),
):
    """Tickets in queue order, filtered. Follow `next` until it is null to walk every page."""
    caller = caller_of(request)
    caller.require("ticket.view")
    if sort not in ORDERS:
        raise invalid("sort", f"'{sort}' is not one of {', '.join(ORDERS)}")
    tickets = Ticket.objects.select_related("customer", "assignee").only(*SUMMARY_COLUMNS)
    if statuses := _check(status, STATUSES, "status"):
        tickets = tickets.filter(status__in=statuses)
    if priorities := _check(priority, PRIORITIES, "priority"):
        tickets = tickets.filter(priority__in=priorities)
    if group:
        tickets = tickets.filter(group__in=["" if g == "none" else g for g in group])
    if assignee is not None:
        if assignee == "me":
            tickets = tickets.filter(assignee=caller.person)
        elif assignee == "none":
            tickets = tickets.filter(assignee__isnull=True)
        elif re.fullmatch(ASSIGNEE_WORD, assignee):
            tickets = tickets.filter(assignee_id=int(assignee))
        else:
            raise invalid("assignee", f"'{assignee}' is not a person id, 'me' or 'none'")
    for one in tag or ():
        tickets = tickets.filter(tag_rows__tag=one.strip().lower())
    if channel:
        tickets = tickets.filter(channel__in=channel)
    if breached is not None:
        tickets = tickets.filter(breached=breached)
    if q and q.strip():
        if not caller.contact and names_an_address(q):
            raise invalid("q", ADDRESS_NEEDS_CONTACT)
        tickets = search_tickets(tickets, q, in_index_order=sort == "due")
    page = cursor.paginate(tickets, ORDERS[sort], cursor_, limit)
    extra = extensions_of(page.rows)
    return {
        "items": [ticket_summary(t, caller.contact, extra[t.pk]) for t in page.rows],
        "next": cursor.next_link(request, page.next_cursor),
        "next_cursor": page.next_cursor,
    }


def _customer_for(payload: TicketCreate, caller) -> Customer:
    if payload.customer is not None and payload.customer_id is not None:
        raise invalid("customer", "give either customer or customer_id, not both")
    if payload.customer_id is not None:
        caller.require("customer.view")
        customer = Customer.objects.filter(pk=payload.customer_id).first()
        if customer is None:
            # 409, not 404: a 404 would say the address (the ticket list) is missing; the request is
            # well formed, and the desk simply holds no such customer now.
            raise conflict("customer_id", f"there is no customer #{payload.customer_id}")
        return customer
    if payload.customer is None:
        raise invalid("customer", 'give the customer ({"email": ..., "name": ...}) or a customer_id')
    data = payload.customer
    if not data.email and not data.phone:
        raise invalid("customer.email", "give the customer's email (or a phone number)")
    return do_find_or_create_customer(
        email=data.email,
        name=data.name,
        phone=data.phone,
        organization=data.organization,
        timezone_name=data.timezone,
    )


def _check_against_protocol(payload: TicketCreate, protocol) -> None:
    """The checks the schema cannot make (the protocol's channels and groups, the customer's
    details), every one of them, so that one answer lists all that is wrong."""
    errors = []
    channels = sorted(c.id for c in protocol.channels.customer) if protocol else []
    if payload.channel not in channels:
        errors.append(
            {
                "field": "channel",
                "message": f"'{payload.channel}' is not a channel of the protocol ({', '.join(channels)})",
            }
        )
    groups = sorted(g.id for g in protocol.team.groups) if protocol else []
    if payload.group and payload.group not in groups:
        message = f"'{payload.group}' is not a group of the protocol ({', '.join(groups)})"
        errors.append({"field": "group", "message": message})
    if payload.customer is not None and payload.customer_id is not None:
        errors.append({"field": "customer", "message": "give either customer or customer_id, not both"})
    elif payload.customer is None and payload.customer_id is None:
        message = 'give the customer ({"email": ..., "name": ...}) or a customer_id'
        errors.append({"field": "customer", "message": message})
    elif payload.customer is not None and not payload.customer.email and not payload.customer.phone:
        errors.append({"field": "customer.email", "message": "give the customer's email (or a phone number)"})
    if errors:
        raise ApiError(422, errors[0]["message"], errors=errors)


@router.post(
    "", response={201: TicketDetail, **BODY_ERRORS_WITH_404}, summary="Open a ticket on a customer's behalf"
)
def create_ticket(request, payload: TicketCreate):
    """Opens the ticket as the token's person: the body is their first public reply, checked as
    any reply is (422 listing every problem; `override_reason` as for a reply)."""
    caller = caller_of(request)
    caller.require("ticket.view", "ticket.create")
    _check_against_protocol(payload, request.protocol)
    try:
        with transaction.atomic():
            customer = _customer_for(payload, caller)
            ticket = do_create_ticket(
                customer=customer,
                subject=payload.subject,
                body=payload.body,
                channel=payload.channel,
                priority=payload.priority,
                tags=payload.tags,
                group=payload.group,
                by_agent=caller.person,
                override_reason=payload.override_reason,
            )
    except ReplyRefused as refused:  # nothing was stored, not even a new customer
        raise refusal(refused, payload.override_reason) from None
    return HttpStatus(201, ticket_detail(access_ticket(caller, ticket.pk), caller.contact))


@router.get(
    "/attachments/{attachment_id}",
    response={200: None, **ERRORS_WITH_404},
    summary="Download an attachment",
    openapi_extra={"responses": {200: {"description": "the file", "content": {"*/*": {}}}}},
)
def download_attachment(request, attachment_id: int):
    """The file of a message's attachment (internal notes included, as on the desk, for ticket.view),
    as `Content-Disposition: attachment`; pictures inline. Each message lists its attachments with
    this address as `download_url`. Each download is audited (`read.attachment`)."""
    from charterdesk.audit.actions import do_record_reading
    from charterdesk.core.client import client_ip

    found = access_attachment(caller_of(request), attachment_id)
    do_record_reading(
        request.user, "attachment", f"attachment:{found.pk}", ip=client_ip(request), data={"via": "api"}
    )
    return serve(found)


@router.get("/{ticket_id}", response={200: TicketDetail, **ERRORS_WITH_404}, summary="Read a ticket")
def read_ticket(request, ticket_id: int):
    """The ticket with every message, internal notes included (as on the desk, for ticket.view)."""
    caller = caller_of(request)
    return ticket_detail(access_ticket(caller, ticket_id), caller.contact)


@router.patch("/{ticket_id}", response={200: TicketDetail, **BODY_ERRORS_WITH_404}, summary="Change a ticket")
def update_ticket(request, ticket_id: int, payload: TicketPatch):
    """Change status, priority, tags, group and assignee together: all of it happens, or none."""
    caller = caller_of(request)
    given = payload.model_fields_set
    needed = ["ticket.view"]
    if given & {"priority", "tags", "group"}:
        needed.append("ticket.edit")
    if "assignee" in given:
        needed.append("ticket.assign")
    caller.require(*needed)
    if "status" in given and payload.status is not None:
        require_status(caller, payload.status, "status")
    ticket = access_ticket(caller, ticket_id)
    if payload.group:
        _check_group(payload.group, ticket)
    tags = payload.tags if "tags" in given else None
    _act(
        lambda: do_set_properties(
            ticket,
            actor=caller.person,
            priority=payload.priority if "priority" in given else None,
            group=(payload.group or None) if "group" in given else UNCHANGED,
            add_tags=tags.add if tags else (),
            remove_tags=tags.remove if tags else (),
            assignee=_assignee(payload.assignee, caller) if "assignee" in given else UNCHANGED,
            status=payload.status if "status" in given else None,
        ),
        None,
    )
    return ticket_detail(access_ticket(caller, ticket_id), caller.contact)


def _check_group(group: str, ticket: Ticket) -> None:
    """422 for a group the ticket's protocol does not have: the document lists the groups."""
    groups = sorted(g.id for g in protocol_for(ticket).team.groups)
    if group not in groups:
        raise invalid("group", f"'{group}' is not a group of the protocol ({', '.join(groups)})")


def _act(change, field: str):
    try:
        return change()
    except TicketError as exc:
        raise from_ticket_error(exc, field) from None


def _assignee(value, caller):
    if value is None:
        return None
    if value == "me":
        return caller.person
    person = Person.objects.filter(pk=value).first()
    if person is None:
        # As for customer_id: the ticket at the address is there, the person named in the body is not.
        raise conflict("assignee", f"there is no person #{value}")
    if not person.is_active:
        raise conflict("assignee", f"{person.name} is deactivated")
    return person


def refusal(refused: ReplyRefused, reason: str) -> ApiError:
    """422 listing every objection (``code``, ``clause``, ``override``: the permission that lets a
    person send anyway with ``override_reason``, or null), and why an override was not taken."""
    errors = [{"field": "body", **o.as_dict()} for o in refused.objections]
    if not refused.may_override and reason.strip():
        errors.append({"field": "override_reason", "message": "your roles may not send this reply anyway"})
    elif refused.may_override:
        errors.append(
            {"field": "override_reason", "message": "give a reason to send this reply despite the problems"}
        )
    return ApiError(422, errors[0]["message"], errors=errors)


@router.post(
    "/{ticket_id}/reply",
    response={201: MessageOut, **BODY_ERRORS_WITH_404},
    summary="Reply to the customer",
)
def reply(request, ticket_id: int, payload: ReplyIn):
    """A public reply, sent to the customer; `next_status` sets the status in the same change."""
    caller = caller_of(request)
    caller.require("ticket.view", "ticket.reply")
    if payload.next_status:
        require_status(caller, payload.next_status, "next_status")
    ticket = access_ticket(caller, ticket_id)
    try:
        message = do_reply(
            ticket,
            author=caller.person,
            body=payload.body,
            public=True,
            next_status=payload.next_status,
            override_reason=payload.override_reason,
        )
    except ReplyRefused as refused:
        raise refusal(refused, payload.override_reason) from None
    except TicketError as exc:
        error = from_ticket_error(exc)
        for item in error.errors:
            item["field"] = {"status": "next_status"}.get(item["field"], item["field"])
        raise error from None
    return HttpStatus(201, message_out(message, caller.contact))


@router.post(
    "/{ticket_id}/notes",
    response={201: MessageOut, **BODY_ERRORS_WITH_404},
    summary="Add an internal note",
)
def note(request, ticket_id: int, payload: NoteIn):
    """An internal note: never sent to the customer, never a reply for the SLA."""
    caller = caller_of(request)
    ticket = access_ticket(caller, ticket_id, "ticket.note")
    message = _act(lambda: do_reply(ticket, author=caller.person, body=payload.body, public=False), "body")
    return HttpStatus(201, message_out(message, caller.contact))


@router.post(
    "/{ticket_id}/messages/{message_id}/confirm-sender",
    response={200: MessageOut, **ERRORS_WITH_404},
    summary="Confirm an unverified sender",
)
def confirm_sender(request, ticket_id: int, message_id: int):
    """Confirm the sender of a message marked `unverified_sender`, after checking with the customer
    another way (a call to their known number): it then shows in their portal. Needs ticket.edit;
    audited with the caller as actor. A message with nothing to confirm is returned unchanged."""
    caller = caller_of(request)
    ticket = access_ticket(caller, ticket_id, "ticket.edit")
    message = Message.objects.filter(ticket=ticket, pk=message_id).first()
    if message is None:
        raise not_found("message_id", f"There is no message {message_id} on ticket #{ticket.pk}.")
    do_confirm_sender(message, how="agent", actor=caller.person)
    message.refresh_from_db()
    return message_out(message, caller.contact)


@router.get("/{ticket_id}/sla", response={200: SlaOut, **ERRORS_WITH_404}, summary="SLA clocks")
def sla(request, ticket_id: int):
    """Every metric cycle with its target, start, due time and outcome, judged now, and the
    escalation rules that fired (`carried_out`: the desk has done their actions)."""
    ticket = access_ticket(caller_of(request), ticket_id)
    now = timezone.now().replace(microsecond=0)
    result = evaluate(ticket, now)
    done = set(
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATION).values_list(
            "data__key", flat=True
        )
    )
    return sla_out(ticket, result, done)
