"""File mode on several cores: `logscrub scrub --jobs N` against `--jobs 1`, same file.

A generated corpus file (30% PII, NER off) is cleaned by the real command in a
subprocess, once per job count; wall time, lines/s and the ratio to `--jobs 1` measured in
the same run are printed, and the outputs are compared byte for byte (order and content
must not depend on the number of processes). Target: `--jobs 2` at least 1.7 times
`--jobs 1` on 200,000 lines on a 2-core machine with nothing else running.

Usage::

    python benchmarks/jobs_bench.py                    # 200,000 lines, jobs 1 and 2
    python benchmarks/jobs_bench.py --lines 20000 --jobs 1,2
"""

# ruff: noqa: T201, S603  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.tools.corpus import generate_lines

_BENCH_SECRET = "jobs-bench-secret-0123456789-abcdefghijk"  # noqa: S105 -- public, benchmark only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--jobs", default="1,2", help="job counts; the first is the baseline")
    args = parser.parse_args()
    env = {**os.environ, "LOGSCRUB_KEY": _BENCH_SECRET}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.log"
        with src.open("w", encoding="utf-8") as f:
            for line in generate_lines(args.lines, seed=11, density=0.3):
                f.write(line + "\n")
        results: list[tuple[int, float, Path]] = []
        for jobs in (int(j) for j in args.jobs.split(",")):
            out = Path(tmp) / f"out{jobs}.log"
            cmd = [sys.executable, "-m", "pipeline", "scrub", "--no-ner", "-q", "--jobs", str(jobs)]
            started = time.perf_counter()
            subprocess.run([*cmd, "-i", str(src), "-o", str(out)], env=env, check=True)
            results.append((jobs, time.perf_counter() - started, out))
        base = results[0][1]
        print(f"| jobs | lines | wall s | lines/s | vs --jobs {results[0][0]} | same output |")
        print("|---|---|---|---|---|---|")
        for jobs, took, out in results:
            same = filecmp.cmp(results[0][2], out, shallow=False)
            print(
                f"| {jobs} | {args.lines:,} | {took:.1f} | {args.lines / took:,.0f} | "
                f"{base / took:.2f}x | {'yes' if same else 'NO'} |"
            )


if __name__ == "__main__":
    main()
