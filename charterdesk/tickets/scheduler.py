"""The worker: background tasks from the queue, and the scheduler's tick.

Each tick does two things.

1. **Deadlines.** It looks only at tickets whose ``next_deadline`` has passed (an indexed
   column the SLA engine keeps current after every change), in batches, and for each asks
   the engine again inside a transaction. That is when escalation rules fire (once each:
   ``escalation_effects.py``) and the next deadline is stored. Nothing rescans all open tickets.
2. **Periodic jobs** (follow-ups, auto-close, pruning old task results). Each is guarded by a
   :class:`~charterdesk.tickets.models.Lease`: the worker that takes a job's lease runs it,
   and the lease is then kept for the job's period, so across any number of workers each job
   runs at most once per period.

:class:`Worker` alternates between the tick (every ``interval`` seconds) and running the
tasks that are ready in django-tasks-db's queue (``channels.tasks.send_reply``, ...), in one
thread, so a SQLite database only ever sees one writer per worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections, connection
from django.db.utils import IntegrityError, OperationalError
from django.utils import timezone
from django.utils.crypto import get_random_string

from charterdesk.notifications.actions import send_digests

from . import jobs
from .history import whole_second
from .lifecycle import all_answers, hooks
from .models import Lease, Ticket

log = logging.getLogger("charterdesk.worker")

BATCH_SIZE = 100
# A lease taken this close to its expiry counts as expired, so that `worker --once` from cron
# every minute still runs a one-minute job each time despite start-up jitter.
LEASE_GRACE = dt.timedelta(seconds=5)
# How long a job's lease is held while it runs; a worker that dies mid-job frees it after this.
RUNNING_HOLD = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler runs at most once per ``every`` across all workers."""

    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], int]  # does the work at the given instant; returns how many things it did
    does: str

    def __repr__(self) -> str:
        return f"<PeriodicJob {self.name} every {self.every}>"


# Tickets' own jobs; the families add theirs through the ``periodic_jobs`` hook (lifecycle.py).
TICKET_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        "follow-ups",
        dt.timedelta(minutes=1),
        jobs.send_due_follow_ups,
        "sends the protocol's follow-up message to customers whose ticket was solved long enough ago",
    ),
    PeriodicJob(
        "auto-close",
        dt.timedelta(minutes=1),
        jobs.close_solved_tickets,
        "closes solved tickets once resolution.handling.auto_close_solved_after has passed",
    ),
    PeriodicJob(
        "notification-digests",
        dt.timedelta(minutes=1),
        send_digests,
        "mails each person the notifications that waited for their digest (docs/workspace.md)",
    ),
    PeriodicJob(
        "prune-task-results",
        dt.timedelta(hours=1),
        jobs.prune_task_results,
        "deletes finished background task results older than 7 days",
    ),
)


def periodic_jobs() -> tuple[PeriodicJob, ...]:
    """Every periodic job: tickets' own, then the families' (``periodic_jobs`` hook)."""
    return TICKET_JOBS + tuple(all_answers(hooks.periodic_jobs()))


