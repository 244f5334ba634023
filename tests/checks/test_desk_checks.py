"""The desk enforces the protocol's message checks: etiquette on replies (composer, send, API),
contingencies on customers' messages, and redaction before anything is stored."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from charterdesk.api.actions import do_create_token
from charterdesk.audit.models import AuditEntry
from charterdesk.channels.inbound import receive
from charterdesk.channels.models import InboundMessage
from charterdesk.checks.models import ContingencyActivation
from charterdesk.tickets.actions import (
    ReplyRefused,
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
)
from charterdesk.tickets.models import Customer, Message, Ticket, TicketEvent
from tests.channels import email_corpus
from tests.channels.email_corpus import plain

email_env = email_corpus.email_env  # the shared fixture

pytestmark = pytest.mark.message_checks

GOOD = "Hi Maria,\n\nYour new tent pole is on its way.\n\nKind regards"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def maria(demo):
    return do_find_or_create_customer(email="maria@example.com", name="Maria Lopez")


@pytest.fixture
def ticket(maria):
    return do_create_ticket(customer=maria, subject="Tent pole", body="My pole snapped.", channel="email")


def _problems(objections) -> list[str]:
    return [o.code for o in objections]


# --------------------------------------------------------------------------- etiquette


def test_the_composer_lists_each_problem_in_plain_words_as_the_agent_types(signed_in, ticket):
    """A draft without greeting that says 'calm down' shows both problems next to the text."""
    client = signed_in("agent")
    response = client.post(
        reverse("tickets:check-reply", args=[ticket.pk]),
        {"body": "Maria, please calm down. Regards", "kind": "reply"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "No greeting: start with hi, hello, dear" in page
    assert "&#x27;calm down&#x27; is on the banned list" in page
    assert "data-may-override" not in page  # an agent may not send it anyway


def test_a_clean_draft_shows_no_problem_and_a_note_is_never_checked(signed_in, ticket):
    """A reply that passes, and an internal note that would not, both show an empty check."""
    client = signed_in("agent")
    url = reverse("tickets:check-reply", args=[ticket.pk])
    assert "problems" not in client.post(url, {"body": GOOD, "kind": "reply"}).content.decode()
    assert "problems" not in client.post(url, {"body": "calm down", "kind": "note"}).content.decode()


def test_a_refused_send_keeps_the_text_and_lists_the_problems_at_the_composer(signed_in, ticket):
    """Nothing is stored; the page shows the problems in the composer with the text as written."""
    client = signed_in("agent")
    response = client.post(
        reverse("tickets:reply", args=[ticket.pk]), {"kind": "reply", "body": "calm down Maria. Regards"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Not sent: fix these first." in page and "No greeting" in page
    assert "calm down Maria. Regards</textarea>" in page
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()


def test_a_lead_sends_anyway_with_a_reason_and_the_audit_log_says_why(signed_in, ticket):
    """The lead's reply with problems asks for a reason; with one it is sent, and the audit entry
    names the problems, the reason, the protocol version and the clauses."""
    client = signed_in("lead")
    url = reverse("tickets:reply", args=[ticket.pk])
    refused = client.post(url, {"kind": "reply", "body": "Maria, calm down. Regards"})
    assert refused.status_code == 400 and "give a reason to send it anyway" in refused.content.decode()
    reason = "the customer asked for it"
    sent = client.post(url, {"kind": "reply", "body": "Maria, calm down. Regards", "override_reason": reason})
    assert sent.status_code == 302
    entry = AuditEntry.objects.get(action="ticket.reply")
    override = entry.data["override"]
    assert override["reason"] == reason
    assert override["protocol_version"] == entry.protocol_version
    assert [o["code"] for o in override["objections"]] == ["etiquette.greeting", "etiquette.banned_phrase"]
    assert entry.clause == "etiquette.greeting, etiquette.banned_phrases[0]"


def test_an_agent_cannot_override_even_with_a_reason(demo, ticket):
    """The agent's roles do not grant etiquette.override: a reason changes nothing."""
    with pytest.raises(ReplyRefused) as refused:
        do_reply(ticket, author=demo["agent"], body="calm down", override_reason="please")
    assert refused.value.may_override is False
    assert _problems(refused.value.objections)[:2] == ["etiquette.greeting", "etiquette.closing"]


