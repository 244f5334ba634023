"""Benchmark the reports page: a 90-day report of a desk filled with the demo's bulk load.

    python bench/bench_reports.py --data-dir var/bench   # after `charterdesk demo --load-only --tickets N`
    DATABASE_URL=postgres://... python bench/bench_reports.py

It signs in as the demo manager (every ticket: the heaviest scope) with Django's test client in
this process, and times ``GET /reports/?period=last_90_days`` (the page: every KPI, the weekly
trend, four breakdowns) ``--requests`` times, printing median and p95 beside the target (p95 under
300 ms). As the baseline in the same run, it times the engine alone on the same histories
(``KpiEngine.compute`` once for the period, no trend or breakdowns: what `charterdesk kpi` does after
reading its file), and prints the ratio page / engine. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(-(-share * len(ordered) // 1)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", default=str(ROOT / "var"), help="CHARTERDESK_DATA_DIR of the loaded desk"
    )
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("CHARTERDESK_DATA_DIR", str(Path(args.data_dir).resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    from charterdesk.accounts.models import Person
    from charterdesk.library.versions import protocol_of, version_in_force
    from charterdesk.reports.access import ALL, Scope
    from charterdesk.reports.figures import kpi_engine, load_histories, preset_days, team_today
    from charterdesk.tickets.models import Message, Ticket

    print(
        f"tickets {Ticket.objects.count():,}, messages {Message.objects.count():,}, "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
    )
    client = Client()
    client.force_login(Person.objects.get(email="dana@acme.example"))
    page: list[float] = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/reports/", {"period": "last_90_days"})
        page.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    version = version_in_force()
    engine = kpi_engine(version, protocol_of(version))
    from django.utils import timezone

    now = timezone.now()
    period = engine.period(*preset_days("last_90_days", team_today(engine, now)))
    reading: list[float] = []
    alone: list[float] = []
    for _ in range(args.requests):
        started = time.perf_counter()
        histories = load_histories(Scope(ALL), period)
        reading.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.compute(histories, period, now=int(now.timestamp()))
        alone.append((time.perf_counter() - started) * 1000)
    print(f"tickets in the 90-day report: {len(histories):,}")
    print(f"{'':28}{'median ms':>12}{'p95 ms':>10}")
    for name, values in (
        ("reports page (target 300)", page),
        ("reading the histories", reading),
        ("engine once (baseline)", alone),
    ):
        print(f"{name:28}{statistics.median(values):12.0f}{percentile(values, 0.95):10.0f}")
    print(f"page / engine once: {statistics.median(page) / statistics.median(alone):.1f}x")


if __name__ == "__main__":
    main()
