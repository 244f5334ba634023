"""The REST API under /api/v1/: tokens, every endpoint, errors that name the field, cursor pages,
rate limits and query counts."""

from __future__ import annotations

import datetime as dt
import io
import json
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charterdesk.accounts.actions import do_set_active
from charterdesk.api.actions import do_create_token, do_revoke_token, hash_secret
from charterdesk.api.models import ApiToken
from charterdesk.audit.models import AuditEntry
from charterdesk.library.models import ProtocolVersion
from charterdesk.tickets.actions import (
    do_assign,
    do_change_tags,
    do_create_ticket,
    do_find_or_create_customer,
    do_set_status,
)
from charterdesk.tickets.models import Customer, Message, Ticket

JSON = "application/json"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives each test's database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def in_force_a_second_ago(request):
    """The demo publishes "now", to the microsecond, while ticket actions count whole seconds: a
    ticket opened in that same second would find no version in force yet. Start a second earlier."""
    if "demo" in request.fixturenames:
        request.getfixturevalue("demo")
        ProtocolVersion.objects.filter(effective_at__isnull=False).update(
            effective_at=F("effective_at") - dt.timedelta(seconds=1)
        )


@pytest.fixture
def secrets(demo):
    """A personal token for each demo role: {"agent": "cdk_...", ...}."""
    return {role: do_create_token(person, f"{role} script", actor=person)[1] for role, person in demo.items()}


