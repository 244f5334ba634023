"""`charterdesk worker`: deadlines, escalations once across workers, follow-ups, auto-close, mail retries."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from charterdesk.channels.tasks import SEND_ATTEMPTS, retry_wait
from charterdesk.notifications.models import Notification
from charterdesk.tickets.actions import (
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
    do_set_status,
)
from charterdesk.tickets.models import Lease, Message, ScheduledFollowUp, Ticket, TicketEvent
from charterdesk.worker import loop as scheduler
from charterdesk.worker.loop import (
    PeriodicJob,
    TickReport,
    Worker,
    run_due_deadlines,
    run_periodic_jobs,
    tick,
)

NY = dt.timezone(dt.timedelta(hours=-5))  # New York in December (EST), the example's office calendar


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=NY)


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


def open_ticket(customer, when: dt.datetime, subject: str = "Where is my order?") -> Ticket:
    return do_create_ticket(
        customer=customer, subject=subject, body="It has been 3 weeks.", channel="email", at=when
    )


def escalations(ticket: Ticket, rule: str):
    return TicketEvent.objects.filter(ticket=ticket, kind="escalation", data__rule=rule)


# --------------------------------------------------------------------------- deadlines


def test_only_tickets_whose_deadline_has_come_are_looked_at(demo, customer):
    """A normal email opened Monday 09:00 is due at 17:00; one opened at 15:00 is not due until
    Tuesday. At 17:05 the worker evaluates the first and leaves the second untouched, and the
    number of queries does not grow with the number of tickets that are not due."""
    due = open_ticket(customer, at(7, 9, 0))
    later = open_ticket(customer, at(7, 15, 0), subject="Later")
    untouched = later.sla_state["now"]

    with CaptureQueriesContext(connection) as first:
        report = run_due_deadlines(at(7, 17, 5))
    assert report.looked_at == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.sla_state["now"] == int(at(7, 17, 5).timestamp())
    assert due.next_deadline > at(7, 17, 5)
    assert later.sla_state["now"] == untouched

    # Fifteen more tickets that are not due, and one more that is, due an hour later.
    again = open_ticket(customer, at(7, 10, 0), subject="Again")
    for n in range(15):
        open_ticket(customer, at(7, 15, n), subject=f"Not due {n}")
    with CaptureQueriesContext(connection) as second:
        report = run_due_deadlines(at(7, 18, 5))
    assert report.looked_at == 1
    again.refresh_from_db()
    assert again.sla_state["now"] == int(at(7, 18, 5).timestamp())
    assert len(second.captured_queries) == len(first.captured_queries)


def test_an_escalation_fires_at_its_instant_not_before(demo, customer):
    """Due 17:00: the warning to the assignee fires at 16:45, the lead is told of the breach at
    17:00 (a reply at 17:00 sharp is still on time, so the first tick after it fires), and ticks
    in between find nothing to do."""
    ticket = open_ticket(customer, at(7, 9, 0))
    assert tick(at(7, 16, 45), holder="w").deadlines.looked_at == 0
    assert tick(at(7, 16, 45, 1), holder="w").deadlines.escalations == 1
    assert escalations(ticket, "warn-assignee").get().at == at(7, 16, 45)
    assert tick(at(7, 17, 0), holder="w").deadlines.looked_at == 0
    assert not escalations(ticket, "lead-on-breach").exists()
    report = tick(at(7, 17, 0, 5), holder="w")
    assert report.deadlines.escalations == 1
    assert escalations(ticket, "lead-on-breach").get().at == at(7, 17, 0)
    assert Notification.objects.filter(person=demo["lead"], ticket=ticket).count() == 1


def test_the_worker_logs_what_it_escalated(demo, customer, caplog):
    """The log names the ticket and the rule: 'escalated #12 (lead-on-breach)'."""
    ticket = open_ticket(customer, at(7, 9, 0))
    with caplog.at_level("INFO", logger="charterdesk.worker"):
        tick(at(7, 17, 5), holder="w")
    assert f"escalated #{ticket.pk} (warn-assignee)" in caplog.messages
    assert f"escalated #{ticket.pk} (lead-on-breach)" in caplog.messages


class Turns:
    """Forces two workers' steps into one order with events; never a sleep, never a time limit.

    ``wait`` returns when the other worker has reached the point it waits for, or raises when the
    other worker ended without reaching it (an error in it, shown by the test), so a test never
    hangs and never fails because the machine is slow."""

    def __init__(self, *names: str):
        self.points = {name: threading.Event() for name in names}
        self.ended = threading.Event()

    def reach(self, name: str) -> None:
        self.points[name].set()

    def wait(self, name: str) -> None:
        while not self.points[name].wait(0.05):  # how often to look, not how long to wait
            if self.ended.is_set() and not self.points[name].is_set():
                raise RuntimeError(f"the other worker ended before {name!r}")


def run_in_threads(workers: dict, turns: Turns) -> dict:
    """Run each ``name: function`` in its own thread with its own database connection; what each
    returned, or the first error."""
    results: dict = {}
    errors: list[BaseException] = []

    def run(name, function):
        try:
            results[name] = function()
        except BaseException as error:  # pragma: no cover - raised again below
            errors.append(error)
        finally:
            turns.ended.set()
            connection.close()

    threads = [threading.Thread(target=run, args=item, name=item[0]) for item in workers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_two_workers_on_the_same_due_tickets_look_at_each_once(transactional_db, monkeypatch):
    """Two workers tick at the same instant over six due tickets, each on its own connection. The
    second reads the due tickets while the first is evaluating the first ticket, and comes to
    claim that ticket before the first has committed: it skips it (PostgreSQL: SKIP LOCKED passes
    over the held row; SQLite: it waits its turn, then finds the ticket no longer due). Each
    ticket is looked at once, each rule fires once, the lead is told once per ticket, and each
    periodic job runs once between the two."""
    from charterdesk.accounts.models import Person
    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

    load_demo(now=DEMO_SINCE)
    lead = Person.objects.get(email="ravi@acme.example")
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    tickets = [open_ticket(customer, at(7, 9, 0), subject=f"Order {n}") for n in range(6)]
    first = tickets[0].pk
    turns = Turns("first holds the ticket", "second claims it")
    looked: dict[str, dict[int, list[str] | None]] = {"worker-0": {}, "worker-1": {}}
    real_refresh, real_check = scheduler.jobs.refresh_sla, scheduler.jobs.check_deadline

    def refresh_sla(ticket, now):
        real_refresh(ticket, now)
        if threading.current_thread().name == "worker-0" and ticket.pk == first:
            # Inside the claim's transaction, the ticket written and not yet committed.
            turns.reach("first holds the ticket")
            turns.wait("second claims it")

    def check_deadline(ticket_id, now):
        name = threading.current_thread().name
        if name == "worker-1" and ticket_id == first:
            turns.reach("second claims it")
        looked[name][ticket_id] = fired = real_check(ticket_id, now)
        return fired

    monkeypatch.setattr(scheduler.jobs, "refresh_sla", refresh_sla)
    monkeypatch.setattr(scheduler.jobs, "check_deadline", check_deadline)

    def second():
        turns.wait("first holds the ticket")
        return tick(at(7, 17, 5), holder="worker-1")

    reports = run_in_threads(
        {"worker-0": lambda: tick(at(7, 17, 5), holder="worker-0"), "worker-1": second}, turns
    )

    assert looked["worker-0"][first] == ["warn-assignee", "lead-on-breach"]
    assert first in looked["worker-1"], "the second worker never came to claim the first ticket"
    assert looked["worker-1"][first] is None  # it skipped it
    assert sum(r.deadlines.looked_at for r in reports.values()) == len(tickets)
    assert sum(r.deadlines.escalations for r in reports.values()) == 2 * len(tickets)
    for ticket in tickets:
        assert escalations(ticket, "lead-on-breach").count() == 1
        assert escalations(ticket, "warn-assignee").count() == 1
        assert Notification.objects.filter(person=lead, ticket=ticket).count() == 1
    ran = [name for r in reports.values() for name in r.jobs]
    assert sorted(ran) == sorted(job.name for job in scheduler.periodic_jobs())
    # Looked at again later, the tickets have nothing new to fire.
    assert tick(at(7, 17, 6), holder="worker-0").deadlines.escalations == 0


def test_a_ticket_another_worker_holds_is_left_to_the_next_tick(transactional_db):
    """While another connection holds a due ticket (on SQLite, the database's one write lock, kept
    past the busy timeout, here cut to nothing), the worker does not fail: it leaves the ticket,
    says so in its summary, and the next tick looks at it."""
    from django.db import connections

    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

    load_demo(now=DEMO_SINCE)
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = open_ticket(customer, at(7, 9, 0))
    other = connections.create_connection("default")
    sqlite = connection.vendor == "sqlite"
    try:
        with other.cursor() as holding:
            if sqlite:
                holding.execute("BEGIN IMMEDIATE")
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 0")
            else:
                holding.execute("BEGIN")
                holding.execute("SELECT id FROM tickets_ticket WHERE id = %s FOR UPDATE", [ticket.pk])
            report = run_due_deadlines(at(7, 17, 5))
            holding.execute("ROLLBACK")
    finally:
        other.close()
        if sqlite:
            connection.close()  # the next connection has the desk's own busy timeout again
    assert (report.looked_at, report.skipped) == (0, 1)
    assert "1 left to another worker or the next tick" in str(TickReport(at(7, 17, 5), report))
    assert not escalations(ticket, "lead-on-breach").exists()
    assert run_due_deadlines(at(7, 17, 6)).escalations == 2
    assert escalations(ticket, "lead-on-breach").count() == 1


def test_two_worker_processes_on_one_sqlite_file_escalate_each_ticket_once(transactional_db, tmp_path):
    """Two `charterdesk worker --once` processes started together on the same SQLite file (as two
    cron entries, or cron and a resident worker): both exit 0, and every due ticket's rules fire
    once and tell the lead once, however the two happen to take turns on the database."""
    import subprocess
    import sys
    from pathlib import Path

    from charterdesk.accounts.models import Person
    from charterdesk.demo.loader import load_demo
    from charterdesk.library.models import ProtocolVersion
    from tests.shared import DEMO_SINCE

    if connection.vendor != "sqlite":
        pytest.skip("about SQLite's one writer; PostgreSQL is the test above")
    load_demo(now=DEMO_SINCE)
    now = timezone.now()
    ProtocolVersion.objects.update(effective_at=now - dt.timedelta(days=2))
    lead = Person.objects.get(email="ravi@acme.example")
    customer = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    # Urgent VIP mail on the 24x7 calendar, opened an hour ago: its 30-minute first response is breached.
    tickets = [
        do_create_ticket(
            customer=customer,
            subject=f"Order {n}",
            body="It has been 3 weeks.",
            channel="email",
            priority="urgent",
            tags=["vip"],
            at=now - dt.timedelta(hours=1),
            assign=False,
        )
        for n in range(8)
    ]
    assert all(t.next_deadline < now for t in tickets)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{connection.settings_dict['NAME']}",
        CHARTERDESK_DATA_DIR=str(tmp_path),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    connection.close()  # the workers' turn; this test's connection holds nothing meanwhile
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "charterdesk", "worker", "--once", "--worker-id", f"cron-{n}"],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [worker.communicate() for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, out + err
        assert "Traceback" not in err, err
    for ticket in tickets:
        assert escalations(ticket, "lead-on-breach").count() == 1
        assert Notification.objects.filter(person=lead, ticket=ticket).count() == 1


# --------------------------------------------------------------------------- periodic jobs and leases


def test_a_periodic_job_runs_once_per_period_across_workers(db):
    """The worker that takes a job's lease runs it; another worker does not until the period is over."""
    runs = []
    job = PeriodicJob("count", dt.timedelta(minutes=1), lambda now: runs.append(now) or 1, "counts")
    now = at(7, 9, 0)
    assert run_periodic_jobs(now, "a", (job,)) == {"count": 1}
    assert run_periodic_jobs(now + dt.timedelta(seconds=10), "b", (job,)) == {}
    assert run_periodic_jobs(now + dt.timedelta(seconds=30), "a", (job,)) == {}
    assert run_periodic_jobs(now + dt.timedelta(minutes=1), "b", (job,)) == {"count": 1}
    lease = Lease.objects.get(name="count")
    assert lease.holder == "b"
    assert lease.expires_at == now + dt.timedelta(minutes=2)
    assert len(runs) == 2