def test_the_name_check_applies_only_to_a_name_the_desk_knows(demo):
    """A customer known only by address ('jo.walker') is not asked to be named; one with a
    display name is."""
    unnamed = do_find_or_create_customer(email="jo.walker@example.com")
    named = do_find_or_create_customer(email="sam@example.com", name="Sam Reed")
    assert (unnamed.name, unnamed.name_known, named.name_known) == ("jo.walker", False, True)
    reply = "Hello there,\n\nIt is on its way.\n\nThanks"
    for customer, expected in ((unnamed, []), (named, ["etiquette.customer_name"])):
        ticket = do_create_ticket(customer=customer, subject="Stove", body="Broken.", channel="email")
        if expected:
            with pytest.raises(ReplyRefused) as refused:
                do_reply(ticket, author=demo["agent"], body=reply)
            assert _problems(refused.value.objections) == expected
        else:
            do_reply(ticket, author=demo["agent"], body=reply)


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (GOOD, []),
        ("Maria, your pole ships today. Regards", ["etiquette.greeting"]),
        ("Hi Maria, it ships today.", ["etiquette.closing"]),
        ("Hi there, it ships today. Thanks", ["etiquette.customer_name"]),
        ("Hi Maria, as I already said, you should have waited. Thanks", ["etiquette.banned_phrase"] * 2),
        ("Hi Maria, " + "word " * 400 + "Thanks", ["etiquette.max_words"]),
        ("Hi Maria, order {order.number} ships. Thanks", ["placeholder"]),
    ],
)
def test_each_rule_of_the_demo_etiquette_objects_on_its_own(demo, ticket, body, codes):
    """One table row per rule: the objection codes a reply gets, in the protocol's order."""
    try:
        do_reply(ticket, author=demo["agent"], body=body)
        got = []
    except ReplyRefused as refused:
        got = _problems(refused.objections)
    assert got == codes


def test_the_customers_frustration_asks_for_empathy(demo, ticket):
    """After 'I am frustrated' a reply without an apology is refused; with one it is sent."""
    do_customer_message(ticket, body="I am frustrated.\n\n> earlier: all fine")
    with pytest.raises(ReplyRefused) as refused:
        do_reply(ticket, author=demo["agent"], body=GOOD)
    assert _problems(refused.value.objections) == ["etiquette.empathy"]
    do_reply(ticket, author=demo["agent"], body="Hi Maria, I am sorry. It ships today. Regards")


def test_an_unfilled_placeholder_blocks_even_a_lead(demo, ticket):
    """A placeholder left in a saved reply has no override: the lead's reason does not send it."""
    with pytest.raises(ReplyRefused) as refused:
        do_reply(ticket, author=demo["lead"], body="Hi Maria, {order.number}. Thanks", override_reason="x")
    assert refused.value.may_override is False
    assert "{order.number}" in refused.value.objections[0].message


def test_a_resubmitted_form_sends_once(signed_in, ticket):
    """The same idempotency key twice: one reply, and the second answer says it was not resent."""
    client = signed_in("agent")
    data = {"kind": "reply", "body": GOOD, "idempotency_key": "abc123"}
    first = client.post(reverse("tickets:reply", args=[ticket.pk]), data)
    second = client.post(reverse("tickets:reply", args=[ticket.pk]), data, follow=True)
    assert first.status_code == 302
    assert "already sent" in second.content.decode()
    assert Message.objects.filter(ticket=ticket, kind="reply").count() == 1


def test_a_refused_form_may_be_sent_again_with_the_same_key(signed_in, ticket):
    """A refusal sends nothing, so the corrected form with the same key goes out."""
    client = signed_in("agent")
    url = reverse("tickets:reply", args=[ticket.pk])
    client.post(url, {"kind": "reply", "body": "calm down", "idempotency_key": "k1"})
    assert client.post(url, {"kind": "reply", "body": GOOD, "idempotency_key": "k1"}).status_code == 302


def _api(demo, role: str) -> Client:
    person = demo[role]
    return Client(headers={"Authorization": f"Bearer {do_create_token(person, 't', actor=person)[1]}"})


