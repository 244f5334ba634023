"""Wall-clock time of the protocol commands as a user runs them: whole processes, interpreter start included.

    python bench/bench_protocol.py                 # 10 runs each, the example protocol
    python bench/bench_protocol.py -n 3 --cmd charterdesk
    python bench/bench_protocol.py --only validate

Targets (not asserted): ``protocol validate`` under 0.5 s. Rendering a PDF is dominated by
WeasyPrint (a few seconds); it is measured so that a regression shows.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "charterdesk" / "demo" / "acme-outdoor.protocol.yaml"
TARGETS = {"validate": 0.5}


def time_command(argv: list[str], runs: int) -> list[float]:
    """Seconds per run; the first run is not discarded (a user's first run is real too)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, cwd=REPO)
        timings.append(time.perf_counter() - start)
        if done.returncode != 0:
            errors = done.stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"{shlex.join(argv)} exited {done.returncode}:\n{errors}")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument(
        "--cmd",
        default=shlex.join([sys.executable, "-m", "charterdesk"]),
        help="how to start charterdesk (default: this Python with -m charterdesk)",
    )
    parser.add_argument("--file", type=Path, default=EXAMPLE, help="the protocol file (default: the example)")
    parser.add_argument("--only", choices=["validate", "render-pdf", "render-html"], action="append")
    args = parser.parse_args(argv)

    base = shlex.split(args.cmd)
    out_dir = Path(tempfile.mkdtemp(prefix="charterdesk-bench-"))
    commands = {
        "validate": [*base, "protocol", "validate", str(args.file)],
        "render-html": [
            *base,
            "protocol",
            "render",
            str(args.file),
            "--format",
            "html",
            "-o",
            str(out_dir / "x.html"),
        ],
        "render-pdf": [
            *base,
            "protocol",
            "render",
            str(args.file),
            "--format",
            "pdf",
            "-o",
            str(out_dir / "x.pdf"),
        ],
    }
    chosen = args.only or ["validate", "render-pdf"]

    print(f"{'command':<14} {'runs':>4} {'median':>8} {'min':>8} {'max':>8}  target")
    for name in chosen:
        timings = time_command(commands[name], args.runs)
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f"< {target:.1f} s " + ("ok" if statistics.median(timings) < target else "MISSED")
        print(
            f"{name:<14} {len(timings):>4} {statistics.median(timings):>7.3f}s "
            f"{min(timings):>7.3f}s {max(timings):>7.3f}s  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
