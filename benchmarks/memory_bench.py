"""Memory benchmark: peak RSS with and without the NER model.

Two measurements, each in a fresh process so one does not inherit the other's heap:

* ``engine``: a process that imports what a worker imports (the engine, faust, aiokafka),
  builds the default-policy engine and pushes corpus records through ``Engine.apply``;
  peak RSS is the kernel's high-water mark (``VmHWM``) at the end. No broker needed, so
  this one runs in the smoke test too.
* ``worker`` (``--worker``, needs Kafka): a real ``logscrub`` worker subprocess draining a
  raw topic (see ``stream_bench.py``); peak RSS is its ``VmHWM`` read just before it is
  stopped. This is what the target (300 MB without NER, 600 MB with) is about.

Usage::

    python benchmarks/memory_bench.py                 # engine processes, NER off and on
    python benchmarks/memory_bench.py --worker        # + real workers against a local broker
"""

# ruff: noqa: T201, S603  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BENCH_SECRET, ROOT, corpus, log, md_table  # noqa: E402

MB = 1024 * 1024


def proc_status_kb(pid: int | str = "self") -> dict[str, int]:
    """``VmRSS``/``VmHWM``/... of a process from /proc, in kB (Linux)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Vm"):
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    out[key] = int(parts[0])
    except OSError:
        pass
    return out


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The peak resident set size of a process in MiB (``VmHWM``), or None."""
    kb = proc_status_kb(pid).get("VmHWM")
    if kb is None:
        import resource

        if pid != "self":
            return None
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    return round(kb / 1024, 1)


def _child(ner: bool, records: int, density: float, stream_libs: bool) -> dict[str, Any]:
    """Runs inside the measured process."""
    t0 = time.perf_counter()
    base = proc_status_kb().get("VmRSS", 0) / 1024
    if stream_libs:
        import aiokafka  # noqa: F401
        import faust  # noqa: F401
    from pipeline.core.engine import Engine
    from pipeline.core.policy import load_policy
    from pipeline.keys import KeyRing

    engine = Engine(
        load_policy(), keys=KeyRing.from_secret(BENCH_SECRET), ner=None if ner else False
    )
    built = proc_status_kb().get("VmRSS", 0) / 1024
    lines = corpus(records, density, seed=0)
    applied = 0
    for line in lines:
        if engine.apply(line).value is not None:
            applied += 1
    del lines
    detector = getattr(engine.scanner, "_ner", None)
    return {
        "records": records,
        "density": density,
        "ner_requested": ner,
        "ner_active": bool(
            ner and detector is not None and getattr(detector, "_nlp", None) is not None
        ),
        "stream_libs_imported": stream_libs,
        "rss_start_mb": round(base, 1),
        "rss_after_build_mb": round(built, 1),
        "rss_end_mb": round(proc_status_kb().get("VmRSS", 0) / 1024, 1),
        "peak_rss_mb": peak_rss_mb(),
        "records_out": applied,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def engine_process(
    ner: bool, records: int, density: float = 0.3, stream_libs: bool = True, timeout: float = 900
) -> dict[str, Any]:
    """Run one engine process and return its memory figures."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--records",
        str(records),
        "--density",
        str(density),
    ]
    if ner:
        cmd.append("--ner")
    if not stream_libs:
        cmd.append("--no-stream-libs")
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(
    *,
    records: int = 5_000,
    ner_records: int = 1_000,
    ner: bool = True,
    worker: bool = False,
    worker_records: int = 20_000,
) -> dict[str, Any]:
    """Engine processes without and with NER; optionally real workers (needs Kafka)."""
    rows: list[dict[str, Any]] = []
    log(f"memory: engine process, NER off, {records} records")
    rows.append({"process": "engine", **engine_process(False, records)})
    if ner:
        log(f"memory: engine process, NER on, {ner_records} records")
        rows.append({"process": "engine", **engine_process(True, ner_records)})
    if worker:
        from benchmarks import stream_bench

        rows.extend(
            stream_bench.worker_memory(
                records=worker_records, ner_modes=(False, True) if ner else (False,)
            )
        )
    return {"rows": rows}


def table(result: dict[str, Any]) -> str:
    rows = []
    for r in result["rows"]:
        rows.append(
            [
                r["process"],
                "on" if r.get("ner_active", r.get("ner_requested")) else "off",
                f"{r.get('records', '-'):,}" if isinstance(r.get("records"), int) else "-",
                r.get("rss_after_build_mb", "-"),
                r.get("peak_rss_mb", "-"),
                r.get("target_mb", 600 if r.get("ner_requested") else 300),
            ]
        )
    return md_table(
        ["process", "NER", "records", "RSS after start (MB)", "peak RSS (MB)", "target (MB)"], rows
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-stream-libs", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--density", type=float, default=0.3, help=argparse.SUPPRESS)
    ap.add_argument("--records", type=int, default=5_000)
    ap.add_argument("--ner-records", type=int, default=1_000)
    ap.add_argument("--no-ner", action="store_true")
    ap.add_argument("--worker", action="store_true", help="also measure real workers (Kafka)")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.ner, args.records, args.density, not args.no_stream_libs)))
        return 0
    result = run(
        records=args.records, ner_records=args.ner_records, ner=not args.no_ner, worker=args.worker
    )
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