@pytest.fixture
def api(secrets):
    """A test client sending the token of the demo person holding ``role``."""

    def client(role: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {secrets[role]}"})

    return client


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def ticket(customer, subject="Tent pole snapped", **kwargs) -> Ticket:
    kwargs.setdefault("channel", "email")
    return do_create_ticket(customer=customer, subject=subject, body="My tent pole broke.", **kwargs)


def errors(response) -> dict[str | None, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# --------------------------------------------------------------------------- tokens


def test_no_token_is_401_with_a_json_error_and_a_bearer_challenge(demo):
    """A request without a token is refused with 401, a JSON error and WWW-Authenticate: Bearer."""
    response = Client().get("/api/v1/tickets")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in errors(response)[None]


def test_a_wrong_token_or_scheme_is_401(demo):
    """A made-up token and a non-Bearer scheme are both refused, saying which."""
    response = Client(headers={"Authorization": "Bearer cdk_not-a-real-token"}).get("/api/v1/me")
    assert response.status_code == 401
    assert errors(response)[None] == "this API token is not valid"
    response = Client(headers={"Authorization": "Basic YWxleDpzZWNyZXQ="}).get("/api/v1/me")
    assert response.status_code == 401
    assert "Bearer <token>" in errors(response)[None]


def test_only_the_hash_of_a_token_is_stored_and_its_creation_is_audited(demo):
    """The secret is nowhere in the database; the audit log names the token by its id and prefix,
    and its owner by id (a token's name is its owner's words, kept out of the log)."""
    token, secret = do_create_token(demo["agent"], "report script", actor=demo["agent"])
    assert token.token_hash == hash_secret(secret) and secret not in token.token_hash
    assert secret.startswith(token.prefix)
    entry = AuditEntry.objects.get(action="api_token.create")
    assert f"API token #{token.pk} ({token.prefix}…) created for person #{demo['agent'].pk}" == entry.summary
    assert entry.data == {"token": token.pk, "owner": demo["agent"].pk, "prefix": token.prefix}
    assert "report script" not in entry.summary + str(entry.data)
    assert secret not in str(entry.data) and secret not in entry.summary


def test_me_says_who_the_token_acts_as_and_stamps_last_use(api, demo):
    """GET /me: the person, their roles, the permissions those roles grant; the token's last use is kept."""
    response = api("agent").get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "alex@acme.example" and body["roles"] == ["agent"]
    assert "ticket.reply" in body["permissions"] and "ticket.edit" not in body["permissions"]
    assert body["protocol_version"] == "3.2"
    assert ApiToken.objects.get(person=demo["agent"]).last_used_at is not None


def test_before_any_protocol_is_in_force_tokens_work_but_tickets_are_out_of_reach(db, person):
    """With no version in force, roles grant only the set-up rights: /me answers, tickets are 403."""
    first = person("first@example.com", ["manager"])
    client = Client(headers={"Authorization": f"Bearer {do_create_token(first, 'setup', actor=first)[1]}"})
    body = client.get("/api/v1/me").json()
    assert body["protocol_version"] is None and "people.manage" in body["permissions"]
    response = client.get("/api/v1/tickets")
    assert response.status_code == 403 and errors(response) == {None: "Your roles do not grant ticket.view."}
    assert client.get("/api/v1/people").status_code == 200


def test_a_revoked_token_gets_401_at_once(api, demo, secrets):
    """Revoking a token refuses the very next request bearing it; the revocation is audited."""
    client = api("lead")
    assert client.get("/api/v1/me").status_code == 200
    do_revoke_token(ApiToken.objects.get(person=demo["lead"]), actor=demo["lead"])
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert errors(response)[None] == "this API token has been revoked"
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1


def test_a_deactivated_persons_token_gets_401(api, demo):
    """When a person is deactivated, their tokens stop working too."""
    do_set_active(demo["agent"], False, actor=demo["manager"])
    assert api("agent").get("/api/v1/me").status_code == 401


def test_the_tokens_page_shows_a_new_secret_once_and_revokes(client, demo):
    """A signed-in person names a token, sees its secret once, then only its prefix; revoking works."""
    client.force_login(demo["agent"])
    response = client.post(reverse("api:tokens"), {"name": "laptop"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    page = client.get(reverse("api:tokens")).content.decode()
    assert secret not in page and secret[:12] in page and "laptop" in page
    assert Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 200
    token = ApiToken.objects.get(name="laptop")
    response = client.post(reverse("api:revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    assert Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 401


def test_the_tokens_page_needs_a_name_and_keeps_others_tokens_out_of_reach(client, demo):
    """A nameless token is refused with a message; nobody can see or revoke another person's token."""
    client.force_login(demo["agent"])
    response = client.post(reverse("api:tokens"), {"name": "  "})
    assert response.status_code == 422
    assert "give the token a name" in response.content.decode()
    theirs, _ = do_create_token(demo["manager"], "manager's script", actor=demo["manager"])
    assert "manager&#x27;s script" not in client.get(reverse("api:tokens")).content.decode()
    assert client.post(reverse("api:revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_tokens_page_needs_sign_in(client, demo):
    """Signed-out visitors are sent to sign in."""
    response = client.get(reverse("api:tokens"))
    assert response.status_code == 302 and "sign" in response["Location"]


def test_token_create_command_prints_a_working_token(demo):
    """`charterdesk token create --user EMAIL --name NAME` prints a token that authenticates."""
    out = io.StringIO()
    call_command(
        "token", "create", "--user", "ALEX@acme.example", "--name", "cron", stdout=out, stderr=io.StringIO()
    )
    secret = out.getvalue().strip()
    response = Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me")
    assert response.json()["token"]["name"] == "cron"


def test_token_create_command_refuses_unknown_and_inactive_people(demo):
    """An unknown email or a deactivated person is an error that says so (non-zero exit)."""
    with pytest.raises(CommandError, match=r"no person has the email nobody@example\.com"):
        call_command("token", "create", "--user", "nobody@example.com")
    do_set_active(demo["agent"], False, actor=demo["manager"])
    with pytest.raises(CommandError, match="deactivated"):
        call_command("token", "create", "--user", "alex@acme.example")
    assert not ApiToken.objects.exists()


def test_token_list_and_revoke_commands(demo):
    """`token list` shows prefixes and states; `token revoke PREFIX` revokes that token."""
    token, secret = do_create_token(demo["lead"], "ci", actor=None)
    out = io.StringIO()
    call_command("token", "list", "--user", "ravi@acme.example", stdout=out)
    assert token.prefix in out.getvalue() and "active" in out.getvalue()
    call_command("token", "revoke", token.prefix, stdout=io.StringIO())
    assert Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 401
    with pytest.raises(CommandError, match="no active token"):
        call_command("token", "revoke", token.prefix)


# --------------------------------------------------------------------------- tickets: create and read


def test_create_a_ticket_for_a_new_customer(api, demo):
    """POST /tickets opens the ticket as the token's person: open, their body the first public reply."""
    response = api("lead").post(
        "/api/v1/tickets",
        {
            "customer": {"email": "Sam@Example.com", "name": "Sam Ortiz"},
            "subject": "Order 1234 arrived wet",
            "body": "Hello Sam, we are sending a new one. Thanks",
            "channel": "phone",
            "priority": "high",
            "tags": ["Damaged"],
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and body["priority"] == "high" and body["tags"] == ["damaged"]
    assert body["customer"]["email"] == "sam@example.com"
    assert body["created_by_agent"] is True
    assert body["messages"][0]["kind"] == "reply"
    assert body["messages"][0]["author"] == {"type": "person", "id": demo["lead"].pk, "name": "Ravi Menon"}
    assert body["created_at"].endswith("Z")
    entry = AuditEntry.objects.get(action="ticket.create")
    assert entry.actor_id == demo["lead"].pk


def test_create_a_ticket_for_an_existing_customer_by_id(api, customer):
    """customer_id picks an existing customer (which needs customer.view: the manager here)."""
    response = api("manager").post(
        "/api/v1/tickets",
        {"customer_id": customer.pk, "subject": "Hi", "body": "Hello Jo", "channel": "email"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.json()
    assert response.json()["customer"]["id"] == customer.pk


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"priority": "soon"}, "priority", "'soon' is not one of low, normal, high, urgent"),
        ({"channel": "fax"}, "channel", "'fax' is not a channel of the protocol"),
        ({"customer": None}, "customer", "give the customer"),
        ({"customer_id": 1}, "customer", "either customer or customer_id, not both"),
        ({"customer": {"email": "not-an-email"}}, "customer.email", "'not-an-email' is not an email address"),
        ({"customer": {"name": "No Contact"}}, "customer.email", "give the customer's email"),
        ({"subject": ""}, "subject", "at least 1 character"),
        ({"priorty": "high"}, "priorty", "is not a field of this request"),
        ({"tags": "vip"}, "tags", "valid list"),
        ({"group": "nowhere"}, "group", "'nowhere' is not a group of the protocol (escalations, frontline)"),
        ({"subject": "   "}, "subject", "must not be blank"),
        ({"body": " \n "}, "body", "must not be blank"),
        ({"subject": "nul\u0000byte"}, "subject", "must not contain the NUL character"),
        ({"customer": {"email": "jo@example.com", "name": "J\u0000o"}}, "customer.name", "NUL character"),
        ({"tags": ["ok", "b\u0000d"]}, "tags", "NUL character"),
        ({"customer": None, "customer_id": True}, "customer_id", "valid integer"),
        ({"tags": [f"t{n}" for n in range(51)]}, "tags", "at most 50 tags, not 51"),
    ],
)
def test_create_errors_name_the_field(api, demo, payload, field, message):
    """Each bad input is a 422 naming its field, and no ticket is opened."""
    base = {"customer": {"email": "jo@example.com"}, "subject": "Hi", "body": "Hello", "channel": "email"}
    response = api("manager").post("/api/v1/tickets", {**base, **payload}, content_type=JSON)
    assert response.status_code == 422
    assert message in errors(response)[field]
    assert not Ticket.objects.exists()


def test_a_customer_id_the_desk_does_not_have_is_409(api, demo):
    """Opening a ticket for a customer id nobody has is 409 naming customer_id, not a 404 of the list."""
    response = api("manager").post(
        "/api/v1/tickets",
        {"customer_id": 999, "subject": "Hi", "body": "Hello", "channel": "email"},
        content_type=JSON,
    )
    assert response.status_code == 409 and errors(response) == {"customer_id": "there is no customer #999"}
    assert not Ticket.objects.exists()


def test_json_true_is_not_person_one(api, customer):
    """A boolean where a person id belongs is refused, not read as id 1; 'none' unassigns."""
    t = ticket(customer)
    client = api("lead")
    response = client.patch(f"/api/v1/tickets/{t.pk}", {"assignee": True}, content_type=JSON)
    assert response.status_code == 422
    assert errors(response) == {"assignee": "'true' is not a person id, 'me' or null"}
    t.refresh_from_db()
    assert t.assignee_id != 1 or t.assignee_id is None
    response = client.patch(f"/api/v1/tickets/{t.pk}", {"assignee": "none"}, content_type=JSON)
    assert response.status_code == 200, response.json()
    assert response.json()["assignee"] is None


def test_errors_outside_the_endpoints_are_json_too(api, demo, customer, settings):
    """An unknown address, a method an endpoint does not take, a body too large and a NUL in a
    query parameter all answer in the API's JSON error shape, and change nothing."""
    client = api("agent")
    missing = client.get("/api/v1/nosuch")
    assert missing.status_code == 404 and "/api/docs" in errors(missing)[None]
    t = ticket(customer)
    wrong_method = client.delete(f"/api/v1/tickets/{t.pk}")
    assert wrong_method.status_code == 405
    assert "DELETE is not allowed here" in errors(wrong_method)[None]
    assert Ticket.objects.filter(pk=t.pk).exists()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_big = client.post(f"/api/v1/tickets/{t.pk}/notes", {"body": "x" * 5000}, content_type=JSON)
    assert too_big.status_code == 413
    assert "larger than the 1,000 bytes" in errors(too_big)[None]
    assert not t.messages.filter(body_text__startswith="xxx").exists()
    nul = client.get("/api/v1/tickets?q=a%00b")
    assert nul.status_code == 422 and errors(nul) == {"q": "must not contain the NUL character (%00)"}


def test_every_bad_field_the_protocol_decides_is_listed_at_once(api, demo):
    """A channel and a group the protocol does not have, and a customer without email or phone, are
    all named in one answer (so that a client fixes them in one go), and nothing is opened."""
    payload = {
        "customer": {"name": "No Contact"},
        "subject": "Hi",
        "body": "Hello",
        "channel": "fax",
        "group": "nowhere",
    }
    response = api("manager").post("/api/v1/tickets", payload, content_type=JSON)
    assert response.status_code == 422
    assert set(errors(response)) == {"channel", "group", "customer.email"}
    assert not Ticket.objects.exists()


def test_missing_fields_and_bad_json_are_named(api, demo):
    """Every missing required field is listed; a body that is not JSON is a 400 saying so."""
    response = api("manager").post("/api/v1/tickets", {"customer": {"email": "a@b.co"}}, content_type=JSON)
    assert response.status_code == 422
    assert errors(response) == dict.fromkeys(("subject", "body", "channel"), "this field is required")
    response = api("manager").post("/api/v1/tickets", "{not json", content_type=JSON)
    assert response.status_code == 400
    assert errors(response)[None] == "the request body is not valid JSON"


def test_read_a_ticket_with_its_messages_notes_included(api, demo, customer):
    """GET /tickets/{id}: every message in order, internal notes marked not public."""
    t = ticket(customer)
    from charterdesk.tickets.actions import do_reply

    do_reply(t, author=demo["agent"], body="Checking the order.", public=False)
    response = api("agent").get(f"/api/v1/tickets/{t.pk}")
    assert response.status_code == 200
    body = response.json()
    assert [(m["kind"], m["public"]) for m in body["messages"]] == [("customer", True), ("note", False)]
    assert body["messages"][0]["author"]["type"] == "customer"
    assert body["protocol_version"] == "3.2"


def test_a_missing_ticket_is_404_naming_it(api, demo):
    """A ticket id that does not exist is a 404 naming the ticket; a non-number is a 422."""
    response = api("agent").get("/api/v1/tickets/999")
    assert response.status_code == 404
    assert errors(response) == {"ticket_id": "there is no ticket #999"}
    response = api("agent").get("/api/v1/tickets/abc")
    assert response.status_code == 422 and "ticket_id" in errors(response)


# --------------------------------------------------------------------------- tickets: changes


def test_patch_changes_priority_tags_group_assignee_and_status_through_audited_actions(api, demo, customer):
    """One PATCH changes several things; each change is an audited action and an event."""
    t = ticket(customer, tags=["old"])
    response = api("lead").patch(
        f"/api/v1/tickets/{t.pk}",
        {
            "priority": "urgent",
            "tags": {"add": ["vip"], "remove": ["old"]},
            "group": "escalations",
            "assignee": "me",
            "status": "on_hold",
        },
        content_type=JSON,
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["priority"] == "urgent" and body["tags"] == ["vip"] and body["group"] == "escalations"
    assert body["assignee"]["id"] == demo["lead"].pk and body["status"] == "on_hold"
    assert body["sla_policy"] == "vip-urgent"
    actions = set(AuditEntry.objects.filter(actor=demo["lead"]).values_list("action", flat=True))
    assert {"ticket.priority", "ticket.tags", "ticket.group", "ticket.assign", "ticket.status"} <= actions


def test_patch_is_all_or_nothing(api, demo, customer):
    """A PATCH with one bad field changes nothing at all, and names the field."""
    t = ticket(customer)
    response = api("lead").patch(
        f"/api/v1/tickets/{t.pk}", {"priority": "high", "group": "nowhere"}, content_type=JSON
    )
    assert response.status_code == 422
    assert errors(response)["group"].startswith("'nowhere' is not a group of the protocol")
    t.refresh_from_db()
    assert t.priority == "normal"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"status": "new"}, "status", "a ticket cannot go back to new"),
        ({"status": None}, "status", "cannot be null"),
        (
            {"status": "closed"},
            "status",
            "a ticket is not closed by hand: solve it, and the protocol's auto_close_solved_after closes it",
        ),
        ({"assignee": "someone"}, "assignee", "'someone' is not a person id, 'me' or null"),
        ({"tags": {"add": ["x"], "drop": ["y"]}}, "tags.drop", "is not a field of this request"),
        ({"priority": "asap"}, "priority", "'asap' is not one of low, normal, high, urgent"),
        (
            {"tags": {"add": ["ok", "bad tag"]}},
            "tags.add.1",
            "'bad tag' is not a tag: a tag is one word of at most 64 characters, without spaces or commas",
        ),
    ],
)
def test_patch_errors_name_the_field(api, demo, customer, payload, field, message):
    """Each bad PATCH field is a 422 naming it (on an open ticket)."""
    t = ticket(customer, by_agent=demo["agent"])
    response = api("manager").patch(f"/api/v1/tickets/{t.pk}", payload, content_type=JSON)
    assert response.status_code == 422
    assert errors(response)[field] == message


def test_assignee_null_unassigns(api, demo, customer):
    """assignee: null leaves the ticket with nobody; omitting it leaves the assignee alone."""
    t = ticket(customer)
    do_assign(t, demo["agent"], actor=demo["lead"])
    client = api("lead")
    assert client.patch(f"/api/v1/tickets/{t.pk}", {"priority": "low"}, content_type=JSON).json()["assignee"]
    response = client.patch(f"/api/v1/tickets/{t.pk}", {"assignee": None}, content_type=JSON)
    assert response.json()["assignee"] is None


def test_an_assignee_who_is_not_there_or_deactivated_is_409(api, demo, customer):
    """Naming a person who does not exist or is deactivated is 409 (the ticket is there: not 404);
    nothing changes."""
    t = ticket(customer, by_agent=demo["agent"])
    client = api("manager")
    response = client.patch(
        f"/api/v1/tickets/{t.pk}", {"assignee": 999, "priority": "high"}, content_type=JSON
    )
    assert response.status_code == 409 and errors(response) == {"assignee": "there is no person #999"}
    do_set_active(demo["lead"], False, actor=demo["manager"])
    response = client.patch(
        f"/api/v1/tickets/{t.pk}", {"assignee": demo["lead"].pk, "priority": "high"}, content_type=JSON
    )
    assert response.status_code == 409 and errors(response) == {
        "assignee": f"{demo['lead'].name} is deactivated"
    }
    t.refresh_from_db()
    assert t.priority == "normal"


def test_solving_with_required_steps_unticked_names_status(api, demo, customer):
    """The protocol's required procedure blocks solving: 409 (the request is right, the ticket not
    ready), naming status and the steps."""
    t = ticket(customer, tags=["damaged"])
    response = api("agent").patch(f"/api/v1/tickets/{t.pk}", {"status": "solved"}, content_type=JSON)
    assert response.status_code == 409
    assert "Item arrived damaged" in errors(response)["status"]


def test_an_agent_may_set_a_ticket_waiting_but_not_change_its_priority(api, demo, customer):
    """As on the desk: open, pending and on hold are part of answering (ticket.reply); priority is not."""
    t = ticket(customer)
    client = api("agent")
    assert (
        client.patch(f"/api/v1/tickets/{t.pk}", {"status": "on_hold"}, content_type=JSON).status_code == 200
    )
    response = client.patch(f"/api/v1/tickets/{t.pk}", {"priority": "high"}, content_type=JSON)
    assert response.status_code == 403
    assert response.json()["errors"][0]["permission"] == "ticket.edit"
    t.refresh_from_db()
    assert (t.status, t.priority) == ("on_hold", "normal")


def test_reply_with_next_status_and_note(api, demo, customer):
    """A public reply can set the next status; a note is internal; both are audited as the person."""
    t = ticket(customer)
    client = api("agent")
    response = client.post(
        f"/api/v1/tickets/{t.pk}/reply",
        {"body": "Hello Jo, could you send a photo? Thanks", "next_status": "pending"},
        content_type=JSON,
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "reply" and response.json()["public"] is True
    t.refresh_from_db()
    assert t.status == "pending"
    response = client.post(f"/api/v1/tickets/{t.pk}/notes", {"body": "Photo asked for."}, content_type=JSON)
    assert response.status_code == 201 and response.json()["public"] is False
    assert Message.objects.filter(ticket=t, kind="note").count() == 1
    assert AuditEntry.objects.filter(action="ticket.note", actor=demo["agent"]).exists()
    response = client.post(f"/api/v1/tickets/{t.pk}/notes", {"body": "   "}, content_type=JSON)
    assert response.status_code == 422 and errors(response) == {"body": "must not be blank"}
    assert Message.objects.filter(ticket=t, kind="note").count() == 1


def test_reply_errors_name_the_field(api, demo, customer):
    """An empty body, a bad next status (422) and a closed ticket (409) are refused in words."""
    t = ticket(customer)
    client = api("lead")
    response = client.post(f"/api/v1/tickets/{t.pk}/reply", {"body": ""}, content_type=JSON)
    assert errors(response)["body"] == "String should have at least 1 character"
    response = client.post(
        f"/api/v1/tickets/{t.pk}/reply", {"body": "Hi", "next_status": "new"}, content_type=JSON
    )
    assert errors(response) == {"next_status": "a ticket cannot go back to new"}
    do_set_status(t, "closed", actor=demo["lead"])
    response = client.post(f"/api/v1/tickets/{t.pk}/reply", {"body": "Hi again"}, content_type=JSON)
    assert response.status_code == 409
    assert "is closed" in errors(response)[None]


# --------------------------------------------------------------------------- tickets: list


def test_list_filters(api, demo, customer):
    """status (repeatable), priority, group, assignee (id, me, none), tag, channel, breached and q."""
    other = do_find_or_create_customer(email="kim@example.com", name="Kim Lee")
    a = ticket(customer, subject="Stove leaks gas", priority="high", tags=["stove"])
    b = ticket(other, subject="Where is my order", channel="web")
    c = ticket(customer, subject="Refund please", channel="chat")
    do_set_status(c, "pending", actor=demo["lead"])
    do_assign(a, demo["lead"], actor=demo["lead"])
    do_assign(b, None, actor=demo["lead"])
    do_assign(c, None, actor=demo["lead"])
    Ticket.objects.filter(pk=b.pk).update(breached=True)
    client = api("lead")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/tickets?{query}")
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    assert ids("") == {a.pk, b.pk, c.pk}
    assert ids("status=new") == {a.pk, b.pk}
    assert ids("status=new&status=pending") == {a.pk, b.pk, c.pk}
    assert ids("priority=high") == {a.pk}
    assert ids("group=frontline") == {a.pk, b.pk, c.pk}
    assert ids("group=none") == set()
    assert ids("assignee=me") == {a.pk}
    assert ids(f"assignee={demo['lead'].pk}") == {a.pk}
    assert ids("assignee=none") == {b.pk, c.pk}
    assert ids("tag=stove") == {a.pk}
    assert ids("channel=web&channel=chat") == {b.pk, c.pk}
    assert ids("breached=true") == {b.pk}
    assert ids("q=kim") == {b.pk}
    assert ids("q=stove+gas") == {a.pk}
    assert ids(f"q=%23{c.pk}") == {c.pk}
    # "#N" is that ticket alone; a bare N also finds the tickets that mention the number.
    d = do_create_ticket(
        customer=customer, subject="Order", body=f"My order number is {c.pk}.", channel="email"
    )
    assert ids(f"q=%23{c.pk}") == {c.pk}
    assert ids(f"q={c.pk}") == {c.pk, d.pk}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("status=soon", "status", "'soon' is not one of new, open, pending, on_hold, solved, closed"),
        ("priority=soon", "priority", "'soon' is not one of low, normal, high, urgent"),
        ("assignee=bob", "assignee", "'bob' is not a person id, 'me' or 'none'"),
        ("limit=101", "limit", "Input should be less than or equal to 100"),
        ("limit=0", "limit", "Input should be greater than or equal to 1"),
        ("sort=oldest", "sort", "'oldest' is not one of due, created, -created, updated"),
        (
            "cursor=garbage!",
            "cursor",
            "this cursor is not valid; start again from the first page without one",
        ),
        ("breached=perhaps", "breached", "Input should be a valid boolean, unable to interpret input"),
    ],
)
def test_list_errors_name_the_parameter(api, demo, query, field, message):
    """A bad filter, limit, sort or cursor on the ticket list gives 422 naming the parameter and what it may
    be (status 'soon' is not one of new, open, ...)."""
    response = api("agent").get(f"/api/v1/tickets?{query}")
    assert response.status_code == 422
    assert errors(response) == {field: message}


def _cursor_of(*parts) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "parts"),
    [
        ("created", ("created", 5, 167)),  # a number where a time belongs
        ("due", ("due", 5, 167)),
        ("updated", ("updated", [], 1)),
        ("created", ("created", "x", 1)),
        ("due", ("due", None, 251)),  # the due order has no empty keys
        ("created", ("created", {"t": "2026-12-01T10:00:00"}, 1)),  # a time without its zone
        ("created", ("created", {"t": "2026-12-01T10:00:00+00:00"}, True)),
    ],
)
def test_a_damaged_cursor_is_refused_naming_the_cursor(api, demo, sort, parts):
    """A cursor a client built or mangled names no page: 404 on the cursor, never a 500 or a wrong page."""
    response = api("agent").get(f"/api/v1/tickets?sort={sort}&cursor={_cursor_of(*parts)}")
    assert response.status_code == 404, response.content
    assert errors(response) == {
        "cursor": "no page has this cursor; start again from the first page without one"
    }


@pytest.mark.parametrize("sort", ["due", "created", "-created", "updated"])
def test_cursor_pages_walk_every_ticket_once_in_order(api, demo, customer, sort):
    """Following `next` from the first page yields every ticket exactly once, in the sort order."""
    base = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    made = []
    for n in range(23):
        # Several tickets share a creation instant (and so a due time): the id breaks the tie.
        made.append(
            ticket(
                customer,
                subject=f"T{n}",
                priority=["low", "high"][n % 2],
                at=base + dt.timedelta(minutes=n // 3),
            )
        )
    # Some tickets have no due time at all (solved): they come last when sorting by due time.
    for t in made[:4]:
        Ticket.objects.filter(pk=t.pk).update(next_due_at=None)
    client = api("agent")
    url, seen, pages = f"/api/v1/tickets?limit=5&sort={sort}", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert len(body["items"]) <= 5
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
        pages += 1
        if url:
            assert url.startswith("http://testserver/api/v1/tickets?") and f"sort={sort}" in url
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    rows = {t.pk: t for t in Ticket.objects.all()}
    key = {
        "due": lambda pk: (rows[pk].next_due_at is None, rows[pk].next_due_at or base, pk),
        "created": lambda pk: (rows[pk].created_at, pk),
        "-created": lambda pk: (-rows[pk].created_at.timestamp(), -pk),
        "updated": lambda pk: (rows[pk].updated_at, pk),
    }[sort]
    assert seen == sorted(rows, key=key)


def test_a_cursor_keeps_its_sort(api, demo, customer):
    """A cursor from one sort order used with another names no page of it: 404 on the cursor."""
    for n in range(3):
        ticket(customer, subject=f"T{n}")
    client = api("agent")
    cursor = client.get("/api/v1/tickets?limit=1&sort=created").json()["next_cursor"]
    response = client.get(f"/api/v1/tickets?limit=1&sort=due&cursor={cursor}")
    assert response.status_code == 404
    assert errors(response) == {
        "cursor": "this cursor belongs to sort=created; use the same sort on every page"
    }


def test_listing_5_or_50_tickets_makes_the_same_number_of_queries(api, demo, customer):
    """No query per ticket: customers and assignees come with the tickets."""
    client = api("lead")
    people = [demo["agent"], demo["lead"], demo["manager"]]
    for n in range(50):
        t = ticket(do_find_or_create_customer(email=f"c{n}@example.com", name=f"C {n}"), subject=f"T{n}")
        do_assign(t, people[n % 3], actor=demo["lead"])
        do_change_tags(t, add=[f"tag{n % 4}"], actor=demo["lead"])
    # One instant for every request: the token's "last used" stamp is written once a minute, and
    # the rate limit's counter sweeps old windows when a new one starts.
    frozen = patch("django.utils.timezone.now", return_value=timezone.now())
    with frozen:
        client.get("/api/v1/tickets?limit=5")

    def count(limit: int) -> int:
        with frozen, CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/tickets?limit={limit}")
        assert len(response.json()["items"]) == limit
        assert all(item["assignee"] and item["customer"]["email"] for item in response.json()["items"])
        return len(queries)

    assert count(5) == count(50)
    # One counts the request against the token's rate limit; each family that adds fields to the
    # API's tickets (surveys' answers, the contingencies a ticket is under) asks once per page.
    assert count(50) <= 8


# --------------------------------------------------------------------------- SLA


def test_sla_shows_every_cycle_with_iso_utc_times_and_explanations(api, demo, customer):
    """GET /tickets/{id}/sla: the policy and each metric's cycles, in UTC, with the engine's words."""
    at = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    t = ticket(customer, at=at)
    with patch("django.utils.timezone.now", return_value=at + dt.timedelta(hours=1)):
        response = api("agent").get(f"/api/v1/tickets/{t.pk}/sla")
    assert response.status_code == 200
    body = response.json()
    assert body["policy"] == "standard" and body["evaluated_at"] == "2026-12-07T15:00:00Z"
    first = body["metrics"]["first_response"][0]
    # 8 business hours from Monday 09:00 New York: Monday 17:00 New York, 22:00 UTC.
    assert first == {
        "target": "8h",
        "start": "2026-12-07T14:00:00Z",
        "due": "2026-12-07T22:00:00Z",
        "fulfilled": None,
        "breached": False,
        "paused": False,
        "policy": "standard",
        "calendar": "office",
        "explain": first["explain"],
    }
    assert "policy 'standard', target 8h" in first["explain"]
    assert body["next_due_at"] == "2026-12-07T22:00:00Z"
    assert body["next_escalation"] == {
        "rule": "warn-assignee",
        "metric": "first_response",
        "at": "2026-12-07T21:45:00Z",
    }


def test_sla_judges_breaches_now_and_says_which_escalations_were_carried_out(api, demo, customer):
    """Past the due time the cycle is breached; escalations the desk has done are marked carried out."""
    from charterdesk.tickets.actions import refresh_sla

    at = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    t = ticket(customer, at=at)
    refresh_sla(t, at + dt.timedelta(hours=8, minutes=5))
    with patch("django.utils.timezone.now", return_value=at + dt.timedelta(hours=9)):
        body = api("agent").get(f"/api/v1/tickets/{t.pk}/sla").json()
    assert body["breached"] is True
    assert body["metrics"]["first_response"][0]["breached"] is True
    assert [(e["rule"], e["at"], e["carried_out"]) for e in body["escalations"]] == [
        ("warn-assignee", "2026-12-07T21:45:00Z", True),
        ("lead-on-breach", "2026-12-07T22:00:00Z", True),
    ]


# ------------------------------------------------------------------- customers, groups, people, search


def test_customers_list_search_and_pages(api, demo):
    """GET /customers by name, searchable by any word of name, email, phone or organisation."""
    for n in range(7):
        do_find_or_create_customer(
            email=f"c{n}@example.com", name=f"Customer {n}", organization="Peak" if n < 2 else ""
        )
    client = api("manager")
    body = client.get("/api/v1/customers?q=peak").json()
    assert [c["name"] for c in body["items"]] == ["Customer 0", "Customer 1"]
    names, url = [], "/api/v1/customers?limit=3"
    while url:
        page = client.get(url).json()
        names += [c["name"] for c in page["items"]]
        url = page["next"]
    assert names == [f"Customer {n}" for n in range(7)]


def test_create_read_and_correct_a_customer(api, demo):
    """POST, GET and PATCH /customers; both writes audited; bad fields named."""
    client = api("manager")
    response = client.post(
        "/api/v1/customers",
        {"name": "Ana Silva", "email": "ana@example.com", "timezone": "Europe/Lisbon"},
        content_type=JSON,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["timezone"] == "Europe/Lisbon" and created["tickets"] == []
    ticket(Customer.objects.get(pk=created["id"]), subject="Sleeping bag zip")
    body = client.get(f"/api/v1/customers/{created['id']}").json()
    assert [t["subject"] for t in body["tickets"]] == ["Sleeping bag zip"]
    response = client.patch(
        f"/api/v1/customers/{created['id']}",
        {"phone": "+351 21 000 0000", "organization": "Trail Co"},
        content_type=JSON,
    )
    assert response.status_code == 200 and response.json()["organization"] == "Trail Co"
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"customer.create", "customer.update"}

    response = client.post(
        "/api/v1/customers", {"name": "Other", "email": "ANA@example.com"}, content_type=JSON
    )
    assert response.status_code == 409
    assert errors(response) == {"email": f"customer #{created['id']} (Ana Silva) already has this email"}
    response = client.patch(
        f"/api/v1/customers/{created['id']}", {"timezone": "Mars/Base"}, content_type=JSON
    )
    assert errors(response) == {
        "timezone": "'Mars/Base' is not a time zone; use an IANA name such as Europe/Berlin"
    }
    response = client.post("/api/v1/customers", {"email": "x@example.com"}, content_type=JSON)
    assert errors(response) == {"name": "this field is required"}
    response = client.post(
        "/api/v1/customers", {"email": "x@example.com", "name": " \x1c"}, content_type=JSON
    )
    assert errors(response) == {"name": "must not be blank"}
    response = client.patch(f"/api/v1/customers/{created['id']}", {"language": None}, content_type=JSON)
    assert errors(response) == {"language": "cannot be null"}
    response = client.get("/api/v1/customers/999")
    assert response.status_code == 404 and errors(response) == {"customer_id": "there is no customer #999"}


def test_groups_come_from_the_protocol_in_force(api, demo):
    """GET /groups: each group of the protocol with its roles, channels and the people who can work it."""
    body = api("agent").get("/api/v1/groups").json()
    assert body == [
        {
            "id": "frontline",
            "name": "Frontline",
            "roles": ["agent"],
            "channels": ["email", "web", "chat", "phone"],
            "members": [{"id": demo["agent"].pk, "name": "Alex Kim"}],
        },
        {
            "id": "escalations",
            "name": "Escalations",
            "roles": ["lead"],
            "channels": [],
            "members": [{"id": demo["lead"].pk, "name": "Ravi Menon"}],
        },
    ]


def test_people_lists_roles_and_away(api, demo):
    """GET /people: id, name, email, roles, away; deactivated people only on request."""
    do_set_active(demo["agent"], False, actor=demo["manager"])
    client = api("lead")
    body = client.get("/api/v1/people").json()
    assert [(p["name"], p["roles"], p["away"]) for p in body] == [
        ("Dana Whitfield", ["manager"], False),
        ("Ravi Menon", ["lead"], False),
    ]
    assert len(client.get("/api/v1/people?include_inactive=true").json()) == 3
    assert [p["name"] for p in client.get("/api/v1/people?role=lead").json()] == ["Ravi Menon"]


def test_search_finds_tickets_and_customers_as_permitted(api, demo, customer):
    """GET /search: tickets for ticket.view holders, customers for customer.view holders."""
    ticket(customer, subject="Walker stove")
    body = api("manager").get("/api/v1/search?q=walker").json()
    assert [t["subject"] for t in body["tickets"]] == ["Walker stove"]
    assert [c["name"] for c in body["customers"]] == ["Jo Walker"]
    body = api("agent").get("/api/v1/search?q=walker").json()
    assert [c["name"] for c in body["customers"]] == ["Jo Walker"] and len(body["tickets"]) == 1
    # A version whose agents do not hold customer.view: their search lists no customers.
    from charterdesk.demo.loader import EXAMPLE
    from charterdesk.library.actions import do_create_draft, do_publish

    source = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.3"')
    source = source.replace("refund.request, kb.read, customer.view]", "refund.request, kb.read]", 1)
    do_publish(do_create_draft(source, actor=demo["manager"]), actor=demo["manager"])
    body = api("agent").get("/api/v1/search?q=walker").json()
    assert body["customers"] is None and len(body["tickets"]) == 1
    response = api("agent").get("/api/v1/search?q=%20")
    assert errors(response) == {"q": "give some words to search for"}
    assert errors(api("agent").get("/api/v1/search")) == {"q": "this field is required"}


# --------------------------------------------------------------------------- rate limits, docs


FROZEN = dt.datetime(2026, 12, 7, 14, 0, 20, tzinfo=dt.UTC)


@override_settings(CHARTERDESK_API_RATE="3/minute")
def test_rate_limit_per_token_gives_429_with_retry_after(api, demo):
    """The 4th request in a minute gets 429 with Retry-After (seconds to the window's end); other
    tokens have their own allowance."""
    client = api("agent")
    with patch("django.utils.timezone.now", return_value=FROZEN):
        assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
        response = client.get("/api/v1/me")
        assert response.status_code == 429
        assert response["Retry-After"] == "40"
        assert errors(response)[None] == "too many requests: the limit is 3/minute; try again in 40 s"
        assert api("lead").get("/api/v1/me").status_code == 200
    with patch("django.utils.timezone.now", return_value=FROZEN + dt.timedelta(seconds=40)):
        assert client.get("/api/v1/me").status_code == 200


@override_settings(CHARTERDESK_API_ANON_RATE="2/hour")
def test_requests_without_a_valid_token_are_limited_per_address(demo):
    """Guessing tokens is limited per client address: the 3rd bad request in the hour is a 429."""
    with patch("django.utils.timezone.now", return_value=FROZEN):
        codes = [
            Client(headers={"Authorization": f"Bearer guess-{n}"}, REMOTE_ADDR="203.0.113.9")
            .get("/api/v1/me")
            .status_code
            for n in range(3)
        ]
        assert codes == [401, 401, 429]
        assert Client(REMOTE_ADDR="198.51.100.1").get("/api/v1/me").status_code == 401


def test_a_bad_rate_setting_says_how_to_write_one(api, demo):
    """A misconfigured rate is reported in plain words rather than silently ignored."""
    from charterdesk.api.ratelimit import parse_rate

    assert parse_rate("1000/5minutes").period == 300
    with pytest.raises(ValueError, match="write it like 120/minute"):
        parse_rate("lots")


def test_the_openapi_docs_are_served(demo):
    """/api/docs is the interactive documentation; its schema lists the endpoints and bearer auth."""
    assert Client().get("/api/docs").status_code == 200
    schema = Client().get("/api/openapi.json").json()
    assert {"/api/v1/tickets", "/api/v1/tickets/{ticket_id}/sla", "/api/v1/search"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
