"""Benchmark the reports page over the daily rollups, beside the page without them, in the same run.

    python bench/bench_reports.py                     # 100,000 tickets x 5 messages, SQLite and PostgreSQL
    python bench/bench_reports.py --tickets 20000 --db sqlite --requests 10    # a quick look
    python bench/bench_reports.py --db postgres --pg-url postgres://postgres@127.0.0.1:5432
    python bench/bench_reports.py --db postgres --pg-database bench_reports_2   # beside another run

For each database it fills a fresh desk with ``charterdesk demo --load-only --tickets N`` (on
PostgreSQL in a database of its own, ``charterdesk_bench_reports`` or ``--pg-database``,
created here, analysed after the load and dropped at the end; on SQLite in ``--data-dir``),
then, in a child process with Django set up for that database:

1. builds the rollups in one go (the baseline: what the worker's ``kpi-rollups`` job did in one
   run before slices), then again as the job does now, renewing them a slice of ``--slice``
   tickets (the job's 2,000) per run until the page switches over: the runs, the whole build, the
   median and longest run, and whether both builds gave the same day sums (``--build-only``:
   stop there);
2. signs in as the demo manager (every ticket: the heaviest scope) with Django's test client and
   times ``GET /reports/?period=last_90_days`` (every KPI, the weekly trend, four breakdowns)
   ``--requests`` times: median and p95, beside the target (p95 under 300 ms);
3. the same after a change the worker has not seen yet (``--changed`` tickets get a reply and a
   solve): the page counts those tickets afresh from their histories; then the worker's next run
   (timed) and the page again;
4. signs in as the demo team lead (Ravi: role lead, groups frontline and escalations; a team's
   report: what those groups counted at the moment of each count) and times the same page
   ``--requests`` times over the rollups (the groups' day sums and their channel, priority and
   agent sums within each group);
5. the baseline, in the same run: both pages without rollups (what they do while there are none
   for the protocol in force: read every history of the period and run the engine, for the lead
   with the team's groups), ``--old-requests`` times each;
6. checks that each page showed the same figures with and without rollups.

Nothing here asserts a timing. ``--keep`` keeps the loaded desk (SQLite: ``--data-dir``) and
reuses it on the next run when it has the asked number of tickets; ``--reuse-rollups`` then also
keeps the rollups it built (the build is not timed again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_NAME = "charterdesk_bench_reports"


def percentile(values: list[float], share: float) -> float:
    """Nearest rank, as the KPI spec counts them."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


