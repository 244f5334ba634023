"""Every page of the desk x every role of the example protocol, a person with no role, a signed-out
visitor, and a portal customer (A) reaching for another customer's (B's) things.

The URL patterns come from Django's resolver, so a new page fails ``test_every_page_has_an_
expectation`` until it is added to ``PAGES`` below. What each role may do is read from the protocol
in force (``permissions_of``), never written down here; ``PAGES`` states only what each page needs,
as its view checks it. A page is reached exactly when the visitor's permissions satisfy that need:
signed-out visitors are sent to sign in, a missing permission is a 403, another customer's portal
ticket or file is a 404; and a refused POST changes nothing (no row count, no audit entry, no
field of the objects it aimed at). The API's endpoints are token-only here (a browser session is
401 on every one); what each role may do there is test_api_permissions.py's matrix.

Each request runs in a savepoint that is rolled back, so every visitor meets the same world.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from charterdesk.accounts.actions import do_add_person
from charterdesk.api.actions import do_create_token
from charterdesk.audit.models import AuditEntry
from charterdesk.core.permissions import permissions_of
from charterdesk.library.actions import do_create_draft
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.notifications.actions import notify
from charterdesk.portal.actions import SESSION_KEY
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
from charterdesk.tickets.attachments import IncomingFile, do_reply_with_files
from charterdesk.tickets.macros import do_save_macro
from charterdesk.tickets.models import Customer, Macro, Ticket

ROLES = ("agent", "lead", "manager")
VISITORS = (*ROLES, "nobody", "signed_out", "customer_a")
MISSING = 987654  # an id nothing has


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    ticket_a: Ticket
    ticket_b: Ticket
    customer_a: Customer
    public_file_a: int
    note_file_a: int
    public_file_b: int
    shared_macro: Macro
    draft: ProtocolVersion
    in_force: ProtocolVersion
    agent_id: int
    manager_notification: int
    manager_token: int
    procedure: str
    tree: str
    people: dict = field(default_factory=dict)


@pytest.fixture
def world(demo, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    agent, manager = demo["agent"], demo["manager"]
    customer_a = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    customer_b = do_find_or_create_customer(email="sam@example.com", name="Sam Berg")
    ticket_a = do_create_ticket(customer=customer_a, subject="Pole", body="Snapped.", channel="email")
    ticket_b = do_create_ticket(customer=customer_b, subject="Stove", body="Leaks.", channel="email")
    public_a = do_reply_with_files(ticket_a, author=agent, body="Label", files=[IncomingFile("l.pdf", b"L")])
    note_a = do_reply_with_files(
        ticket_a, author=agent, body="Hm", public=False, files=[IncomingFile("n.txt", b"N")]
    )
    public_b = do_reply_with_files(ticket_b, author=agent, body="Label", files=[IncomingFile("b.pdf", b"B")])
    macro = do_save_macro(
        None, title="Thanks", body="Thanks {customer.first_name}", shared=True, actor=manager
    )
    draft = do_create_draft(version_in_force().source, actor=manager, note="a draft")
    [notification] = notify([manager], "Look at this", ticket=ticket_a)
    token, _ = do_create_token(manager, "script", actor=manager)
    protocol = protocol_of(version_in_force())
    people = dict(demo)
    people["nobody"] = do_add_person("nobody@example.com", "No Role", [], password="correct-horse-9")
    return World(
        ticket_a=ticket_a,
        ticket_b=ticket_b,
        customer_a=customer_a,
        public_file_a=public_a.attachments.get().pk,
        note_file_a=note_a.attachments.get().pk,
        public_file_b=public_b.attachments.get().pk,
        shared_macro=macro,
        draft=draft,
        in_force=version_in_force(),
        agent_id=agent.pk,
        manager_notification=notification.pk,
        manager_token=token.pk,
        procedure=protocol.resolution.procedures[0].id,
        tree=protocol.resolution.troubleshooting[0].id,
        people=people,
    )


def whatif_run(w: World) -> int:
    """A what-if of the world's draft over the last week (made once, by the manager)."""
    from charterdesk.whatif.actions import do_request_whatif

    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    run, _new = do_request_whatif(
        w.draft,
        w.in_force,
        period="last 7 days",
        start=end - dt.timedelta(days=7),
        end=end,
        actor=w.people["manager"],
    )
    return run.pk