def test_the_api_lists_every_problem_with_422_and_overrides_only_for_those_who_may(demo, ticket):
    """422 with each objection; an agent's override_reason is refused by name; a lead's is taken."""
    url = f"/api/v1/tickets/{ticket.pk}/reply"
    bad = {"body": "Maria, calm down.", "override_reason": "urgent"}
    agent = _api(demo, "agent").post(url, bad, content_type="application/json")
    assert agent.status_code == 422
    errors = agent.json()["errors"]
    assert [e.get("code") for e in errors[:3]] == [
        "etiquette.greeting",
        "etiquette.closing",
        "etiquette.banned_phrase",
    ]
    assert errors[-1]["field"] == "override_reason"
    lead = _api(demo, "lead").post(url, bad, content_type="application/json")
    assert lead.status_code == 201


# --------------------------------------------------------------------------- a ticket an agent opens

NEW_TICKET = {
    "email": "sam@example.com",
    "name": "Sam Reed",
    "subject": "Your stove",
    "channel": "email",
    "priority": "normal",
}


def test_the_first_message_of_a_new_ticket_is_checked_as_a_reply(signed_in):
    """A lead opening a ticket whose first message says 'calm down' and greets no one sees both
    problems by the message, with everything typed kept; nothing is stored, not even the
    customer; with a reason the ticket opens, and its creation's audit entry says why."""
    client = signed_in("lead")
    data = {**NEW_TICKET, "body": "Sam, calm down. Regards"}
    refused = client.post(reverse("tickets:new"), data)
    page = refused.content.decode()
    assert "Not opened: the first message is a reply to the customer; give a reason" in page
    assert "No greeting" in page and "&#x27;calm down&#x27; is on the banned list" in page
    assert "Sam, calm down. Regards</textarea>" in page and 'value="Your stove"' in page
    assert "data-override hidden" not in page  # the reason box is offered
    assert not Ticket.objects.exists() and not Customer.objects.filter(email="sam@example.com").exists()
    opened = client.post(reverse("tickets:new"), {**data, "override_reason": "he asked for it plainly"})
    assert opened.status_code == 302
    entry = AuditEntry.objects.get(action="ticket.create")
    override = entry.data["override"]
    assert override["reason"] == "he asked for it plainly"
    assert [o["code"] for o in override["objections"]] == ["etiquette.greeting", "etiquette.banned_phrase"]
    assert entry.clause == "etiquette.greeting, etiquette.banned_phrases[0]"


def test_a_new_tickets_unfilled_placeholder_is_refused_even_to_a_lead(signed_in):
    """An unfilled {placeholder} in the first message has no override: the lead is told to fill
    it in, and no reason opens the ticket."""
    client = signed_in("lead")
    body = "Hi Sam,\n\nYour order {order.number} ships today.\n\nKind regards"
    response = client.post(reverse("tickets:new"), {**NEW_TICKET, "body": body, "override_reason": "x"})
    page = response.content.decode()
    assert "Not opened: the first message is a reply to the customer; fix it first." in page
    assert "The placeholder {order.number} is not filled in" in page
    assert not Ticket.objects.exists()


def test_the_new_ticket_form_checks_the_message_as_the_agent_types(signed_in):
    """The live check uses the name typed in the form: 'Hi there' is fine for an unnamed
    customer and asks for Sam's name once a name is typed."""
    client = signed_in("lead")
    url = reverse("tickets:check-new")
    body = "Hi there,\n\nIt ships today.\n\nThanks"
    assert "problems" not in client.post(url, {"body": body, "name": ""}).content.decode()
    named = client.post(url, {"body": body, "name": "Sam Reed"}).content.decode()
    assert 'data-code="etiquette.customer_name"' in named
    assert signed_in("agent").post(url, {"body": body}).status_code == 403  # no ticket.create


def test_the_api_refuses_a_new_ticket_whose_first_message_has_problems(demo):
    """POST /api/v1/tickets answers 422 with every problem and stores nothing; the lead's
    override_reason opens it."""
    payload = {
        "customer": {"email": "sam@example.com", "name": "Sam Reed"},
        "subject": "Your stove",
        "body": "Sam, calm down. Regards",
        "channel": "email",
    }
    lead = _api(demo, "lead")
    refused = lead.post("/api/v1/tickets", payload, content_type="application/json")
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [e.get("code") for e in errors[:2]] == ["etiquette.greeting", "etiquette.banned_phrase"]
    assert errors[-1]["field"] == "override_reason"
    assert not Ticket.objects.exists() and not Customer.objects.filter(email="sam@example.com").exists()
    payload["override_reason"] = "he asked for it plainly"
    assert lead.post("/api/v1/tickets", payload, content_type="application/json").status_code == 201


