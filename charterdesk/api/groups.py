"""/api/v1/groups: the groups of the protocol in force, with their roles, channels and members."""

from __future__ import annotations

from ninja import Router

from charterdesk.accounts.models import Person

from .auth import caller_of
from .schemas import ERRORS, GroupOut

router = Router(tags=["groups"])


@router.get("", response={200: list[GroupOut], **ERRORS}, summary="Groups of the protocol in force")
def list_groups(request):
    """Needs ticket.view: groups are where tickets are routed. Empty when no version is in force."""
    caller_of(request).require("ticket.view")
    protocol = request.protocol
    if not protocol:  # a lazy object: falsy when no version is in force
        return []
    people = list(Person.objects.filter(is_active=True).prefetch_related("roles").order_by("name", "id"))
    held = {p.pk: {r.role for r in p.roles.all()} for p in people}
    return [
        {
            "id": group.id,
            "name": group.name,
            "roles": list(group.roles),
            "channels": list(group.channels),
            "members": [{"id": p.pk, "name": p.name} for p in people if held[p.pk] & set(group.roles)],
        }
        for group in protocol.team.groups
    ]
