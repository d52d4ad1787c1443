"""Pathological lines: how long one record takes, and what comes out (issue 13's bad input).

Each case is cleaned by ``Engine.apply`` (shipped default policy, NER off) as a text line
and, where it fits the record limit, inside a JSON record (``{"msg": ...}``), twice: the
first time the record gate has not seen its paths and keys yet, the second time it has.
The target: each under one second, none passed without being read (an oversize record
becomes a placeholder; everything else is scanned).

The baseline, timed in the same process, is an ordinary log line of the same length
(``lorem ipsum`` words): the ratio says what the pathological shape itself costs.

Usage::

    python benchmarks/pathological_bench.py
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.core.engine import Engine  # noqa: E402
from pipeline.core.policy import load_policy  # noqa: E402
from pipeline.keys import KeyRing  # noqa: E402

_SECRET = "pathological-bench-secret-0123456789-ab"  # noqa: S105 -- public, benchmark only
MB = 1_000_000


def cases() -> list[tuple[str, bytes]]:
    deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    return [
        ("invalid UTF-8, 1 MB", b"login \xff\xfe " * (MB // 9)),
        ("10 MB line", b"x" * (10 * MB)),
        ("10,000-deep nesting", deep),
        ("1 MB of digits", b"7" * MB),
        ("1 MB of a@a@a@", b"a@" * (MB // 2)),
        ("1 MB of dots and digits (an endless IP)", b"1." * (MB // 2)),
        ("1 MB of colons and hex (an endless IPv6)", b"ab:" * (MB // 3)),
        ("1 MB of base64-ish", b"QUJDRA" * (MB // 6)),
    ]


def _time(engine: Engine, raw: bytes) -> tuple[float, str, bool]:
    started = time.process_time()
    out = engine.apply(raw)
    elapsed = time.process_time() - started
    value = out.value or b""
    return elapsed, out.issue or out.kind, value == raw


def main() -> int:
    engine = Engine(load_policy(None), keys=KeyRing.from_secret(_SECRET), ner=False)
    limit = engine.policy.model.limits.max_bytes
    print(f"record limit (limits.max_bytes): {limit:,} bytes\n")
    print(
        "| case | form | bytes | seconds (1st) | seconds (2nd) | outcome | output = input "
        "| baseline s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, raw in cases():
        forms = [("text line", raw)]
        if len(raw) <= limit - 16 and not raw.startswith(b"{"):
            text = raw.decode("utf-8", "replace")
            forms.append(("JSON msg", orjson.dumps({"msg": text})))
        elif raw.startswith(b"{"):
            forms = [("JSON record", raw)]
        for form, line in forms:
            first, outcome, same = _time(engine, line)
            second, _, _ = _time(engine, line)
            words = (b"lorem ipsum " * (len(line) // 12 + 1))[: len(line)]
            baseline_line = words if form == "text line" else orjson.dumps({"msg": words.decode()})
            baseline, _, _ = _time(engine, baseline_line)
            worst = max(worst, first, second)
            ratio = max(first, second) / baseline if baseline > 0 else float("nan")
            print(
                f"| {name} | {form} | {len(line):,} | {first:.3f} | {second:.3f} | {outcome} "
                f"| {'yes' if same else 'no'} | {baseline:.3f} | {ratio:.1f}x |"
            )
    print(f"\nslowest: {worst:.3f} s (target: under 1 s each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
