"""Findings do not change by accident: the engine on a fixed corpus against the snapshot.

A change in what is found (entity, detector, field path, span), in how a line is read
(kind, issue) or in the cleaned output fails here. When the change is intended,
regenerate with `python -m pipeline.tools.snapshot --write` and explain it in the commit.
"""

import orjson
import pytest

from pipeline.tools.snapshot import LOGHUB, SNAPSHOT, corpus, snapshot_engine, take


@pytest.fixture(scope="module")
def expected():
    return [orjson.loads(line) for line in SNAPSHOT.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def actual():
    return list(take(snapshot_engine(), corpus()))


def _compare(expected, actual, prefix):
    want = [e for e in expected if e["source"].startswith(prefix)]
    got = [a for a in actual if a["source"].startswith(prefix)]
    assert want, f"the snapshot holds no {prefix} lines"
    assert len(got) == len(want), f"{prefix}: {len(got)} lines now, {len(want)} in the snapshot"
    changed = [(i, w, g) for i, (w, g) in enumerate(zip(want, got, strict=True)) if w != g]
    report = "\n".join(
        f"line {i} ({w['source']}):\n  was {w}\n  now {g}" for i, w, g in changed[:5]
    )
    assert not changed, f"{len(changed)} of {len(want)} {prefix} lines changed:\n{report}"


def test_generated_corpus_findings_match_the_snapshot(expected, actual):
    _compare(expected, actual, "generated")


def test_loghub_findings_match_the_snapshot(expected, actual):
    if not LOGHUB.is_dir():
        pytest.skip(f"the loghub sample logs are not beside the repository ({LOGHUB})")
    _compare(expected, actual, "loghub")
