"""`charterdesk demo --tickets N`: realistic tickets in bulk that the desk treats as its own."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from charterdesk.audit.models import AuditEntry
from charterdesk.demo.tickets import DemoDataError, load_demo_tickets
from charterdesk.tickets.actions import refresh_sla
from charterdesk.tickets.choices import EventKind, MessageKind
from charterdesk.tickets.models import Customer, Message, Ticket, TicketEvent, TicketTag
from charterdesk.tickets.search import search

NOW = dt.datetime(2026, 12, 9, 15, 30, tzinfo=dt.UTC)  # a Wednesday afternoon in New York


def _stored(ticket: Ticket) -> dict:
    return {
        "sla_policy": ticket.sla_policy,
        "sla_state": ticket.sla_state,
        "next_due_at": ticket.next_due_at,
        "next_deadline": ticket.next_deadline,
        "breached": ticket.breached,
        "priority": ticket.priority,
        "tags": sorted(ticket.tags),
        "group": ticket.group,
        "assignee": ticket.assignee_id,
    }


def test_every_demo_ticket_holds_the_clocks_the_engine_gives_it(demo):
    """Each loaded ticket's stored SLA state, due times, breach flag and the escalations already
    carried out are exactly what refresh_sla computes afresh from its event history."""
    report = load_demo_tickets(150, seed=11, now=NOW, workers=1, batch_size=50)
    assert report.tickets == Ticket.objects.count() == 150
    escalations_before = TicketEvent.objects.filter(kind=EventKind.ESCALATION).count()
    statuses = set()
    for ticket in Ticket.objects.select_related("protocol_version", "customer").order_by("pk"):
        statuses.add(ticket.status)
        stored = _stored(ticket)
        with transaction.atomic():
            refresh_sla(ticket, NOW)
        assert _stored(ticket) == stored, f"ticket {ticket.pk}"
    # Nothing the engine says has fired was left to do.
    assert TicketEvent.objects.filter(kind=EventKind.ESCALATION).count() == escalations_before
    assert {"new", "open", "pending", "solved", "closed"} <= statuses


def test_demo_tickets_look_like_real_work(demo):
    """Customers with names, emails, organizations and time zones; about five messages a ticket
    mixing customer messages, public replies and internal notes; tag rows; assignees who are
    demo people; breached and escalated tickets among them."""
    report = load_demo_tickets(200, seed=5, now=NOW, workers=1)
    assert 4 <= report.messages / report.tickets <= 6
    assert Message.objects.count() == report.messages
    kinds = set(Message.objects.values_list("kind", flat=True))
    assert kinds == {MessageKind.CUSTOMER, MessageKind.REPLY, MessageKind.NOTE}
    customer = Customer.objects.exclude(email=None).exclude(organization="").first()
    assert customer.name and "@" in customer.email and customer.timezone
    assert Customer.objects.values("timezone").distinct().count() > 3
    demo_people = {p.pk for p in demo.values()}
    assigned = set(Ticket.objects.exclude(assignee=None).values_list("assignee", flat=True))
    assert assigned and assigned <= demo_people
    for ticket in Ticket.objects.all()[:50]:
        assert sorted(TicketTag.objects.filter(ticket=ticket).values_list("tag", flat=True)) == ticket.tags
    assert Ticket.objects.filter(breached=True).exists()
    assert TicketEvent.objects.filter(kind=EventKind.ESCALATION, clause__startswith="escalation.").exists()
    assert len(set(Ticket.objects.values_list("channel", flat=True))) == 4


def test_search_text_finds_a_customer_by_name(demo):
    """The search text of each ticket holds its customer's name, subject and messages."""
    load_demo_tickets(60, seed=3, now=NOW, workers=1)
    customer = Customer.objects.filter(tickets__isnull=False).order_by("pk").first()
    last_name = customer.name.split()[-1]
    found = Ticket.objects.filter(search_text__icontains=last_name)
    assert set(customer.tickets.values_list("pk", flat=True)) <= set(found.values_list("pk", flat=True))
    ticket = customer.tickets.first()
    first_message = ticket.messages.order_by("created_at", "id").first()
    assert first_message.body_text.split(".")[0].strip().split()[-1] in ticket.search_text


def test_one_audit_entry_records_the_whole_load(demo):
    """The load writes a single audit entry naming how many tickets it added."""
    before = AuditEntry.objects.count()
    load_demo_tickets(40, seed=2, now=NOW, workers=1, batch_size=10)
    entries = AuditEntry.objects.order_by("pk")[before:]
    assert [e.summary for e in entries] == ["demo data: 40 tickets loaded"]


