"""Polling external IMAP mailboxes, several side by side (one thread each, in a few processes), never
one after another.

For each mailbox: take its lease (so two workers never poll the same mailbox at once), fetch unseen
messages with BODY.PEEK (which leaves them unseen), commit each one's raw bytes, and only then flag it
\\Seen on the server. A message that cannot be stored stays unseen and is fetched again next time; a
message stored before (same Message-ID or content) is flagged seen and not acted on twice.

``poll_all_mailboxes()`` is what `charterdesk worker` calls periodically; `charterdesk email poll` runs
it from the command line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import logging
import multiprocessing
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from . import conf
from .choices import MailboxSecurity
from .inbound import process_all, store_many, writer_turn, writer_turns_shared
from .ingest_pool import IngestPool
from .models import Mailbox

log = logging.getLogger("charterdesk.channels.imap")

LEASE = dt.timedelta(minutes=10)
# A poll renews its lease when this much of it has gone, not after every chunk: each renewal is a
# write that, on SQLite, waits for the other pollers' turns.
RENEW_AFTER = LEASE.total_seconds() / 10
FETCH_CHUNK = 50


@dataclass
class PollResult:
    """What one poll of one mailbox did."""

    mailbox_id: int
    name: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    error: str = ""
    skipped: str = ""
    started: float = 0.0
    finished: float = 0.0
    stored_ids: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class MailboxError(Exception):
    pass


# For Test and Poll now, which a manager waits for inside a web request (gunicorn gives a request
# 60 s): a server that has not answered by then will not, and the page must not time out first.
INTERACTIVE_TIMEOUT = 15


def connect(mailbox: Mailbox, *, timeout: float | None = None) -> imaplib.IMAP4:
    """A logged-in connection to the mailbox's server, over TLS unless the mailbox says none."""
    from .secrets import decrypt

    timeout = timeout or conf.imap_timeout()
    conn = None
    try:
        if mailbox.security == MailboxSecurity.SSL:
            conn = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=_tls(mailbox), timeout=timeout)
        else:
            conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
            if mailbox.security == MailboxSecurity.STARTTLS:
                conn.starttls(ssl_context=_tls(mailbox))
        conn.login(mailbox.username, decrypt(mailbox.password_encrypted))
    except (OSError, imaplib.IMAP4.error, ssl.SSLError, UnicodeError) as exc:
        # UnicodeError: a host name the resolver cannot even encode ("imap..example.com").
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.shutdown()
        raise MailboxError(f"{mailbox.host}:{mailbox.port}: {_text(exc)}") from exc
    return conn


def _tls(mailbox: Mailbox) -> ssl.SSLContext:
    # Made only for a mailbox that uses TLS: loading the system's certificates is CPU work that ten
    # pollers starting together would otherwise each do for nothing.
    context = ssl.create_default_context()
    if not mailbox.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _text(exc: Exception) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, UnicodeError):
        return "the host name is not valid"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # "Connection refused", not the bare errno 111
    message = exc.args[0] if exc.args else exc
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return str(message) or type(exc).__name__