def test_a_failing_periodic_job_is_logged_and_the_others_still_run(db, caplog):
    """One job raising does not stop the tick; it runs again after its period."""

    def broken(now):
        raise RuntimeError("boom")

    jobs = (
        PeriodicJob("broken", dt.timedelta(minutes=1), broken, "fails"),
        PeriodicJob("fine", dt.timedelta(minutes=1), lambda now: 3, "works"),
    )
    with caplog.at_level("ERROR", logger="charterdesk.worker"):
        assert run_periodic_jobs(at(7, 9, 0), "a", jobs) == {"fine": 3}
    assert "periodic job broken failed" in caplog.text
    assert run_periodic_jobs(at(7, 9, 1), "a", jobs) == {"fine": 3}


def test_a_database_locked_past_its_busy_timeout_costs_a_tick_not_the_worker(
    demo, customer, monkeypatch, caplog
):
    """When SQLite stays locked past the busy timeout (another process's long write) as the worker
    reads the due tickets, or sets a finished job's lease back, the tick goes on and says so: the
    due tickets wait for the next tick, and the job keeps its 10-minute hold, running late rather
    than twice."""
    from django.db.utils import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    ticket = open_ticket(customer, at(7, 9, 0))
    runs = []
    job = PeriodicJob("count", dt.timedelta(minutes=1), lambda now: runs.append(now) or 1, "counts")
    with caplog.at_level("WARNING", logger="charterdesk.worker"), monkeypatch.context() as database:
        database.setattr(scheduler, "due_ticket_ids", locked)
        database.setattr(scheduler, "keep_lease_until", locked)
        report = run_due_deadlines(at(7, 17, 5))
        assert run_periodic_jobs(at(7, 17, 5), "a", (job,)) == {"count": 1}
    assert report.looked_at == 0
    assert "could not read the due tickets (database is locked); the next tick looks again" in caplog.messages
    assert any(m.startswith("could not shorten the lease of count") for m in caplog.messages)
    assert run_due_deadlines(at(7, 17, 6)).escalations == 2
    assert escalations(ticket, "lead-on-breach").count() == 1
    assert run_periodic_jobs(at(7, 17, 6), "b", (job,)) == {}
    assert run_periodic_jobs(at(7, 17, 15), "b", (job,)) == {"count": 1}
    assert len(runs) == 2