def test_the_same_seed_gives_the_same_tickets_whatever_the_workers(demo):
    """Worker processes make the same tickets as the loading process alone."""
    load_demo_tickets(40, seed=9, now=NOW, workers=1, batch_size=10)
    fields = ("subject", "status", "priority", "channel", "created_at", "customer__name", "sla_state")
    alone = list(Ticket.objects.order_by("pk").values_list(*fields))
    Ticket.objects.all().delete()
    load_demo_tickets(40, seed=9, now=NOW, workers=2, batch_size=10)
    assert list(Ticket.objects.order_by("pk").values_list(*fields)) == alone


def test_the_demo_command_loads_tickets_and_reports_its_rate(demo):
    """`charterdesk demo --load-only --tickets N` adds N tickets and says how fast it went."""
    out = io.StringIO()
    call_command("demo", "--load-only", "--tickets", "25", stdout=out, stderr=io.StringIO())
    assert Ticket.objects.count() == 25
    text = out.getvalue()
    assert "Demo tickets loaded: 25 tickets" in text
    assert "tickets/s" in text


def test_the_first_demo_opens_on_a_desk_with_work_in_it_once(demo, monkeypatch):
    """`dev.py up` (charterdesk demo, serving): an empty desk gets 300 tickets and three shared saved
    replies; started again it adds nothing; --load-only adds only what it is told."""
    from charterdesk.demo.management.commands import demo as demo_command
    from charterdesk.tickets.models import Macro

    monkeypatch.setattr(demo_command.Command, "serve_with_worker", lambda self, host, port: None)
    # The test database is migrated already; migrating again inside the test's transaction, after
    # rows were written, is something PostgreSQL refuses (its search index, pending trigger events).
    monkeypatch.setattr(demo_command, "call_command", lambda *args, **kwargs: None)
    call_command("demo", "--load-only", stdout=io.StringIO(), stderr=io.StringIO())
    assert Ticket.objects.count() == 0 and not Macro.objects.exists()
    for _ in range(2):
        call_command("demo", stdout=io.StringIO(), stderr=io.StringIO())
        assert Ticket.objects.count() == demo_command.STARTER_TICKETS
        assert sorted(m.title for m in Macro.objects.filter(owner=None)) == [
            "Anything else?",
            "Ask for photos of the damage",
            "Tracking number on its way",
        ]


def test_loading_needs_people_and_a_protocol_in_force(db):
    """Without the demo loaded there is nothing to file tickets under; the error says so."""
    with pytest.raises(DemoDataError, match="no protocol version is in force"):
        load_demo_tickets(5, now=NOW)


