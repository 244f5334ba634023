"""Every API endpoint x every role of the example protocol, plus no token and a revoked token.

What each role may do is read from the protocol in force (``permissions_of``), never written
down here; this file states only which permissions each endpoint needs (docs/api.md says the
same). A call is allowed exactly when the caller's permissions satisfy the endpoint's need;
a denied call is a 403 naming a permission the caller lacks, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
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


# --------------------------------------------------------------------------- permission first

# Bodies and parameters that ninja itself would refuse (400 or 422) if it read them before the
# permission: not JSON at all, and JSON of the wrong shape.
BAD_BODIES = ('{"subject": ', '["not", "an", "object"]')
BAD_PATH_VALUE = "not-a-number"
BAD_QUERY = "?limit=0&cursor=%%%&sort=sideways&include_inactive=perhaps"


def _operations():
    """(method, path, operation) for every operation of the OpenAPI document the desk serves."""
    from charterdesk.api.main import api

    document = api.get_openapi_schema()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def _bad_request(client: Client, method: str, path: str, body: str | None):
    url = re.sub(r"\{[a-z_]+\}", BAD_PATH_VALUE, path) + BAD_QUERY
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, body, content_type="application/json")


def _subjects(demo, person):
    """The demo protocol's roles, and a person who holds no role at all."""
    return {**{role: demo[role] for role in ROLES}, "no role": person("nobody@example.com", [])}


@pytest.fixture
def no_rate_limit(settings):
    """The rate limits are not what these walks are about: they make many calls in a minute."""
    settings.CHARTERDESK_API_RATE = settings.CHARTERDESK_API_ANON_RATE = "100000/minute"


def test_every_operation_checks_its_permission_before_reading_the_request(demo, person, no_rate_limit):
    """A caller whose roles lack an operation's permission gets 403 whatever they send: a body
    that is not JSON, a body of the wrong shape, parameters of the wrong type, a required
    parameter left out. Nothing of the request is read or judged before the permission, so a
    refused caller learns nothing about the endpoint. Walks every operation of the OpenAPI
    document, each with every role of the example protocol and a person with no role."""
    protocol = protocol_of(version_in_force())
    subjects = _subjects(demo, person)
    held = {name: permissions_of(who, protocol) for name, who in subjects.items()}
    clients = {
        name: Client(headers={"Authorization": f"Bearer {do_create_token(who, 'p', actor=None)[1]}"})
        for name, who in subjects.items()
    }
    wrong, refused = [], 0
    for method, path, operation in _operations():
        need = operation.get("x-permissions")
        if need is None:
            wrong.append(f"{method} {path} declares no x-permissions")
            continue
        if not need["all"] and not need["any"]:
            continue  # any valid token (/me): nobody with a token lacks it
        has_body = "requestBody" in operation
        for name, permissions in held.items():
            met = all(p in permissions for p in need["all"]) and (
                not need["any"] or any(p in permissions for p in need["any"])
            )
            if met:
                continue
            audit_before = AuditEntry.objects.count()
            for body in BAD_BODIES if has_body else (None,):
                response = _bad_request(clients[name], method, path, body)
                refused += 1
                if response.status_code != 403:
                    got = f"{response.status_code} {response.content[:120]!r}"
                    wrong.append(f"{name}: {method} {path} with {body!r}: {got}")
                elif not response.json()["errors"][0].get("permission"):
                    wrong.append(f"{name}: {method} {path}: the 403 names no permission")
            if AuditEntry.objects.count() != audit_before:
                wrong.append(f"{name}: {method} {path}: a refused call wrote to the audit log")
    assert not wrong, "\n".join(wrong)
    # The walk really refused something on every kind of operation (a no-role person lacks all).
    assert refused >= 15


def test_without_a_token_every_operation_is_401_whatever_the_body(demo, no_rate_limit):
    """No token (or a wrong one) is 401 on every operation of the OpenAPI document, even with a
    body that is not JSON and parameters of the wrong type: who is calling comes first."""
    wrong = []
    for headers in ({}, {"Authorization": "Bearer cdk_not-a-token"}):
        client = Client(headers=headers)
        for method, path, operation in _operations():
            for body in BAD_BODIES if "requestBody" in operation else (None,):
                code = _bad_request(client, method, path, body).status_code
                if code != 401:
                    wrong.append(f"{headers or 'no token'}: {method} {path} with {body!r}: {code}")
    assert not wrong, "\n".join(wrong)


def test_every_operation_declares_its_permission_or_the_api_does_not_start():
    """An endpoint added without saying what it needs stops the desk at start-up instead of
    answering callers unchecked, and so does an entry for an endpoint that is not there."""
    from ninja import Router

    from charterdesk.api import needs

    router = Router()

    @router.get("/unlisted")
    def unlisted(request):
        return {}

    with pytest.raises(needs.UndeclaredOperation, match="GET /api/v1/nowhere/unlisted"):
        needs.guard(router, "/v1/nowhere")
    needs.NEEDS[("GET", "/api/v1/gone")] = needs.all_of("ticket.view")
    try:
        with pytest.raises(needs.UndeclaredOperation, match="/api/v1/gone"):
            needs.check_every_need_is_used()
    finally:
        del needs.NEEDS[("GET", "/api/v1/gone")]
