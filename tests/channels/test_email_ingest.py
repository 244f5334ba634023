"""Ingest at speed keeps every promise: chunks stored at once, batches processed in one transaction,
worker processes sharing the work (PostgreSQL), and the least_open assignment it relies on."""

from __future__ import annotations

import datetime as dt
import json
import mailbox

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charterdesk.audit.actions import verify_chain
from charterdesk.audit.models import AuditEntry
from charterdesk.channels import inbound as inbound_module
from charterdesk.channels.inbound import process_all, store_many
from charterdesk.channels.models import InboundMessage, OutboundMail
from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
from charterdesk.tickets.live_sla import evaluate, sla_state
from charterdesk.tickets.models import Customer, Message, Ticket

from . import email_corpus
from .email_corpus import plain, raw_lines, refuse_storing

email_env = email_corpus.email_env  # the shared fixtures
live_email_env = email_corpus.live_email_env


def _sla_as_computed(ticket: Ticket) -> bool:
    """The SLA state stored on the ticket is exactly the engine's answer at the same instant."""
    again = sla_state(evaluate(ticket, dt.datetime.fromtimestamp(ticket.sla_state["now"], tz=dt.UTC)))
    return json.loads(json.dumps(again)) == ticket.sla_state


def test_an_import_shared_by_worker_processes_acts_on_every_message_once(
    live_email_env, tmp_path, monkeypatch, capsys
):
    """Six senders each write, answer their own message and write again; one message twice; one
    message is not an email. With two worker processes (PostgreSQL; SQLite keeps one), every reply
    lands on the ticket it answers, each sender is one customer, the broken message is quarantined,
    the audit chain holds and every ticket's SLA state is the engine's."""
    monkeypatch.setenv("CHARTERDESK_INGEST_WORKERS", "2")
    folder = tmp_path / "import"
    folder.mkdir()
    mails = []
    for s in range(6):
        sender = f"Sender {s} <sender{s}@customer.example>"
        first, first_id = plain(f"ingest-{s}", "My tent is torn.", sender=sender, subject=f"Tent {s}")
        reply, _ = plain(
            f"ingest-{s}-re",
            "A photo of the tear.",
            sender=sender,
            subject=f"Re: Tent {s}",
            extra={"In-Reply-To": first_id, "References": first_id},
        )
        again, _ = plain(f"ingest-{s}-new", "And my stove?", sender=sender, subject=f"Stove {s}")
        mails += [first, reply, again]
    mails.append(mails[0])  # the same message again
    mails.append(b"this is not an email at all\r\n")
    for n, raw in enumerate(mails):
        (folder / f"{n:03d}.eml").write_bytes(raw)

    call_command("email", "import", str(folder))
    out = capsys.readouterr().out
    assert "1 already imported" in out and "18 processed" in out and "1 quarantined" in out
    assert InboundMessage.objects.count() == 19
    assert Ticket.objects.count() == 12
    for s in range(6):
        ticket = Ticket.objects.get(subject=f"Tent {s}")
        assert list(ticket.messages.order_by("id").values_list("message_id", flat=True)) == [
            f"<ingest-{s}@customer.example>",
            f"<ingest-{s}-re@customer.example>",
        ]
        assert Customer.objects.filter(email=f"sender{s}@customer.example").count() == 1
    assert Message.objects.filter(message_id="<ingest-0@customer.example>").count() == 1
    assert verify_chain().ok
    assert AuditEntry.objects.filter(action="ticket.create").count() == 12
    assert all(_sla_as_computed(t) for t in Ticket.objects.select_related("protocol_version"))


