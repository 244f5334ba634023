"""The OpenAPI document tells the truth: schemathesis sends generated requests to every operation of
/api/v1/ (examples, coverage of each rule's edges, fuzzing and stateful sequences) with every check
on, and each answer must agree with the document: declared statuses, content types and bodies,
schema-valid requests accepted and schema-violating ones refused."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "schemathesis.toml"


def disagreements(event_stream) -> tuple[int, set[str], list[str]]:
    """The number of requests sent, the operations that answered 2xx at least once, and each failed
    check with a curl line that repeats it."""
    from schemathesis.engine import events

    sent, succeeded, found = 0, set(), []
    for event in event_stream:
        if isinstance(event, events.ScenarioFinished):
            sent += len(event.recorder.interactions)
            for case_id, interaction in event.recorder.interactions.items():
                if interaction.response is not None and 200 <= interaction.response.status_code < 300:
                    succeeded.add(event.recorder.cases[case_id].value.operation.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"{event.recorder.label}: {check.name}: {failure.title}\n"
                            f"    {failure.message}\n    {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            found.append(f"{event.label}: error: {event.info.title}\n    {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return sent, succeeded, found


@pytest.mark.schemathesis
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_the_openapi_document_agrees_with_every_answer(request, transactional_db, settings, capsys):
    """Generated API requests all get the answers the OpenAPI document promises, with no failure."""
    if connection.vendor != "sqlite":
        pytest.skip("the document is the same on every database: CI runs schemathesis once, on SQLite")
    # Asked for here, after the skip: the live server's request threads keep their PostgreSQL
    # connections (CONN_MAX_AGE), which would hold the test database open at its teardown.
    live_server = request.getfixturevalue("live_server")
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import from_schema

    from charterdesk.accounts.models import Person
    from charterdesk.api.actions import do_create_token
    from charterdesk.demo.loader import load_demo
    from charterdesk.demo.tickets import load_demo_tickets
    from charterdesk.tickets.attachments import IncomingFile, do_attach_files
    from charterdesk.tickets.models import Message, Ticket

    # Real rows to hit: the demo's people and protocol, and 30 tickets with their customers.
    now = timezone.now().replace(microsecond=0)
    people = load_demo(now=now - dt.timedelta(days=30))
    load_demo_tickets(30, seed=16, now=now, workers=1)
    # A file on the first ticket's first message, for the attachment download to find.
    first = Message.objects.filter(ticket=Ticket.objects.order_by("pk").first()).order_by("pk").first()
    do_attach_files(first, [IncomingFile("receipt.txt", b"Order 1234, paid.", "text/plain")])
    # The manager's roles grant every permission ("*"), so no operation is out of reach.
    manager = Person.objects.get(email=next(p.email for p in people if p.role == "manager"))
    secret = do_create_token(manager, "schemathesis", actor=manager)[1]
    # Thousands of requests a minute: the limits would answer 429 (a declared answer) to most of them.
    settings.CHARTERDESK_API_RATE = settings.CHARTERDESK_API_ANON_RATE = "1000000/minute"

    config = SchemathesisConfig.from_path(CONFIG)
    config.projects.default.update(headers={"Authorization": f"Bearer {secret}"})
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json", config=config)
    started = time.perf_counter()
    sent, succeeded, found = disagreements(from_schema(schema).execute())
    with capsys.disabled():
        print(
            f"\nschemathesis: {sent} requests, {len(found)} failures, {time.perf_counter() - started:.0f} s"
        )
    assert sent > 1000, "schemathesis sent fewer requests than its settings ask for"
    # Each operation reached real rows and answered 2xx at least once, so its successes were checked too.
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert operations - succeeded == set(), "operations that never answered 2xx"
    assert not found, f"{len(found)} disagreements between the document and the API:\n\n" + "\n\n".join(found)


def test_the_documents_whitespace_is_the_whitespace_the_code_strips():
    """A name of only \\x1c or \\x85 counts as blank in the document exactly as in the code."""
    import re
    import sys

    from charterdesk.api.schemas import SPACE

    spelled = re.compile(f"[{SPACE}]")
    assert {c for c in map(chr, range(sys.maxunicode + 1)) if spelled.match(c)} == {
        c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()
    }


def test_the_document_lists_the_protocols_channels_and_groups(demo, client):
    """A client reading the document sees which channels and groups the protocol in force has."""
    document = client.get("/api/openapi.json").json()
    create = document["components"]["schemas"]["TicketCreate"]["properties"]
    assert create["channel"]["enum"] == ["chat", "email", "phone", "web"]
    groups = document["components"]["schemas"]["TicketPatch"]["properties"]["group"]["anyOf"][0]["enum"]
    assert groups == ["escalations", "frontline", ""]


def test_every_text_the_api_reads_refuses_nul_in_the_document(demo, client):
    """The document says no text may hold NUL, as the API answers, for queries and bodies alike."""
    document = client.get("/api/openapi.json").json()
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert parameters["q"]["anyOf"][0]["pattern"] == "^[^\\u0000]*$"
    phone = document["components"]["schemas"]["CustomerIn"]["properties"]["phone"]
    assert phone["pattern"] == "^[^\\u0000]*$"


def test_operations_with_a_body_declare_400_409_and_413(demo, client):
    """Every operation reading a JSON body lists the answers for bad JSON, a conflict and a huge body."""
    document = client.get("/api/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert {"400", "409", "413"} <= set(operation["responses"]), f"{method} {path}"
