"""Benchmark email ingestion: messages into tickets from a maildir and from a real IMAP server.

    python bench/bench_email.py                         # 10,000 messages, SQLite in a temporary folder
    python bench/bench_email.py --messages 500          # a quick run (CI)
    DATABASE_URL=postgres://... python bench/bench_email.py   # PostgreSQL (the database is emptied first!)
    python bench/bench_email.py --skip-imap             # maildir only (no dovecot installed)
    python bench/bench_email.py --code ../old-checkout  # the same measurements of another checkout

Each measurement runs in a child process (``charterdesk email import`` / ``email poll --once``) on a
freshly emptied database with the demo loaded; the peak memory is that of the largest process of
the child's tree (``ru_maxrss`` through ``wait4``; on PostgreSQL the ingest workers are forked
processes, each counted on its own, not added up):

1. maildir: ``charterdesk email import MAILDIR`` of N messages (stored, parsed, routed, ticketed);
2. IMAP: the same N messages in one dovecot mailbox, ``charterdesk email poll --once``;
3. ten mailboxes: N/10 messages in each of ten mailboxes polled together, against the largest
   mailbox (N/10) alone. Two times for each: until every message is stored and flagged seen on the
   server (the mailboxes are fetched side by side, so this is what "ten take about as long as one"
   is about), and until every message is a ticket (CPU work: ten mailboxes hold ten times the
   messages, which the machine's cores share).

After each measurement the run is checked: every message processed into its own ticket,
``charterdesk audit verify`` passes, and the SLA state stored on a sample of tickets is exactly what
the engine computes for them again. Target: at least 100 messages per second on PostgreSQL.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import re
import resource
import subprocess
import sys
import tempfile
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
from charterdesk.tickets.sla import evaluate, sla_state
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
    def __init__(self, code: Path, env: dict):
        self.code = code
        self.env = env
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

    def check(self, n: int) -> None:
        _, _, verify = self.run(["audit", "verify"])
        print(f"  audit verify: {verify.strip().splitlines()[-1] if verify.strip() else 'ok'}")
        print("  " + self.django(CHECK.format(want=n)).strip())

    def row(self, label: str, n: int, seconds: float, rss_kb: int, stored: float | None = None) -> None:
        self.rows.append((label, n, seconds, rss_kb, stored))
        seen = f"{stored:>7.1f} s" if stored is not None else f"{'':>9}"
        print(
            f"{label:<30} {n:>7} {seconds:>8.1f} s {n / seconds:>8.1f} {rss_kb / 1024:>7.0f} MB  {seen}",
            flush=True,
        )


STORED = re.compile(r"stored and marked seen in ([0-9.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--skip-imap", action="store_true")
    parser.add_argument("--skip-checks", action="store_true", help="no audit verify or SLA check after each")
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
    bench = Bench(options.code.resolve(), env)
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    workers = bench_workers(bench)
    print(
        f"Email ingest on {database}, {n} messages, code of {bench.code}, "
        f"{workers} (python {sys.version.split()[0]}, {os.cpu_count()} cores)"
    )
    print(f"{'what':<30} {'msgs':>7} {'seconds':>10} {'msg/s':>8} {'peak':>10}  {'stored+seen':>9}")

    def checked(count: int) -> None:
        if not options.skip_checks:
            bench.check(count)

    bench.fresh_database()
    box = mailbox.Maildir(work / "maildir", create=True)
    for i in range(n):
        box.add(message(i, "md"))
    seconds, rss, _ = bench.run(["email", "import", str(work / "maildir")])
    bench.row("maildir import", n, seconds, rss)
    checked(n)

    if options.skip_imap or dovecot_path() is None:
        print("IMAP: skipped (dovecot is not installed)" if not options.skip_imap else "IMAP: skipped")
        return
    users = {f"bench{i}": "pw" for i in range(11)}
    with Dovecot(users) as server:
        bench.fresh_database()
        server.deliver_files("bench0", [message(i, "imap") for i in range(n)])
        bench.add_mailboxes(server.port, ["bench0"])
        seconds, rss, out = bench.run(["email", "poll", "--once"])
        bench.row("IMAP, one mailbox", n, seconds, rss, _stored(out))
        checked(n)

        per = max(1, n // 10)
        bench.fresh_database()
        server.deliver_files("bench10", [message(i, "alone") for i in range(per)])
        bench.add_mailboxes(server.port, ["bench10"])
        alone, rss_alone, out = bench.run(["email", "poll", "--once"])
        alone_stored = _stored(out)
        bench.row("IMAP, largest mailbox alone", per, alone, rss_alone, alone_stored)
        checked(per)

        bench.fresh_database()
        ten_users = [f"bench{i}" for i in range(1, 10)] + ["bench0"]
        for i, user in enumerate(ten_users):
            server.deliver_files(user, [message(j, f"ten{i}") for j in range(per)])
        bench.add_mailboxes(server.port, ten_users)
        together, rss_ten, out = bench.run(["email", "poll", "--once"])
        together_stored = _stored(out)
        bench.row("IMAP, ten mailboxes together", per * 10, together, rss_ten, together_stored)
        checked(per * 10)
        print(
            f"ten together / largest alone: {together / alone:.1f}x until all are tickets "
            f"(ten times the messages; one after another would be ~10x)"
            + (
                f", {together_stored / alone_stored:.1f}x until all are stored and seen"
                if together_stored and alone_stored
                else ""
            )
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(peak memory of this benchmark process: {own:.0f} MB)")


def _stored(output: str) -> float | None:
    found = STORED.search(output)
    return float(found.group(1)) if found else None


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