# --------------------------------------------------------------------------- what pages need


Need = Callable[[frozenset[str]], bool]


def signed_in(held: frozenset[str]) -> bool:
    return True


def all_of(*names: str) -> Need:
    return lambda held: all(name in held for name in names)


def any_of(*names: str) -> Need:
    return lambda held: any(name in held for name in names)


def both(*needs: Need) -> Need:
    return lambda held: all(need(held) for need in needs)


VIEW = all_of("ticket.view")
MACROS = any_of("ticket.reply", "ticket.note")


@dataclass(frozen=True)
class Check:
    """One request to a page and who may make it.

    kind: desk (signed-in people whose permissions satisfy ``need``), own (only the owner, the
    manager: everyone else 404), portal (the signed-in portal customer; others go to its sign-in),
    portal_b (customer B's thing: 404 for customer A), public (never refused), api (token only).
    """

    kind: str
    method: str = "GET"
    kwargs: Callable[[World], dict] = lambda w: {}
    data: Callable[[World], dict] = lambda w: {}
    query: Callable[[World], str] = lambda w: ""
    need: Need = signed_in
    ok: tuple[int, ...] = (200,)


def desk(need: Need = signed_in, method="GET", ok=None, **more) -> Check:
    return Check("desk", method, need=need, ok=ok or ((302,) if method == "POST" else (200,)), **more)


def on_ticket(need: Need, method="GET", ok=None, **more) -> Check:
    return desk(need, method, ok, kwargs=lambda w: {"ticket_id": w.ticket_a.pk}, **more)


def public(method="GET", **more) -> Check:
    return Check("public", method, **more)


def api(method="GET", **more) -> Check:
    return Check("api", method, **more)


def chan(need: Need, method="GET", pk=True, ok=None, **more) -> Check:
    """A channels page on an id that does not exist: 404 once the permission is checked, else 403."""
    kwargs = (lambda w: {"pk": MISSING}) if pk else (lambda w: {})
    return desk(need, method, ok or ((404,) if pk else None), kwargs=kwargs, **more)


