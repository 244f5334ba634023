"""/api/v1/customers: find, add, read and correct customer records.

Reading needs customer.view. What a reader sees follows the desk's one rule for customer data
(``core.permissions.sees_customer_contact``, as on the pages): a caller whose roles are not listed
in ``privacy.access.customer_data`` (when the protocol lists roles) sees masked names and no email
or phone, and searches names and organisations only (a search by email or phone would tell them
whose it is; one with an email address is refused, as on /tickets and /search). The protocol has
no separate right to write customer records: adding one needs customer.view and ticket.create
(whoever may open tickets on a customer's behalf already records new customers that way);
correcting one needs customer.view and ticket.edit and access to customer data, as editing a
customer's details on the desk does.
"""

from __future__ import annotations

from django.db.models import Q
from ninja import Query, Router, Status

from charterdesk.tickets.actions import do_create_customer, do_update_customer
from charterdesk.tickets.models import Customer, Ticket
from charterdesk.tickets.search import ADDRESS_NEEDS_CONTACT, names_an_address

from . import cursor
from .access import access_customer
from .auth import caller_of
from .errors import ApiError, conflict, invalid
from .present import customer_name, customer_out
from .schemas import (
    BODY_ERRORS,
    BODY_ERRORS_WITH_404,
    ERRORS_WITH_404,
    CustomerDetail,
    CustomerIn,
    CustomerPage,
    CustomerPatch,
    text,
)

router = Router(tags=["customers"])

BY_NAME = cursor.Order("name", "name", value_type=str)
CREATE = ("customer.view", "ticket.create")
EDIT = ("customer.view", "ticket.edit")


def matching(q: str, *, contact: bool) -> Q:
    """Customers whose name, email, phone or organisation contain every word of ``q``; without
    access to customer data (``contact``), whose name or organisation do."""
    condition = Q()
    for word in q.split():
        either = Q(name__icontains=word) | Q(organization__icontains=word)
        if contact:
            either |= Q(email__icontains=word) | Q(phone__icontains=word)
        condition &= either
    return condition


def _detail(customer: Customer, caller) -> dict:
    tickets = None
    if caller.can("ticket.view"):
        rows = Ticket.objects.filter(customer=customer).order_by("-created_at", "-id")[:20]
        tickets = [
            {"id": t.pk, "subject": t.subject, "status": t.status, "created_at": t.created_at} for t in rows
        ]
    return {**customer_out(customer, caller.contact), "tickets": tickets}


@router.get("", response={200: CustomerPage, **ERRORS_WITH_404}, summary="List or search customers")
def list_customers(
    request,
    q: str | None = Query(None, description="words in the name, email, phone or organisation"),
    cursor_: text(pattern=cursor.PATTERN) | None = Query(
        None,
        alias="cursor",
        description="the next_cursor of the previous page (404 when it names no page of this list)",
    ),
    limit: int = Query(25, ge=1, le=100),
):
    """Customers by name; follow `next` until it is null."""
    caller = caller_of(request)
    caller.require("customer.view")
    customers = Customer.objects.all()
    if q and q.strip():
        if not caller.contact and names_an_address(q):
            raise invalid("q", ADDRESS_NEEDS_CONTACT)
        customers = customers.filter(matching(q, contact=caller.contact))
    page = cursor.paginate(customers, BY_NAME, cursor_, limit)
    return {
        "items": [customer_out(c, caller.contact) for c in page.rows],
        "next": cursor.next_link(request, page.next_cursor),
        "next_cursor": page.next_cursor,
    }


@router.post("", response={201: CustomerDetail, **BODY_ERRORS}, summary="Add a customer")
def create_customer(request, payload: CustomerIn):
    caller = caller_of(request)
    caller.require(*CREATE)
    if payload.email and Customer.objects.filter(email=payload.email).exists():
        existing = Customer.objects.get(email=payload.email)
        name = customer_name(existing, caller.contact)
        raise conflict("email", f"customer #{existing.pk} ({name}) already has this email")
    customer = do_create_customer(
        actor=caller.person,
        name=payload.name,
        email=payload.email,
        phone=payload.phone,
        organization=payload.organization,
        timezone_name=payload.timezone,
        language=payload.language,
    )
    return Status(201, _detail(customer, caller))


@router.get("/{customer_id}", response={200: CustomerDetail, **ERRORS_WITH_404}, summary="Read a customer")
def read_customer(request, customer_id: int):
    caller = caller_of(request)
    return _detail(access_customer(caller, customer_id), caller)


@router.patch(
    "/{customer_id}", response={200: CustomerDetail, **BODY_ERRORS_WITH_404}, summary="Correct a customer"
)
def update_customer(request, customer_id: int, payload: CustomerPatch):
    caller = caller_of(request)
    customer = access_customer(caller, customer_id, *EDIT)
    if not caller.contact:
        # As on the pages (tickets.access.access_customer_for_edit): correcting details shows them.
        raise ApiError(403, "Your roles do not give access to customer data.")
    changes = {}
    for field in payload.model_fields_set:
        changes[field] = getattr(payload, field)
    email = changes.get("email")
    if email and Customer.objects.filter(email=email).exclude(pk=customer.pk).exists():
        raise conflict("email", "another customer already has this email")
    if changes:
        customer = do_update_customer(customer, actor=caller.person, **changes)
    return _detail(customer, caller)