# --------------------------------------------------------------------------- the child: one database


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    import django

    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    settings.ALLOWED_HOSTS = ["*"]
    from charterdesk.accounts.models import Person
    from charterdesk.reports import figures, rollups
    from charterdesk.reports.models import KpiRollupState
    from charterdesk.tickets.actions import do_reply, do_set_status
    from charterdesk.tickets.history import TicketError
    from charterdesk.tickets.models import Message, Ticket, TicketEvent

    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"[{vendor}] tickets {Ticket.objects.count():,}, messages {Message.objects.count():,}, "
        f"events {TicketEvent.objects.count():,}",
        flush=True,
    )
    from charterdesk.library.versions import protocol_of, version_in_force
    from charterdesk.reports.access import ALL, TEAM, Scope, groups_of

    version = version_in_force()
    lead_person = Person.objects.get(email="ravi@acme.example")
    team = Scope(TEAM, groups_of(protocol_of(version), lead_person.role_ids))
    reused = args.reuse_rollups and KpiRollupState.objects.exists()
    build: dict = {}
    if reused:
        build_ms = _timed(lambda: rollups.refresh(timezone.now()))
        print(f"[{vendor}] rollups brought up to date in {build_ms / 1000:.1f} s", flush=True)
    else:
        build = build_both(vendor, args.slice or rollups.SLICE)
        build_ms = build["sliced_ms"]
    if args.build_only:
        print("RESULT " + json.dumps({"vendor": vendor, **build}))
        return
    client = Client()
    client.force_login(Person.objects.get(email="dana@acme.example"))
    lead = Client()
    lead.force_login(lead_person)
    query = {"period": "last_90_days"}

    def page(who: Client = client) -> None:
        response = who.get("/reports/", query)
        assert response.status_code == 200, response.status_code

    def lead_page() -> None:
        page(lead)

    def report(rollups_on: bool, scope: Scope = Scope(ALL)) -> tuple:
        engine = figures.kpi_engine(version, protocol_of(version))
        moment = timezone.now()
        period = engine.period(*figures.preset_days("last_90_days", figures.team_today(engine, moment)))
        histories = None if rollups_on else figures.load_histories(scope, period)
        found = figures.build(engine, scope, period, now=int(moment.timestamp()), histories=histories)
        return found.figures, found.breakdown, found.trend

    cold = _timed(page)  # the first request: the engine built, the templates and the day sums read
    fast = [_timed(page) for _ in range(args.requests)]
    # Changes the worker has not seen: a reply and a solve on the latest open tickets.
    agent = Person.objects.get(email="alex@acme.example")
    now = timezone.now()
    changed = list(Ticket.objects.filter(status="open").order_by("-pk")[: args.changed])
    for ticket in changed:
        do_reply(
            ticket,
            author=agent,
            body="Hello,\n\nThat is sorted now.\n\nRegards,\nAcme",
            at=now,
            send_email=False,
        )
        try:
            do_set_status(ticket, "solved", actor=agent, at=now + dt.timedelta(seconds=1))
        except TicketError:  # a procedure's steps are not ticked: wait on the customer instead
            do_set_status(ticket, "pending", actor=agent, at=now + dt.timedelta(seconds=1))
    live = [_timed(page) for _ in range(args.requests)]
    refresh_ms = _timed(lambda: rollups.refresh(timezone.now()))
    after = [_timed(page) for _ in range(args.requests)]
    lead_cold = _timed(lead_page)
    lead_fast = [_timed(lead_page) for _ in range(args.requests)]
    # The same report from the rollups and from the histories, at one moment.
    same = report(True) == report(False)
    same_team = report(True, team) == report(False, team)
    figures._prefixes.clear()  # the pages without rollups (none for its engine): every history read
    old = [_timed(page) for _ in range(args.old_requests)]
    lead_old = [_timed(lead_page) for _ in range(args.old_requests)]
    rows = [
        ("page, rollups, first request", [cold]),
        ("page, rollups (target p95 300)", fast),
        (f"page, {len(changed)} tickets changed since", live),
        ("page, after the worker's run", after),
        ("page without rollups (baseline)", old),
        ("lead's page, rollups, first request", [lead_cold]),
        ("lead's page, rollups (target p95 300)", lead_fast),
        ("lead's page without rollups", lead_old),
    ]
    print(f"[{vendor}] {'':40}{'median ms':>11}{'p95 ms':>9}{'n':>4}")
    for name, values in rows:
        print(
            f"[{vendor}] {name:40}{statistics.median(values):11.0f}"
            f"{percentile(values, 0.95):9.0f}{len(values):4}"
        )
    print(
        f"[{vendor}] baseline / rollups (medians): {statistics.median(old) / statistics.median(fast):.0f}x, "
        f"the lead's page {statistics.median(lead_old) / statistics.median(lead_fast):.0f}x; "
        f"the worker's run after the changes: {refresh_ms:.0f} ms; "
        f"same figures with and without rollups: {'yes' if same else 'NO'}, "
        f"the lead's ({' and '.join(team.groups)}): {'yes' if same_team else 'NO'}",
        flush=True,
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "vendor": vendor,
                "build_ms": build_ms,
                "refresh_ms": refresh_ms,
                "same": same,
                "same_team": same_team,
                **build,
            }
        )
    )


