"""Benchmark what-if on a desk's history: `charterdesk protocol whatif DRAFT.yaml --since 90d`.

    python bench/bench_whatif.py                          # 100,000 tickets on PostgreSQL, 3 rounds
    python bench/bench_whatif.py --tickets 10000 --db sqlite --rounds 1   # a quick look
    python bench/bench_whatif.py --reuse charterdesk_bench_whatif          # a database kept by --keep

It fills a fresh desk with `charterdesk demo --load-only --tickets N` (the demo protocol in force,
N tickets of realistic history ending now), writes a draft that tightens the first response of
high-priority tickets from 2h to 30m, and runs the what-if against the database in a fresh
process per round. Each round prints the time to read the histories from the database and the
time in the engine (both replays, the objectives and the comparison), as the command measures
them (``--timings``), their sum, and the whole process, wall and CPU seconds (on a shared
machine the CPU seconds say more), and which engine ran (compiled or plain Python). Beside
them, in the same run, the floor of reading: the same rows fetched with the database driver
alone (no Django, no engine events). Target: under 10 s in all for 90 days of 100,000 tickets
on PostgreSQL, 2 cores. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "charterdesk/demo/acme-outdoor.protocol.yaml"
FIRST_RESPONSE = "first_response: {urgent: 1h, high: 2h, normal: 8h, low: 24h}"
TARGET_SECONDS = 10.0

FLOOR = textwrap.dedent(
    """
    import datetime as dt, json, sys, time
    import django
    django.setup()
    from django.db import connection
    from django.utils import timezone
    end = timezone.now().replace(microsecond=0)
    start = end - dt.timedelta(days=90)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ticket_id, kind, at, data FROM tickets_ticketevent WHERE sla_input AND ticket_id IN "
            "(SELECT DISTINCT ticket_id FROM tickets_ticketevent WHERE at >= %s AND at <= %s) AND at <= %s "
            "ORDER BY ticket_id, at, id",
            [start, end, end],
        )
        rows = cursor.fetchall()
    print(json.dumps({"rows": len(rows), "seconds": time.perf_counter() - started}))
    """
)


def run(env: dict, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "charterdesk", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=check,
    )


def pg(url: str, sql: str, database: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{url.rstrip('/')}/{database}", autocommit=True) as conn:
        conn.execute(sql)


def measure(db: str, args, work: Path) -> dict:
    env = dict(os.environ, CHARTERDESK_DATA_DIR=str(work / db), PYTHONWARNINGS="ignore")
    env["DJANGO_SETTINGS_MODULE"] = "charterdesk.desk.settings"
    env.pop("DATABASE_URL", None)
    name = args.reuse or f"charterdesk_bench_whatif_{os.getpid()}"
    if db == "postgres":
        env["DATABASE_URL"] = f"{args.pg_url.rstrip('/')}/{name}"
    (work / db).mkdir(parents=True, exist_ok=True)
    loaded = None
    if not args.reuse:
        if db == "postgres":
            pg(args.pg_url, f'DROP DATABASE IF EXISTS "{name}"')
            pg(args.pg_url, f'CREATE DATABASE "{name}"')
        started = time.perf_counter()
        done = run(env, "demo", "--load-only", "--tickets", str(args.tickets), check=False)
        if done.returncode:
            raise SystemExit(f"charterdesk demo failed:\n{done.stdout}\n{done.stderr}")
        loaded = time.perf_counter() - started
        if db == "postgres":
            pg(args.pg_url, "ANALYZE", name)
    draft = work / "draft.yaml"
    draft.write_text(
        EXAMPLE.read_text().replace(FIRST_RESPONSE, FIRST_RESPONSE.replace("high: 2h", "high: 30m"))
    )
    rounds = []
    for _ in range(args.rounds):
        started, cpu = time.perf_counter(), _children_cpu()
        done = run(
            env, "protocol", "whatif", str(draft), "--since", args.since, "--format", "json", "--timings"
        )
        wall, wall_cpu = time.perf_counter() - started, _children_cpu() - cpu
        found = re.search(
            r"read the histories in ([\d.]+) s \(([\d.]+) s CPU\), replayed in ([\d.]+) s \(([\d.]+) s CPU",
            done.stderr,
        )
        assert found, done.stderr
        report = json.loads(done.stdout)
        floor = subprocess.run(
            [sys.executable, "-c", FLOOR], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        rounds.append(
            {
                "read": float(found.group(1)),
                "read_cpu": float(found.group(2)),
                "engine": float(found.group(3)),
                "engine_cpu": float(found.group(4)),
                "wall": wall,
                "wall_cpu": wall_cpu,
                "total": float(found.group(1)) + float(found.group(3)),
                "total_cpu": float(found.group(2)) + float(found.group(4)),
                "floor": json.loads(floor.stdout.strip().splitlines()[-1]),
                "tickets": report["tickets"],
                "high": next(
                    (
                        r
                        for r in report["metrics"]
                        if r["metric"] == "first_response" and r["priority"] == "high"
                    ),
                    None,
                ),
            }
        )
    if db == "postgres" and not args.keep and not args.reuse:
        pg(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"db": db, "loaded": loaded, "rounds": rounds, "engine": engine_status(env)}


def _children_cpu() -> float:
    """User + system seconds of the waited-for child processes so far (a command and its own
    forked workers, which it waits for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def engine_status(env: dict) -> str:
    """Which engine the command runs: compiled (mypyc) or plain Python (a build older than the
    sources is not used, and the engine is then about three times slower)."""
    found = subprocess.run(
        [sys.executable, "-m", "charterdesk.native", "--status"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or found.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="postgres")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--since", default="90d")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database for --reuse")
    parser.add_argument("--reuse", metavar="DATABASE", help="measure an already loaded PostgreSQL database")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as folder:
        for db in ["postgres", "sqlite"] if args.db == "both" else [args.db]:
            result = measure(db, args, Path(folder))
            rounds = result["rounds"]
            keys = ("read", "read_cpu", "engine", "engine_cpu", "total", "total_cpu", "wall", "wall_cpu")
            median = {key: statistics.median(r[key] for r in rounds) for key in keys}
            floor = statistics.median(r["floor"]["seconds"] for r in rounds)
            events = rounds[0]["floor"]["rows"]
            print(
                f"\n== what-if on {db}: {args.tickets:,} tickets loaded"
                + (f" in {result['loaded']:.0f} s" if result["loaded"] else " (reused)")
                + f"; --since {args.since}: {rounds[0]['tickets']:,} tickets, {events:,} events"
            )
            print(result["engine"])
            print(f"{'':32} {'median':>8}   rounds")
            for key, label in (
                ("read", "read the histories"),
                ("read_cpu", "  CPU (this process)"),
                ("engine", "engine (two replays + report)"),
                ("engine_cpu", "  CPU (with its workers)"),
                ("total", "read + engine"),
                ("total_cpu", "  CPU"),
                ("wall", "whole command (process)"),
                ("wall_cpu", "  CPU (start-up included)"),
            ):
                print(f"{label:32} {median[key]:>7.2f}s   {', '.join(f'{r[key]:.2f}' for r in rounds)}")
            ratio = median["read"] / floor if floor else 0.0
            print(f"{'floor: fetch the rows, driver':32} {floor:>7.2f}s   read / floor = {ratio:.2f}x")
            verdict = "met" if median["total"] < TARGET_SECONDS else "NOT met"
            print(
                f"read + engine {median['total']:.2f} s wall ({median['total_cpu']:.2f} s CPU): "
                f"target < {TARGET_SECONDS:.0f} s {verdict}"
            )
            high = rounds[0]["high"]
            if high:
                print(
                    f"(high first response breached: {high['base']['breached']:,} in force -> "
                    f"{high['draft']['breached']:,} under the draft)"
                )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
