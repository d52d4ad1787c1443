"""Peak RSS of the engine alone as records go by, with and without the record gate.

``Engine.apply`` over ``generate_lines(N, seed=3, density=0.3)`` (shipped default policy,
NER off) in this process; every 50,000 records the peak RSS and the sizes of the engine's
bounded tables are printed. ``--no-gate`` switches the native record gate off (every
record walked in Python), for the comparison.

Usage::

    python benchmarks/engine_memory_growth.py               # 200,000 records, with the gate
    python benchmarks/engine_memory_growth.py --no-gate
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.core.engine import Engine  # noqa: E402
from pipeline.core.policy import load_policy  # noqa: E402
from pipeline.keys import KeyRing  # noqa: E402
from pipeline.tools.corpus import generate_lines  # noqa: E402

_SECRET = "memory-growth-secret-0123456789-abcdefg"  # noqa: S105 -- public, benchmark only


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--no-gate", action="store_true")
    args = ap.parse_args()
    engine = Engine(load_policy(None), keys=KeyRing.from_secret(_SECRET), ner=False)
    if args.no_gate:
        engine._gate = None  # noqa: SLF001 — the comparison: every record walked in Python
    print(f"after start: peak RSS {_peak_mb():.0f} MB (gate {'off' if args.no_gate else 'on'})")
    for i, line in enumerate(generate_lines(args.records, seed=3, density=0.3), 1):
        engine.apply(line.encode())
        if i % 50_000 == 0:
            gate = engine._gate  # noqa: SLF001
            print(
                f"{i:,} records: peak RSS {_peak_mb():.0f} MB; gate paths "
                f"{len(gate._native) if gate else '-'}, decisions {len(engine._decisions)}, "  # noqa: SLF001
                f"value memo {len(engine._memo)}"  # noqa: SLF001
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