def test_a_solved_ticket_closes_automatically_after_four_days_and_not_before(demo, customer, caplog):
    """The example protocol closes solved tickets after 4 days (auto_close_solved_after: 4d)."""
    ticket = open_ticket(customer, at(7, 9, 0))
    do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=at(8, 9, 0))
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(8, 10, 0))

    tick(at(12, 9, 59), holder="w")
    ticket.refresh_from_db()
    assert ticket.status == "solved"

    with caplog.at_level("INFO", logger="charterdesk.worker"):
        report = tick(at(12, 10, 0), holder="w")
    assert report.jobs["auto-close"] == 1
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.closed_at == at(12, 10, 0)
    closing = TicketEvent.objects.get(ticket=ticket, kind="status", data__status="closed")
    assert closing.clause == "resolution.handling.auto_close_solved_after"
    assert any(f"closed #{ticket.pk} automatically" in line for line in caplog.messages)


def test_the_follow_up_is_sent_once_two_days_after_solve(demo, customer, django_capture_on_commit_callbacks):
    """Two days after the solve the customer gets the protocol's follow-up, written by the desk:
    it fills in the first name, leaves the ticket solved with no clock running, and is sent once."""
    ticket = open_ticket(customer, at(7, 9, 0))
    do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=at(7, 10, 0))
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(8, 10, 0))
    replies_before = Message.objects.filter(ticket=ticket, kind="reply").count()

    tick(at(10, 9, 59), holder="w")
    assert Message.objects.filter(ticket=ticket, kind="reply").count() == replies_before

    with django_capture_on_commit_callbacks(execute=True):
        report = tick(at(10, 10, 0), holder="w")
    assert report.jobs["follow-ups"] == 1
    follow_up = Message.objects.filter(ticket=ticket, kind="reply").latest("created_at")
    assert follow_up.author_person is None
    assert follow_up.body_text == "Hi Jo, is everything working as it should now?"
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    assert ticket.next_due_at is None
    event = TicketEvent.objects.get(ticket=ticket, data__follow_up__isnull=False)
    assert not event.sla_input
    assert event.clause == "resolution.follow_up"
    assert ScheduledFollowUp.objects.get(ticket=ticket).sent_at == at(10, 10, 0)

    tick(at(10, 10, 5), holder="w")
    tick(at(11, 10, 0), holder="w")
    assert Message.objects.filter(ticket=ticket, kind="reply").count() == replies_before + 1

    # The email goes out through the queue.
    call_command("worker", "--once", verbosity=0)
    # (The solve's surveys went out in the ticks too: they are the surveys' tests' business.)
    replies = [m for m in mail.outbox if m.extra_headers.get("Auto-Submitted") != "auto-generated"]
    assert [m.to for m in replies] == [["jo@example.com"]]
    assert replies[0].body == "Hi Jo, is everything working as it should now?"
    # A follow-up goes out in the ticket's thread, like every reply.
    assert replies[0].subject == f"Re: [{ticket.reference}] Where is my order?"


