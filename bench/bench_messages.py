"""Benchmark the message checks: per message, the whole command, and the composer's 400-word reply.

    python bench/bench_messages.py                     # 100,000 messages, the demo protocol
    python bench/bench_messages.py --messages 10000    # a quick run
    python bench/bench_messages.py --repeat 3          # medians of three command runs

Prints three tables:

1. **The engine, per message**: ``MessageChecks.check_reply`` / ``check_customer_message``
   on each of N generated messages (half agent replies, half customer messages, 20 to 150
   words, one in six holding a card number, an IBAN, a password or a Social Security number),
   timed one by one: p50, p95 and p99 in microseconds, beside the floor of parsing the
   message's JSON line and writing its answer (``json.loads`` + ``json.dumps``), which the
   command must do anyway.
2. **The command**: ``charterdesk messages check`` on the same N messages as a child process,
   interpreter start and protocol loading included: seconds and messages per second, beside a
   child process that only reads, parses and writes the same lines.
3. **The composer**: a 400-word reply (greeting, name, closing, a card number to mask) checked
   R times, as the composer does on each keystroke: p50 and p95 in milliseconds against the
   50 ms p95 budget, beside one ``re.sub`` of its whitespace (the least any phrase check does);
   and the one-off cost of compiling the protocol's message rules.

No figure here is asserted; run it on a quiet machine, or compare figures of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"

from charterdesk.engine.messages import MessageChecks  # noqa: E402
from charterdesk.protocol.load import load_protocol_file  # noqa: E402

FIRST = ["Maria", "James", "Aiko", "José", "Zoë", "Olu", "Priya", "Lukas", "Fatima", "Chen"]
LAST = ["Lopez", "Smith", "Tanaka", "Álvarez", "Müller", "Okafor", "Patel", "Novak", "Haddad", "Wei"]
WORDS = str.split(
    "tent stove pole order tracking refund parcel carrier jacket boots size warranty delivery "
    "replacement label return exchange invoice account address shipment backpack zipper seam "
    "the a an and or but with for on in at to from of is was will can would could please today "
    "tomorrow yesterday week again still already just really very quite soon now"
)
CUSTOMER_TRIGGERS = ["frustrated", "angry", "disappointed", "unacceptable", "my lawyer", "useless", "injured"]
BANNED = ["calm down", "not my problem", "as I already said", "you should have"]


def _card(rng: random.Random) -> str:
    payload = str(rng.choice("23456")) + "".join(rng.choice("0123456789") for _ in range(14))
    total = 0
    for index, digit in enumerate(reversed(payload)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    number = payload + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


SECRETS = [
    _card,
    lambda rng: "GB82 WEST 1234 5698 7654 32",
    lambda rng: "DE89370400440532013000",
    lambda rng: f"password: {rng.choice(['hunter2', 'Tr41l!', 'x9y8z7'])}",
    lambda rng: f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])


def _body(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        size = min(words, rng.randint(5, 16))
        sentences.append(_sentence(rng, size))
        words -= size
    if rng.random() < 1 / 6:
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(SECRETS)(rng))
    return " ".join(sentences)


def generate(count: int, seed: int) -> list[dict[str, object]]:
    """``count`` messages, half replies and half customer messages, the same for the same seed."""
    rng = random.Random(seed)
    messages: list[dict[str, object]] = []
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        body = _body(rng, rng.randint(20, 150))
        if index % 2:
            if rng.random() < 0.05:
                body = body.upper()
            elif rng.random() < 0.1:
                body += f" {rng.choice(CUSTOMER_TRIGGERS)}"
            messages.append({"id": f"c{index}", "kind": "customer", "text": body})
            continue
        if rng.random() < 0.1:
            body += f" {rng.choice(BANNED)}."
        greeting = rng.choice([f"Hi {first},\n\n", f"Hello {first},\n\n", f"{first},\n\n", ""])
        closing = rng.choice(["\n\nBest regards,\nAlex", "\n\nThanks,\nSam", ""])
        messages.append(
            {
                "id": f"r{index}",
                "kind": "reply",
                "text": greeting + body + closing,
                "customer_name": f"{first} {last}",
                "last_customer_message": _body(rng, rng.randint(10, 40))
                + (f" I am {rng.choice(CUSTOMER_TRIGGERS)}." if rng.random() < 0.2 else ""),
            }
        )
    return messages


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


class Samples:
    """Durations of one operation in microseconds, as CPU time of this thread and as wall-clock
    time: on a machine shared with other work the wall clock also counts the time the process
    waited for a core, which the code does not cost."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def time(self, operation: Callable[[], object]) -> None:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        operation()
        self.wall.append((time.perf_counter_ns() - wall) / 1000)
        self.cpu.append((time.thread_time_ns() - cpu) / 1000)