def build_both(vendor: str, size: int) -> dict:
    """The baseline first: the rollups built in one go (``rollups.rebuild``, what one run of the
    worker's ``kpi-rollups`` job did before slices). Then the same build as the job does it now,
    renewing those (as near the facts' horizon): a slice of ``size`` tickets per run, each run
    timed, until the page switches over, the last run also deleting the replaced build's rows.
    Checks that both give the same day sums."""
    from django.db.models import F
    from django.utils import timezone

    from charterdesk.library.versions import protocol_of, version_in_force
    from charterdesk.reports import figures, rollups
    from charterdesk.reports.models import KpiDaySums, KpiRollupBuild, KpiRollupState, KpiTicketFacts

    def day_sums(build: str) -> dict:
        rows = KpiDaySums.objects.filter(build=build).values_list(
            "day", "prev_day", "lo_day", "hi_day", "dimension", "slice_key", "backlog", "sums"
        )
        return {tuple(row[:6]): (row[6], json.loads(row[7])) for row in rows}

    KpiRollupState.objects.all().delete()
    KpiRollupBuild.objects.all().delete()
    rollups.clean_up()
    version = version_in_force()
    engine = figures.kpi_engine(version, protocol_of(version))
    prefix = rollups.build_prefix(version)
    one_go_ms = _timed(lambda: rollups.rebuild(engine, prefix, timezone.now(), size=10**9))
    one_go = day_sums(KpiRollupState.objects.get().build)
    print(f"[{vendor}] baseline, the rollups built in one go: {one_go_ms / 1000:.1f} s", flush=True)

    # The facts' horizon near: the job builds anew, the page reading the old build meanwhile.
    KpiRollupState.objects.update(started_at=F("started_at") - rollups.HORIZON)
    runs: list[float] = []
    started = time.perf_counter()
    while not runs or KpiRollupBuild.objects.exists():
        runs.append(_timed(lambda: rollups.refresh(timezone.now(), size=size)))
    sliced_ms = (time.perf_counter() - started) * 1000
    sliced = day_sums(KpiRollupState.objects.get().build)
    same = sliced == one_go
    print(
        f"[{vendor}] the same build in slices of {size:,} tickets, as the worker's job does it: "
        f"{len(runs)} runs, {sliced_ms / 1000:.1f} s in all; a run: median {statistics.median(runs):.0f} ms, "
        f"longest before the last {max(runs[:-1] or [0]):.0f} ms; the last (switching the page over "
        f"and deleting the replaced rows) {runs[-1]:.0f} ms; "
        f"in slices / in one go: {sliced_ms / one_go_ms:.2f}x; "
        f"{KpiTicketFacts.objects.count():,} tickets' facts, {len(sliced):,} day sums, "
        f"the same as in one go: {'yes' if same else 'NO'}",
        flush=True,
    )
    return {
        "slice": size,
        "runs": len(runs),
        "sliced_ms": sliced_ms,
        "median_run_ms": statistics.median(runs),
        "longest_run_ms": max(runs),
        "longest_before_last_ms": max(runs[:-1] or [0]),
        "last_run_ms": runs[-1],
        "one_go_ms": one_go_ms,
        "same_sums": same,
    }


# --------------------------------------------------------------------------- the parent: load, run


def _pg(url: str, sql: str, database: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{url.rstrip('/')}/{database}", autocommit=True) as conn:
        conn.execute(sql)


def _pg_has(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{url.rstrip('/')}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _load(env: dict, tickets: int, messages: float) -> None:
    started = time.perf_counter()
    command = [sys.executable, "-m", "charterdesk", "demo", "--load-only", "--tickets", str(tickets)]
    command += ["--messages-per-ticket", str(messages)]
    subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    print(f"loaded {tickets:,} demo tickets in {time.perf_counter() - started:.0f} s", flush=True)


def run_database(args: argparse.Namespace, database: str) -> None:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    data_dir = Path(args.data_dir).resolve() / database
    env["CHARTERDESK_DATA_DIR"] = str(data_dir)
    marker = data_dir / f"loaded-{args.tickets}"
    if database == "postgres":
        env["DATABASE_URL"] = f"{args.pg_url.rstrip('/')}/{args.pg_database}"
    fresh = not (
        args.keep and marker.exists() and (database != "postgres" or _pg_has(args.pg_url, args.pg_database))
    )
    try:
        if fresh:
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            if database == "postgres":
                _pg(args.pg_url, f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)')
                _pg(args.pg_url, f'CREATE DATABASE "{args.pg_database}"')
            _load(env, args.tickets, args.messages_per_ticket)
            if database == "postgres":
                _pg(args.pg_url, "ANALYZE", args.pg_database)  # as autovacuum would soon after a bulk load
            marker.touch()
        command = [sys.executable, __file__, "--child", "--requests", str(args.requests)]
        command += ["--old-requests", str(args.old_requests), "--changed", str(args.changed)]
        command += ["--reuse-rollups"] if args.reuse_rollups else []
        command += ["--build-only"] if args.build_only else []
        command += ["--slice", str(args.slice)] if args.slice else []
        subprocess.run(command, env=env, check=True, cwd=ROOT)
    finally:
        if database == "postgres" and not args.keep:
            _pg(args.pg_url, f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages-per-ticket", type=float, default=5.0)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument(
        "--pg-database",
        default=PG_NAME,
        help="the PostgreSQL database to create, fill and drop (another run may be using the default)",
    )
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench-reports"))
    parser.add_argument("--requests", type=int, default=20, help="page requests per measure")
    parser.add_argument("--old-requests", type=int, default=3, help="requests of the page without rollups")
    parser.add_argument("--changed", type=int, default=20, help="tickets changed after the worker's run")
    parser.add_argument("--keep", action="store_true", help="keep the loaded desk and reuse it")
    parser.add_argument(
        "--reuse-rollups", action="store_true", help="with --keep: use the rollups a run before built"
    )
    parser.add_argument(
        "--slice", type=int, default=0, help="tickets per run of the rollups' build (the job's own size)"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="time the rollups' build (sliced and in one go) and stop"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    for database in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run_database(args, database)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
