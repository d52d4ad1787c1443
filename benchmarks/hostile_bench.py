"""Records with many findings: time per record as the number of findings grows.

One record holds N phone numbers (`13800000000 13800000001 ...`, in a JSON `msg` field and
as a text line). Overlap resolution used to compare every finding with every kept one, so
time grew with N squared (80,000 numbers: about 165 s, which stalled a worker). The
acceptance figure: 80,000 numbers in under 5 s in file mode.

The baseline, timed in the same process, is a record of the same length with no personal
data (N words `abcdefghijk`): the ratio says what the findings themselves cost. A
"per finding" column that stays flat as N grows is linear behaviour.

Usage::

    python benchmarks/hostile_bench.py                   # N = 5,000 / 20,000 / 80,000
    python benchmarks/hostile_bench.py --counts 1000,80000
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output

from __future__ import annotations

import argparse
import time

import orjson

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing

_BENCH_SECRET = "hostile-bench-secret-0123456789-abcdefgh"  # noqa: S105 -- public, benchmark only


def _time(engine: Engine, raw: bytes) -> tuple[float, int]:
    started = time.process_time()
    out = engine.apply(raw)
    elapsed = time.process_time() - started
    return elapsed, sum(out.entities.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="5000,20000,80000", help="numbers of findings")
    args = parser.parse_args()
    engine = Engine(load_policy(), keys=KeyRing.from_secret(_BENCH_SECRET, "b1"), ner=False)
    print("| form | findings | CPU s | per finding (µs) | baseline CPU s (no PII) | ratio |")
    print("|---|---|---|---|---|---|")
    for n in (int(x) for x in args.counts.split(",")):
        phones = " ".join(f"138{i:08d}" for i in range(n))
        words = " ".join("abcdefghijk" for _ in range(n))
        for form, raw, base in (
            ("json msg", orjson.dumps({"msg": phones}), orjson.dumps({"msg": words})),
            ("text line", phones.encode(), words.encode()),
        ):
            engine.forget_values()
            took, found = _time(engine, raw)
            engine.forget_values()
            base_took, _ = _time(engine, base)
            print(
                f"| {form} | {found:,} of {n:,} | {took:.2f} | {took / n * 1e6:.1f} | "
                f"{base_took:.3f} | {took / max(base_took, 1e-9):.0f}x |"
            )


if __name__ == "__main__":
    main()