def test_the_follow_up_names_the_customer_by_id_in_the_audit_log_and_not_by_address_on_the_timeline(
    demo, customer
):
    """The follow-up's timeline line says 'Follow-up sent to the customer' (the page may be read by
    someone the customer-data rule hides the address from) and its audit entry names customer #N."""
    from charterdesk.audit.models import AuditEntry

    ticket = open_ticket(customer, at(7, 9, 0))
    do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=at(7, 10, 0))
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(8, 10, 0))
    tick(at(10, 10, 0), holder="w")
    event = TicketEvent.objects.get(ticket=ticket, data__follow_up__isnull=False)
    assert event.summary == "Follow-up sent to the customer (2d after solve)"
    entry = AuditEntry.objects.get(action="ticket.follow_up")
    assert entry.summary == f"Follow-up sent on {ticket.reference} to customer #{customer.pk}"
    assert customer.email not in entry.summary + str(entry.data)


def test_the_follow_up_is_cancelled_when_the_customer_writes_again(demo, customer):
    """A customer who writes after the solve reopens the ticket; no follow-up goes out."""
    ticket = open_ticket(customer, at(7, 9, 0))
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(8, 10, 0))
    do_customer_message(ticket, body="Actually it is still broken.", at=at(9, 10, 0))

    report = tick(at(10, 10, 0), holder="w")
    assert report.jobs["follow-ups"] == 0
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()
    assert ScheduledFollowUp.objects.get(ticket=ticket).cancelled