# --------------------------------------------------------------------------- contingencies


def test_a_customer_message_puts_the_ticket_under_a_contingency_once(demo, ticket):
    """'I will call my lawyer' runs aggressive-customer's actions once (tag, lead notified), shows
    its plan on the ticket and in the queue's filter; saying it again changes nothing."""
    do_customer_message(ticket, body="This is useless. I will call my lawyer.")
    do_customer_message(ticket, body="My lawyer agrees.")
    activation = ContingencyActivation.objects.get(ticket=ticket)
    assert (activation.contingency, activation.phrase) == ("aggressive-customer", "lawyer")
    ticket.refresh_from_db()
    assert "contingency-aggressive" in ticket.tags
    assert TicketEvent.objects.filter(ticket=ticket, kind="tags").count() == 1
    entries = AuditEntry.objects.filter(clause="contingencies.aggressive-customer")
    assert {e.action for e in entries} == {"checks.contingency", "checks.contingency_action"}
    assert all(e.protocol_version == ticket.protocol_version.version for e in entries)
    client = Client()
    client.force_login(demo["agent"])
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "Abusive or aggressive customer" in page and "Offer a call with a team lead." in page
    queue = client.get(reverse("tickets:queue") + "?contingency=aggressive-customer").content.decode()
    assert ticket.subject in queue


def test_quoted_history_does_not_call_for_a_plan(demo, ticket):
    """'injured' only in the quoted message below the customer's words matches nothing."""
    do_customer_message(ticket, body="Thanks, all good now.\n\n> Were you injured?\n> Ana")
    assert not ContingencyActivation.objects.exists()


