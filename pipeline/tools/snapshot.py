"""Findings snapshot: what the engine finds on a fixed corpus, to catch changes by accident.

Every line of a fixed corpus (the synthetic generator at several seeds and densities, and
real loghub lines when ../shared/data/loghub is beside the repository) is cleaned with the
default policy, NER off and a public test key. For each line the snapshot holds the
findings (field path, entity, detector, span in the value as written), the outcome kind
and issue, and a digest of the cleaned output. ``tests/unit/test_findings_snapshot.py``
compares a fresh run with the committed file; a detector or engine change that alters a
finding must regenerate the file and say why in its commit:

    python -m pipeline.tools.snapshot --write      # regenerate tests/fixtures/findings.jsonl

Security: the corpus is synthetic or public sample logs, and the snapshot stores spans and
digests, never values.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.tools.corpus import generate_lines

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "findings.jsonl"
LOGHUB = ROOT.parent / "shared" / "data" / "loghub"
SNAPSHOT_SECRET = "findings-snapshot-secret-0123456789-abcd"  # noqa: S105 — public: synthetic data only
GENERATED = [(seed, density, 200) for seed in (1, 2) for density in (0.0, 0.3, 1.0)]
LOGHUB_LINES_PER_FILE = 60


def corpus(loghub: Path = LOGHUB) -> Iterator[tuple[str, str]]:
    """``(source, line)`` for every line of the fixed corpus, in a fixed order."""
    for seed, density, n in GENERATED:
        for line in generate_lines(n, seed=seed, density=density):
            yield f"generated seed={seed} density={density}", line
    if loghub.is_dir():
        for path in sorted(loghub.glob("*.log")):
            with path.open(encoding="utf-8", errors="replace") as f:
                for i, line in enumerate(f):
                    if i >= LOGHUB_LINES_PER_FILE:
                        break
                    yield f"loghub {path.name}", line.rstrip("\n")


def snapshot_engine() -> Engine:
    """The engine the snapshot is taken with (default policy, NER off, a public key)."""
    return Engine(load_policy(), keys=KeyRing.from_secret(SNAPSHOT_SECRET, "s1"), ner=False)


def take(engine: Engine, lines: Iterator[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """One snapshot entry per line."""
    for source, line in lines:
        outcome, trace = engine.explain(line.encode("utf-8"))
        findings = [[t.path, t.entity, t.detector, *(t.span or (None, None))] for t in trace]
        digest = hashlib.sha256(outcome.value or b"").hexdigest()[:16]
        yield {
            "source": source,
            "kind": outcome.kind,
            "issue": outcome.issue,
            "findings": findings,
            "output": digest,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description="Take the findings snapshot.")
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT}")
    args = parser.parse_args()
    entries = list(take(snapshot_engine(), corpus()))
    data = b"".join(orjson.dumps(e) + b"\n" for e in entries)
    if args.write:
        SNAPSHOT.write_bytes(data)
        print(f"wrote {len(entries)} entries to {SNAPSHOT}")  # noqa: T201 — a tool's output
    else:
        print(data.decode("utf-8"), end="")  # noqa: T201 — a tool's output


if __name__ == "__main__":
    main()
