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
from pathlib import Path

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


def engine_per_message(checks: MessageChecks, lines: list[str]) -> tuple[list[float], list[float]]:
    """Microseconds per message: the checks, and the JSON floor (parse the line, write an answer)."""
    engine: list[float] = []
    floor: list[float] = []
    clock = time.perf_counter_ns
    for line in lines:
        started = clock()
        record = json.loads(line)
        json.dumps({"id": record["id"], "redacted": record["text"], "findings": []}, ensure_ascii=False)
        floor.append((clock() - started) / 1000)
        text = record["text"]
        started = clock()
        if record["kind"] == "reply":
            checks.check_reply(
                text,
                customer_name=record.get("customer_name"),
                last_customer_message=record.get("last_customer_message"),
            )
        else:
            checks.check_customer_message(text)
        engine.append((clock() - started) / 1000)
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


def reply_400(name: str = "Maria Lopez") -> str:
    rng = random.Random(400)
    words = 400 - 2 - 2 - 4 - 2  # greeting "Hi Maria,", the card's 4 groups, "Best regards,"
    body = _body(rng, words - 2)
    sentences = body.split(". ")
    middle = len(sentences) // 2
    sentences.insert(middle, "the card 4242 4242 4242 4242 was refunded")
    text = f"Hi {name.split()[0]},\n\n" + ". ".join(sentences) + "\n\nBest regards,\nAlex"
    return text


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
    e50, e95, e99 = percentiles(engine)
    f50, f95, f99 = percentiles(floor)
    words = sum(len(str(m["text"]).split()) for m in messages) / len(messages)
    print(f"\n1. The engine, per message ({len(messages):,} messages, {words:.0f} words on average)\n")
    print("| | p50 | p95 | p99 | total |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| message checks | {e50:.1f} µs | {e95:.1f} µs | {e99:.1f} µs | {sum(engine) / 1e6:.2f} s |")
    print(
        f"| JSON floor (parse the line, write an answer) | {f50:.1f} µs | {f95:.1f} µs | {f99:.1f} µs | "
        f"{sum(floor) / 1e6:.2f} s |"
    )
    print(
        f"| checks / floor | {e50 / f50:.1f}x | {e95 / f95:.1f}x | {e99 / f99:.1f}x | "
        f"{sum(engine) / sum(floor):.1f}x |"
    )

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
    reply_ms: list[float] = []
    spaces_ms: list[float] = []
    whitespace = re.compile(r"\s+")
    clock = time.perf_counter_ns
    last = "I have waited two weeks and I am really disappointed."
    for _ in range(args.reply_runs):
        started = clock()
        result = checks.check_reply(text, customer_name="Maria Lopez", last_customer_message=last)
        reply_ms.append((clock() - started) / 1e6)
        started = clock()
        whitespace.sub(" ", text)
        spaces_ms.append((clock() - started) / 1e6)
    assert result.redaction.findings and result.etiquette is not None
    r50, r95, _ = percentiles(reply_ms)
    s50, s95, _ = percentiles(spaces_ms)
    print(
        f"\n3. The composer: a 400-word reply checked {args.reply_runs:,} times "
        f"(problems: {[p.check for p in result.etiquette.problems]}, "
        f"findings: {[f.detector for f in result.redaction.findings]})\n"
    )
    print("| | p50 | p95 | budget |")
    print("| --- | --- | --- | --- |")
    print(f"| check_reply | {r50:.3f} ms | {r95:.3f} ms | p95 < 50 ms |")
    print(f"| one re.sub of its whitespace | {s50:.3f} ms | {s95:.3f} ms | |")
    print(f"| ratio | {r50 / s50:.1f}x | {r95 / s95:.1f}x | |")
    print(f"\nCompiling the protocol's message rules (once per protocol version): {compile_ms:.2f} ms")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
