"""Benchmark ``charterdesk kpi`` beside ``charterdesk sla replay`` on the same event log.

    python bench/bench_kpi.py                       # 1,000,000 events, example protocol, whole span
    python bench/bench_kpi.py --events 50000        # a quick run (CI)
    python bench/bench_kpi.py --repeat 3            # medians of three rounds
    python bench/bench_kpi.py --from 2026-11-02 --to 2026-11-08   # one week of the log
    python bench/bench_kpi.py --pure                # also the KPI command as plain Python, A/B
    python bench/bench_kpi.py --surveys 0.3         # also a copy with survey answers (KPI only)

The log is the one ``bench_replay.py`` generates (``gen_events.py``: about 200,000
tickets over six months). Both commands run as real child processes on the very same
file, one after the other in each round, alternating which goes first; the table gives
medians. The figure that matters is the ratio: the KPI command's time over the replay's,
both measured in the same run (so on the same machine, under the same load), in wall time
(what a user waits) and in CPU time (user + system, the replay's workers included: the
work done, which varies far less than the wall time when others share the machine). The
replay spreads its work over the machine's cores (``CHARTERDESK_REPLAY_WORKERS``); the KPI
command runs in one process.

The default period is the log's whole span (every ticket counted); a shorter one shows
what a weekly report costs on a long history (tickets finished before the period are
skipped after reading). ``--surveys F`` adds a survey answer after a fraction F of the
solves, in a copy of the log that only the KPI command can read (the replay has no
``survey`` event); its line is given against the replay of the plain log.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_replay import _events_file, _protocol_path, engine_status  # noqa: E402

SPAN = ("2026-09-01", "2027-03-31")  # covers gen_events.py's six months and their tails


def _run(command: list[str], env_extra: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak resident MB (largest process) and CPU seconds (user + system, workers
    included) of a child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"exit status {code}: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def replay_command(protocol: Path, events: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "charterdesk.replay_command",
        "--protocol",
        str(protocol),
        str(events),
        "-o",
        str(out),
    ]


def kpi_command(protocol: Path, events: Path, out: Path, first: str, last: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "charterdesk.kpi_command",
        "--protocol",
        str(protocol),
        "--from",
        first,
        "--to",
        last,
        str(events),
        "-o",
        str(out),
    ]


def with_surveys(path: Path, fraction: float, seed: int) -> Path:
    """A copy of the log with a survey answer 1 to 48 hours after a share of the solves, every
    line in time order (an answer never comes before its ticket's earlier events).

    Streamed, holding only the answers not yet written: the children this script starts
    inherit its peak memory on Linux, which would spoil their own figure."""
    target = path.with_name(f"{path.stem}.surveys-{fraction}.jsonl")
    if target.exists():
        return target
    rng = random.Random(seed)
    waiting: list[tuple[str, int, str]] = []  # (at, order, line): a heap of answers to come
    with open(path, encoding="utf-8") as stream, open(target, "w", encoding="utf-8") as out:
        for number, line in enumerate(stream):
            record = json.loads(line)
            stamp = record["at"]  # gen_events.py writes UTC times with Z: text order is time order
            while waiting and waiting[0][0] <= stamp:
                out.write(heapq.heappop(waiting)[2] + "\n")
            out.write(line)
            if record.get("status") == "solved" and rng.random() < fraction:
                when = datetime.fromisoformat(stamp) + timedelta(seconds=rng.randrange(3600, 48 * 3600))
                kind, top = rng.choice([("csat", 5), ("nps", 10), ("ces", 7)])
                answer = {
                    "ticket": record["ticket"],
                    "at": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "event": "survey",
                    "kind": kind,
                    "score": rng.randint(0 if kind == "nps" else 1, top),
                }
                heapq.heappush(waiting, (answer["at"], number, json.dumps(answer)))
        while waiting:
            out.write(heapq.heappop(waiting)[2] + "\n")
    return target


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    return f"{statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--protocol")
    parser.add_argument("--from", dest="first", default=SPAN[0])
    parser.add_argument("--to", dest="last", default=SPAN[1])
    parser.add_argument("--data", default=os.environ.get("CHARTERDESK_BENCH_DATA", tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table gives medians")
    parser.add_argument("--pure", action="store_true", help="also the KPI command as plain Python")
    parser.add_argument(
        "--surveys", type=float, default=0.0, help="also a copy with answers after this share of solves"
    )
    args = parser.parse_args(argv)

    protocol = _protocol_path(args.protocol)
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    path = _events_file(args.events, args.seed, folder)
    with open(path, "rb") as stream:
        lines = sum(1 for _ in stream)
    out = folder / f"kpi-bench-{os.getpid()}"
    contenders: list[tuple[str, list[str], dict[str, str]]] = [
        ("sla replay", replay_command(protocol, path, out.with_suffix(".replay.jsonl")), {}),
        ("kpi", kpi_command(protocol, path, out.with_suffix(".kpi.json"), args.first, args.last), {}),
    ]
    if args.pure:
        contenders.append(
            (
                "kpi, plain Python engine",
                kpi_command(protocol, path, out.with_suffix(".pure.json"), args.first, args.last),
                {"CHARTERDESK_PURE_PYTHON": "1"},
            )
        )
    survey_lines = 0
    if args.surveys:
        surveyed = with_surveys(path, args.surveys, args.seed)
        with open(surveyed, "rb") as stream:
            survey_lines = sum(1 for _ in stream)
        contenders.append(
            (
                f"kpi, with surveys ({survey_lines - lines:,} more lines)",
                kpi_command(protocol, surveyed, out.with_suffix(".surveys.json"), args.first, args.last),
                {},
            )
        )

    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in contenders}
    load_before = os.getloadavg()[0]
    for round_number in range(args.repeat):
        order = contenders if round_number % 2 == 0 else contenders[::-1]
        for name, command, env in order:
            runs[name].append(_run(command, env))
    load_after = os.getloadavg()[0]

    replay = statistics.median(run[0] for run in runs["sla replay"])
    replay_cpu = statistics.median(run[2] for run in runs["sla replay"])
    print(f"\n{lines:,} events ({path.name}), protocol {protocol.name}, period {args.first} to {args.last}")
    print(engine_status(ROOT, {}))
    print(f"load average: {load_before:.2f} at the start, {load_after:.2f} at the end; rounds: {args.repeat}")
    columns = ("wall s", 7), ("events/s", 9), ("/ replay", 8), ("CPU s", 7), ("/ replay", 8), ("peak MB", 8)
    print(f"\n{'command':<44} " + " ".join(f"{title:>{width}}" for title, width in columns))
    for name, _, _ in contenders:
        seconds = statistics.median(run[0] for run in runs[name])
        cpu = statistics.median(run[2] for run in runs[name])
        peak = max(run[1] for run in runs[name])
        count = survey_lines if name.startswith("kpi, with surveys") else lines
        print(
            f"{name:<44} {seconds:>7.2f} {count / seconds:>9,.0f} {seconds / replay:>7.2f}x "
            f"{cpu:>7.2f} {cpu / replay_cpu:>7.2f}x {peak:>8,.0f}"
        )
    print("\nmedians of the rounds; each round's wall and CPU seconds:")
    for name, _, _ in contenders:
        wall, cpu = _spread([run[0] for run in runs[name]]), _spread([run[2] for run in runs[name]])
        print(f"  {name}: wall {wall}; CPU {cpu}")
    if args.pure:
        same = out.with_suffix(".kpi.json").read_bytes() == out.with_suffix(".pure.json").read_bytes()
        print(f"compiled and plain Python outputs identical: {same}")
    for suffix in (".replay.jsonl", ".kpi.json", ".pure.json", ".surveys.json"):
        out.with_suffix(suffix).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
