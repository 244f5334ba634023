"""/api/v1/people (who can be assigned) and /api/v1/me (who the token acts as)."""

from __future__ import annotations

from ninja import Query, Router

from charterdesk.accounts.models import Person

from .auth import caller_of
from .schemas import ERRORS, MeOut, PersonOut

router = Router(tags=["people"])
me_router = Router(tags=["people"])


@router.get("", response={200: list[PersonOut], **ERRORS}, summary="People of the desk")
def list_people(
    request,
    role: str | None = Query(None, description="only people holding this role"),
    include_inactive: bool = Query(False, description="also deactivated people"),
):
    """Needs people.manage or ticket.assign (to pick an assignee)."""
    caller_of(request).require_any("people.manage", "ticket.assign")
    people = Person.objects.prefetch_related("roles").order_by("name", "id")
    if not include_inactive:
        people = people.filter(is_active=True)
    if role:
        people = people.filter(roles__role=role).distinct()
    return [
        {
            "id": p.pk,
            "name": p.name,
            "email": p.email,
            "roles": sorted(r.role for r in p.roles.all()),
            "away": p.away,
            "active": p.is_active,
            "timezone": p.timezone,
        }
        for p in people
    ]


@me_router.get("", response={200: MeOut, **ERRORS}, summary="Who this token acts as")
def me(request):
    """The token's person, their roles and the permissions those roles grant now. Any valid token."""
    caller = caller_of(request)
    person = caller.person
    version = request.protocol_version
    return {
        "id": person.pk,
        "name": person.name,
        "email": person.email,
        "timezone": person.timezone,
        "roles": person.role_ids,
        "permissions": sorted(caller.permissions),
        "protocol_version": version.version if version else None,
        "token": {
            "name": caller.token.name,
            "prefix": caller.token.prefix,
            "created_at": caller.token.created_at,
        },
    }
