"""Crash safety: the importing process is killed in the middle of a batch and started again; every
message arrives exactly once (no loss, no duplicate ticket)."""

from __future__ import annotations

import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from .email_corpus import plain

REPO = Path(__file__).resolve().parents[2]
CHARTERDESK = [sys.executable, "-m", "charterdesk"]
TOTAL = 60


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # a private SQLite file
    env.update(
        CHARTERDESK_DATA_DIR=str(data),
        MEDIA_ROOT=str(data / "media"),
        CHARTERDESK_FAST_HASHER="1",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    return env


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


# The import as `charterdesk email import` runs it, killed by SIGKILL at a chosen point: as the
# message numbered KILL_AT is being routed, inside the transaction of the second batch (the first
# batch of inbound.PROCESS_BATCH is committed). The same point on every machine, however loaded.
KILLED_IMPORT = """
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
from charterdesk.channels import inbound
routed = 0
real_route = inbound._route
def route(row):
    global routed
    routed += 1
    if routed == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    real_route(row)
inbound._route = route
call_command("email", "import", sys.argv[1])
"""


def test_an_import_killed_mid_batch_and_restarted_delivers_every_message_once(tmp_path):
    """SIGKILL in the middle of a transaction while importing a maildir of 60 messages, then run the
    same import again: 60 stored messages, 60 tickets, each Message-ID on exactly one ticket message,
    nothing left pending."""
    from charterdesk.channels.inbound import PROCESS_BATCH

    env = _env(tmp_path)
    subprocess.run([*CHARTERDESK, "migrate", "-v0"], env=env, cwd=REPO, check=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from charterdesk.demo.loader import load_demo; "
            "from tests.shared import DEMO_SINCE; load_demo(now=DEMO_SINCE)",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "charterdesk.desk.settings"},
        cwd=REPO,
        check=True,
    )
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    for n in range(TOTAL):
        box.add(plain(f"crash-{n:03d}", f"Message number {n}", subject=f"Crash test {n}")[0])
    db = tmp_path / "charterdesk.sqlite3"
    processed = "SELECT COUNT(*) FROM channels_inboundmessage WHERE state != 'pending'"

    kill_at = PROCESS_BATCH + PROCESS_BATCH // 2
    first = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(tmp_path / "maildir"), str(kill_at)],
        env={**env, "DJANGO_SETTINGS_MODULE": "charterdesk.desk.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr
    # Every message stored; the first batch acted on and committed, the second rolled back whole.
    assert _count(db, "SELECT COUNT(*) FROM channels_inboundmessage") == TOTAL
    assert _count(db, processed) == PROCESS_BATCH
    assert _count(db, "SELECT COUNT(*) FROM tickets_ticket") == PROCESS_BATCH

    second = subprocess.run(
        [*CHARTERDESK, "email", "import", str(tmp_path / "maildir")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already imported" in second.stdout
    assert _count(db, "SELECT COUNT(*) FROM channels_inboundmessage") == TOTAL
    assert _count(db, "SELECT COUNT(*) FROM channels_inboundmessage WHERE state = 'processed'") == TOTAL
    assert _count(db, "SELECT COUNT(*) FROM tickets_ticket") == TOTAL
    assert (
        _count(db, "SELECT COUNT(DISTINCT message_id) FROM tickets_message WHERE kind = 'customer'") == TOTAL
    )
    assert _count(db, "SELECT COUNT(*) FROM tickets_message WHERE kind = 'customer'") == TOTAL
