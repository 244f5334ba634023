"""/api/v1/search: tickets and customers matching some words, each kind as the caller may see it."""

from __future__ import annotations

from ninja import Query, Router

from charterdesk.tickets.models import Customer, Ticket
from charterdesk.tickets.search import ADDRESS_NEEDS_CONTACT, names_an_address
from charterdesk.tickets.search import search as search_tickets

from .auth import caller_of
from .customers import matching
from .errors import invalid
from .present import customer_out, extensions_of, ticket_summary
from .schemas import ERRORS, NOT_BLANK, SearchOut, text

router = Router(tags=["search"])


@router.get("", response={200: SearchOut, **ERRORS}, summary="Search tickets and customers")
def search(
    request,
    q: text(pattern=NOT_BLANK) = Query(..., description="the words to find"),
    limit: int = Query(20, ge=1, le=100),
):
    """Tickets (newest first) need ticket.view; customers need customer.view; one of them is enough."""
    caller = caller_of(request)
    caller.require_any("ticket.view", "customer.view")
    if not q.strip():
        raise invalid("q", "give some words to search for")
    if not caller.contact and names_an_address(q):
        raise invalid("q", ADDRESS_NEEDS_CONTACT)
    tickets = customers = None
    if caller.can("ticket.view"):
        rows = search_tickets(Ticket.objects.select_related("customer", "assignee"), q)
        found = list(rows.order_by("-created_at", "-id")[:limit])
        extra = extensions_of(found)
        tickets = [ticket_summary(t, caller.contact, extra[t.pk]) for t in found]
    if caller.can("customer.view"):
        rows = Customer.objects.filter(matching(q, contact=caller.contact)).order_by("name", "id")[:limit]
        customers = [customer_out(c, caller.contact) for c in rows]
    return {"q": q, "tickets": tickets, "customers": customers}
