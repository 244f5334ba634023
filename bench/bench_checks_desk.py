"""Benchmark the message checks in the desk: the composer's check endpoint and ingest with the
checks on versus off, in the same run.

    python bench/bench_checks_desk.py                        # 200 composer checks, 3 x 300 messages
    python bench/bench_checks_desk.py --checks 50 --messages 100 --repeat 1   # a quick look

One process, a fresh SQLite database in a temporary folder with the demo loaded:

1. **The composer**: ``POST /tickets/<id>/reply/check/`` of a 400-word reply (greeting, name,
   closing, a banned phrase and a card number, so every check runs and the mask is shown), as the
   composer sends it while the agent types, through Django's test client (session, middleware,
   the protocol lookup, the ticket's access check, the hook, the template): p50 and p95 in
   milliseconds against the 50 ms p95 budget, beside the same endpoint with the checks family
   switched off (the cost of everything else).
2. **Ingest**: ``store_many`` + ``process_all`` of N new messages with the checks family on and
   off, alternately, ``--repeat`` times each after one warm-up round: medians of messages per
   second and their ratio (budget: the checks cost less than 15%). Two mixes: plain messages
   (``bench_email.py``'s; every one is still scanned and read for plans), and a heavy one (one in
   five holding a card number, so masked and its raw mail rewritten; one in ten calling for a plan,
   so its actions run: priority, tags, notifications).

Times are this process's CPU time (everything runs in it: SQLite, the test client), which other
work on a shared machine disturbs far less than the wall clock. No figure is asserted; compare
figures of the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ["the", "tent", "pole", "you", "ordered", "ships", "from", "our", "warehouse", "today", "and"]


def reply_of_400_words() -> str:
    middle = " ".join(WORDS[i % len(WORDS)] for i in range(388))
    return f"Hi Maria,\n\n{middle} card 4111 1111 1111 1111, calm down.\n\nKind regards"


def message(n: int, prefix: str, heavy: bool) -> bytes:
    extra = " My card is 4111 1111 1111 1111." if heavy and n % 5 == 0 else ""
    extra += " I was injured by the stove." if heavy and n % 10 == 3 else ""
    body = f"Hello,\n\nMy order {n} has not arrived.{extra} Could you look?\n\nThanks,\nCustomer {n}\n"
    return (
        f"From: Customer {n} <{prefix}-{n}@customer.example>\r\nTo: support@acme.example\r\n"
        f"Subject: Order {n} ({prefix})\r\nMessage-ID: <{prefix}-{n}@customer.example>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


# Everything runs in this one process (SQLite in-process, Django's test client), so its CPU time is
# the work done; on a machine shared with other work it is much steadier than the wall clock.
CLOCK = time.process_time


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=200, help="composer checks per variant")
    parser.add_argument("--messages", type=int, default=300, help="messages per ingest round")
    parser.add_argument("--repeat", type=int, default=3, help="ingest rounds per variant")
    parser.add_argument("--profile", help="write a cProfile of the ingest rounds with the checks on here")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="charterdesk-bench-checks-")
    os.environ["CHARTERDESK_DATA_DIR"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    from charterdesk.accounts.models import Person
    from charterdesk.channels.inbound import process_all, store_many
    from charterdesk.checks import hooks
    from charterdesk.demo.loader import load_demo
    from charterdesk.tickets.actions import do_create_ticket, do_find_or_create_customer
    from charterdesk.tickets.lifecycle import register, unregister

    load_demo()
    agent = Person.objects.get(email__startswith="alex")
    maria = do_find_or_create_customer(email="maria@example.com", name="Maria Lopez")
    ticket = do_create_ticket(customer=maria, subject="Tent pole", body="My pole snapped.", channel="email")
    client = Client()
    client.force_login(agent)
    url = f"/tickets/{ticket.pk}/reply/check/"
    body = reply_of_400_words()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"\nComposer check of a {len(body.split())}-word reply, {args.checks} requests each")
    print(f"{'':<28} {'p50 ms':>8} {'p95 ms':>8}   (CPU time)")
    figures = {}
    for label, on in (("checks on", True), ("checks off (baseline)", False)):
        (register if on else unregister)(hooks)
        for _ in range(5):  # warm-up
            client.post(url, {"body": body, "kind": "reply"})
        times = []
        for _ in range(args.checks):
            start = CLOCK()
            response = client.post(url, {"body": body, "kind": "reply"})
            times.append((CLOCK() - start) * 1000)
            assert response.status_code == 200
        if on:
            page = response.content.decode()
            assert "banned list" in page and "card ending 1111" in page, page
        figures[label] = times
        print(f"{label:<28} {statistics.median(times):>8.2f} {percentile(times, 95):>8.2f}")
    register(hooks)
    print("budget: p95 < 50 ms with the checks on")

    for heavy in (False, True):
        ingest(args, heavy, store_many, process_all, hooks, register, unregister)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def ingest(args, heavy: bool, store_many, process_all, hooks, register, unregister) -> None:
    mix = (
        "one in five with a card number, one in ten calling for a plan"
        if heavy
        else "plain messages, as bench_email.py sends"
    )
    print(f"\nIngest of {args.messages} messages per round ({mix}), {args.repeat} rounds each, alternating")
    rates: dict[str, list[float]] = {"checks on": [], "checks off": []}
    # A first round of each, not counted: caches filled, protocol compiled, files opened.
    for round_ in range(-1, args.repeat):
        order = (("checks on", True), ("checks off", False))
        for label, on in order if round_ % 2 == 0 else order[::-1]:
            (register if on else unregister)(hooks)
            prefix = f"{'h' if heavy else 'p'}{round_ + 1}-{'on' if on else 'off'}"
            items = [(message(n, prefix, heavy), f"bench/{prefix}/{n}") for n in range(args.messages)]
            profiler = cProfile.Profile() if args.profile and on and heavy and round_ == 0 else None
            start = CLOCK()
            if profiler:
                profiler.enable()
            stored = store_many(items, source="import")
            process_all([row.pk for row, created, _ in stored if row is not None])
            took = CLOCK() - start
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            if round_ >= 0:
                rates[label].append(args.messages / took)
    register(hooks)
    on, off = statistics.median(rates["checks on"]), statistics.median(rates["checks off"])
    print(f"{'':<14} {'median msg/s':>13}   rounds (per CPU second)")
    for label, values in rates.items():
        print(f"{label:<14} {statistics.median(values):>13.1f}   {', '.join(f'{v:.0f}' for v in values)}")
    print(f"cost of the checks: {(off / on - 1) * 100:+.1f}% time per message (budget < 15%)")


if __name__ == "__main__":
    main()