def test_a_contingencys_priority_is_an_ordinary_event_the_replay_sees(demo, maria, tmp_path):
    """An injury report sets urgent priority through the ticket's history: exporting the events
    and replaying them gives the live desk's policy and due times."""
    import datetime as dt
    import json

    from charterdesk.demo.loader import EXAMPLE
    from charterdesk.replay_command import main as replay_main

    ticket = do_create_ticket(customer=maria, subject="Stove", body="I burned my hand.", channel="email")
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert TicketEvent.objects.filter(ticket=ticket, kind="priority", data__priority="urgent").exists()
    events = tmp_path / "events.jsonl"
    call_command("tickets", "export-events", "-o", str(events))
    out = tmp_path / "out.jsonl"
    now = ticket.created_at + dt.timedelta(minutes=5)
    arguments = ["--protocol", str(EXAMPLE), "--now", now.isoformat(), str(events), "-o", str(out)]
    assert replay_main(arguments) == 0
    replayed = json.loads(out.read_text().splitlines()[0])
    live = ticket.sla_state
    assert replayed["policy"] == live["policy"]
    first = replayed["metrics"]["first_response"][0]["due"]
    assert first == dt.datetime.fromtimestamp(live["metrics"]["first_response"][0]["due"], dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


# --------------------------------------------------------------------------- redaction


def _every_text_in_the_database() -> str:
    """Every text and binary column of every table, as one string."""
    found = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        found.append(bytes(value).decode("utf-8", "replace"))
                    elif isinstance(value, str):
                        found.append(value)
    return "\n".join(found)


def test_a_card_number_by_email_is_stored_nowhere_and_the_agent_sees_the_mask(email_env, client):
    """The number in the subject, the text and a quoted-printable part is masked in the ticket,
    its messages, events, search index, audit log and the raw mail kept; the agent reads
    [card ending 1111]; the de-duplication key still recognises the message."""
    raw, _ = plain("card-1", f"Please charge {CARD} again.", subject=f"Card {CARD}", cte="qp")
    inbound, created = receive(raw, source="smtp")
    assert created and inbound.state == "processed"
    everything = _every_text_in_the_database()
    for form in (CARD, CARD.replace(" ", ""), "4111=20"):
        assert form not in everything
    message = Message.objects.get(ticket=inbound.ticket)
    assert "[card ending 1111]" in message.body_text
    assert b"[card ending 1111]" in InboundMessage.objects.get(pk=inbound.pk).raw_bytes
    assert receive(raw, source="smtp")[1] is False  # the same message again is still known
    client.force_login(email_env["agent"])
    page = client.get(reverse("tickets:ticket", args=[inbound.ticket.pk])).content.decode()
    assert "[card ending 1111]" in page and "4111" not in page
    entry = AuditEntry.objects.filter(action="checks.redacted").first()
    assert entry.data["detectors"] == {"payment_card": 1}


def test_the_composer_warns_that_a_secret_in_the_reply_will_be_masked(signed_in, ticket):
    """A password in a reply is shown as the customer will read it, masked."""
    client = signed_in("agent")
    page = client.post(
        reverse("tickets:check-reply", args=[ticket.pk]),
        {"body": "Hi Maria, your password: hunter2x Thanks", "kind": "reply"},
    ).content.decode()
    assert "will be masked" in page and "[password]" in page and "hunter2x" not in page.split("<q>")[1]


def test_redact_existing_masks_what_was_stored_before_and_can_run_again(demo, maria):
    """Text stored without redaction (the family switched off) is masked by the command, which is
    audited by counts and finds nothing more the second time."""
    from charterdesk.checks import hooks
    from charterdesk.tickets.lifecycle import register, unregister

    unregister(hooks)
    try:
        ticket = do_create_ticket(customer=maria, subject="Refund", body=f"Card {CARD}", channel="email")
    finally:
        register(hooks)
    assert CARD in Message.objects.get(ticket=ticket).body_text
    call_command("privacy", "redact-existing")
    assert Message.objects.get(ticket=ticket).body_text == "Card [card ending 1111]"
    assert CARD not in Ticket.objects.get(pk=ticket.pk).search_text
    entries = AuditEntry.objects.filter(action="checks.redact_existing")
    assert entries.exists() and CARD not in str([e.data for e in entries])
    call_command("privacy", "redact-existing", "--again")
    assert AuditEntry.objects.filter(action="checks.redact_existing").count() == entries.count()
    assert Customer.objects.get(pk=maria.pk).name == "Maria Lopez"


def test_the_raw_mail_is_masked_part_by_part_and_attachments_are_kept(demo):
    """A base64 text part and an HTML part holding a card number are masked in the raw bytes; a
    PDF beside them comes back byte for byte; mail with nothing to mask is left alone."""
    import email
    from email.message import EmailMessage

    from django.db import transaction

    from charterdesk.channels.masking import masked_raw

    mail = EmailMessage()
    mail["Subject"] = "Refund"
    mail.set_content(f"Card {CARD}, please.", cte="base64")
    mail.add_alternative(f"<p>Card {CARD}</p>", subtype="html")
    pdf = b"%PDF-1.4 " + bytes(range(256))
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="receipt.pdf")
    with transaction.atomic():
        rewritten = masked_raw(mail.as_bytes())
        assert masked_raw(b"Subject: hi\r\n\r\nNothing secret.\r\n") is None
    parsed = email.message_from_bytes(rewritten)
    texts = [p.get_payload(decode=True).decode() for p in parsed.walk() if p.get_content_maintype() == "text"]
    assert texts == ["Card [card ending 1111], please.\n", "<p>Card [card ending 1111]</p>\n"]
    attachment = next(p for p in parsed.walk() if p.get_filename() == "receipt.pdf")
    assert attachment.get_payload(decode=True) == pdf
    assert b"4111" not in rewritten


def test_plans_are_read_on_every_channel_a_customer_writes_on(demo, ticket, maria):
    """A portal reply and an inbound phone call's notes are customer messages too: each calls for
    its plan (the portal's 'sue you', the call's 'injured'); an agent's outbound call is not read."""
    from charterdesk.channels.actions import do_log_call
    from charterdesk.portal.actions import do_portal_reply

    do_portal_reply(maria, ticket, "If this goes on I will sue you.")
    called = do_log_call(
        actor=demo["agent"],
        direction="inbound",
        duration_seconds=60,
        notes="Says she was injured.",
        customer=maria,
    )
    do_log_call(
        actor=demo["agent"],
        direction="outbound",
        duration_seconds=60,
        notes="Asked if she was injured.",
        ticket=ticket,
    )
    found = set(ContingencyActivation.objects.values_list("ticket_id", "contingency"))
    assert (ticket.pk, "aggressive-customer") in found
    assert (called.ticket_id, "injury-report") in found
    assert (ticket.pk, "injury-report") not in found
