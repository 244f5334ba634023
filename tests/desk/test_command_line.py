"""The `charterdesk` command as a user runs it: mistakes get a message and an exit code, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, database: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{database}", LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "charterdesk", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,  # only a hung command: a loaded machine takes seconds
    )


def test_a_database_never_set_up_is_named_with_what_to_run(tmp_path):
    """Forgetting DATABASE_URL (or `migrate`) says which database and what to do, and exits 1."""
    database = tmp_path / "empty.sqlite3"
    done = _run("audit", "verify", database=database)
    assert done.returncode == 1
    assert f"the database {database} has no desk tables yet" in done.stderr
    assert "run `charterdesk migrate` first" in done.stderr
    assert "Traceback" not in done.stderr


def test_email_listen_on_a_port_that_is_taken_or_impossible(tmp_path):
    """email listen on a port already taken exits 1 with 'cannot listen on 127.0.0.1:PORT' and no traceback;
    --port 99999 exits 1 with '99999 is not a port number'."""
    import socket

    database = tmp_path / "desk.sqlite3"
    assert _run("migrate", "-v0", database=database).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("email", "listen", "--port", str(port), database=database)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    done = _run("email", "listen", "--port", "99999", database=database)
    assert done.returncode == 1 and "--port: 99999 is not a port number" in done.stderr


def test_the_demo_on_another_port_puts_that_port_in_the_links_it_mails(monkeypatch, settings):
    """`dev.py up --port 8431` (charterdesk demo --port 8431): the worker and the server are told
    SITE_URL http://127.0.0.1:8431, so portal sign-in links and escalation mails lead to this desk."""
    from charterdesk.demo.management.commands import demo

    started = []

    class FakeProcess:
        def __init__(self, command, env):
            started.append((command, env))

        def wait(self, timeout=None):
            return 0

        def poll(self):
            return 0

    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setattr(demo.subprocess, "Popen", FakeProcess)
    demo.Command().serve_with_worker("0.0.0.0", 8431)
    assert [env["SITE_URL"] for _, env in started] == ["http://127.0.0.1:8431"] * 2
    monkeypatch.setenv("SITE_URL", "https://desk.acme.example")
    started.clear()
    demo.Command().serve_with_worker("127.0.0.1", 8431)
    assert [env["SITE_URL"] for _, env in started] == ["https://desk.acme.example"] * 2