def _schema() -> tuple:
    """The indexes and triggers of the database, and its commit safety level."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
        )
        objects = cursor.fetchall()
        cursor.execute("PRAGMA synchronous")
        return objects, cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_load_outside_a_transaction_is_found_by_search_and_leaves_the_database_as_it_was(demo):
    """Loaded the way the demo command loads (worker processes, committed batch by batch), every
    ticket holds the clocks refresh_sla gives it, search finds the new tickets by their
    customer's name, a ticket saved afterwards is still indexed for search, and the indexes and
    safety settings the load set aside are back."""
    if connection.vendor != "sqlite":
        pytest.skip("checks SQLite's schema")
    before = _schema()
    report = load_demo_tickets(90, seed=4, now=NOW, workers=2, batch_size=30)
    assert report.tickets == Ticket.objects.count() == 90
    assert report.messages == Message.objects.count()
    assert report.events == TicketEvent.objects.count()
    assert report.customers == Customer.objects.count()
    assert _schema() == before
    for ticket in Ticket.objects.select_related("protocol_version", "customer").order_by("pk"):
        stored = _stored(ticket)
        with transaction.atomic():
            refresh_sla(ticket, NOW)
        assert _stored(ticket) == stored, f"ticket {ticket.pk}"
    customer = Customer.objects.filter(tickets__isnull=False).order_by("-pk").first()
    found = set(search(Ticket.objects.all(), customer.name).values_list("pk", flat=True))
    assert set(customer.tickets.values_list("pk", flat=True)) <= found
    later = Ticket.objects.order_by("pk").first()
    later.pk = None
    later.search_text = "quetzalcoatl backpack"
    later.save()
    assert list(search(Ticket.objects.all(), "quetzalcoatl").values_list("pk", flat=True)) == [later.pk]


@pytest.mark.django_db(transaction=True)
def test_a_load_stopped_part_way_leaves_a_searchable_desk(demo, monkeypatch):
    """A load that fails part-way keeps the transactions it committed, whole: their tickets with
    every message, found by search, and the search index still kept up for tickets saved later;
    nothing of the transaction it was in."""
    if connection.vendor != "sqlite":
        pytest.skip("checks SQLite's schema")
    from charterdesk.demo import tickets as demo_data

    before = _schema()
    made = demo_data._generate_batch

    def fails_on_the_fourth_batch(task):
        if task[0] == 3:
            raise RuntimeError("the machine went away")
        return made(task)

    first, second = demo_data._batch_sizes(60, 10)[:2]
    monkeypatch.setattr(demo_data, "COMMIT_EVERY", first + second)
    monkeypatch.setattr(demo_data, "_generate_batch", fails_on_the_fourth_batch)
    with pytest.raises(RuntimeError):
        load_demo_tickets(60, seed=8, now=NOW, workers=1, batch_size=10)
    # The first two batches were committed, and nothing after them.
    assert Ticket.objects.count() == first + second
    assert not Ticket.objects.filter(messages__isnull=True).exists()
    assert _schema() == before
    for ticket in Ticket.objects.select_related("customer"):
        assert ticket.pk in set(search(Ticket.objects.all(), ticket.subject).values_list("pk", flat=True))
    later = Ticket.objects.order_by("pk").first()
    later.pk = None
    later.search_text = "quetzalcoatl backpack"
    later.save()
    assert list(search(Ticket.objects.all(), "quetzalcoatl").values_list("pk", flat=True)) == [later.pk]


def test_the_demo_command_on_a_database_file_leaves_it_whole_and_checkpointed(tmp_path):
    """The README's way in, as its own process on a SQLite file in WAL mode (checkpoints taken by a
    thread beside the load): the tickets are all there and found by search."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    if connection.vendor != "sqlite":
        pytest.skip("the SQLite file is the default database; the PostgreSQL run need not load it again")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the default: a SQLite file
    env.update(CHARTERDESK_DATA_DIR=str(tmp_path), CHARTERDESK_FAST_HASHER="1", LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-m", "charterdesk", "demo", "--load-only", "--tickets", "1200"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Demo tickets loaded: 1,200 tickets" in done.stdout
    db = sqlite3.connect(tmp_path / "charterdesk.sqlite3")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0] == 1200
        name = db.execute("SELECT name FROM tickets_customer ORDER BY id DESC LIMIT 1").fetchone()[0]
        found = db.execute(
            "SELECT count(*) FROM tickets_ticket_fts WHERE tickets_ticket_fts MATCH ?", [f'"{name}"']
        ).fetchone()[0]
        assert found >= 1
    finally:
        db.close()


def test_checkpoints_beside_a_load_copy_each_commit_into_the_database_file(tmp_path):
    """The loading connection stops checkpointing itself; after each commit the checkpoint thread
    copies the log into the database file; stopped, it sets automatic checkpoints back."""
    import sqlite3
    import threading

    from charterdesk.demo.tickets import _Checkpoints

    class Rounds(threading.Event):
        """The thread's wake-up call, counting the times it goes back to waiting: each time, the
        checkpoint it was woken for is done."""

        def __init__(self):
            super().__init__()
            self.waiting = threading.Semaphore(0)

        def wait(self, timeout=None):
            self.waiting.release()
            return super().wait(timeout)

    path = tmp_path / "load.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE t (x TEXT)")
    checkpoints = _Checkpoints(str(path), 1000)
    checkpoints.wanted = rounds = Rounds()
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    checkpoints.thread.start()
    empty = path.stat().st_size
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(4000)])
    writer.execute("COMMIT")
    assert path.stat().st_size == empty  # committed to the log only

    def waiting_again():
        while not rounds.waiting.acquire(timeout=0.05):  # how often to look, not how long to wait
            assert checkpoints.thread.is_alive(), "the checkpoint thread stopped"

    waiting_again()  # started
    checkpoints.after_commit()
    waiting_again()  # woken by the commit, checkpointed, waiting for the next one
    assert path.stat().st_size >= 2_000_000  # 4,000 rows of 500 bytes, copied in by the thread
    cursor = writer.cursor()
    checkpoints.stop(cursor)
    assert not checkpoints.thread.is_alive()
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    writer.close()