PAGES: dict[str, list[Check]] = {
    "": [public()],
    # accounts
    "accounts:sign-in": [
        public(),
        public("POST", data=lambda w: {"email": "x@example.com", "password": "no"}),
    ],
    "accounts:sign-out": [public("POST")],
    "accounts:forgot": [public(), public("POST", data=lambda w: {"email": "x@example.com"})],
    "accounts:reset": [public(kwargs=lambda w: {"uid": "MQ", "token": "not-a-token"})],
    "accounts:unlock": [public(kwargs=lambda w: {"uid": "MQ", "token": "not-a-token"})],
    "accounts:account": [desk(signed_in)],
    "accounts:sign-in-code": [public()],
    "accounts:two-factor": [desk(signed_in)],
    "accounts:two-factor-roles": [
        desk(all_of("people.manage")),
        desk(all_of("people.manage"), "POST", data=lambda w: {"roles": ["agent"]}),
    ],
    "accounts:sign-out-others": [desk(signed_in, "POST")],
    "accounts:people": [desk(all_of("people.manage"))],
    "accounts:invite": [
        desk(all_of("people.manage")),
        desk(
            all_of("people.manage"),
            "POST",
            ok=(200, 302),
            data=lambda w: {"email": "new@example.com", "name": "New", "roles": ["agent"]},
        ),
    ],
    "accounts:roles": [
        desk(all_of("people.manage"), kwargs=lambda w: {"person_id": w.agent_id}),
        desk(
            all_of("people.manage"),
            "POST",
            ok=(200, 302),
            kwargs=lambda w: {"person_id": w.agent_id},
            data=lambda w: {"roles": ["lead"]},
        ),
    ],
    "accounts:revoke-invitation": [
        desk(all_of("people.manage"), "POST", ok=(404,), kwargs=lambda w: {"invitation_id": MISSING})
    ],
    "accounts:accept": [public(kwargs=lambda w: {"token": "not-a-token"})],
    "handbook:index": [desk(signed_in)],
    # protocols
    "library:library": [desk(all_of("protocol.view"))],
    "library:new": [
        desk(all_of("protocol.edit")),
        desk(all_of("protocol.edit"), "POST", data=lambda w: {"source": w.in_force.source}),
    ],
    "library:validate": [desk(all_of("protocol.edit"), "POST", ok=(200,), data=lambda w: {"source": "x"})],
    "library:diff": [
        desk(signed_in),
        desk(all_of("protocol.view"), query=lambda w: f"?old={w.draft.pk}&new={w.in_force.pk}"),
    ],
    "library:edit": [
        desk(all_of("protocol.edit"), kwargs=lambda w: {"version_id": w.draft.pk}),
        desk(
            all_of("protocol.edit"),
            "POST",
            ok=(200, 302),
            kwargs=lambda w: {"version_id": w.draft.pk},
            data=lambda w: {"source": w.in_force.source + "\n# edited\n"},
        ),
    ],
    "library:delete": [desk(all_of("protocol.edit"), "POST", kwargs=lambda w: {"version_id": w.draft.pk})],
    "library:preview": [
        desk(all_of("protocol.view"), kwargs=lambda w: {"version_id": w.draft.pk}),
        desk(signed_in, kwargs=lambda w: {"version_id": w.in_force.pk}),
    ],
    "library:publish": [
        desk(all_of("protocol.publish"), kwargs=lambda w: {"version_id": w.draft.pk}),
        desk(all_of("protocol.publish"), "POST", ok=(200, 302), kwargs=lambda w: {"version_id": w.draft.pk}),
    ],
    "whatif:draft": [
        desk(any_of("protocol.edit", "protocol.publish"), kwargs=lambda w: {"version_id": w.draft.pk}),
        desk(
            any_of("protocol.edit", "protocol.publish"),
            "POST",
            ok=(200, 302),
            kwargs=lambda w: {"version_id": w.draft.pk},
            data=lambda w: {"period": "7d"},
        ),
    ],
    "whatif:run": [
        desk(any_of("protocol.edit", "protocol.publish"), kwargs=lambda w: {"run_id": whatif_run(w)})
    ],
    "whatif:progress": [
        desk(any_of("protocol.edit", "protocol.publish"), kwargs=lambda w: {"run_id": whatif_run(w)})
    ],
    "whatif:sample": [
        desk(
            both(any_of("protocol.edit", "protocol.publish"), VIEW),
            kwargs=lambda w: {"run_id": whatif_run(w), "ticket": str(w.ticket_a.pk)},
        )
    ],
    "library:withdraw": [
        desk(all_of("protocol.publish"), "POST", kwargs=lambda w: {"version_id": w.in_force.pk})
    ],
    "library:download": [
        desk(all_of("protocol.view"), kwargs=lambda w: {"version_id": w.draft.pk, "fmt": "yaml"}),
        desk(signed_in, kwargs=lambda w: {"version_id": w.in_force.pk, "fmt": "yaml"}),
    ],
    "audit:log": [desk(all_of("audit.view"))],
    # the workspace
    "tickets:queue": [desk(VIEW)],
    "tickets:badges": [desk(VIEW, query=lambda w: f"?ids={w.ticket_a.pk}")],
    "tickets:density": [desk(VIEW, "POST", ok=(302,), data=lambda w: {"density": "compact"})],
    "tickets:bulk": [
        desk(
            all_of("ticket.view", "ticket.assign"),
            "POST",
            data=lambda w: {"ids": [w.ticket_a.pk], "action": "assign", "assignee": "none"},
        ),
        desk(
            all_of("ticket.view", "ticket.edit"),
            "POST",
            data=lambda w: {"ids": [w.ticket_a.pk], "action": "tag", "tag": "bulk"},
        ),
    ],
    "tickets:new": [
        desk(all_of("ticket.create")),
        desk(
            all_of("ticket.create"),
            "POST",
            data=lambda w: {
                "email": "new@example.com",
                "name": "New",
                "subject": "Hello",
                "body": "First",
                "channel": "email",
                "priority": "normal",
            },
        ),
    ],
    "tickets:confirm-sender": [
        desk(
            all_of("ticket.view", "ticket.edit"),
            "POST",
            kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "message_id": w.ticket_a.first_message.pk},
        )
    ],
    "tickets:check-new": [
        desk(all_of("ticket.create"), "POST", (200,), data=lambda w: {"body": "Hi", "name": "Sam"}),
    ],
    "tickets:macros": [
        desk(MACROS),
        desk(MACROS, "POST", data=lambda w: {"title": "Mine", "body": "Hello", "next_status": ""}),
    ],
    "tickets:macro-edit": [
        desk(both(MACROS, all_of("ticket.edit")), kwargs=lambda w: {"macro_id": w.shared_macro.pk})
    ],
    "tickets:macro-delete": [
        desk(both(MACROS, all_of("ticket.edit")), "POST", kwargs=lambda w: {"macro_id": w.shared_macro.pk})
    ],
    "tickets:attachment": [
        desk(VIEW, kwargs=lambda w: {"attachment_id": w.note_file_a}),
        desk(VIEW, kwargs=lambda w: {"attachment_id": w.public_file_b}),
    ],
    "tickets:ticket": [on_ticket(VIEW)],
    "tickets:ticket-badges": [on_ticket(VIEW)],
    "tickets:presence": [on_ticket(VIEW, "POST", ok=(200,), data=lambda w: {"state": "viewing"})],
    "tickets:reply": [
        on_ticket(
            all_of("ticket.view", "ticket.reply"), "POST", data=lambda w: {"kind": "reply", "body": "Hi"}
        ),
        on_ticket(
            all_of("ticket.view", "ticket.note"), "POST", data=lambda w: {"kind": "note", "body": "Hm"}
        ),
    ],
    "tickets:check-reply": [
        on_ticket(both(VIEW, MACROS), "POST", (200,), data=lambda w: {"kind": "reply", "body": "Hi"}),
    ],
    "tickets:status": [
        on_ticket(
            both(VIEW, any_of("ticket.reply", "ticket.edit")), "POST", data=lambda w: {"status": "pending"}
        ),
        on_ticket(all_of("ticket.view", "ticket.solve"), "POST", data=lambda w: {"status": "solved"}),
    ],
    "tickets:properties": [
        on_ticket(
            all_of("ticket.view", "ticket.edit"),
            "POST",
            data=lambda w: {"priority": "urgent", "group": "", "tags": "x"},
        )
    ],
    "tickets:assignee": [
        on_ticket(all_of("ticket.view", "ticket.assign"), "POST", data=lambda w: {"assignee": ""})
    ],
    "tickets:link": [
        on_ticket(
            all_of("ticket.view", "ticket.merge"), "POST", data=lambda w: {"other": f"#{w.ticket_b.pk}"}
        )
    ],
    "tickets:merge": [
        on_ticket(
            all_of("ticket.view", "ticket.merge"), "POST", data=lambda w: {"other": f"#{w.ticket_b.pk}"}
        )
    ],
    "tickets:customer": [
        on_ticket(
            all_of("ticket.view", "ticket.edit"),
            "POST",
            data=lambda w: {"name": "Jo W", "email": "jo@example.com", "timezone": "UTC", "language": "en"},
        )
    ],
    "tickets:tick": [
        desk(
            all_of("ticket.view", "ticket.note"),
            "POST",
            kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "procedure_id": w.procedure, "step": 0},
            data=lambda w: {"ticked": "on"},
        )
    ],
    "tickets:troubleshooting": [
        desk(VIEW, kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "tree_id": w.tree}),
        desk(
            all_of("ticket.view", "ticket.note"),
            "POST",
            kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "tree_id": w.tree},
            data=lambda w: {"path": "0"},
        ),
    ],
    "tickets:insert-macro": [
        desk(both(VIEW, MACROS), kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "macro_id": w.shared_macro.pk})
    ],
    # notifications: everyone signed in has their own; someone else's is 404
    "notifications:list": [desk(signed_in)],
    "notifications:read-all": [desk(signed_in, "POST")],
    "notifications:read": [
        Check("own", "POST", kwargs=lambda w: {"notification_id": w.manager_notification})
    ],
    "notifications:open": [
        Check("own", "POST", kwargs=lambda w: {"notification_id": w.manager_notification})
    ],
    # the portal
    "portal:start": [public(), public("POST", data=lambda w: {"email": "nobody-known@example.com"})],
    "portal:link-sent": [public()],
    "portal:link": [
        public(kwargs=lambda w: {"token": "not-a-token"}),
        public("POST", kwargs=lambda w: {"token": "x"}),
    ],
    "portal:sign-out": [public("POST")],
    "portal:new": [public(), public("POST", data=lambda w: {"name": "Spam", "email": "s@example.com"})],
    "portal:sent": [public()],
    "portal:tickets": [Check("portal")],
    "portal:ticket": [
        Check("portal", kwargs=lambda w: {"ticket_id": w.ticket_a.pk}),
        Check("portal_b", kwargs=lambda w: {"ticket_id": w.ticket_b.pk}),
        Check(
            "portal_b", "POST", kwargs=lambda w: {"ticket_id": w.ticket_b.pk}, data=lambda w: {"body": "Me!"}
        ),
    ],
    "portal:attachment": [
        Check("portal", kwargs=lambda w: {"attachment_id": w.public_file_a}),
        Check("portal_b", kwargs=lambda w: {"attachment_id": w.note_file_a}),  # an internal note's file
        Check("portal_b", kwargs=lambda w: {"attachment_id": w.public_file_b}),
    ],
    "portal:confirm-sender": [
        Check("portal_b", "POST", kwargs=lambda w: {"message_id": w.ticket_b.first_message.pk})
    ],
    "channels:confirm-sender": [
        public(kwargs=lambda w: {"token": "not-a-token"}),
        public("POST", kwargs=lambda w: {"token": "x"}),
    ],
    "portal:timezone": [Check("portal", "POST", ok=(302,), data=lambda w: {"timezone": "Europe/Berlin"})],
    # channels (ids that do not exist: the permission is checked before the lookup)
    "channels:index": [chan(any_of("ticket.create", "ticket.reply", "channels.manage"), pk=False)],
    "channels:quarantine": [chan(all_of("ticket.create"), pk=False)],
    "channels:quarantined": [chan(all_of("ticket.create"))],
    "channels:raw": [chan(all_of("ticket.create"))],
    "channels:reprocess": [chan(all_of("ticket.create"), "POST")],
    "channels:quarantine-ticket": [chan(all_of("ticket.create"), "POST")],
    "channels:held": [chan(all_of("ticket.reply"), pk=False)],
    "channels:held-message": [chan(all_of("ticket.reply"))],
    "channels:decide-held": [
        desk(
            all_of("ticket.reply"), "POST", ok=(404,), kwargs=lambda w: {"pk": MISSING, "decision": "approve"}
        )
    ],
    "channels:mailboxes": [chan(all_of("channels.manage"), pk=False)],
    "channels:mailbox-new": [chan(all_of("channels.manage"), pk=False)],
    "channels:mailbox": [chan(all_of("channels.manage"))],
    "channels:mailbox-test": [chan(all_of("channels.manage"), "POST")],
    "channels:mailbox-poll": [chan(all_of("channels.manage"), "POST")],
    "channels:mailbox-delete": [chan(all_of("channels.manage"), "POST")],
    "channels:phone": [chan(all_of("ticket.reply"), pk=False)],
    "channels:embed-settings": [chan(all_of("channels.manage"), pk=False)],
    "channels:embed-script": [public(kwargs=lambda w: {"channel": "web"})],
    "channels:embed-submit": [public("POST", kwargs=lambda w: {"channel": "web"})],
    # surveys: the customer's pages need only the signed link (a bad one is 400, never a sign-in);
    # an agent's page of answers is theirs, and anyone's for holders of reports.view
    "surveys:rate": [
        public(kwargs=lambda w: {"token": "not-a-token"}),
        public("POST", kwargs=lambda w: {"token": "not-a-token"}),
    ],
    "surveys:answer": [public(kwargs=lambda w: {"token": "not-a-token"})],
    "surveys:opt-out": [
        public(kwargs=lambda w: {"token": "not-a-token"}),
        public("POST", kwargs=lambda w: {"token": "not-a-token"}),
    ],
    "surveys:mine": [desk(signed_in, ok=(302,))],
    "surveys:person": [
        desk(VIEW, kwargs=lambda w: {"person_id": w.agent_id}),
        desk(all_of("ticket.view", "reports.view"), kwargs=lambda w: {"person_id": w.people["manager"].pk}),
    ],
    # reports: everyone who sees tickets has their own numbers; the schedule is the manager's
    "reports:index": [desk(any_of("ticket.view", "reports.view"))],
    "reports:csv": [desk(any_of("ticket.view", "reports.view"), kwargs=lambda w: {"table": "kpis"})],
    "reports:schedule": [desk(all_of("reports.view", "people.manage"))],
    "reports:preview": [desk(all_of("reports.view", "people.manage"), kwargs=lambda w: {"index": 0})],
    "reports:send-now": [
        desk(all_of("reports.view", "people.manage"), "POST", kwargs=lambda w: {"index": 0})
    ],
    # personal API tokens: everyone signed in keeps their own
    "api:tokens": [desk(signed_in), desk(signed_in, "POST", ok=(200,), data=lambda w: {"name": "mine"})],
    "api:revoke": [Check("own", "POST", kwargs=lambda w: {"token_id": w.manager_token})],
    # Everyone's tokens; revoking another person's token there is tests/api/test_people_tokens.py.
    "api:people-tokens": [desk(all_of("people.manage"))],
    # the API: documentation is public, every endpoint needs a token
    "api-v1:api-root": [public()],
    "api-v1:openapi-json": [public()],
    "api-v1:openapi-view": [public()],
    "api-v1:list_tickets": [api()],
    "api-v1:create_ticket": [api("POST")],
    "api-v1:read_ticket": [api(kwargs=lambda w: {"ticket_id": w.ticket_a.pk})],
    "api-v1:update_ticket": [api("PATCH", kwargs=lambda w: {"ticket_id": w.ticket_a.pk})],
    "api-v1:reply": [api("POST", kwargs=lambda w: {"ticket_id": w.ticket_a.pk})],
    "api-v1:note": [api("POST", kwargs=lambda w: {"ticket_id": w.ticket_a.pk})],
    "api-v1:confirm_sender": [
        api("POST", kwargs=lambda w: {"ticket_id": w.ticket_a.pk, "message_id": w.ticket_a.first_message.pk})
    ],
    "api-v1:sla": [api(kwargs=lambda w: {"ticket_id": w.ticket_a.pk})],
    "api-v1:download_attachment": [api(kwargs=lambda w: {"attachment_id": w.note_file_a})],
    "api-v1:list_customers": [api()],
    "api-v1:create_customer": [api("POST")],
    "api-v1:read_customer": [api(kwargs=lambda w: {"customer_id": w.customer_a.pk})],
    "api-v1:update_customer": [api("PATCH", kwargs=lambda w: {"customer_id": w.customer_a.pk})],
    "api-v1:list_groups": [api()],
    "api-v1:list_people": [api()],
    "api-v1:me": [api()],
    "api-v1:search": [api()],
}