def test_a_customer_without_email_gets_no_follow_up_and_the_timeline_says_why(demo, client):
    """A phone-only customer cannot be emailed: the follow-up is cancelled, and the ticket's
    timeline says why (it was written as a message event before, which the timeline leaves out)."""
    caller = do_find_or_create_customer(email=None, name="Sam Phone", phone="+1 555 0100")
    ticket = do_create_ticket(
        customer=caller, subject="Call", body="Called about a tent.", channel="phone", at=at(7, 9)
    )
    do_set_status(ticket, "solved", actor=demo["agent"], at=at(7, 10, 0))

    tick(at(9, 10, 0), holder="w")
    assert ScheduledFollowUp.objects.get(ticket=ticket).cancelled
    event = TicketEvent.objects.get(ticket=ticket, data__follow_up__isnull=False)
    assert event.summary == "Follow-up not sent: the customer has no email address"
    assert event.kind == "follow_up"
    client.force_login(demo["agent"])
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Follow-up not sent: the customer has no email address" in page


def test_finished_task_results_older_than_seven_days_are_pruned(db):
    """Pruning keeps a week of results, finished or failed, and never touches waiting tasks."""
    from charterdesk.tickets.jobs import prune_task_results

    now = timezone.now()
    old = DBTaskResult.objects.create(
        args_kwargs={"args": [1], "kwargs": {}},
        task_path="charterdesk.channels.tasks.send_reply",
        backend_name="default",
        status="SUCCESSFUL",
        finished_at=now - dt.timedelta(days=8),
    )
    recent = DBTaskResult.objects.create(
        args_kwargs={"args": [2], "kwargs": {}},
        task_path="charterdesk.channels.tasks.send_reply",
        backend_name="default",
        status="FAILED",
        finished_at=now - dt.timedelta(days=6),
    )
    waiting = DBTaskResult.objects.create(
        args_kwargs={"args": [3], "kwargs": {}},
        task_path="charterdesk.channels.tasks.send_reply",
        backend_name="default",
    )
    assert prune_task_results(now) == 1
    assert not DBTaskResult.objects.filter(pk=old.pk).exists()
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}