def _take_lease(mailbox: Mailbox, owner: str) -> bool:
    now = timezone.now()
    return bool(
        Mailbox.objects.filter(pk=mailbox.pk, is_active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(lease_until=now + LEASE, lease_owner=owner)
    )


def _release_lease(mailbox: Mailbox, owner: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, lease_owner=owner).update(lease_until=None, lease_owner="")


_UID = re.compile(rb"UID (\d+)")


def _fetch(conn: imaplib.IMAP4, uids: list[bytes]) -> list[tuple[bytes, bytes]]:
    typ, data = conn.uid("FETCH", b",".join(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise MailboxError(f"FETCH failed: {data!r}")
    found = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID.search(item[0])
            if match:
                found.append((match.group(1), item[1]))
    return found


def poll_mailbox(
    mailbox: Mailbox,
    *,
    process: bool = True,
    on_connected: Callable[[Mailbox], None] | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> PollResult:
    """Fetch, store and (unless ``process=False``) act on the unseen messages of one mailbox."""
    from .actions import record_poll

    result = PollResult(mailbox.pk, mailbox.name, started=time.monotonic())
    if not mailbox.is_active:
        result.skipped = "this mailbox is paused ('Poll this mailbox' is off)"
        result.finished = time.monotonic()
        return result
    owner = _owner()
    with writer_turn():
        leased = _take_lease(mailbox, owner)
    if not leased:
        result.skipped = "another worker is polling this mailbox"
        result.finished = time.monotonic()
        return result
    renewed = time.monotonic()
    conn = None
    try:
        conn = connect(mailbox, timeout=timeout)
        if on_connected is not None:
            on_connected(mailbox)
        typ, data = conn.select(_quote(mailbox.folder))
        if typ != "OK":
            raise MailboxError(f"folder {mailbox.folder!r} cannot be opened: {data!r}")
        validity = (conn.response("UIDVALIDITY")[1] or [b"0"])[0]
        typ, data = conn.uid("SEARCH", None, "UNSEEN")
        if typ != "OK":
            raise MailboxError(f"SEARCH failed: {data!r}")
        uids = (data[0] or b"").split()[: limit or conf.imap_batch()]
        for start in range(0, len(uids), FETCH_CHUNK):
            fetched = _fetch(conn, uids[start : start + FETCH_CHUNK])
            result.fetched += len(fetched)
            items = [(raw, f"{mailbox.pk}:{_str(validity)}:{uid.decode()}") for uid, raw in fetched]
            try:
                # The whole chunk is committed in one transaction before any of it is flagged seen.
                stored = store_many(items, source="imap", channel=mailbox.channel, mailbox=mailbox)
            except Exception as exc:  # not stored: leave them unseen for the next poll
                log.exception("mailbox %s: could not store %s messages", mailbox.name, len(items))
                result.error = f"could not store messages: {exc}"
                continue
            seen = []
            new = []
            for (uid, _raw), (inbound, created, why) in zip(fetched, stored, strict=True):
                if inbound is None:  # not stored: leave it unseen for the next poll
                    result.error = f"could not store a message: {why}"
                    continue
                seen.append(uid)
                if created:
                    result.new += 1
                    new.append(inbound.pk)
                else:
                    result.duplicates += 1
            if seen:
                # SILENT: the server does not answer with every message's new flags (a line each
                # to read and parse for nothing).
                conn.uid("STORE", b",".join(seen), "+FLAGS.SILENT", "(\\Seen)")
            if process and new:
                with writer_turn():
                    process_all(new)
            result.stored_ids.extend(new)
            if time.monotonic() - renewed > RENEW_AFTER:
                with writer_turn():
                    _take_lease(mailbox, owner)
                renewed = time.monotonic()
    except (MailboxError, imaplib.IMAP4.error, OSError) as exc:
        result.error = str(exc) if isinstance(exc, MailboxError) else _text(exc)
        log.warning("mailbox %s: %s", mailbox.name, result.error)
    except Exception as exc:
        from .secrets import SecretError

        if not isinstance(exc, SecretError):
            raise
        result.error = str(exc)
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.logout()
        with writer_turn():
            _release_lease(mailbox, owner)
            record_poll(mailbox, count=result.new, error=result.error)
        result.finished = time.monotonic()
    return result


def _str(value) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _quote(folder: str) -> str:
    return folder if re.fullmatch(r"[A-Za-z0-9._/-]+", folder) else '"' + folder.replace('"', '\\"') + '"'


def poll_all_mailboxes(
    *,
    process: bool = True,
    mailboxes=None,
    on_connected: Callable[[Mailbox], None] | None = None,
) -> list[PollResult]:
    """Poll every active mailbox at the same time; returns one result per mailbox, in their order.

    The mailboxes are shared among ``CHARTERDESK_POLL_PROCESSES`` processes (this one and forked
    ones), each polling its share side by side, one thread a mailbox. The poll threads only fetch,
    store and flag \\Seen. With ``process``, what they stored is turned into tickets by
    ``CHARTERDESK_INGEST_WORKERS`` processes while they poll (PostgreSQL), or here once every mailbox
    is polled (SQLite, or inside a transaction). Making tickets is CPU work: inside the poll threads it
    would share their core and, on SQLite, keep the other pollers from their turn to write, so ten
    mailboxes would take about ten times as long as one to be stored and seen.

    This is what `charterdesk worker` calls periodically (every minute) and `charterdesk email poll` runs.
    """
    from .conf import ingest_workers

    boxes = list(mailboxes if mailboxes is not None else Mailbox.objects.filter(is_active=True))
    if not boxes:
        return []
    with IngestPool(ingest_workers() if process else 1) as workers:
        results = _poll_side_by_side(boxes, on_connected)
        if process and workers.inline:
            process_all([pk for result in results for pk in result.stored_ids])
    return results


def _poll_side_by_side(boxes: list[Mailbox], on_connected) -> list[PollResult]:
    """The mailboxes dealt out to the poll processes in turn (this one polls the first share)."""
    processes = _processes(len(boxes))
    shares = [boxes[k::processes] for k in range(processes)]
    if processes == 1:
        return _poll_threads(boxes, on_connected)
    context = multiprocessing.get_context("fork")
    connections.close_all()  # a forked process must open a connection of its own
    children = []
    # On SQLite the processes take turns to write as threads do (see inbound.writer_turn), rather
    # than meet SQLite's lock, whose busy handler sleeps and polls.
    with writer_turns_shared(context.RLock()):
        for share in shares[1:]:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(
                target=_poll_share, args=(share, on_connected, writer), name="imap-poll", daemon=True
            )
            child.start()
            writer.close()
            children.append((child, reader, share))
        results = _poll_threads(shares[0], on_connected)
        for child, reader, share in children:
            try:
                results += reader.recv()
            except EOFError:  # the process died: its mailboxes report it, the others are unaffected
                child.join()
                results += _died(share, child.pid)
            finally:
                reader.close()
                child.join()
    order = {box.pk: place for place, box in enumerate(boxes)}
    return sorted(results, key=lambda result: order[result.mailbox_id])


def _died(share: list[Mailbox], pid: int | None) -> list[PollResult]:
    """The results of a poll process that died: each of its mailboxes shows the error and is free to
    be polled again at once (what it stored is kept; what it did not flag seen is fetched again)."""
    from .actions import record_poll

    error = "the polling process ended without an answer"
    with writer_turn():
        Mailbox.objects.filter(pk__in=[box.pk for box in share], lease_owner=_owner(pid)).update(
            lease_until=None, lease_owner=""
        )
        for box in share:
            record_poll(box, count=0, error=error)
    return [PollResult(box.pk, box.name, error=error) for box in share]


def _owner(pid: int | None = None) -> str:
    """Who holds a mailbox's lease: this host and process."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def _processes(mailboxes: int) -> int:
    from django.db import connection

    from .conf import poll_processes

    # Processes cannot share an in-memory SQLite database (the tests' own), nor a caller's transaction.
    if connection.in_atomic_block or (connection.vendor == "sqlite" and connection.is_in_memory_db()):
        return 1
    return max(1, min(poll_processes(), mailboxes))


def _poll_share(share: list[Mailbox], on_connected, answer) -> None:
    """A forked poll process: its share of the mailboxes, the results sent back to the parent."""
    try:
        answer.send(_poll_threads(share, on_connected))
    finally:
        answer.close()
        connections.close_all()


def _poll_threads(boxes: list[Mailbox], on_connected) -> list[PollResult]:
    def run(box: Mailbox) -> PollResult:
        close_old_connections()
        try:
            return poll_mailbox(box, process=False, on_connected=on_connected)
        except Exception as exc:  # one mailbox never stops the others
            log.exception("mailbox %s failed", box.name)
            return PollResult(box.pk, box.name, error=f"{type(exc).__name__}: {exc}")
        finally:
            # A thread's own connections: close them, or PostgreSQL keeps one open per thread.
            connections.close_all()

    with ThreadPoolExecutor(max_workers=min(len(boxes), 32), thread_name_prefix="imap") as pool:
        return list(pool.map(run, boxes))


def test_connection(mailbox: Mailbox) -> str:
    """Log in and count the unseen messages; the answer is shown on the mailbox page."""
    conn = connect(mailbox, timeout=INTERACTIVE_TIMEOUT)
    try:
        typ, data = conn.select(_quote(mailbox.folder), readonly=True)
        if typ != "OK":
            raise MailboxError(f"folder {mailbox.folder!r} cannot be opened")
        typ, data = conn.uid("SEARCH", None, "UNSEEN")
        unseen = len((data[0] or b"").split()) if typ == "OK" else 0
        return f"Connected; {unseen} unseen message(s) in {mailbox.folder}."
    finally:
        with contextlib.suppress(Exception):
            conn.logout()
