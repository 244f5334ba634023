"""Benchmark ``charterdesk sla replay`` against the cost of merely parsing its input.

    python bench/bench_replay.py                      # 1,000,000 events, example protocol
    python bench/bench_replay.py --events 50000       # a quick run (CI)
    python bench/bench_replay.py --profile            # also cProfile the replay in-process

Prints one table: events per second and peak memory of the replay (run as the
real command, in a child process), the time to ``json.loads`` every line of the
same file (the floor no replay can beat), and the ratio replay / floor.
Targets: at least 100,000 events/s, under 1 GB, within 5x of the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path("/work/shared/specs/examples/acme-outdoor.protocol.yaml")
sys.path.insert(0, str(ROOT))


def _protocol_path(given: str | None) -> Path:
    if given:
        return Path(given)
    for candidate in (
        EXAMPLE,
        ROOT / "specs/examples/acme-outdoor.protocol.yaml",
        ROOT / "docs/examples/acme-outdoor.protocol.yaml",
    ):
        if candidate.exists():
            return candidate
    raise SystemExit("no example protocol found; pass --protocol")


def _events_file(count: int, seed: int, folder: Path) -> Path:
    path = folder / f"events-{count}-{seed}.jsonl"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench/gen_events.py"),
                "--events",
                str(count),
                "--seed",
                str(seed),
                "-o",
                str(path),
            ],
            check=True,
        )
    return path


def json_floor(path: Path) -> tuple[float, int]:
    loads = json.loads
    started = time.perf_counter()
    lines = 0
    with open(path, "rb") as stream:
        for line in stream:
            loads(line)
            lines += 1
    return time.perf_counter() - started, lines


def replay_child(protocol: Path, path: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of the command run as a child process."""
    command = [sys.executable, "-m", "charterdesk.replay_command", "--protocol", str(protocol), str(path)]
    command += ["-o", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kb / 1024


def profile(protocol: Path, path: Path, out: Path) -> None:
    import cProfile
    import pstats

    from charterdesk.replay_command import main

    profiler = cProfile.Profile()
    profiler.runcall(main, ["--protocol", str(protocol), str(path), "-o", str(out)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--protocol")
    parser.add_argument("--data", default=os.environ.get("CHARTERDESK_BENCH_DATA", tempfile.gettempdir()))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    protocol = _protocol_path(args.protocol)
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    path = _events_file(args.events, args.seed, folder)
    out = folder / f"replay-{args.events}-{args.seed}.out.jsonl"

    floor, lines = json_floor(path)
    replay, peak_mb = replay_child(protocol, path, out)
    with open(out, "rb") as stream:
        tickets = sum(1 for _ in stream)

    rows = [
        ("events", f"{lines:,}"),
        ("tickets", f"{tickets:,}"),
        ("replay (command, wall)", f"{replay:.2f} s"),
        ("replay events/s", f"{lines / replay:,.0f}"),
        ("replay peak memory", f"{peak_mb:,.0f} MB"),
        ("json.loads floor", f"{floor:.2f} s ({lines / floor:,.0f} lines/s)"),
        ("ratio replay / floor", f"{replay / floor:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    verdicts = [
        ("events/s >= 100,000", lines / replay >= 100_000),
        ("peak < 1 GB", peak_mb < 1024),
        ("within 5x of floor", replay / floor <= 5),
    ]
    print("targets: " + ", ".join(f"{name}: {'ok' if ok else 'MISSED'}" for name, ok in verdicts))
    if args.profile:
        profile(protocol, path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