def new_worker_id() -> str:
    """Unique across machines and restarts, and readable in a lease's ``holder``."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"


# --------------------------------------------------------------------------- deadlines


def due_ticket_ids(now: dt.datetime, *, after_id: int = 0, limit: int = BATCH_SIZE) -> list[int]:
    """The next batch of tickets whose deadline has passed, by id.

    Strictly past: the engine fires what falls due strictly before ``now`` (a reply exactly at
    the due time is on time), so a ticket is looked at from the first second after its deadline.
    """
    return list(
        Ticket.objects.filter(next_deadline__lt=now, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass
class DeadlineReport:
    looked_at: int = 0
    escalations: int = 0
    skipped: int = 0  # held by another worker, already done, or failed (logged)


def run_due_deadlines(
    now: dt.datetime, *, batch_size: int = BATCH_SIZE, should_stop: Callable[[], bool] = lambda: False
) -> DeadlineReport:
    """Ask the engine about every ticket whose deadline has come, one transaction per ticket.

    Batches go by ticket id, so a ticket whose new deadline is still in the past is looked at
    again on the next tick rather than in a loop now.
    """
    now = whole_second(now)
    report = DeadlineReport()
    last = 0
    while not should_stop():
        batch = due_ticket_ids(now, after_id=last, limit=batch_size)
        if not batch:
            break
        for ticket_id in batch:
            last = ticket_id
            if should_stop():
                break
            try:
                fired = jobs.check_deadline(ticket_id, now)
            except Exception:
                report.skipped += 1
                log.exception("could not look at the deadline of #%d; trying again next tick", ticket_id)
                continue
            if fired is None:
                report.skipped += 1
                continue
            report.looked_at += 1
            for rule in fired:
                report.escalations += 1
                log.info("escalated #%d (%s)", ticket_id, rule)
    return report


# --------------------------------------------------------------------------- leases


def take_lease(name: str, holder: str, *, now: dt.datetime, hold: dt.timedelta) -> bool:
    """Take the lease ``name`` for ``hold`` if nobody holds it; True if ``holder`` now has it.

    One conditional UPDATE: on PostgreSQL a second worker's UPDATE waits for the first and
    then finds the lease no longer expired; SQLite runs writers one after another.
    """
    with contextlib.suppress(IntegrityError):  # another worker created it at the same moment
        Lease.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": now})
    taken = Lease.objects.filter(name=name, expires_at__lte=now + LEASE_GRACE).update(
        holder=holder, expires_at=now + hold
    )
    return taken == 1


def keep_lease_until(name: str, holder: str, until: dt.datetime) -> None:
    """Set when the lease frees itself, if ``holder`` still has it."""
    Lease.objects.filter(name=name, holder=holder).update(expires_at=until)


def run_periodic_jobs(
    now: dt.datetime, holder: str, jobs_to_run: tuple[PeriodicJob, ...] | None = None
) -> dict[str, int]:
    """Run each job whose lease this worker can take. Returns {job name: things done} for the
    jobs it ran; a job another worker ran this period is absent."""
    now = whole_second(now)
    ran: dict[str, int] = {}
    for job in periodic_jobs() if jobs_to_run is None else jobs_to_run:
        try:
            if not take_lease(job.name, holder, now=now, hold=max(job.every, RUNNING_HOLD)):
                continue
        except OperationalError as error:
            if jobs._is_locked(error):
                continue
            raise
        try:
            ran[job.name] = job.run(now)
        except Exception:
            log.exception("periodic job %s failed; it runs again in %s", job.name, job.every)
        finally:
            # Held for one period from when it started: no other worker runs it before then.
            keep_lease_until(job.name, holder, now + job.every)
    return ran


# --------------------------------------------------------------------------- the tick


@dataclass
class TickReport:
    at: dt.datetime
    deadlines: DeadlineReport
    jobs: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        d = self.deadlines
        parts = [f"{d.looked_at} due ticket(s) looked at", f"{d.escalations} escalation(s)"]
        parts += [f"{name}: {count}" for name, count in self.jobs.items()]
        return ", ".join(parts)


def tick(
    now: dt.datetime | None = None, *, holder: str, should_stop: Callable[[], bool] = lambda: False
) -> TickReport:
    """One pass of the scheduler at ``now``: due deadlines, then the periodic jobs."""
    now = whole_second(now or timezone.now())
    report = TickReport(at=now, deadlines=run_due_deadlines(now, should_stop=should_stop))
    if not should_stop():
        report.jobs = run_periodic_jobs(now, holder)
    return report


# --------------------------------------------------------------------------- the worker


class Worker:
    """Runs the scheduler's tick every ``interval`` seconds and, in between, the queue's ready tasks."""

    def __init__(
        self,
        *,
        interval: float = 5.0,
        poll: float = 1.0,
        worker_id: str | None = None,
        backend_name: str = "default",
        clock: Callable[[], dt.datetime] = timezone.now,
    ):
        from django_tasks_db.management.commands.db_worker import Worker as TaskRunner

        self.interval = interval
        self.poll = poll
        self.worker_id = worker_id or new_worker_id()
        self.backend_name = backend_name
        self.clock = clock
        self._stop = threading.Event()
        # django-tasks-db's own runner: it records each task's result and sends the task signals.
        self._runner = TaskRunner(
            queue_names=["*"],
            interval=poll,
            batch=True,
            backend_name=backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id[:64],
            excluded_queue_names=[],
        )

    # -- control

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- one piece of work each

    def tick(self) -> TickReport:
        report = tick(self.clock(), holder=self.worker_id, should_stop=lambda: self.stopping)
        log.debug("tick at %s: %s", report.at.isoformat(), report)
        return report

    def run_next_task(self) -> bool:
        """Claim the next ready task and run it; False when none is ready."""
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

        ready = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        try:
            with exclusive_transaction(ready.db):
                result = ready.get_locked()
                if result is not None:
                    result.claim(self._runner.worker_id)  # nobody else runs it now
        except OperationalError as error:
            if is_locked_database_exception(error):
                return False
            raise
        if result is None:
            return False
        self._runner.run_task(result)
        return True

    def drain(self) -> int:
        """Run ready tasks until none is left (or the worker is told to stop); how many ran."""
        count = 0
        while not self.stopping and self.run_next_task():
            count += 1
        return count

    # -- the two ways to run

    def run_once(self) -> tuple[TickReport, int]:
        """One tick, then every task that is ready: for cron and tests."""
        report = self.tick()
        return report, self.drain()

    def run(self) -> None:
        """Until :meth:`stop`: a tick every ``interval`` seconds, tasks as they come in between."""
        log.info(
            "worker %s started: deadlines and periodic jobs every %gs, tasks from the %r backend",
            self.worker_id,
            self.interval,
            self.backend_name,
        )
        next_tick = 0.0
        try:
            while not self.stopping:
                self._fresh_connection()
                ran_task = False
                try:
                    if time.monotonic() >= next_tick:
                        next_tick = time.monotonic() + self.interval
                        self.tick()
                    ran_task = not self.stopping and self.run_next_task()
                except Exception:
                    # A database that went away, say: keep the worker alive and try again shortly.
                    log.exception(
                        "worker %s: this round failed; trying again in %gs", self.worker_id, self.poll
                    )
                    self._stop.wait(self.poll)
                    continue
                if not ran_task and not self.stopping:
                    self._stop.wait(max(0.0, min(self.poll, next_tick - time.monotonic())))
        finally:
            if not connection.in_atomic_block:
                connection.close()
        log.info("worker %s stopped", self.worker_id)

    @staticmethod
    def _fresh_connection() -> None:
        # Drop a connection that is broken or past CONN_MAX_AGE, as Django does per request;
        # never inside a transaction (a test's, say), where that would abort it.
        if not connection.in_atomic_block:
            close_old_connections()