def test_an_mbox_and_a_maildir_are_imported_message_by_message(email_env, tmp_path, capsys):
    """A team moving from another desk exports mbox or maildir: every message becomes its ticket
    (the reply threads onto the first), and importing the file again adds nothing."""
    ann = "Ann <ann@customer.example>"
    first, first_id = plain("mbox-1", "My tent is torn.", sender=ann, subject="Tent")
    reply, _ = plain(
        "mbox-2",
        "A photo.",
        sender=ann,
        subject="Re: Tent",
        extra={"In-Reply-To": first_id, "References": first_id},
    )
    other, _ = plain("mbox-3", "My stove leaks.", subject="Stove")
    box = mailbox.mbox(tmp_path / "export.mbox")
    for raw in (first, reply, other):
        box.add(raw)
    box.close()
    folder = mailbox.Maildir(tmp_path / "maildir", create=True)
    folder.add(plain("maildir-1", "Where is my order?", subject="Order")[0])

    call_command("email", "import", str(tmp_path / "export.mbox"))
    call_command("email", "import", str(tmp_path / "maildir"))
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Order", "Stove", "Tent"]
    assert Ticket.objects.get(subject="Tent").messages.count() == 2
    capsys.readouterr()
    call_command("email", "import", str(tmp_path / "export.mbox"))
    assert "3 already imported" in capsys.readouterr().out
    assert InboundMessage.objects.count() == 4
    # Old mail gets no receipt now (that would mail every past customer); each ticket says why.
    receipts = OutboundMail.objects.filter(kind="receipt")
    assert receipts.count() == 3 and set(receipts.values_list("state", flat=True)) == {"suppressed"}
    assert all("imported from a file" in r.error for r in receipts)


def test_a_message_failing_in_the_middle_of_a_batch_is_quarantined_alone(email_env, monkeypatch):
    """Five messages processed as one batch; the third fails after its ticket was written: that
    ticket and its audit entry are undone, the message is quarantined with the reason, the other
    four are tickets, and the audit chain holds."""
    items = [
        (plain(f"batch-{n}", subject="Broken" if n == 2 else f"Fine {n}")[0], f"batch:{n}") for n in range(5)
    ]
    stored = store_many(items, source="import")
    assert [created for _, created, _ in stored] == [True] * 5
    real = do_create_ticket

    def failing(**kwargs):
        ticket = real(**kwargs)
        if kwargs["subject"] == "Broken":
            raise RuntimeError("the disk caught fire")
        return ticket

    monkeypatch.setattr(inbound_module, "do_create_ticket", failing)
    states = process_all([row.pk for row, _, _ in stored])
    assert sorted(states.values()) == ["processed"] * 4 + ["quarantined"]
    broken = InboundMessage.objects.get(state="quarantined")
    assert "the disk caught fire" in broken.reason
    assert not Ticket.objects.filter(subject="Broken").exists()
    assert Ticket.objects.count() == 4
    assert AuditEntry.objects.filter(action="ticket.create").count() == 4
    assert AuditEntry.objects.filter(action="channels.quarantine").count() == 1
    assert verify_chain().ok


def test_a_message_whose_headers_the_database_refuses_is_quarantined_without_them(email_env, monkeypatch):
    """If even quarantining fails (PostgreSQL refuses text such as a NUL), the message is set aside
    without its subject and sender, and the batch goes on: one bad message never stops the rest."""
    from django.db import DataError

    from charterdesk.channels import actions as channel_actions

    items = [(plain(f"refused-head-{n}", subject=f"Subject {n}")[0], f"refused-head:{n}") for n in range(3)]
    stored = store_many(items, source="import")
    real_create = do_create_ticket

    def failing(**kwargs):
        if kwargs["subject"] == "Subject 1":
            raise RuntimeError("cannot be a ticket")
        return real_create(**kwargs)

    def refusing(row):
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    monkeypatch.setattr(inbound_module, "do_create_ticket", failing)
    monkeypatch.setattr(channel_actions, "_best_effort_headers", refusing)
    states = process_all([row.pk for row, _, _ in stored])
    assert sorted(states.values()) == ["processed", "processed", "quarantined"]
    aside = InboundMessage.objects.get(state="quarantined")
    assert "cannot be a ticket" in aside.reason and "subject and sender could not be kept" in aside.reason
    assert bytes(aside.raw_bytes) == items[1][0]  # whole, for a lead to re-process
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Subject 0", "Subject 2"]
    assert verify_chain().ok


def test_a_chunk_is_stored_once_even_when_a_message_repeats(email_env):
    """The same message twice in one chunk, and again in the next: stored once, and acted on once."""
    raw, _ = plain("chunk-twice")
    first = store_many([(raw, "a"), (raw, "b")], source="import")
    second = store_many([(raw, "c")], source="import")
    assert [created for _, created, _ in first + second] == [True, False, False]
    assert len({row.pk for row, _, _ in first + second}) == 1
    process_all([first[0][0].pk, first[0][0].pk])
    assert Ticket.objects.count() == 1


