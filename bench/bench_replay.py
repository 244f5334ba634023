"""Benchmark ``charterdesk sla replay`` against the cost of merely parsing its input.

    python bench/bench_replay.py                      # 1,000,000 events, example protocol
    python bench/bench_replay.py --events 50000       # a quick run (CI)
    python bench/bench_replay.py --repeat 3           # medians of three runs
    python bench/bench_replay.py --workers 1          # force one process (CHARTERDESK_REPLAY_WORKERS)
    python bench/bench_replay.py --baseline /tmp/old  # A/B: also run the command from another checkout
    python bench/bench_replay.py --pure               # A/B: also this checkout's engine as plain Python
    python bench/bench_replay.py --profile            # also cProfile the replay in-process (one process)

Prints one table: events per second and peak memory of the replay (run as the
real command, in a child process), the time to ``json.loads`` every line of the
same file, measured in the same run (the floor), and the ratio replay / floor, in
wall seconds and in CPU seconds (medians of ``--repeat`` rounds).
Targets: at least 100,000 events/s, under 1 GB, within 5x of the floor, and (issue
19) no slower than the floor in wall time, two processes allowed.

The replay may run on several processes (``charterdesk.engine.replay.replay_data``).
Its peak memory is given twice: the largest single process (``ru_maxrss`` from
``wait4``, which covers the command's own workers) and the whole process tree
(resident memory of the command and its workers summed, sampled every 20 ms in one
more round that is not timed, since the sampling takes CPU from the replay; pages
the workers share with the parent after ``fork`` are counted once per process, so
this overstates it). On a shared machine, compare runs made in the same
invocation (``--baseline``, ``--repeat``): rounds alternate between the
contenders and the table gives medians. The CPU seconds (user + system, of the
command and its workers, from ``wait4``) vary far less than the wall time when
other work shares the cores, so the A/B line gives the ratio of both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path(__file__).resolve().parents[1] / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"
sys.path.insert(0, str(ROOT))


def _protocol_path(given: str | None) -> Path:
    if given:
        return Path(given)
    for candidate in (
        EXAMPLE,
        ROOT / "charterdesk/demo/acme-outdoor.protocol.yaml",
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


def json_floor(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds to read the file and ``json.loads`` each line, and the line count."""
    loads = json.loads
    started, cpu = time.perf_counter(), time.process_time()
    lines = 0
    with open(path, "rb") as stream:
        for line in stream:
            loads(line)
            lines += 1
    return time.perf_counter() - started, time.process_time() - cpu, lines