def engine_per_message(checks: MessageChecks, lines: list[str]) -> tuple[Samples, Samples]:
    """The checks of each message, and the JSON floor (parse its line, write an answer)."""
    engine, floor = Samples(), Samples()
    for line in lines:
        record: dict[str, Any] = {}

        def parse_and_write(line: str = line, record: dict[str, Any] = record) -> None:
            record.update(json.loads(line))
            json.dumps({"id": record["id"], "redacted": record["text"], "findings": []}, ensure_ascii=False)

        floor.time(parse_and_write)
        if record["kind"] == "reply":
            engine.time(
                lambda record=record: checks.check_reply(
                    record["text"],
                    customer_name=record.get("customer_name"),
                    last_customer_message=record.get("last_customer_message"),
                )
            )
        else:
            engine.time(lambda record=record: checks.check_customer_message(record["text"]))
    return engine, floor


FLOOR_SCRIPT = """
import json, sys
out = []
with open(sys.argv[1], "rb") as f:
    for line in f.read().split(b"\\n"):
        if line.strip():
            r = json.loads(line)
            out.append(json.dumps({"id": r["id"], "redacted": r["text"], "findings": []}, ensure_ascii=False))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("\\n".join(out))
"""


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def reply_400(first_name: str = "Maria") -> str:
    """A 400-word reply: greeting, name, closing, a card number in the middle (8 words)."""
    rng = random.Random(400)
    sentences: list[str] = []
    words = 400 - 2 - 8 - 3  # "Hi Maria," / the card's sentence / "Best regards, Alex"
    while words > 0:
        size = min(words, rng.randint(5, 16))
        sentences.append(_sentence(rng, size))
        words -= size
    sentences.insert(len(sentences) // 2, "The card 4242 4242 4242 4242 was refunded.")
    return f"Hi {first_name},\n\n" + " ".join(sentences) + "\n\nBest regards,\nAlex"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=1, help="command runs (medians are printed)")
    parser.add_argument("--reply-runs", type=int, default=2000, help="checks of the 400-word reply")
    parser.add_argument("--protocol", default=str(DEMO))
    args = parser.parse_args()

    loaded = load_protocol_file(args.protocol)
    assert loaded.protocol is not None, loaded.errors
    protocol = loaded.protocol
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    messages = generate(args.messages, args.seed)
    lines = [json.dumps(message, ensure_ascii=False) for message in messages]
    checks = MessageChecks(protocol)
    engine, floor = engine_per_message(checks, lines)
    words = sum(len(str(m["text"]).split()) for m in messages) / len(messages)
    print(f"\n1. The engine, per message ({len(messages):,} messages, {words:.0f} words on average)\n")
    print("| | p50 | p95 | p99 | total |")
    print("| --- | --- | --- | --- | --- |")
    rows = [
        ("message checks, CPU time", engine.cpu),
        ("message checks, wall clock", engine.wall),
        ("JSON floor (parse the line, write an answer), CPU time", floor.cpu),
    ]
    for name, samples in rows:
        p50, p95, p99 = percentiles(samples)
        print(f"| {name} | {p50:.1f} µs | {p95:.1f} µs | {p99:.1f} µs | {sum(samples) / 1e6:.2f} s |")
    (e50, e95, e99), (f50, f95, f99) = percentiles(engine.cpu), percentiles(floor.cpu)
    ratio = sum(engine.cpu) / sum(floor.cpu)
    ratios = f"{e50 / f50:.1f}x | {e95 / f95:.1f}x | {e99 / f99:.1f}x | {ratio:.1f}x"
    print(f"| checks / floor, CPU time | {ratios} |")

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "messages.jsonl"
        source.write_text("\n".join(lines) + "\n", "utf-8")
        target = Path(folder) / "out.jsonl"
        command = [
            sys.executable,
            "-m",
            "charterdesk.messages_command",
            "check",
            "--protocol",
            args.protocol,
            str(source),
            "-o",
            str(target),
        ]
        floor_command = [sys.executable, "-c", FLOOR_SCRIPT, str(source), str(Path(folder) / "floor.jsonl")]
        ours, base = [], []
        for _ in range(args.repeat):  # alternate, so both see the same machine
            ours.append(timed(command))
            base.append(timed(floor_command))
        found = sum(1 for line in target.read_text("utf-8").splitlines() if '"findings": [{' in line)
    command_s, floor_s = statistics.median(ours), statistics.median(base)
    print(
        f"\n2. `charterdesk messages check`, whole process ({len(messages):,} messages, "
        f"{found:,} with findings; median of {args.repeat})\n"
    )
    print("| | seconds | messages/s |")
    print("| --- | --- | --- |")
    print(f"| messages check | {command_s:.2f} | {len(messages) / command_s:,.0f} |")
    print(f"| read, parse and write only | {floor_s:.2f} | {len(messages) / floor_s:,.0f} |")
    print(f"| ratio | {command_s / floor_s:.1f}x | |")

    text = reply_400()
    assert len(text.split()) == 400, len(text.split())
    started = time.perf_counter_ns()
    for _ in range(20):
        MessageChecks(protocol)
    compile_ms = (time.perf_counter_ns() - started) / 20 / 1e6
    reply, spaces = Samples(), Samples()
    whitespace = re.compile(r"\s+")
    last = "I have waited two weeks and I am really disappointed."
    for _ in range(args.reply_runs):
        reply.time(lambda: checks.check_reply(text, customer_name="Maria Lopez", last_customer_message=last))
        spaces.time(lambda: whitespace.sub(" ", text))
    result = checks.check_reply(text, customer_name="Maria Lopez", last_customer_message=last)
    assert result.redaction.findings and result.etiquette is not None
    print(
        f"\n3. The composer: a 400-word reply checked {args.reply_runs:,} times "
        f"(problems: {[p.check for p in result.etiquette.problems]}, "
        f"findings: {[f.detector for f in result.redaction.findings]})\n"
    )
    print("| | p50 | p95 | budget |")
    print("| --- | --- | --- | --- |")
    for name, samples in [
        ("check_reply, CPU time", reply.cpu),
        ("check_reply, wall clock", reply.wall),
        ("one re.sub of its whitespace, CPU time", spaces.cpu),
    ]:
        p50, p95, _ = percentiles(samples)
        budget = "p95 < 50 ms" if name.startswith("check_reply") else ""
        print(f"| {name} | {p50 / 1000:.3f} ms | {p95 / 1000:.3f} ms | {budget} |")
    (r50, r95, _), (s50, s95, _) = percentiles(reply.cpu), percentiles(spaces.cpu)
    print(f"| check_reply / re.sub, CPU time | {r50 / s50:.1f}x | {r95 / s95:.1f}x | |")
    print(f"\nCompiling the protocol's message rules (once per protocol version): {compile_ms:.2f} ms")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