def test_a_chunk_is_stored_with_one_insert_and_what_was_stored_before_is_only_looked_up(email_env):
    """Fifty messages, two of them stored before: one INSERT for the chunk, one SELECT for the two
    already stored and one for Message-IDs used before, whatever the number of messages; the 48 new
    ones come back created, with ids."""
    before = [(plain(f"one-insert-{n}")[0], f"before:{n}") for n in range(2)]
    store_many(before, source="import")
    chunk = before + [(plain(f"one-insert-{n}")[0], f"chunk:{n}") for n in range(2, 50)]
    with CaptureQueriesContext(connection) as queries:
        stored = store_many(chunk, source="import")
    statements = [q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries]
    assert statements.count("INSERT") == 1 and statements.count("SELECT") == 2, statements
    assert [created for _, created, _ in stored] == [False] * 2 + [True] * 48
    assert InboundMessage.objects.count() == 50
    assert {row.pk for row, _, _ in stored} == set(InboundMessage.objects.values_list("pk", flat=True))


def test_a_message_the_database_refuses_is_left_out_alone(email_env, monkeypatch):
    """The INSERT of a chunk holding a message the database refuses fails; the chunk is then stored
    one message at a time, so that message alone is not stored (and says why) and the others are."""
    refuse_storing(monkeypatch, b"refused-2", ValueError("a byte the database cannot hold"))
    chunk = [(plain(f"refused-{n}")[0], f"chunk:{n}") for n in range(5)]
    stored = store_many(chunk, source="import")
    assert [created for _, created, _ in stored] == [True, True, False, True, True]
    assert stored[2][0] is None and "a byte the database cannot hold" in stored[2][2]
    assert InboundMessage.objects.count() == 4


def test_least_open_gives_the_ticket_to_whoever_has_fewest_unsolved_and_never_to_someone_away(
    email_env, person
):
    """The demo assigns frontline tickets least_open. With two agents, new tickets alternate between
    them as their unsolved counts grow; an agent marked away gets none."""
    alex = email_env["agent"]
    sam = person("sam@acme.example", ["agent"], name="Sam Agent")
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo")

    def new():
        return do_create_ticket(customer=jo, subject="Question", body="Hello", channel="email").assignee

    owners = [new() for _ in range(4)]
    assert sorted(p.pk for p in owners) == sorted([alex.pk, alex.pk, sam.pk, sam.pk])
    sam.away = True
    sam.save(update_fields=["away"])
    assert {new().pk for _ in range(3)} == {alex.pk}


def test_a_reused_message_id_with_other_content_is_stored_and_flagged(email_env):
    """Same Message-ID and same bytes: one message ("already have it"). Same Message-ID, other
    content: a second message, stored and flagged, never silently dropped."""
    from charterdesk.channels.actions import store_inbound

    first = raw_lines(
        "From: jo@c.example", "To: support@acme.example", "Message-ID: <m1@c.example>", "", "one"
    )
    other = raw_lines(
        "From: x@evil.example", "To: support@acme.example", "Message-ID: <m1@c.example>", "", "two"
    )
    a, created_a = store_inbound(first, source="smtp")
    again, created_again = store_inbound(first, source="imap")
    b, created_b = store_inbound(other, source="smtp")
    assert (created_a, created_again, created_b) == (True, False, True)
    assert again.pk == a.pk and b.pk != a.pk
    assert not a.reused_message_id and b.reused_message_id
    b.refresh_from_db()
    assert b.reused_message_id


def test_dedupe_survives_a_rewrite_of_the_stored_copy(email_env):
    """A later step (redaction) may rewrite the stored raw bytes; the key and sha256 are of the
    bytes as received, so the same message arriving again is still recognised."""
    from charterdesk.channels.actions import store_inbound
    from charterdesk.channels.models import InboundMessage

    raw = raw_lines(
        "From: jo@c.example", "To: support@acme.example", "Message-ID: <m2@c.example>", "", "IBAN"
    )
    row, _ = store_inbound(raw, source="smtp")
    InboundMessage.objects.filter(pk=row.pk).update(raw=b"redacted")
    again, created = store_inbound(raw, source="imap")
    assert not created and again.pk == row.pk