def _tree_rss_kb(root: int) -> int:
    """Resident KB of ``root`` and its descendants (Linux /proc), 0 once gone."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: the parent's pid
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)  # fields[21]: rss pages
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def replay_child(
    protocol: Path,
    path: Path,
    out: Path,
    *,
    source: Path = ROOT,
    workers: int | None = None,
    extra_env: dict[str, str] | None = None,
    sample_tree: bool = False,
) -> tuple[float, float, float, float]:
    """Wall seconds, peak resident MB of the largest process and of the whole process tree
    (``sample_tree``: sampled from /proc every 20 ms; else the largest process's), and CPU seconds
    (user + system, workers included) of the command run as a child process from the checkout
    ``source``. The sampling reads every process's /proc entry fifty times a second, work that
    takes a core from the replay on a 2-core machine: timed rounds do not sample."""
    command = [sys.executable, "-m", "charterdesk.replay_command", "--protocol", str(protocol), str(path)]
    command += ["-o", str(out)]
    env = dict(os.environ, PYTHONPATH=str(source), **(extra_env or {}))
    if workers is not None:
        env["CHARTERDESK_REPLAY_WORKERS"] = str(workers)
    peak_tree = 0
    finished = threading.Event()

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=source, env=env)

    def sample() -> None:
        nonlocal peak_tree
        while not finished.wait(0.02):
            peak_tree = max(peak_tree, _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_tree:
        sampler.start()
    # wait4 gives this child's own usage with that of the workers it waited for: ru_maxrss is
    # the largest of them (RUSAGE_CHILDREN would also count earlier children, the generator).
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    finished.set()
    if sample_tree:
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the replay failed with exit status {process.returncode}: {command}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, max(peak_tree, usage.ru_maxrss) / 1024, cpu


def engine_status(source: Path, extra_env: dict[str, str]) -> str:
    """Which engine the command runs from ``source``: compiled (mypyc) or plain Python."""
    env = dict(os.environ, PYTHONPATH=str(source), **extra_env)
    found = subprocess.run(
        [sys.executable, "-m", "charterdesk.native", "--status"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or "engine: plain Python (this checkout has no compiled engine)"


def profile(protocol: Path, path: Path, out: Path) -> None:
    import cProfile
    import pstats

    from charterdesk.replay_command import main

    os.environ["CHARTERDESK_REPLAY_WORKERS"] = "1"  # cProfile sees one process only
    profiler = cProfile.Profile()
    profiler.runcall(main, ["--protocol", str(protocol), str(path), "-o", str(out)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _spread(values: list[float], unit: str = "s") -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} {unit}"
    return f"{statistics.median(values):.2f} {unit} (runs: {', '.join(f'{v:.2f}' for v in values)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--protocol")
    parser.add_argument("--data", default=os.environ.get("CHARTERDESK_BENCH_DATA", tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table gives medians")
    parser.add_argument("--workers", type=int, help="processes for the replay (default: the command's)")
    parser.add_argument("--baseline", help="another checkout of the project to run the same way, A/B")
    parser.add_argument("--pure", action="store_true", help="also run this checkout as plain Python, A/B")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    protocol = _protocol_path(args.protocol)
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    path = _events_file(args.events, args.seed, folder)
    contenders: list[tuple[str, Path, dict[str, str]]] = [("this checkout", ROOT, {})]
    if args.pure:
        contenders.append(("this checkout, plain Python", ROOT, {"CHARTERDESK_PURE_PYTHON": "1"}))
    if args.baseline:
        contenders.append(("baseline", Path(args.baseline).resolve(), {}))

    floors: list[float] = []
    floor_cpus: list[float] = []
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name, _, _ in contenders}
    lines = 0
    outputs: dict[str, Path] = {}
    for round_number in range(args.repeat):
        floor, floor_cpu, lines = json_floor(path)
        floors.append(floor)
        floor_cpus.append(floor_cpu)
        # Alternate who goes first, so that neither always meets the same neighbours' load.
        order = contenders if round_number % 2 == 0 else contenders[::-1]
        for name, source, extra_env in order:
            label = name.replace(" ", "-").replace(",", "")
            outputs[name] = out = folder / f"replay-{args.events}-{args.seed}.{label}.out.jsonl"
            runs[name].append(
                replay_child(protocol, path, out, source=source, workers=args.workers, extra_env=extra_env)
            )

    # The whole process tree's memory, in one more round per contender that is not timed.
    tree_peaks = {
        name: replay_child(
            protocol,
            path,
            outputs[name],
            source=source,
            workers=args.workers,
            extra_env=extra_env,
            sample_tree=True,
        )[2]
        for name, source, extra_env in contenders
    }
    floor = statistics.median(floors)
    floor_cpu = statistics.median(floor_cpus)
    medians: dict[str, float] = {}
    cpu_medians: dict[str, float] = {}
    for name, source, extra_env in contenders:
        with open(outputs[name], "rb") as stream:
            tickets = sum(1 for _ in stream)
        times = [run[0] for run in runs[name]]
        replay = medians[name] = statistics.median(times)
        peak_mb = max(run[1] for run in runs[name])
        tree_mb = tree_peaks[name]
        cpu_times = [run[3] for run in runs[name]]
        cpu_medians[name] = statistics.median(cpu_times)
        rows = [
            ("engine", engine_status(source, extra_env).removeprefix("engine: ")),
            ("events", f"{lines:,}"),
            ("tickets", f"{tickets:,}"),
            ("replay seconds (command, wall)", _spread(times)),
            ("replay events/s", f"{lines / replay:,.0f}"),
            ("replay CPU seconds (user + sys)", _spread(cpu_times)),
            ("peak MB, largest process", f"{peak_mb:,.0f} MB"),
            ("peak MB, process tree (sampled, untimed round)", f"{tree_mb:,.0f} MB"),
            ("JSON floor seconds (json.loads)", f"{_spread(floors)} ({lines / floor:,.0f} lines/s)"),
            ("JSON floor CPU seconds", _spread(floor_cpus)),
            ("ratio replay / floor", f"{replay / floor:.2f}x"),
            (
                "ratio replay / floor, CPU",
                f"{cpu_medians[name] / floor_cpu:.2f}x (every process of the replay summed; "
                f"{cpu_medians[name] / floor_cpu / (args.workers or 2):.2f}x per process if shared evenly)",
            ),
        ]
        _table(f"{name} ({'workers: ' + str(args.workers) if args.workers else 'default workers'})", rows)
        verdicts = [
            ("events/s >= 100,000", lines / replay >= 100_000),
            ("peak < 1 GB", tree_mb < 1024),
            ("within 5x of floor", replay / floor <= 5),
            ("no slower than the floor (wall)", replay <= floor),
        ]
        print("targets: " + ", ".join(f"{what}: {'ok' if ok else 'MISSED'}" for what, ok in verdicts))
    ours = outputs["this checkout"].read_bytes()
    for name, _, _ in contenders[1:]:
        same = outputs[name].read_bytes() == ours
        print(
            f"\nspeed-up (median {name} / median this checkout): "
            f"{medians[name] / medians['this checkout']:.2f}x wall, "
            f"{cpu_medians[name] / cpu_medians['this checkout']:.2f}x CPU; outputs identical: {same}"
        )
    if args.profile:
        profile(protocol, path, folder / f"replay-{args.events}-{args.seed}.profile.out.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
