"""Ticketing stored mail in several processes while it is still being stored (PostgreSQL).

Storing a message is cheap and mostly waiting (on the disk, the IMAP server, the import file);
acting on it (parse, route, the ticket, its SLA clocks, the audit entry) is CPU work. So
`charterdesk email import` and the IMAP poll (`charterdesk email poll`, and `charterdesk worker` every
minute) store in their own process and fork ``n`` workers, at a lower priority, that act on the
pending messages as soon as they are committed: worker k takes the messages whose id is k modulo n,
oldest first.

Nothing about exactly-once changes: each message is still processed in one transaction that
locks its row and checks it is pending, so two processes can never both act on it; a reply whose
earlier message is still pending in another worker's share processes that one first
(``inbound.EarlierFirst``). SQLite has one writer, so there the work stays in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os

from django.db import connections

log = logging.getLogger("charterdesk.channels")

CHUNK = 200
NICE = 10


class IngestPool:
    """``with IngestPool(n) as pool:`` store messages (unprocessed) inside the block; on leaving
    it, every message pending is processed. ``pool.inline``: one worker, the caller processes itself."""

    def __init__(self, n: int):
        from django.db import connection

        # Inside a transaction the workers could not see what is stored (nor may its connection be
        # closed for the fork): then the caller processes everything itself.
        self.n = 1 if connection.in_atomic_block else n
        self.inline = self.n <= 1
        self.procs: list = []

    def __enter__(self) -> IngestPool:
        if self.inline:
            return self
        # A forked child must open its own database connection, never share the parent's.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        self.stop = context.Event()
        self.procs = [
            context.Process(
                target=_work, args=(k, self.n, self.stop, os.getpid()), name=f"ingest-{k}", daemon=True
            )
            for k in range(self.n)
        ]
        for proc in self.procs:
            proc.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.inline:
            return
        self.stop.set()
        for proc in self.procs:
            proc.join()
            if proc.exitcode != 0:
                log.warning("ingest worker %s ended with exit code %s", proc.name, proc.exitcode)
        # Whatever a worker could not finish (it died, or the database was away) is finished here.
        from .inbound import process_pending

        process_pending()


def _work(k: int, n: int, stop, parent: int) -> None:
    from .choices import InboundState
    from .inbound import batch, pending_ids, process_all

    # Ticketing can wait; the storing beside it cannot, since mail stays unacknowledged (not \\Seen)
    # until it is stored. At a lower priority the workers take the CPU the storing leaves: with ten
    # mailboxes on 2 cores, stored and seen came sooner (median 1.8 s against 2.3 s), tickets no later.
    os.nice(NICE)
    try:
        with batch():
            while True:
                # Read before looking, so nothing stored before it is missed. A parent that was killed
                # stores nothing more: what is pending is finished, then the worker ends too.
                finishing = stop.is_set() or os.getppid() != parent
                ids = pending_ids(part=(k, n), limit=CHUNK)
                progress = sum(state != InboundState.PENDING for state in process_all(ids).values())
                if progress:
                    continue
                if finishing:
                    return
                stop.wait(0.05 if not ids else 0.5)
    finally:
        connections.close_all()
