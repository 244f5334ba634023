"""Generate a realistic ticket event log (JSONL) for ``charterdesk sla replay`` benchmarks.

    python bench/gen_events.py --events 1000000 -o /tmp/events.jsonl [--seed 7]

About five events a ticket: created, an agent reply, sometimes a wait on the
customer (pending) and the customer's answer, a solve, now and then a reopen,
a priority or tag change, a closing. Tickets arrive over several months at all
hours (more in office hours), on every channel and priority of the example
protocol (specs/examples/acme-outdoor.protocol.yaml). Lines are in time order,
tickets interleaved, as a desk's export would be. The same seed gives the same
file.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime

START = int(datetime(2026, 9, 1, tzinfo=UTC).timestamp())
SPAN_DAYS = 180
CHANNELS = (("email", 45), ("web", 30), ("chat", 15), ("phone", 10))
PRIORITIES = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))
TAGS = ("shipping", "damaged", "vip", "returns", "app", "billing")
GROUPS = (None, None, None, "frontline", "escalations")


def _choice(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(names, weights)[0]


def _arrival(rng: random.Random) -> int:
    """An instant in the span, two thirds of them in New York office hours."""
    day = START + rng.randrange(SPAN_DAYS) * 86400
    if rng.random() < 0.67:
        local_hour = rng.uniform(8, 18)  # New York, about UTC-5
        return day + int((local_hour + 5) * 3600) + rng.randrange(60)
    return day + rng.randrange(86400)


def _delay(rng: random.Random) -> int:
    """A wait before the next thing happens: minutes to days, long-tailed."""
    kind = rng.random()
    if kind < 0.4:
        return rng.randrange(60, 3600)
    if kind < 0.8:
        return rng.randrange(3600, 12 * 3600)
    return rng.randrange(12 * 3600, 5 * 86400)


def ticket_events(rng: random.Random, ticket: str) -> list[tuple[int, str]]:
    """One ticket's events as (at, JSON line) in time order."""
    out: list[tuple[int, str]] = []
    at = _arrival(rng)

    def emit(body: str) -> None:
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append((at, f'{{"ticket": "{ticket}", "at": "{stamp}", {body}}}'))

    tags = rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2)))
    priority = _choice(rng, PRIORITIES)
    if "vip" in tags and rng.random() < 0.5:
        priority = "urgent"
    group = rng.choice(GROUPS)
    by = ', "by": "agent"' if rng.random() < 0.05 else ""
    group_text = f', "group": "{group}"' if group else ""
    tag_text = ", ".join(f'"{tag}"' for tag in tags)
    emit(
        f'"event": "created", "priority": "{priority}", "channel": "{_choice(rng, CHANNELS)}", '
        f'"tags": [{tag_text}]{group_text}{by}'
    )
    if rng.random() < 0.06:
        at += _delay(rng) // 4
        emit(f'"event": "priority", "priority": "{_choice(rng, PRIORITIES)}"')
    if rng.random() < 0.1:
        at += rng.randrange(60, 1800)
        emit('"event": "reply", "author": "agent", "public": false')
    at += _delay(rng)
    emit('"event": "reply", "author": "agent"')
    if rng.random() < 0.35:
        at += rng.randrange(10, 120)
        emit('"event": "status", "status": "pending"')
        at += _delay(rng)
        emit('"event": "reply", "author": "customer"')
        at += _delay(rng)
        emit('"event": "reply", "author": "agent"')
    elif rng.random() < 0.1:
        at += rng.randrange(10, 120)
        emit('"event": "status", "status": "on_hold"')
        at += _delay(rng)
        emit('"event": "status", "status": "open"')
    if rng.random() < 0.05:
        at += rng.randrange(60, 7200)
        emit(f'"event": "tags", "add": ["{rng.choice(TAGS)}"], "remove": []')
    at += _delay(rng) // 2
    emit('"event": "status", "status": "solved"')
    if rng.random() < 0.08:
        at += _delay(rng)
        emit('"event": "reply", "author": "customer"')
        at += _delay(rng)
        emit('"event": "reply", "author": "agent"')
        at += rng.randrange(60, 3600)
        emit('"event": "status", "status": "solved"')
    if rng.random() < 0.3:
        at += 4 * 86400
        emit('"event": "status", "status": "closed"')
    return out


def generate(events: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    timed: list[tuple[int, int, str]] = []
    number = 0
    while len(timed) < events:
        number += 1
        for at, line in ticket_events(rng, f"T{number:07d}"):
            timed.append((at, len(timed), line))
    timed.sort()
    return [line for _, _, line in timed]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", default="-", help="the JSONL file (default: standard output)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    lines = generate(args.events, args.seed)
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    with out if out is not sys.stdout else _nothing():
        for index in range(0, len(lines), 10_000):
            out.write("\n".join(lines[index : index + 10_000]) + "\n")
    print(f"{len(lines)} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())
