"""The only way the workspace fetches tickets, customers and macros on a person's behalf.

Every permission comes from the person's roles in the protocol in force
(``charterdesk.core.permissions``). The choices this module makes where the permission
list is silent:

- moving a ticket between open, pending and on hold is part of answering it: ``ticket.reply``
  or ``ticket.edit`` allows it; ``solved`` needs ``ticket.solve``; nobody closes a ticket by
  hand (the protocol's ``auto_close_solved_after`` and merging do);
- ticking procedure steps and recording a troubleshooting walk are notes: ``ticket.note``;
- editing a customer's details needs ``ticket.edit``;
- everyone who may reply keeps personal saved replies; shared ones need ``ticket.edit``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from charterdesk.core.permissions import can, request_permissions, require, sees_customer_contact

from .choices import Status
from .models import Attachment, Customer, Macro, Ticket

MANUAL_STATUSES = (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED)

# Who may set which status by hand, for the pages and the API alike: any one of these permissions.
STATUS_NEEDS: dict[str, tuple[str, ...]] = {
    Status.OPEN: ("ticket.reply", "ticket.edit"),
    Status.PENDING: ("ticket.reply", "ticket.edit"),
    Status.ON_HOLD: ("ticket.reply", "ticket.edit"),
    Status.SOLVED: ("ticket.solve",),
}
# The statuses nobody sets by hand, and why.
NOT_BY_HAND: dict[str, str] = {
    Status.NEW: "a ticket cannot go back to new",
    Status.CLOSED: (
        "a ticket is not closed by hand: solve it, and the protocol's auto_close_solved_after closes it"
    ),
}


def may_set_status(permissions: frozenset[str], status: str) -> bool:
    """Whether a person holding ``permissions`` may set ``status`` by hand."""
    return any(p in permissions for p in STATUS_NEEDS.get(status, ()))


def ticket_queryset():
    """Tickets with what every workspace page shows of them, in one query."""
    return Ticket.objects.select_related("customer", "assignee", "protocol_version")


def access_ticket(request, ticket_id: int, permission: str = "ticket.view") -> Ticket:
    """The ticket, when the person may see tickets (and holds ``permission``); else 403 or 404."""
    require(request, "ticket.view")
    if permission != "ticket.view":
        require(request, permission)
    ticket = ticket_queryset().filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404(f"There is no ticket #{ticket_id}.")
    return ticket


def access_ticket_by_reference(request, text: str) -> Ticket:
    """A ticket named as an agent types it ('#42' or '42'), for linking and merging."""
    digits = (text or "").strip().lstrip("#")
    if not digits.isdigit():
        raise ValueError(f"'{text}' is not a ticket number; write it as #42")
    ticket = ticket_queryset().filter(pk=int(digits)).first()
    if ticket is None:
        raise ValueError(f"there is no ticket #{digits}")
    return ticket


def access_tickets(request, ids) -> list[Ticket]:
    require(request, "ticket.view")
    return list(ticket_queryset().filter(pk__in=ids).order_by("pk"))


def access_customer_for_edit(request, ticket: Ticket) -> Customer:
    """Editing a customer shows and changes their contact details: ticket.edit and access to
    customer data (sees_customer_contact), else 403."""
    require(request, "ticket.edit")
    if not sees_customer_contact(request.user, request.protocol):
        raise PermissionDenied("Your roles do not give access to customer data.")
    return ticket.customer


def can_set_status(request, status: str) -> bool:
    return may_set_status(request_permissions(request), status)


def require_status(request, status: str) -> None:
    if status not in STATUS_NEEDS:
        raise PermissionDenied(f"Status '{status}' cannot be set by hand.")
    if not can_set_status(request, status):
        raise PermissionDenied(f"Your roles do not grant {' or '.join(STATUS_NEEDS[status])}.")


def status_choices(request, *, include_keep: bool = False) -> list[tuple[str, str]]:
    choices = [(s.value, s.label) for s in MANUAL_STATUSES if can_set_status(request, s)]
    return ([("", "Keep the status")] if include_keep else []) + choices


def can_use_macros(request) -> bool:
    return can(request, "ticket.reply") or can(request, "ticket.note")


def access_macro(request, macro_id: int, *, edit: bool = False) -> Macro:
    """A saved reply the person may use (shared, or their own); ``edit``: may also change it."""
    if not can_use_macros(request):
        raise PermissionDenied("Your roles do not grant ticket.reply or ticket.note.")
    macro = Macro.objects.filter(Q(owner__isnull=True) | Q(owner=request.user), pk=macro_id).first()
    if macro is None:
        raise Http404("There is no such saved reply.")
    if edit and macro.owner_id is None:
        require(request, "ticket.edit")
    return macro


def workspace_rights(request) -> dict[str, bool]:
    """What the templates show: one flag per move (a hidden button is also a 403 endpoint)."""
    return {
        "view": can(request, "ticket.view"),
        "reply": can(request, "ticket.reply"),
        "note": can(request, "ticket.note"),
        "solve": can(request, "ticket.solve"),
        "assign": can(request, "ticket.assign"),
        "edit": can(request, "ticket.edit"),
        "merge": can(request, "ticket.merge"),
        "create": can(request, "ticket.create"),
        "status": can(request, "ticket.reply") or can(request, "ticket.edit"),
        "macros": can_use_macros(request),
        "shared_macros": can(request, "ticket.edit"),
    }


def access_attachment(request, attachment_id: int) -> Attachment:
    """A file on any message of any ticket (internal notes included), for people who see tickets."""
    require(request, "ticket.view")
    attachment = Attachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("There is no such attachment.")
    return attachment
