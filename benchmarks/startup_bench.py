"""Start-up: `logscrub scrub` on an empty input with NER off, wall time until it returns.

Runs the real command (``python -m pipeline scrub -i /dev/null --no-ner -q``) in a fresh
process ``--runs`` times and prints the median, min and max wall time, plus the load
average before and after (on a shared machine the figure moves with it). With
``--baseline DIR`` the same command also runs from another checkout (the source tree of
``DIR`` first on ``PYTHONPATH``), interleaved with this one, so both see the same load.
Target (issue 13): under 1 second.

A breakdown of where the time goes::

    python -X importtime -m pipeline scrub -i /dev/null --no-ner -q 2> imports.txt

Usage::

    python benchmarks/startup_bench.py                        # this checkout, 15 runs
    python benchmarks/startup_bench.py --baseline ../main --runs 21
"""

# ruff: noqa: T201, S603  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_BENCH_SECRET = "startup-bench-secret-0123456789-abcdefgh"  # noqa: S105 -- public, benchmark only
_COMMAND = ["-m", "pipeline", "scrub", "-i", os.devnull, "--no-ner", "-q"]
_HERE = Path(__file__).resolve().parent.parent


def _run(tree: Path, env: dict[str, str]) -> float:
    path = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    run_env = {**env, "PYTHONPATH": path}
    start = time.perf_counter()
    subprocess.run([sys.executable, *_COMMAND], cwd=tree, env=run_env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare")
    args = parser.parse_args()
    env = {**os.environ, "LOGSCRUB_KEY": _BENCH_SECRET}
    trees = {"this": _HERE}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    for tree in trees.values():  # warm: page cache, .pyc files, the calibration cache
        _run(tree, env)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            times[name].append(_run(tree, env))
    load_after = os.getloadavg()
    print(f"command: {Path(sys.executable).name} {' '.join(_COMMAND)}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    for name, tree in trees.items():
        ts = times[name]
        print(
            f"{name:8} median {statistics.median(ts):.3f} s  min {min(ts):.3f}  "
            f"max {max(ts):.3f}  ({len(ts)} runs, {tree})"
        )


if __name__ == "__main__":
    main()
