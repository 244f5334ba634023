"""Benchmark email ingestion: messages into tickets from a maildir and from a real IMAP server.

    python bench/bench_email.py                         # 10,000 messages, SQLite in a temporary folder
    python bench/bench_email.py --messages 500          # a quick run (CI)
    DATABASE_URL=postgres://... python bench/bench_email.py   # PostgreSQL (the database is emptied first!)
    python bench/bench_email.py --skip-imap             # maildir only (no dovecot installed)
    python bench/bench_email.py --code ../old-checkout  # the same measurements of another checkout
    python bench/bench_email.py --latency-ms 100        # a farther IMAP server for the relay rows

Each measurement runs in a child process (``charterdesk email import`` / ``email poll --once``) on a
freshly emptied database with the demo loaded; the peak memory is that of the largest process of
the child's tree (``ru_maxrss`` through ``wait4``; on PostgreSQL the ingest workers are forked
processes, each counted on its own, not added up):

1. maildir: ``charterdesk email import MAILDIR`` of N messages (stored, parsed, routed, ticketed);
2. IMAP: the same N messages in one dovecot mailbox, ``charterdesk email poll --once``;
3. ten mailboxes against the largest alone, in two mixes of N messages: ``equal`` (ten mailboxes
   of N/10: ten times the largest's messages in all) and ``Zipf`` (the k-th busiest mailbox gets 1/k
   of the busiest one's mail: for N = 2,000, 683 down to 68, the largest a third of all), each on
   loopback and through a relay. The largest mailbox alone and the ten together are polled
   ``--repeat`` times each (default 3), one after the other, and a table at the end gives the
   medians side by side with their ratio. Two times for each, by the poll's own clock (process
   start-up left out): until every message is stored and flagged seen on the server (the polling
   itself: what "ten take about as long as the largest alone" is about), and until every message is
   a ticket (CPU work: the machine's cores share it whichever mailbox the mail came from);
4. the relay: on loopback there is no network latency, so polling is CPU work alone. A small TCP
   relay in this file (loopback only, stopped at the end) holds every chunk the server sends for
   ``--latency-ms`` (default 30 ms), so each IMAP command costs one round trip, as with a provider
   far away. Through it, the equal mix is also polled one mailbox after another (ten ``email poll
   --once`` runs, each with only its mailbox active) and compared with the ten together.

The poller fetches 50 messages per FETCH and flags them with one STORE, so a mailbox of M messages
costs about 2*M/50 + 5 round trips: with 30 ms, 200 messages add about 0.4 s and 683 about 1.0 s.
Figures, the machine's load and what they mean: docs/email.md.

After each measurement the run is checked: every message processed into its own ticket,
``charterdesk audit verify`` passes, and the SLA state stored on a sample of tickets is exactly what
the engine computes for them again. Target: at least 100 messages per second on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.desk.email_dovecot import Dovecot, dovecot_path  # noqa: E402

CHECK = """
import datetime as dt, json
from django.db.models import Count
from charterdesk.channels.models import InboundMessage
from charterdesk.tickets.models import Ticket
from charterdesk.tickets.live_sla import evaluate, sla_state
want = {want}
states = dict(InboundMessage.objects.values_list("state").annotate(n=Count("id")).order_by())
tickets = Ticket.objects.count()
assert states == {{"processed": want}} and tickets == want, (states, tickets)
step = max(1, tickets // 50)
ids = list(Ticket.objects.order_by("id").values_list("id", flat=True))[::step]
for t in Ticket.objects.filter(id__in=ids).select_related("protocol_version"):
    again = sla_state(evaluate(t, dt.datetime.fromtimestamp(t.sla_state["now"], tz=dt.UTC)))
    assert json.loads(json.dumps(again)) == t.sla_state, t.pk
print(f"checked: {{want}} processed, {{tickets}} tickets, SLA state of {{len(ids)}} tickets as computed")
"""


def message(n: int, prefix: str) -> bytes:
    body = f"Hello,\n\nMy order {n} has not arrived. Could you look into it?\n\nThanks,\nCustomer {n}\n"
    return (
        f"From: Customer {n} <{prefix}-{n}@customer.example>\r\nTo: support@acme.example\r\n"
        f"Subject: Order {n} ({prefix})\r\nMessage-ID: <{prefix}-{n}@customer.example>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


class Bench:
    def __init__(self, code: Path, env: dict, *, skip_checks: bool = False):
        self.code = code
        self.env = env
        self.skip_checks = skip_checks
        self.rows: list[tuple] = []

    def run(self, args: list[str]) -> tuple[float, int, str]:
        """Seconds, peak RSS (KB) and output of one child command."""
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "charterdesk", *args],
            env=self.env,
            cwd=self.code,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.stdout.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{output}")
        return time.monotonic() - start, usage.ru_maxrss, output

    def django(self, code: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup()\n{code}"],
            env={**self.env, "DJANGO_SETTINGS_MODULE": "charterdesk.desk.settings"},
            cwd=self.code,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def fresh_database(self) -> None:
        # Emptied (SQLite too), so that each measurement starts from the demo alone.
        subprocess.run(
            [sys.executable, "-m", "charterdesk", "flush", "--no-input", "-v0"],
            env=self.env,
            cwd=self.code,
            check=False,
            capture_output=True,
        )
        subprocess.run(
            [sys.executable, "-m", "charterdesk", "migrate", "-v0"], env=self.env, cwd=self.code, check=True
        )
        self.django("from charterdesk.demo.loader import load_demo; load_demo()")

    def add_mailboxes(self, port: int, users: list[str]) -> None:
        self.django(
            "from charterdesk.channels.actions import do_save_mailbox\n"
            + "\n".join(
                f"do_save_mailbox(None, actor=None, password='pw', name='{u}', channel='email', "
                f"host='127.0.0.1', port={port}, security='none', username='{u}', folder='INBOX')"
                for u in users
            )
        )

    def checked(self, n: int) -> None:
        if not self.skip_checks:
            self.check(n)

    def check(self, n: int) -> None:
        _, _, verify = self.run(["audit", "verify"])
        print(f"  audit verify: {verify.strip().splitlines()[-1] if verify.strip() else 'ok'}")
        print("  " + self.django(CHECK.format(want=n)).strip())

    def row(
        self,
        label: str,
        n: int,
        seconds: float,
        rss_kb: int,
        stored: float | None = None,
        acted: float | None = None,
    ) -> None:
        self.rows.append((label, n, seconds, rss_kb, stored, acted))
        own = "".join(f"{t:>9.2f} s" if t is not None else f"{'':>11}" for t in (stored, acted))
        print(
            f"{label:<30} {n:>7} {seconds:>8.1f} s {n / seconds:>8.1f} {rss_kb / 1024:>7.0f} MB {own}",
            flush=True,
        )

    def poll_round(self, server, port: int, boxes: dict[str, int], prefix: str, one_by_one=False):
        """Deliver ``boxes[user]`` messages to each user, then ``email poll --once`` their mailboxes at
        ``port``: all in one run (polled side by side), or ``one_by_one``: one run per mailbox with
        only that one active. Returns wall seconds (summed), peak RSS, and the poll's own stored+seen
        and all-acted-on seconds (summed)."""
        self.fresh_database()
        for i, (user, count) in enumerate(boxes.items()):
            server.deliver_files(user, [message(j, f"{prefix}{i}") for j in range(count)])
        self.add_mailboxes(port, list(boxes))
        turns = [[user] for user in boxes] if one_by_one else [list(boxes)]
        seconds = stored = acted = 0.0
        rss = 0
        for active in turns:
            if one_by_one:
                self.django(
                    "from charterdesk.channels.models import Mailbox\n"
                    f"Mailbox.objects.update(is_active=False)\nMailbox.objects.filter(name={active[0]!r})"
                    ".update(is_active=True)"
                )
            took, peak, out = self.run(["email", "poll", "--once"])
            seconds, rss = seconds + took, max(rss, peak)
            found = STORED.search(out)
            stored, acted = (stored + float(found[1]), acted + float(found[2])) if found else (None, None)
        self.checked(sum(boxes.values()))
        return seconds, rss, stored, acted


class LatencyRelay:
    """A TCP relay on a free loopback port to ``127.0.0.1:upstream`` that holds every chunk of data
    from the server ``latency`` seconds before passing it on (data keeps flowing meanwhile, in order),
    so each IMAP command costs about one such round trip, as with a server far away. It runs in a
    daemon thread of its own, stops when the ``with`` block ends, and at the latest after ``lifetime``
    seconds."""

    def __init__(self, upstream: int, latency: float, lifetime: float = 3600):
        self.upstream, self.latency, self.lifetime = upstream, latency, lifetime
        self.connections = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="latency-relay", daemon=True)

    def __enter__(self) -> LatencyRelay:
        self._thread.start()
        if not self._ready.wait(10) or not self.port:
            raise SystemExit("the latency relay did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._loop.call_later(self.lifetime, self._loop.stop)
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _client(self, client_in, client_out) -> None:
        self.connections += 1
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            client_out.close()
            return
        held: asyncio.Queue = asyncio.Queue()
        await asyncio.gather(
            self._pipe(client_in, server_out, None),
            self._pipe(server_in, None, held),
            self._release(held, client_out),
            return_exceptions=True,
        )

    async def _pipe(self, reader, writer, held) -> None:
        """Client to server at once; server to client into ``held``, stamped with its due time."""
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                if held is None:
                    writer.write(data)
                    await writer.drain()
                else:
                    held.put_nowait((loop.time() + self.latency, data))
        finally:
            if held is None:
                writer.close()
            else:
                held.put_nowait((loop.time() + self.latency, b""))

    async def _release(self, held: asyncio.Queue, writer) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await held.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    return
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


STORED = re.compile(r"stored and marked seen in ([0-9.]+) s, all acted on in ([0-9.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--skip-imap", action="store_true")
    parser.add_argument("--skip-checks", action="store_true", help="no audit verify or SLA check after each")
    parser.add_argument(
        "--latency-ms", type=float, default=30, help="delay of the relay's server-to-client data (ms)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the largest alone and of the ten together (median)"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout whose code to measure")
    options = parser.parse_args()
    n = options.messages
    work = Path(tempfile.mkdtemp(prefix="charterdesk-bench-email-"))
    env = {
        **os.environ,
        "CHARTERDESK_DATA_DIR": str(work),
        "MEDIA_ROOT": str(work / "media"),
        "CHARTERDESK_FAST_HASHER": "1",
        "LOG_LEVEL": "WARNING",
        "CHARTERDESK_IMAP_BATCH": str(n + 10),
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    bench = Bench(options.code.resolve(), env, skip_checks=options.skip_checks)
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    workers = bench_workers(bench)
    print(
        f"Email ingest on {database}, {n} messages, code of {bench.code}, "
        f"{workers} (python {sys.version.split()[0]}, {os.cpu_count()} cores)"
    )
    print(
        f"{'what':<30} {'msgs':>7} {'seconds':>10} {'msg/s':>8} {'peak':>10}"
        f" {'stored+seen':>11} {'ticketed':>10}"
    )

    bench.fresh_database()
    box = mailbox.Maildir(work / "maildir", create=True)
    for i in range(n):
        box.add(message(i, "md"))
    seconds, rss, _ = bench.run(["email", "import", str(work / "maildir")])
    bench.row("maildir import", n, seconds, rss)
    bench.checked(n)

    if options.skip_imap or dovecot_path() is None:
        print("IMAP: skipped (dovecot is not installed)" if not options.skip_imap else "IMAP: skipped")
        return
    users = {f"bench{i}": "pw" for i in range(11)}
    with Dovecot(users) as server:
        bench.fresh_database()
        server.deliver_files("bench0", [message(i, "imap") for i in range(n)])
        bench.add_mailboxes(server.port, ["bench0"])
        seconds, rss, out = bench.run(["email", "poll", "--once"])
        bench.row("IMAP, one mailbox", n, seconds, rss, *_stored(out))
        bench.checked(n)

        mixes = {"equal": equal_sizes(n), "Zipf": zipf_sizes(n)}
        summary: list[tuple[str, str, list[int], tuple, tuple]] = []
        for mix, sizes in mixes.items():
            summary.append(
                ("loopback", mix, sizes, *compare(bench, server, server.port, mix, sizes, options))
            )
        with LatencyRelay(server.port, options.latency_ms / 1000) as relay:
            link = f"relay {options.latency_ms:g} ms"
            print(f"through a relay that delays every answer of the server by {options.latency_ms:g} ms:")
            for mix, sizes in mixes.items():
                summary.append((link, mix, sizes, *compare(bench, server, relay.port, mix, sizes, options)))
            ten = dict(zip(TEN_USERS, mixes["equal"], strict=True))
            serial = bench.poll_round(server, relay.port, ten, "rseq", one_by_one=True)
            bench.row(f"{link}, equal, ten in turn", sum(ten.values()), *serial)
            print(f"  ({relay.connections} IMAP connections went through the relay)")
        print_summary(summary, options.repeat)
        together = next(ten for link, mix, _, _, ten in summary if link != "loopback" and mix == "equal")
        print(
            f"ten in turn (one `email poll --once` each) / ten together, through the relay: "
            f"stored+seen {_ratio(serial[2], together[2])}, all tickets {_ratio(serial[3], together[3])}"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(peak memory of this benchmark process: {own:.0f} MB)")


TEN_USERS = [f"bench{i}" for i in range(1, 11)]


def equal_sizes(n: int) -> list[int]:
    """Ten mailboxes of N/10 messages each: ten times the largest's messages in all."""
    return [max(1, n // 10)] * 10


def zipf_sizes(n: int) -> list[int]:
    """A realistic mix of N messages: the k-th busiest mailbox gets 1/k of the busiest one's mail
    (Zipf), so the largest holds about a third of all (683 of 2,000) and the smallest 3.4%."""
    weights = [1 / k for k in range(1, 11)]
    return [max(1, round(n * w / sum(weights))) for w in weights]


def compare(bench: Bench, server, port: int, mix: str, sizes: list[int], options) -> tuple[tuple, tuple]:
    """The largest mailbox polled alone and the ten polled together, ``--repeat`` times each, one
    after the other (alone, ten, alone, ten, ...) so that both see the same machine load; each run on
    a fresh database, checked. Returns the medians (seconds, peak RSS, stored+seen, all tickets) of
    the runs alone and of the runs together."""
    largest = {TEN_USERS[0]: sizes[0]}
    ten = dict(zip(TEN_USERS, sizes, strict=True))
    alone_runs, ten_runs = [], []
    link = "loopback" if port == server.port else "relay"
    print(f"{mix} mix, {link}: {', '.join(map(str, sizes))} messages; load average {_load()}")
    for run in range(options.repeat):
        tag = f"{mix[0]}{link[0]}{run}"
        alone_runs.append(bench.poll_round(server, port, largest, f"{tag}a"))
        bench.row(f"  largest alone ({run + 1})", sizes[0], *alone_runs[-1])
        ten_runs.append(bench.poll_round(server, port, ten, f"{tag}t"))
        bench.row(f"  ten together ({run + 1})", sum(sizes), *ten_runs[-1])
    return _medians(alone_runs), _medians(ten_runs)


def _medians(runs: list[tuple]) -> tuple:
    return tuple(
        statistics.median(column) if None not in column else None for column in zip(*runs, strict=True)
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def print_summary(summary, repeat: int) -> None:
    print(
        f"\nthe largest mailbox alone against the ten together, median of {repeat} run(s) each, "
        f"by the poll's own clock (load average now {_load()}):"
    )
    print(
        f"{'link':<14} {'mix':<6} {'largest':>7} {'all':>6} | {'stored+seen: alone':>18} {'ten':>7}"
        f" {'ratio':>6} | {'tickets: alone':>14} {'ten':>7} {'ratio':>6}"
    )
    for link, mix, sizes, alone, ten in summary:
        print(
            f"{link:<14} {mix:<6} {sizes[0]:>7} {sum(sizes):>6} | {_s(alone[2]):>18} {_s(ten[2]):>7}"
            f" {_ratio(ten[2], alone[2]):>6} | {_s(alone[3]):>14} {_s(ten[3]):>7}"
            f" {_ratio(ten[3], alone[3]):>6}"
        )


def _s(seconds: float | None) -> str:
    return f"{seconds:.2f} s" if seconds is not None else "-"


def _stored(output: str) -> tuple[float | None, float | None]:
    """The poll's own stored+seen and all-acted-on seconds."""
    found = STORED.search(output)
    return (float(found[1]), float(found[2])) if found else (None, None)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def bench_workers(bench: Bench) -> str:
    try:
        answer = bench.django(
            "from charterdesk.channels.conf import ingest_workers; print(ingest_workers())"
        ).strip()
    except subprocess.CalledProcessError:
        return "one process (this code has no ingest workers)"
    return f"{answer} ingest worker(s)"


if __name__ == "__main__":
    main()
