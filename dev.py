#!/usr/bin/env python3
"""Set up, run and test Charterdesk with nothing but Python 3.11+.

    python3 dev.py up      # .venv, locked dependencies, SQLite, demo data, serve on http://127.0.0.1:8000
    python3 dev.py test    # lint, then the whole test suite on SQLite, then on PostgreSQL
    python3 dev.py install # only .venv, the locked dependencies and the compiled engine

Environment for `test`:
    CHARTERDESK_TEST_POSTGRES   PostgreSQL URL for the second run
                                (default postgres://postgres@127.0.0.1:5432/postgres; the tests
                                create and drop their own database there, named for the checkout,
                                e.g. test_postgres_518f63a4)
    CHARTERDESK_REQUIRE_POSTGRES=1  fail instead of skipping when PostgreSQL cannot be reached (CI)
    CHARTERDESK_REQUIRE_BROWSER=1   fail instead of skipping browser tests without Chromium (CI)
    CHARTERDESK_REQUIRE_NATIVE=1    fail when the compiled engine is not in use (CI; it needs a C
                                    compiler and Python's headers, else the engine runs as plain Python)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".charterdesk-installed"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def must(*args: str | Path, env: dict[str, str] | None = None) -> None:
    code = run(*args, env=env)
    if code:
        sys.exit(code)


def locked_count() -> int:
    return sum(1 for line in LOCK.read_text().splitlines() if "==" in line and not line.startswith("#"))


def pip_progress(line: str, seen: int, total: int) -> tuple[str | None, int]:
    """What to show for one line of pip's output, and how many packages pip has now reached.

    pip works for a minute or more on a first install; its own output is pages long, so
    ``dev.py`` shows one short line per package it reaches and one per phase instead."""
    words = line.strip().split()
    if not words:
        return None, seen
    if words[0] in ("Collecting", "Processing", "Obtaining") and len(words) > 1:
        name = words[1].rsplit("/", 1)[-1]
        if "[" in name and "==" not in name:
            # An extra a locked package asks of another (fonttools[woff]>=4.59 for weasyprint): the
            # package itself is counted at its own pin, so this is not one more of the total.
            return None, seen
        seen += 1
        return f"    [{seen}/{total}] {name}", seen
    if line.startswith("Requirement already satisfied:") and len(words) > 3:
        seen += 1
        return f"    [{seen}/{total}] {words[3]} (already there)", seen
    if line.startswith("Installing collected packages"):
        count = len(line.split(":", 1)[-1].split(","))
        return f"    unpacking {count} package{'s' if count != 1 else ''} into .venv (the longest step)", seen
    if line.startswith("Successfully installed"):
        return "    installed", seen
    return None, seen


def pip_install(*args: str | Path, total: int) -> None:
    """pip install, showing its progress a line per package; its whole output only if it fails."""
    command = [str(PYTHON), "-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check"]
    process = subprocess.Popen(
        [*command, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    kept, seen = [], 0
    for line in process.stdout:
        kept.append(line)
        shown, seen = pip_progress(line, seen, total)
        if shown:
            print(shown, flush=True)
    if process.wait():
        sys.stdout.write("".join(kept))
        sys.exit(process.returncode)


def install() -> None:
    """Create .venv and install the locked dependencies; skipped when nothing changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under whatever python3 is on the machine
        sys.exit(f"Charterdesk needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        say("Creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == fingerprint and (BIN / "charterdesk").exists():
        return
    total = locked_count()
    say(f"Installing the {total} locked dependencies (a minute or two the first time)")
    pip_install("-r", LOCK, total=total)
    say("Installing Charterdesk itself into .venv")
    # compat mode puts the checkout on sys.path with a .pth file: no import hook to pay for at start-up.
    pip_install("--no-deps", "-e", ".", "--config-settings", "editable_mode=compat", total=1)
    STAMP.write_text(fingerprint)


def build_engine() -> None:
    """Compile the engine with mypyc when the sources changed (plain Python where it cannot)."""
    say("Checking the compiled SLA engine (compiling it with mypyc takes a minute when its sources changed)")
    run(PYTHON, "-m", "charterdesk.native")


def up(argv: list[str]) -> None:
    install()
    build_engine()
    say("Starting the demo: database, protocol, people and tickets, then the desk and its worker")
    os.execv(str(BIN / "charterdesk"), [str(BIN / "charterdesk"), "demo", *argv])


def postgres_reachable(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def test(argv: list[str]) -> None:
    install()
    build_engine()
    say("Lint: ruff check, ruff format --check, mypy on the pure engines")
    must(BIN / "ruff", "check", ".")
    must(BIN / "ruff", "format", "--check", ".")
    must(BIN / "mypy", "charterdesk/engine", "charterdesk/protocol")

    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base.setdefault("CHARTERDESK_FAST_HASHER", "1")
    if not shutil.which("chromium") and base.get("CHARTERDESK_REQUIRE_BROWSER") != "1":
        print("note: Debian's chromium is not installed, so browser tests will be skipped")

    say("Tests on SQLite")
    sqlite_env = dict(base, CHARTERDESK_DATA_DIR=str(ROOT / "var" / "test"))
    code = run(PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *argv, env=sqlite_env)
    if code not in (0, 5):
        sys.exit(code)
    if code == 5:
        sys.exit("no tests ran")

    if not argv:
        # The engine usually runs compiled; machines without a C compiler run the same source as
        # plain Python, so its own tests run that way too.
        say("Engine tests as plain Python (CHARTERDESK_PURE_PYTHON=1)")
        pure_env = dict(sqlite_env, CHARTERDESK_PURE_PYTHON="1")
        must(PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/engine", env=pure_env)

    url = base.get("CHARTERDESK_TEST_POSTGRES", DEFAULT_POSTGRES)
    if not postgres_reachable(url):
        if base.get("CHARTERDESK_REQUIRE_POSTGRES") == "1":
            sys.exit(f"PostgreSQL is required but not reachable at {url}")
        print(f"note: no PostgreSQL at {url}; skipping the PostgreSQL run")
        return
    say("Tests on PostgreSQL")
    pg_env = dict(base, DATABASE_URL=url, CHARTERDESK_DATA_DIR=str(ROOT / "var" / "test-pg"))
    code = run(PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *argv, env=pg_env)
    if code:
        sys.exit(code)


def main() -> None:
    commands = {"up": up, "test": test, "install": lambda argv: (install(), build_engine())}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