# --------------------------------------------------------------------------- the worker process


def test_worker_once_sends_an_enqueued_reply_and_exits(
    demo, customer, django_capture_on_commit_callbacks, capsys
):
    """`charterdesk worker --once` runs one tick, sends the queued reply, and returns (exit 0)."""
    ticket = open_ticket(customer, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        message = do_reply(
            ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=ticket.created_at
        )
    assert DBTaskResult.objects.ready().count() == 1

    call_command("worker", "--once")

    assert [m.to for m in mail.outbox] == [["jo@example.com"]]
    assert mail.outbox[0].body == message.body_text
    result = DBTaskResult.objects.get()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == f"sent message {message.pk} to jo@example.com"
    assert "1 task(s) run" in capsys.readouterr().out


def test_worker_interval_must_be_a_positive_number(db):
    """worker --interval soon is refused, naming --interval and the value given."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--interval: 'soon'"):
        call_command("worker", "--once", "--interval", "soon")


def test_the_worker_loop_stops_gracefully_when_told(db):
    """A running worker finishes its round and returns when stopped (what SIGINT/SIGTERM do): told
    to stop during its third tick, it finishes that tick, starts no task after it, and returns."""
    ticks: list[int] = []
    tasks_after: list[int] = []
    worker = Worker(interval=0.01, poll=0.01, worker_id="loop")

    def tick():  # the loop's pacing is under test, not the tick
        ticks.append(1)
        if len(ticks) == 3:
            worker.stop()

    def run_next_task():
        tasks_after.append(len(ticks))
        return False

    worker.tick = tick
    worker.run_next_task = run_next_task
    worker.run()  # returns only because it was told to stop
    assert len(ticks) == 3
    assert 3 not in tasks_after


def test_sigterm_lets_the_worker_finish_its_round_and_exit(db, monkeypatch, caplog):
    """SIGTERM (like Ctrl-C) while the worker is busy: it finishes what it is doing, then returns."""
    rounds = []

    def tick_then_terminated(self):
        rounds.append(1)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Worker, "tick", tick_then_terminated)
    before = signal.getsignal(signal.SIGTERM)
    with caplog.at_level("INFO", logger="charterdesk.worker"):
        call_command("worker", "--interval", "0.1")
    assert rounds == [1]
    assert "Terminated: finishing the current piece of work, then stopping" in caplog.text
    assert caplog.messages[-1].endswith("stopped")
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------- mail that fails


class RefusingMailServer:
    """A real SMTP server on localhost that refuses every recipient with ``answer``."""

    def __init__(self, answer: str):
        self.answer = answer
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts += 1
        return self.answer


@pytest.fixture
def refusing_smtp(settings):
    from aiosmtpd.controller import Controller

    servers = []

    def start(answer: str) -> RefusingMailServer:
        handler = RefusingMailServer(answer)
        with socket.socket() as probe:  # a free port
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        return handler

    yield start
    for controller in servers:
        controller.stop()


def _make_retries_due() -> None:
    """Let the backoff pass: what the clock would do between attempts."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - dt.timedelta(seconds=1))


def test_a_reply_the_mail_server_refuses_is_retried_then_shown_on_the_ticket(
    demo, customer, refusing_smtp, django_capture_on_commit_callbacks, client
):
    """A temporary refusal (451) is tried five times with growing waits (1, 5, 25, 125 minutes);
    after the fifth the ticket's timeline shows the server's answer and the agent is told."""
    server = refusing_smtp("451 4.3.0 Mailbox temporarily unavailable")
    ticket = open_ticket(customer, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=ticket.created_at)

    waits = iter(dt.timedelta(minutes=m) for m in (1, 5, 25, 125))
    for attempt in range(1, SEND_ATTEMPTS + 1):
        before = timezone.now()
        call_command("worker", "--once", verbosity=0)
        after = timezone.now()
        assert server.attempts == attempt
        assert not TicketEvent.objects.filter(ticket=ticket, data__delivery="failed").exists() or (
            attempt == SEND_ATTEMPTS
        )
        retry = DBTaskResult.objects.filter(status="READY").first()
        if attempt < SEND_ATTEMPTS:
            assert retry.args_kwargs["kwargs"] == {"attempt": attempt + 1}
            # Counted from the failure, which happened within the run, however long the run took.
            wait = next(waits)
            assert before + wait <= retry.run_after <= after + wait
            _make_retries_due()
        else:
            assert retry is None
    assert [retry_wait(n) for n in range(1, 5)] == [dt.timedelta(minutes=m) for m in (1, 5, 25, 125)]
    assert DBTaskResult.objects.filter(status="FAILED").count() == SEND_ATTEMPTS

    failure = TicketEvent.objects.get(ticket=ticket, data__delivery="failed")
    assert "451 4.3.0 Mailbox temporarily unavailable" in failure.summary
    assert "after 5 attempts" in failure.summary
    assert not failure.sla_input
    told = Notification.objects.get(person=demo["agent"], ticket=ticket, reason="mail delivery")
    assert "could not be emailed to jo@example.com" in told.text
    # The ticket's timeline shows it (a message event before, which the timeline leaves out).
    assert failure.kind == "delivery"
    client.force_login(demo["agent"])
    assert (
        "could not be emailed to jo@example.com after 5 attempts"
        in client.get(f"/tickets/{ticket.pk}/").content.decode()
    )


def test_a_permanent_refusal_is_not_retried(
    demo, customer, refusing_smtp, django_capture_on_commit_callbacks
):
    """A 550 answer will not change: the ticket shows it after the first attempt."""
    server = refusing_smtp("550 5.1.1 No such user here")
    ticket = open_ticket(customer, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        do_reply(ticket, author=demo["agent"], body="Hello Jo, it ships today. Thanks", at=ticket.created_at)
    call_command("worker", "--once", verbosity=0)
    assert server.attempts == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()
    failure = TicketEvent.objects.get(ticket=ticket, data__delivery="failed")
    assert "550 5.1.1 No such user here" in failure.summary
    assert "after 1 attempt." in failure.summary
