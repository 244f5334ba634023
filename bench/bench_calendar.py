"""Benchmark: Charterdesk's business-time engine against the `businesstimedelta` package.

Both get the same calendar (Mon-Fri 09:00-17:00 with lunch 12:00-13:00, America/New_York, US
federal holidays) and the same random (start, duration) pairs from a fixed seed, and each is
asked for the due time of every pair.

    .venv/bin/python bench/bench_calendar.py [--n 100000] [--their-n 2000] [--repeats 5]

`businesstimedelta` takes milliseconds per call (it walks its holiday list a day at a time on
every span), so by default it runs on the first --their-n pairs only; pass --their-n equal to
--n to run it on all of them (about ten minutes per repeat). Figures only; nothing is asserted.

Where the two rules agree: businesstimedelta localises wall times with pytz (is_dst=False) and
adds real durations, which matches our rule as long as no DST transition falls inside open
hours; New York changes clocks at 02:00 on Sundays, when this calendar is closed, so every pair
with a positive duration is comparable. A zero duration is not: businesstimedelta answers the
next opening, the spec says the start itself. Durations are therefore drawn from 1 s up.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TypeVar

import businesstimedelta  # type: ignore[import-untyped]  # no type hints published
import holidays
import pytz  # type: ignore[import-untyped]  # businesstimedelta needs pytz zones

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from charterdesk.engine.calendar import BusinessCalendar

ZONE = "America/New_York"
WEEKDAYS = [0, 1, 2, 3, 4]
FIRST_START = datetime(2026, 1, 1, tzinfo=UTC)
START_SPAN_SECONDS = 2 * 365 * 86_400  # starts in 2026-2027, so due times stay within 2026-2028
LONGEST_DURATION_SECONDS = 40 * 3600  # the example protocol's longest resolution target
SEED = 20261204

T = TypeVar("T")


def build_ours() -> BusinessCalendar:
    return BusinessCalendar(
        id="bench",
        timezone=ZONE,
        weekly={weekday: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for weekday in WEEKDAYS},
        holiday_country="US",
    )


def build_theirs() -> businesstimedelta.Rules:
    zone = pytz.timezone(ZONE)
    return businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=clock(9), end_time=clock(17), working_days=WEEKDAYS, tz=zone
            ),
            businesstimedelta.LunchTimeRule(
                start_time=clock(12), end_time=clock(13), working_days=WEEKDAYS, tz=zone
            ),
            businesstimedelta.HolidayRule(holidays.country_holidays("US", years=range(2026, 2029)), tz=zone),
        ]
    )


def random_pairs(count: int) -> list[tuple[int, int]]:
    """(start, duration) in POSIX seconds, the same for every run."""
    generator = random.Random(SEED)
    first = int(FIRST_START.timestamp())
    return [
        (first + generator.randrange(START_SPAN_SECONDS), generator.randint(1, LONGEST_DURATION_SECONDS))
        for _ in range(count)
    ]


def median_microseconds_per_call(
    run: Callable[[], list[T]], calls: int, repeats: int
) -> tuple[float, list[T]]:
    """Median over repeats of the mean time per call, in microseconds, and the last answers."""
    timings = []
    answers: list[T] = []
    for _ in range(repeats):
        started = time.perf_counter()
        answers = run()
        timings.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(timings), answers


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=100_000, help="random (start, duration) pairs for our engine"
    )
    parser.add_argument(
        "--their-n", type=int, default=2_000, help="of those, how many businesstimedelta runs"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the pairs for our engine")
    parser.add_argument("--their-repeats", type=int, default=3, help="timed passes for businesstimedelta")
    options = parser.parse_args(argv)

    pairs = random_pairs(options.n)
    their_pairs = pairs[: min(options.their_n, options.n)]
    starts_as_datetimes = [
        (FIRST_START + timedelta(seconds=start - int(FIRST_START.timestamp()))) for start, _ in pairs
    ]
    durations_as_timedeltas = [timedelta(seconds=duration) for _, duration in pairs]

    started = time.perf_counter()
    ours = build_ours()
    construction_ms = (time.perf_counter() - started) * 1e3
    started = time.perf_counter()
    ours.add_seconds(pairs[0][0], pairs[0][1])
    first_spans_ms = (time.perf_counter() - started) * 1e3
    for start, duration in pairs:  # build every chunk now, so the timing below is the steady state
        ours.add_seconds(start, duration)
    theirs = build_theirs()

    def run_ours_seconds() -> list[int | None]:
        add_seconds = ours.add_seconds
        return [add_seconds(start, duration) for start, duration in pairs]

    def run_ours_datetimes() -> list[datetime | None]:
        add = ours.add
        return [
            add(start, duration)
            for start, duration in zip(starts_as_datetimes, durations_as_timedeltas, strict=True)
        ]

    def run_theirs() -> list[datetime]:
        return [
            starts_as_datetimes[index] + businesstimedelta.BusinessTimeDelta(theirs, seconds=duration)
            for index, (_, duration) in enumerate(their_pairs)
        ]

    ours_seconds_us, our_answers = median_microseconds_per_call(run_ours_seconds, len(pairs), options.repeats)
    ours_datetimes_us, _ = median_microseconds_per_call(run_ours_datetimes, len(pairs), options.repeats)
    theirs_us, their_datetimes = median_microseconds_per_call(
        run_theirs, len(their_pairs), options.their_repeats
    )
    their_answers = [int(answer.timestamp()) for answer in their_datetimes]
    disagreements = [
        (pairs[index], our_answers[index], their_answers[index])
        for index in range(len(their_pairs))
        if our_answers[index] != their_answers[index]
    ]

    print(
        f"Calendar: Mon-Fri 09:00-12:00 + 13:00-17:00 {ZONE}, US federal holidays; "
        f"starts 2026-2027, durations 1 s..{LONGEST_DURATION_SECONDS // 3600} h; seed {SEED}"
    )
    print(
        f"Pairs: {len(pairs):,} for charterdesk, the first {len(their_pairs):,} of them for businesstimedelta"
    )
    from charterdesk.native import status

    print(f"Charterdesk {status()}")
    print(
        f"Charterdesk cold start: {construction_ms:.1f} ms to build (the holidays package loading the "
        f"country's rules), {first_spans_ms:.1f} ms for the first ~year of spans"
    )
    print()
    rows = [
        ("charterdesk add_seconds (int seconds)", ours_seconds_us),
        ("charterdesk add (datetime, timedelta)", ours_datetimes_us),
        ("businesstimedelta (datetime + delta)", theirs_us),
    ]
    print(f"{'engine':<40} {'µs/call':>10} {'speed-up vs businesstimedelta':>31}")
    for name, microseconds in rows:
        print(f"{name:<40} {microseconds:>10.2f} {theirs_us / microseconds:>30.0f}x")
    print()
    print(
        f"Agreement: {len(their_pairs) - len(disagreements):,} of {len(their_pairs):,} pairs give the same "
        "due time (every pair is comparable: no DST change falls in open hours, durations > 0)"
    )
    for (start, duration), our_due, their_due in disagreements[:10]:
        print(
            f"  start {datetime.fromtimestamp(start, UTC):%Y-%m-%dT%H:%M:%SZ} + {duration} s: "
            f"charterdesk {datetime.fromtimestamp(our_due or 0, UTC):%Y-%m-%dT%H:%M:%SZ}, "
            f"businesstimedelta {datetime.fromtimestamp(their_due, UTC):%Y-%m-%dT%H:%M:%SZ}"
        )


if __name__ == "__main__":
    main()