# --------------------------------------------------------------------------- walking the URLs


def url_patterns(resolver=None, namespace: str = ""):
    """(key, route) of every URL pattern: 'namespace:name', or the route when it has no name."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield (
                f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or str(entry.pattern)
            )


def test_every_page_has_an_expectation():
    """A page added to the desk without a line in PAGES fails here (and a line whose page is gone)."""
    found = set(url_patterns())
    assert found - set(PAGES) == set(), "pages with no expectation: add them to PAGES"
    assert set(PAGES) - found == set(), "expectations for pages that no longer exist"


# --------------------------------------------------------------------------- visiting


def client_for(who: str, world: World) -> Client:
    client = Client()
    if who in world.people:
        client.force_login(world.people[who])
    elif who == "customer_a":
        session = client.session
        session[SESSION_KEY] = world.customer_a.pk
        session.save()
    return client


def fingerprint(world: World) -> dict:
    """What a refused write must leave as it was: every table's row count (but sessions, and the
    rate limits' counters, which count refusals too), the audit log, and the fields of the objects
    the requests aim at."""
    skipped = (Session, apps.get_model("core", "RateCounter"))
    counts = {model._meta.label: model.objects.count() for model in apps.get_models() if model not in skipped}
    fields = {
        "tickets": list(
            Ticket.objects.order_by("pk").values_list("status", "priority", "group", "assignee", "tags")
        ),
        "customers": list(Customer.objects.order_by("pk").values_list("name", "timezone")),
        "macros": list(Macro.objects.order_by("pk").values_list("title", "body")),
        "people": list(apps.get_model("accounts", "Person").objects.order_by("pk").values_list("roles")),
        "versions": list(ProtocolVersion.objects.order_by("pk").values_list("status", "source")),
        "unread": list(
            apps.get_model("notifications", "Notification").objects.order_by("pk").values_list("read_at")
        ),
        "tokens": list(apps.get_model("api", "ApiToken").objects.order_by("pk").values_list("revoked_at")),
    }
    return {"counts": counts, "audit": AuditEntry.objects.count(), "fields": fields}


def expectation(check: Check, who: str, held: frozenset[str]) -> str:
    """The answer the visitor must get, in words the failure report prints."""
    desk_person = who in (*ROLES, "nobody")
    if check.kind == "public":
        return "public"
    if check.kind == "api":
        return "401"
    if check.kind in ("portal", "portal_b"):
        if who != "customer_a":
            return "portal sign-in"
        return "404" if check.kind == "portal_b" else " or ".join(map(str, check.ok))
    if not desk_person:
        return "sign-in"
    if check.kind == "own":
        return "302" if who == "manager" else "404"
    return " or ".join(map(str, check.ok)) if check.need(held) else "403"


def answer(response) -> str:
    """The status, with the two refusals that are redirects named: Django's sign-in (with ?next=)
    and the portal's (back to its start page)."""
    path, _, query = response.get("Location", "").partition("?")
    if response.status_code == 302 and path == reverse("accounts:sign-in") and "next=" in query:
        return "sign-in"
    if response.status_code == 302 and path == reverse("portal:start"):
        return "portal sign-in"
    return str(response.status_code)


