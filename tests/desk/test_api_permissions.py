"""Every API endpoint x every role of the example protocol, plus no token and a revoked token.

What each role may do is read from the protocol in force (``permissions_of``), never written
down here; this file states only which permissions each endpoint needs (docs/api.md says the
same). A call is allowed exactly when the caller's permissions satisfy the endpoint's need;
a denied call is a 403 naming a permission the caller lacks, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db.models import F
from django.test import Client

from charterdesk.api.actions import do_create_token, do_revoke_token
from charterdesk.audit.models import AuditEntry
from charterdesk.core.permissions import permissions_of
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer

ROLES = ("agent", "lead", "manager")


def all_of(*names: str) -> Callable[[frozenset[str]], bool]:
    def need(held: frozenset[str]) -> bool:
        return all(name in held for name in names)

    need.names = names  # type: ignore[attr-defined]
    return need


def any_of(*names: str) -> Callable[[frozenset[str]], bool]:
    def need(held: frozenset[str]) -> bool:
        return any(name in held for name in names)

    need.names = names  # type: ignore[attr-defined]
    return need


def both(*needs) -> Callable[[frozenset[str]], bool]:
    def need(held: frozenset[str]) -> bool:
        return all(one(held) for one in needs)

    need.names = tuple(name for one in needs for name in one.names)  # type: ignore[attr-defined]
    return need


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {ticket} and {customer} are filled in per call
    body: dict | None
    need: Callable[[frozenset[str]], bool]
    success: int = 200


ENDPOINTS = [
    Endpoint("me", "get", "/api/v1/me", None, all_of()),
    Endpoint("list tickets", "get", "/api/v1/tickets?status=new&limit=5", None, all_of("ticket.view")),
    Endpoint(
        "create ticket for a customer by email",
        "post",
        "/api/v1/tickets",
        {
            "customer": {"email": "new@example.com", "name": "New"},
            "subject": "S",
            "body": "B",
            "channel": "email",
        },
        all_of("ticket.view", "ticket.create"),
        201,
    ),
    Endpoint(
        "create ticket for a customer by id",
        "post",
        "/api/v1/tickets",
        {"customer_id": "{customer}", "subject": "S", "body": "B", "channel": "web"},
        all_of("ticket.view", "ticket.create", "customer.view"),
        201,
    ),
    Endpoint("read ticket", "get", "/api/v1/tickets/{ticket}", None, all_of("ticket.view")),
    Endpoint("ticket SLA", "get", "/api/v1/tickets/{ticket}/sla", None, all_of("ticket.view")),
    Endpoint(
        "solve",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"status": "solved"},
        all_of("ticket.view", "ticket.solve"),
    ),
    Endpoint(
        "set pending",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"status": "pending"},
        both(all_of("ticket.view"), any_of("ticket.reply", "ticket.edit")),
    ),
    # Nobody closes a ticket by hand (the protocol's auto-close and merging do): 422 for all who may see it.
    Endpoint("close", "patch", "/api/v1/tickets/{ticket}", {"status": "closed"}, all_of("ticket.view"), 422),
    Endpoint(
        "set priority",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"priority": "high"},
        all_of("ticket.view", "ticket.edit"),
    ),
    Endpoint(
        "change tags",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"tags": {"add": ["vip"]}},
        all_of("ticket.view", "ticket.edit"),
    ),
    Endpoint(
        "set group",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"group": "escalations"},
        all_of("ticket.view", "ticket.edit"),
    ),
    Endpoint(
        "assign",
        "patch",
        "/api/v1/tickets/{ticket}",
        {"assignee": "me"},
        all_of("ticket.view", "ticket.assign"),
    ),
    Endpoint(
        "reply",
        "post",
        "/api/v1/tickets/{ticket}/reply",
        {"body": "Hello Jo, on its way. Thanks"},
        all_of("ticket.view", "ticket.reply"),
        201,
    ),
    Endpoint(
        "reply and wait on the customer",
        "post",
        "/api/v1/tickets/{ticket}/reply",
        {"body": "Hello Jo, which order? Thanks", "next_status": "pending"},
        all_of("ticket.view", "ticket.reply"),
        201,
    ),
    Endpoint(
        "reply and solve",
        "post",
        "/api/v1/tickets/{ticket}/reply",
        {"body": "Hello Jo, done. Thanks", "next_status": "solved"},
        all_of("ticket.view", "ticket.reply", "ticket.solve"),
        201,
    ),
    Endpoint(
        "reply and close",
        "post",
        "/api/v1/tickets/{ticket}/reply",
        {"body": "Hello Jo, done. Thanks", "next_status": "closed"},
        all_of("ticket.view", "ticket.reply"),
        422,
    ),
    Endpoint(
        "note",
        "post",
        "/api/v1/tickets/{ticket}/notes",
        {"body": "Checked the order."},
        all_of("ticket.view", "ticket.note"),
        201,
    ),
    Endpoint("list customers", "get", "/api/v1/customers?q=jo", None, all_of("customer.view")),
    Endpoint(
        "create customer",
        "post",
        "/api/v1/customers",
        {"name": "Ana", "email": "ana@example.com"},
        all_of("customer.view", "ticket.create"),
        201,
    ),
    Endpoint("read customer", "get", "/api/v1/customers/{customer}", None, all_of("customer.view")),
    Endpoint(
        "correct customer",
        "patch",
        "/api/v1/customers/{customer}",
        {"organization": "Peak Co"},
        all_of("customer.view", "ticket.edit"),
    ),
    Endpoint("groups", "get", "/api/v1/groups", None, all_of("ticket.view")),
    Endpoint("people", "get", "/api/v1/people", None, any_of("people.manage", "ticket.assign")),
    Endpoint("search", "get", "/api/v1/search?q=jo", None, any_of("ticket.view", "customer.view")),
]


@pytest.fixture(autouse=True)
def setting(demo):
    cache.clear()
    # Ticket actions count whole seconds; the demo published to the microsecond (see test_api.py).
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    yield
    cache.clear()


def _fill(value, ids: dict):
    if isinstance(value, str):
        for key, number in ids.items():
            if value == "{" + key + "}":
                return number
            value = value.replace("{" + key + "}", str(number))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(client: Client, endpoint: Endpoint, ids: dict):
    path = _fill(endpoint.path, ids)
    if endpoint.body is None:
        return getattr(client, endpoint.method)(path)
    return getattr(client, endpoint.method)(path, _fill(endpoint.body, ids), content_type="application/json")


def _fresh_objects(n: int) -> dict:
    customer = do_find_or_create_customer(email=f"jo{n}@example.com", name="Jo Walker")
    ticket = do_create_ticket(customer=customer, subject="Tent pole", body="Broken", channel="email")
    return {"ticket": ticket.pk, "customer": customer.pk}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_call_exactly_what_its_protocol_permissions_allow(demo, role):
    """For every endpoint: allowed (the endpoint's success status) when the role's permissions in the
    protocol in force satisfy the endpoint's need; otherwise 403 naming a missing permission, and
    nothing is written."""
    held = permissions_of(demo[role], protocol_of(version_in_force()))
    client = Client(headers={"Authorization": f"Bearer {do_create_token(demo[role], 'm', actor=None)[1]}"})
    wrong = []
    allowed = denied = 0
    for n, endpoint in enumerate(ENDPOINTS):
        ids = _fresh_objects(n)
        audit_before = AuditEntry.objects.count()
        response = _call(client, endpoint, ids)
        if endpoint.need(held):
            allowed += 1
            if response.status_code != endpoint.success:
                wrong.append(
                    f"{endpoint.name}: expected {endpoint.success}, "
                    f"got {response.status_code} {response.content[:200]!r}"
                )
        else:
            denied += 1
            if response.status_code != 403:
                wrong.append(f"{endpoint.name}: expected 403, got {response.status_code}")
                continue
            named = response.json()["errors"][0]["permission"]
            if not set(named.split(" or ")) <= set(endpoint.need.names) - held:  # type: ignore[attr-defined]
                wrong.append(f"{endpoint.name}: 403 names {named}, which is not what the role lacks")
            if AuditEntry.objects.count() != audit_before:
                wrong.append(f"{endpoint.name}: a denied call wrote to the audit log")
    assert not wrong, "\n".join(wrong)
    assert allowed + denied == len(ENDPOINTS)


def test_the_matrix_is_not_trivial(demo):
    """The example protocol's roles really differ on this API: the agent is refused something
    (changing a ticket's properties, creating customers), the lead (who holds ``ticket.*`` and
    ``customer.view``) less than the agent, the manager nothing."""
    protocol = protocol_of(version_in_force())
    refused = {
        role: [e.name for e in ENDPOINTS if not e.need(permissions_of(demo[role], protocol))]
        for role in ROLES
    }
    assert refused["agent"] and not refused["manager"]
    assert set(refused["lead"]) < set(refused["agent"])


@pytest.mark.parametrize("who", ["no token", "revoked token"])
def test_without_a_valid_token_every_endpoint_is_401(demo, who):
    """No token, or a revoked one, gets 401 everywhere, before any permission or input is looked at."""
    headers = {}
    if who == "revoked token":
        token, secret = do_create_token(demo["manager"], "old", actor=None)
        do_revoke_token(token, actor=None)
        headers = {"Authorization": f"Bearer {secret}"}
    client = Client(headers=headers)
    ids = _fresh_objects(0)
    audit_before = AuditEntry.objects.count()
    codes = {endpoint.name: _call(client, endpoint, ids).status_code for endpoint in ENDPOINTS}
    assert codes == dict.fromkeys(codes, 401)
    assert AuditEntry.objects.count() == audit_before
