"""`charterdesk email listen|import|poll|process`: the email channel from the command line."""

from __future__ import annotations

import mailbox as mailboxes
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


def iter_path(path: Path):
    """(reference, raw bytes) of every message in an .eml file, an mbox file, a maildir, or a folder
    of .eml files, in a stable order."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            box = mailboxes.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"{path.name}/{key}", box.get_bytes(key)
            return
        for file in sorted(p for p in path.rglob("*.eml") if p.is_file()):
            yield str(file.relative_to(path)), file.read_bytes()
        return
    with path.open("rb") as handle:
        start = handle.read(5)
    if start == b"From ":
        box = mailboxes.mbox(path, factory=None, create=False)
        try:
            for key in box.iterkeys():  # (iterating a mailbox itself gives its messages)
                yield f"{path.name}#{key}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield path.name, path.read_bytes()


IMPORT_CHUNK = 100


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Command(BaseCommand):
    help = "The email channel: run the SMTP listener, import .eml/mbox/maildir, poll IMAP mailboxes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        listen = sub.add_parser("listen", help="run the SMTP listener in the foreground")
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--port", type=int, default=2525)
        imp = sub.add_parser(
            "import", help="import an .eml file, an mbox file, a maildir or a folder of .eml"
        )
        imp.add_argument("path")
        imp.add_argument("--channel", default="", help="the protocol channel (default: by recipient address)")
        poll = sub.add_parser("poll", help="poll the IMAP mailboxes configured in the desk")
        poll.add_argument("--once", action="store_true", help="poll once and exit")
        poll.add_argument("--interval", type=int, default=60, help="seconds between polls (default 60)")
        sub.add_parser("process", help="process stored messages still pending (after a crash)")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    def handle_listen(self, host, port, **_):
        from charterdesk.channels.smtpd import serve_forever

        if not 0 < port < 65536:
            raise CommandError(f"--port: {port} is not a port number (1 to 65535)")
        try:
            serve_forever(host, port, stdout=self.stdout)
        except OSError as exc:
            # Address in use, a host name that does not resolve, a port below 1024 without rights.
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def handle_import(self, path, channel, **_):
        from charterdesk.channels.conf import ingest_workers
        from charterdesk.channels.inbound import batch, process_all, process_pending, store_many
        from charterdesk.channels.ingest_pool import IngestPool

        source = Path(path)
        if not source.exists():
            raise CommandError(f"{path}: no such file or folder")
        if channel:
            self._check_channel(channel)
        resumed = process_pending()
        if resumed:
            self.stdout.write(f"Finished {resumed} message(s) left pending by an earlier run.")
        counts: Counter[str] = Counter()
        started = time.monotonic()
        new_ids: list[int] = []
        # Messages are committed a chunk at a time, then acted on: one by one here (SQLite), or by
        # worker processes while the next chunks are stored (PostgreSQL; see channels/ingest_pool.py).
        with IngestPool(ingest_workers()) as pool, batch():
            for chunk in _chunks(iter_path(source), IMPORT_CHUNK):
                items = [(raw, f"{source}:{reference}"[:300]) for reference, raw in chunk]
                stored = []
                for inbound, created, _why in store_many(items, source="import", channel=channel):
                    if inbound is None:
                        counts["not stored (see the log)"] += 1
                    elif not created:
                        counts["already imported"] += 1
                    else:
                        stored.append(inbound.pk)
                if pool.inline:
                    counts.update(process_all(stored).values())
                else:
                    new_ids.extend(stored)
        if new_ids:
            from charterdesk.channels.models import InboundMessage

            states = InboundMessage.objects.filter(pk__in=new_ids).values_list("state", flat=True)
            counts.update(states.iterator(chunk_size=2000))
        took = time.monotonic() - started
        total = sum(counts.values())
        parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        self.stdout.write(f"Imported {total} message(s) in {took:.1f} s: {parts or 'none'}.")

    def _check_channel(self, channel):
        from charterdesk.library.versions import protocol_of, version_in_force

        version = version_in_force()
        protocol = protocol_of(version) if version else None
        ids = [c.id for c in protocol.channels.customer] if protocol else []
        if channel not in ids:
            raise CommandError(
                f"--channel: '{channel}' is not a channel of the protocol in force ({', '.join(ids)})"
            )

    def handle_poll(self, once, interval, **_):
        from charterdesk.channels.imap import poll_all_mailboxes

        while True:
            started = time.monotonic()
            # What `charterdesk worker` does every minute: the mailboxes are fetched, stored and
            # flagged seen side by side (one thread each), and acted on by worker processes as they
            # are stored (PostgreSQL) or once all are stored (SQLite).
            results = poll_all_mailboxes()
            stored = max((r.finished for r in results if r.finished), default=started) - started
            took = time.monotonic() - started
            if not results:
                self.stdout.write("No active mailboxes are configured (add one under /channels/mailboxes/).")
            for r in results:
                state = r.error or r.skipped or "ok"
                self.stdout.write(
                    f"{r.name}: {r.new} new, {r.duplicates} already stored, {r.seconds:.1f} s ({state})"
                )
            if results:
                self.stdout.write(
                    f"All mailboxes: {sum(r.new for r in results)} new messages stored and marked seen "
                    f"in {stored:.2f} s, all acted on in {took:.2f} s."
                )
            if once:
                failed = [r.name for r in results if r.error]
                if failed:  # a non-zero exit, so that cron or a monitor notices
                    raise CommandError(f"{len(failed)} mailbox(es) could not be polled: {', '.join(failed)}")
                return
            time.sleep(interval)

    def handle_process(self, **_):
        from charterdesk.channels.inbound import process_pending

        self.stdout.write(f"Processed {process_pending()} pending message(s).")
