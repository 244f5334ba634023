"""Benchmark email ingestion: messages into tickets from a maildir and from a real IMAP server.

    python bench/bench_email.py                         # 10,000 messages, SQLite in a temporary folder
    python bench/bench_email.py --messages 500          # a quick run (CI)
    DATABASE_URL=postgres://... python bench/bench_email.py   # PostgreSQL (the database is emptied first!)
    python bench/bench_email.py --skip-imap             # maildir only (no dovecot installed)

Three measurements, each in a child process (``charterdesk email import`` / ``email poll --once``), so
peak memory (``ru_maxrss``) is the ingester's own:

1. maildir: ``charterdesk email import MAILDIR`` of N messages (stored, parsed, routed, ticketed);
2. IMAP: the same N messages delivered to one dovecot mailbox, ``charterdesk email poll --once``;
3. ten mailboxes: N/10 messages in each of ten mailboxes, polled together, against the largest alone
   (N/10 in one mailbox). Side by side, ten take about as long as one, not ten times as long
   (on SQLite the single writer serialises the database work; PostgreSQL shows the overlap fully).

Target: at least 100 messages per second on PostgreSQL.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.desk.email_dovecot import Dovecot, dovecot_path  # noqa: E402


def message(n: int, prefix: str) -> bytes:
    body = f"Hello,\n\nMy order {n} has not arrived. Could you look into it?\n\nThanks,\nCustomer {n}\n"
    return (
        f"From: Customer {n} <{prefix}-{n}@customer.example>\r\nTo: support@acme.example\r\n"
        f"Subject: Order {n} ({prefix})\r\nMessage-ID: <{prefix}-{n}@customer.example>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def run(args: list[str], env: dict) -> tuple[float, int, str]:
    """Seconds, peak RSS (KB) and output of one child command."""
    start = time.monotonic()
    proc = subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    output = proc.stdout.read()
    proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return time.monotonic() - start, usage.ru_maxrss, output


def django_call(env: dict, code: str) -> None:
    subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "charterdesk.desk.settings"},
        cwd=REPO,
        check=True,
    )


def fresh_database(env: dict) -> None:
    if env.get("DATABASE_URL"):
        subprocess.run(
            [sys.executable, "-m", "charterdesk", "flush", "--no-input", "-v0"],
            env=env,
            cwd=REPO,
            check=False,
        )
    subprocess.run([sys.executable, "-m", "charterdesk", "migrate", "-v0"], env=env, cwd=REPO, check=True)
    django_call(env, "from charterdesk.demo.loader import load_demo; load_demo()")


def add_mailboxes(env: dict, port: int, users: list[str]) -> None:
    code = (
        "from charterdesk.channels.actions import do_save_mailbox; "
        "from charterdesk.channels.models import Mailbox; Mailbox.objects.all().delete(); "
        + "; ".join(
            f"do_save_mailbox(None, actor=None, password='pw', name='{u}', channel='email', "
            f"host='127.0.0.1', "
            f"port={port}, security='none', username='{u}', folder='INBOX')"
            for u in users
        )
    )
    django_call(env, code)


def line(label: str, n: int, seconds: float, rss_kb: int) -> None:
    print(
        f"{label:<34} {n:>7} msgs {seconds:>8.1f} s {n / seconds:>9.1f} msg/s {rss_kb / 1024:>8.0f} MB peak"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--skip-imap", action="store_true")
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
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"Email ingest on {database}, {n} messages (python {sys.version.split()[0]})")

    fresh_database(env)
    box = mailbox.Maildir(work / "maildir", create=True)
    for i in range(n):
        box.add(message(i, "md"))
    seconds, rss, _ = run(
        [sys.executable, "-m", "charterdesk", "email", "import", str(work / "maildir")], env
    )
    line("maildir import", n, seconds, rss)

    if options.skip_imap or dovecot_path() is None:
        print("IMAP: skipped (dovecot is not installed)" if not options.skip_imap else "IMAP: skipped")
        return
    users = {f"bench{i}": "pw" for i in range(11)}
    with Dovecot(users) as server:
        fresh_database(env)
        server.deliver_files("bench0", [message(i, "imap") for i in range(n)])
        add_mailboxes(env, server.port, ["bench0"])
        seconds, rss, _ = run([sys.executable, "-m", "charterdesk", "email", "poll", "--once"], env)
        line("IMAP, one mailbox", n, seconds, rss)

        per = max(1, n // 10)
        fresh_database(env)
        server.deliver_files("bench10", [message(i, "alone") for i in range(per)])
        add_mailboxes(env, server.port, ["bench10"])
        alone, rss_alone, _ = run([sys.executable, "-m", "charterdesk", "email", "poll", "--once"], env)
        line("IMAP, largest mailbox alone", per, alone, rss_alone)

        fresh_database(env)
        for i in range(1, 11):
            user = f"bench{i}" if i < 10 else "bench0"
            if user == "bench0":
                server.deliver_files("bench0", [message(j, f"ten{i}") for j in range(per)])
            else:
                server.deliver_files(user, [message(j, f"ten{i}") for j in range(per)])
        ten_users = [f"bench{i}" for i in range(1, 10)] + ["bench0"]
        add_mailboxes(env, server.port, ten_users)
        together, rss_ten, _out = run([sys.executable, "-m", "charterdesk", "email", "poll", "--once"], env)
        line("IMAP, ten mailboxes together", per * 10, together, rss_ten)
        print(f"ten together / largest alone: {together / alone:.1f}x (one after another would be ~10x)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(peak memory of this benchmark process: {own:.0f} MB)")


if __name__ == "__main__":
    main()