def refused(expected: str) -> bool:
    return expected in ("403", "404", "401", "sign-in", "portal sign-in")


def visit(client: Client, check: Check, key: str, world: World):
    url = reverse(key, kwargs=check.kwargs(world)) if ":" in key else "/" + key
    url += check.query(world)
    if check.method == "GET":
        return client.get(url)
    if check.method == "PATCH":
        return client.patch(url, data="{}", content_type="application/json")
    return client.post(url, check.data(world))


@pytest.mark.parametrize("who", VISITORS)
def test_nobody_reaches_what_their_role_does_not_grant(world, who):
    """Every page, as this visitor: reached exactly when their roles grant what the page needs."""
    person = world.people.get(who)
    held = permissions_of(person, protocol_of(version_in_force())) if person else frozenset()
    wrong = []
    for key, checks in PAGES.items():
        for check in checks:
            expected = expectation(check, who, held)
            client = client_for(who, world)
            with transaction.atomic():
                before = fingerprint(world) if check.method != "GET" and refused(expected) else None
                response = visit(client, check, key, world)
                got = answer(response)
                if getattr(response, "streaming", False):
                    # Read through the test client, which closes the file without closing the
                    # database connection (response.close() would, mid-transaction).
                    b"".join(response.streaming_content)
                if before is not None and fingerprint(world) != before:
                    wrong.append(f"{check.method} {key}: refused ({got}) but changed something")
                transaction.set_rollback(True)
            if expected == "public":
                if got in ("403", "sign-in"):
                    wrong.append(f"{check.method} {key}: a public page answered {got}")
            elif got not in expected.split(" or "):
                wrong.append(f"{check.method} {key}: expected {expected}, got {got}")
    assert wrong == [], f"as {who} (holding {sorted(held)}):\n" + "\n".join(wrong)


def test_the_matrix_is_not_trivial(world):
    """The roles differ: the agent is refused pages the lead reaches, and the lead some the manager
    reaches, so the matrix would notice a role that suddenly reaches everything."""
    protocol = protocol_of(version_in_force())
    held = {role: permissions_of(world.people[role], protocol) for role in ROLES}
    checks = [check for checks in PAGES.values() for check in checks if check.kind == "desk"]
    allowed = {role: sum(check.need(held[role]) for check in checks) for role in ROLES}
    assert allowed["agent"] < allowed["lead"] < allowed["manager"] == len(checks)
    assert sum(check.need(frozenset()) for check in checks) < len(checks) // 4
