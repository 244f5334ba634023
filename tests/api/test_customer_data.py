"""One rule for customer data in the API and the web exports, the same as on the pages
(``sees_customer_contact``): a matrix over the demo protocol's roles, for the example as shipped
(everyone listed) and for a version that lists only managers and takes customer.view from agents.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.db.models import F
from django.test import Client

from charterdesk.api.actions import do_create_token
from charterdesk.core.permissions import masked_name, sees_customer_contact
from charterdesk.library.actions import do_create_draft, do_publish
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
from tests.shared import DEMO_SINCE

NAME, EMAIL, PHONE = "Jo Walker", "jo.walker@example.com", "+44 20 7946 0018"
MASKED = "Jo W."
SEES, HIDDEN = "sees", "masked"

# Who sees a customer's contact details, per version and role: the matrix this file proves.
MATRIX = {
    "example": {"agent": SEES, "lead": SEES, "manager": SEES},
    # privacy.access.customer_data: [manager]; the agent role without customer.view.
    "managers only": {"agent": HIDDEN, "lead": HIDDEN, "manager": SEES},
}

# (name, method, path, body, shows the phone): every endpoint that answers with a customer.
# {ticket} and {customer} are filled in per call; a role whose permissions do not allow the call
# gets 403, which shows nothing.
ENDPOINTS = [
    ("list tickets", "get", "/api/v1/tickets?limit=100", None, False),
    ("search tickets by words", "get", "/api/v1/tickets?q=tent", None, False),
    ("read ticket (customer and message authors)", "get", "/api/v1/tickets/{ticket}", None, False),
    ("change ticket", "patch", "/api/v1/tickets/{ticket}", {"priority": "high"}, False),
    (
        "open ticket for the customer",
        "post",
        "/api/v1/tickets",
        {"customer_id": "{customer}", "subject": "Stove", "body": "It leaks.", "channel": "web"},
        False,
    ),
    ("list customers", "get", "/api/v1/customers", None, True),
    ("search customers by name", "get", "/api/v1/customers?q=jo", None, True),
    ("read customer", "get", "/api/v1/customers/{customer}", None, True),
    ("search", "get", "/api/v1/search?q=jo", None, True),
]

RESTRICTED_CHANGES = (
    ("    customer_data: [agent, lead, manager]", "    customer_data: [manager]"),
    ("kb.read, customer.view]", "kb.read]"),  # the agent's line: no customer.view
    ('version: "3.2"', 'version: "3.3"'),
)


@pytest.fixture(autouse=True)
def setting(demo):
    cache.clear()
    # Ticket actions count whole seconds; the demo published to the microsecond (see test_api.py).
    ProtocolVersion.objects.update(effective_at=F("effective_at") - dt.timedelta(seconds=1))
    yield
    cache.clear()


def put_in_force(version: str, demo, example_source: str) -> None:
    if version == "example":
        return
    text = example_source
    for old, new in RESTRICTED_CHANGES:
        assert old in text, old
        text = text.replace(old, new, 1)
    since = DEMO_SINCE + dt.timedelta(days=1)
    draft = do_create_draft(text, actor=demo["manager"])
    do_publish(draft, actor=demo["manager"], effective_at=since, now=since)
    assert version_in_force().version == "3.3"


def make_ticket():
    customer = do_find_or_create_customer(email=EMAIL, name=NAME, phone=PHONE)
    ticket = do_create_ticket(
        customer=customer, subject="Tent pole", body="The pole snapped.", channel="email"
    )
    return customer, ticket


def fill(value, ids: dict):
    if isinstance(value, str):
        for key, number in ids.items():
            if value == "{" + key + "}":
                return number
            value = value.replace("{" + key + "}", str(number))
        return value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def call(client: Client, method: str, path: str, body, ids: dict):
    path = fill(path, ids)
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, fill(body, ids), content_type="application/json")


def shown_wrongly(text: str, expected: str, *, phone: bool) -> list[str]:
    """What ``text`` (an answer or an export) shows against what the matrix says the reader sees."""
    wrong = []
    if expected == SEES:
        for value in (NAME, EMAIL) + ((PHONE,) if phone else ()):
            if value not in text:
                wrong.append(f"{value!r} missing")
        if '"contact_hidden": true' in text:
            wrong.append("contact_hidden is true")
    else:
        for value in (NAME, EMAIL, PHONE, "walker@"):
            if value in text:
                wrong.append(f"{value!r} shown")
        if MASKED not in text:
            wrong.append(f"{MASKED!r} missing")
    return wrong


@pytest.mark.parametrize("version", list(MATRIX))
@pytest.mark.parametrize("role", ["agent", "lead", "manager"])
def test_every_api_answer_with_a_customer_follows_the_one_rule(demo, example_source, version, role):
    """Agents, leads and managers see Jo Walker's email and phone in every API answer of the example;
    where only managers are listed, the others get 'Jo W.', no email, no phone, contact_hidden."""
    put_in_force(version, demo, example_source)
    expected = MATRIX[version][role]
    assert sees_customer_contact(demo[role], protocol_of(version_in_force())) == (expected == SEES)
    client = Client(headers={"Authorization": f"Bearer {do_create_token(demo[role], 'm', actor=None)[1]}"})
    wrong, answered = [], 0
    for name, method, path, body, phone in ENDPOINTS:
        customer, ticket = make_ticket()
        response = call(client, method, path, body, {"ticket": ticket.pk, "customer": customer.pk})
        text = json.dumps(response.json())
        if response.status_code == 403:
            if any(v in text for v in (NAME, EMAIL, PHONE, MASKED)):
                wrong.append(f"{name}: a refusal shows the customer")
            continue
        assert response.status_code in (200, 201), (name, response.status_code, text[:300])
        answered += 1
        wrong += [f"{name}: {w}" for w in shown_wrongly(text, expected, phone=phone)]
    assert not wrong, "\n".join(wrong)
    assert answered >= 4  # every role reads tickets at least


def test_the_masked_name_is_the_pages_one(demo):
    """The API masks 'Jo Walker' as 'Jo W.', exactly as the queue and the ticket page do."""
    from charterdesk.api.present import customer_out
    from charterdesk.tickets.templatetags.desk_words import customer_name

    customer, _ticket = make_ticket()
    assert customer_out(customer, False)["name"] == customer_name(NAME, False) == masked_name(NAME) == MASKED
    shown = customer_out(customer, False)
    assert shown["email"] is None and shown["phone"] is None and shown["contact_hidden"] is True


def test_searching_by_email_or_phone_finds_nobody_for_a_masked_caller(demo, example_source):
    """A lead not listed in customer_data who searches customers for Jo's phone finds nobody, and
    for her email is refused (the answer would tell them whose it is); a manager finds Jo Walker."""
    put_in_force("managers only", demo, example_source)
    make_ticket()
    lead = Client(headers={"Authorization": f"Bearer {do_create_token(demo['lead'], 'm', actor=None)[1]}"})
    manager = Client(
        headers={"Authorization": f"Bearer {do_create_token(demo['manager'], 'm', actor=None)[1]}"}
    )
    for q in ("jo.walker@example.com", "7946"):
        assert [c["name"] for c in manager.get("/api/v1/customers", {"q": q}).json()["items"]] == [NAME]
    assert lead.get("/api/v1/customers", {"q": "7946"}).json()["items"] == []
    assert lead.get("/api/v1/search", {"q": "7946"}).json()["customers"] == []
    assert lead.get("/api/v1/customers", {"q": "jo.walker@example.com"}).status_code == 422


def test_a_masked_caller_may_not_correct_a_customers_details(demo, example_source):
    """PATCH /customers/N by a lead not listed in customer_data is a 403 that changes nothing, as
    the ticket page's 'Edit details' is for those who see the details."""
    put_in_force("managers only", demo, example_source)
    customer, _ticket = make_ticket()
    lead = Client(headers={"Authorization": f"Bearer {do_create_token(demo['lead'], 'm', actor=None)[1]}"})
    response = lead.patch(
        f"/api/v1/customers/{customer.pk}", {"phone": "+1 555"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "Your roles do not give access to customer data."
    customer.refresh_from_db()
    assert customer.phone == PHONE


@pytest.mark.parametrize("version", list(MATRIX))
def test_the_reports_csv_files_carry_no_customer_data_for_anyone(demo, example_source, version, client):
    """Every CSV file of the reports page (KPIs, objectives, trend, breakdowns) holds figures and the
    agents' names, never a customer's name, email or phone, for any role."""
    put_in_force(version, demo, example_source)
    make_ticket()
    from charterdesk.reports.views import CSV_TABLES

    downloaded = 0
    for role in ("agent", "lead", "manager"):
        client.force_login(demo[role])
        for table in CSV_TABLES:
            response = client.get(f"/reports/{table}.csv", {"period": "last_30_days"})
            if response.status_code != 200:
                continue
            downloaded += 1
            text = response.content.decode()
            assert not any(v in text for v in (NAME, EMAIL, PHONE, MASKED)), (role, table)
    assert downloaded >= 9  # kpis, objectives and trend for each role at least


def test_the_operators_event_export_names_tickets_by_id_and_carries_no_contact_details(demo, tmp_path):
    """`charterdesk tickets export-events`, run by an operator who reads the database anyway, writes
    ticket ids, times and what happened: never Jo Walker's name, email or phone."""
    from django.core.management import call_command

    _customer, ticket = make_ticket()
    call_command("tickets", "export-events", "-o", str(tmp_path / "events.jsonl"))
    text = (tmp_path / "events.jsonl").read_text(encoding="utf-8")
    assert f'"ticket":"{ticket.pk}"' in text
    assert not any(v in text for v in (NAME, EMAIL, PHONE, "Walker"))


def test_a_masked_caller_cannot_find_tickets_by_a_customers_email(demo, example_source, client):
    """A lead not listed in customer_data who searches tickets for jo.walker@example.com gets a 422
    naming q (the queue page says the search is refused and leaves it out), since the tickets
    found would say whose address it is; a manager finds Jo's ticket."""
    put_in_force("managers only", demo, example_source)
    _customer, ticket = make_ticket()
    lead = Client(headers={"Authorization": f"Bearer {do_create_token(demo['lead'], 'm', actor=None)[1]}"})
    manager = Client(
        headers={"Authorization": f"Bearer {do_create_token(demo['manager'], 'm', actor=None)[1]}"}
    )
    for path in ("/api/v1/tickets", "/api/v1/search"):
        response = lead.get(path, {"q": EMAIL})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "q", "message": "searching by an email address needs access to customer data"}
        ]
    found = manager.get("/api/v1/tickets", {"q": EMAIL}).json()["items"]
    assert [t["id"] for t in found] == [ticket.pk]
    client.force_login(demo["lead"])
    page = client.get("/tickets/", {"q": EMAIL}).content.decode()
    assert "is refused (searching by an email address needs access to customer data)" in page
