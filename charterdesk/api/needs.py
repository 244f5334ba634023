"""What each API operation needs, checked before anything of the request is read.

django-ninja reads and validates a request's parameters and body before the view function
runs, so a permission checked inside the view comes too late: a caller without it would be told
what is wrong with their body (422) and so learn the endpoint's shape, instead of 403. The one
thing ninja runs before reading the request is the operation's ``auth=`` callables. So each
operation's auth here is the token check (``TokenAuth``) followed at once by the operation's
permission, read from ``NEEDS`` below: 401 without a valid token, then 403 without the
permission, then the parameters and the body, then whatever the view checks on what was sent
(PATCH's per-field permissions, ``customer_id``'s ``customer.view``).

``guard`` refuses to start the API when an operation has no entry in ``NEEDS`` or an entry
names no operation, so a new endpoint cannot ship without saying what it needs. The OpenAPI
document shows each operation's need as ``x-permissions`` (``all``: every one of these; ``any``:
at least one of these), and docs/api.md lists the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from charterdesk.protocol.permissions import PERMISSIONS

from .auth import Caller, TokenAuth


@dataclass(frozen=True)
class Need:
    """Every permission in ``all`` and, when ``any`` is given, at least one of ``any``."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()

    def met_by(self, held: frozenset[str]) -> bool:
        return all(p in held for p in self.all) and (not self.any or any(p in held for p in self.any))

    def check(self, caller: Caller) -> None:
        """403 naming the first permission (or the set of alternatives) the caller lacks."""
        caller.require(*self.all)
        if self.any:
            caller.require_any(*self.any)

    def as_openapi(self) -> dict[str, list[str]]:
        return {"all": list(self.all), "any": list(self.any)}


def all_of(*permissions: str) -> Need:
    return Need(all=permissions)


# Any valid token: /me tells a script who its token acts as, whatever their roles.
A_VALID_TOKEN = Need()

# A PATCH of a ticket changes something only with one of these: ticket.edit (priority, tags,
# group, status), ticket.assign (assignee), ticket.reply (open, pending, on hold), ticket.solve
# (solved); tickets.access.STATUS_NEEDS. The view then checks what the body actually changes.
TICKET_CHANGES = ("ticket.edit", "ticket.assign", "ticket.reply", "ticket.solve")

NEEDS: dict[tuple[str, str], Need] = {
    ("GET", "/api/v1/me"): A_VALID_TOKEN,
    ("GET", "/api/v1/tickets"): all_of("ticket.view"),
    ("POST", "/api/v1/tickets"): all_of("ticket.view", "ticket.create"),
    ("GET", "/api/v1/tickets/attachments/{attachment_id}"): all_of("ticket.view"),
    ("GET", "/api/v1/tickets/{ticket_id}"): all_of("ticket.view"),
    ("PATCH", "/api/v1/tickets/{ticket_id}"): Need(all=("ticket.view",), any=TICKET_CHANGES),
    ("POST", "/api/v1/tickets/{ticket_id}/reply"): all_of("ticket.view", "ticket.reply"),
    ("POST", "/api/v1/tickets/{ticket_id}/notes"): all_of("ticket.view", "ticket.note"),
    ("POST", "/api/v1/tickets/{ticket_id}/messages/{message_id}/confirm-sender"): all_of(
        "ticket.view", "ticket.edit"
    ),
    ("GET", "/api/v1/tickets/{ticket_id}/sla"): all_of("ticket.view"),
    ("GET", "/api/v1/customers"): all_of("customer.view"),
    ("POST", "/api/v1/customers"): all_of("customer.view", "ticket.create"),
    ("GET", "/api/v1/customers/{customer_id}"): all_of("customer.view"),
    ("PATCH", "/api/v1/customers/{customer_id}"): all_of("customer.view", "ticket.edit"),
    ("GET", "/api/v1/groups"): all_of("ticket.view"),
    ("GET", "/api/v1/people"): Need(any=("people.manage", "ticket.assign")),
    ("GET", "/api/v1/search"): Need(any=("ticket.view", "customer.view")),
}


class UndeclaredOperation(Exception):
    """An API operation without an entry in NEEDS, or an entry for no operation."""


def guard(router, prefix: str, *, root: str = "/api") -> None:
    """Give every operation of ``router`` (mounted at ``prefix``) its token-and-permission check.

    Call it before ``api.add_router``: ninja copies each operation's auth when it binds the
    router, and keeps an operation's own auth instead of the API's default."""
    for path, view in router.path_operations.items():
        for operation in view.operations:
            needs = set()
            for method in operation.methods:
                key = (method, root + prefix + path)
                need = NEEDS.get(key)
                if need is None:
                    raise UndeclaredOperation(
                        f"{method} {key[1]} is not in charterdesk.api.needs.NEEDS: say what it needs"
                    )
                unknown = [p for p in (*need.all, *need.any) if p not in PERMISSIONS]
                if unknown:
                    raise UndeclaredOperation(f"{method} {key[1]} needs unknown permissions {unknown}")
                needs.add(need)
                _guarded.add(key)
            if len(needs) != 1:
                # One view function answering several methods has one auth: one need for all.
                raise UndeclaredOperation(f"{root + prefix + path}: its methods need different permissions")
            auth = TokenAuth(needs.pop())
            operation.auth_param = auth
            operation._set_auth(auth)
            extra = operation.openapi_extra or {}
            operation.openapi_extra = {**extra, "x-permissions": auth.need.as_openapi()}


_guarded: set[tuple[str, str]] = set()


def check_every_need_is_used() -> None:
    """Every entry of NEEDS names an operation that was guarded (no stale or misspelt entry)."""
    stale = sorted(set(NEEDS) - _guarded)
    if stale:
        raise UndeclaredOperation(f"NEEDS names operations the API does not have: {stale}")
