"""Hot reload under load, against a real broker: the policy changes twice while records flow,
one change in between is invalid. Nothing is lost, every clean record names a valid policy,
the invalid one never applies, and no partition goes back to an older policy."""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.stream.manifest import find_manifest
from tests.e2e.test_stream_support import (
    DEFAULT_POLICY,
    Feed,
    Workers,
    account,
    accounted,
    assert_nothing_raw,
    group_id,
    make_route,
    read_all,
    report,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(400)]

N = 3000
# Records sent once the third policy is applied: on a slow machine the first N can all be
# out before it is, and the test asks that each valid policy cleaned something.
TAIL = 200


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _reloads(w, result: str) -> float:
    text = w.metrics_text()
    found = re.search(rf'logscrub_config_reloads_total\{{result="{result}"\}} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def _wait(what: str, ok, w, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout}s:\n{w.log_tail()}")


def _publish(path: Path, text: str) -> None:
    """Replace ``path`` at once, as a deployment does: the watcher, polling every 0.3 s,
    could otherwise read a half-written policy (counted invalid, or a shorter valid one)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _outputs(w) -> float:
    text = w.metrics_text()
    return w.counter("logscrub_stream_records_out", text) + w.counter(
        "logscrub_stream_records_quarantined", text
    )


@pytest.mark.parametrize("runner", ["faust", "faust-child", "batch"])
def test_policy_reloads_under_load_lose_nothing_and_never_apply_an_invalid_policy(
    kafka_bootstrap: str, topic_factory, tmp_path: Path, runner: str
) -> None:
    base = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "name: default", "name: e2e_reload", 1
    )
    policy = tmp_path / "e2e_reload.yaml"
    policy.write_text(base, encoding="utf-8")
    generalize = "IP_ADDRESS:      {type: generalize}"
    assert generalize in base
    second = base.replace(generalize, "IP_ADDRESS:      {type: redact}", 1)
    invalid = second.replace("version: 1", "version: 5", 1) + "\nnot_a_section: 1\n"
    third = second + "\n# third version\n"
    valid = [_digest(base), _digest(second), _digest(third)]

    route = make_route(tmp_path, topic_factory, partitions=3, policy=policy)
    workers = Workers(kafka_bootstrap, tmp_path)
    feed = Feed(kafka_bootstrap, route.raw)
    try:
        w = workers.start(
            route,
            group_id(f"reload-{runner}"),
            runner=runner.removesuffix("-child"),
            extra_env={
                "LOGSCRUB_RELOAD_INTERVAL_S": "0.3",
                # The reload path with the engine child (opt-in) is its own: the policy
                # and key ring cross a pipe before the next batch.
                "LOGSCRUB_ENGINE_PROCESS": str(runner.endswith("-child")).lower(),
            },
        )
        w.wait_healthy(timeout=120)
        feed.send_in_background(list(range(N)), chunk=50, pause_s=0.1)
        _wait("a quarter of the outputs", lambda: _outputs(w) >= N * 0.25, w)
        _publish(policy, second)
        _wait("the second policy applied", lambda: _reloads(w, "applied") >= 1, w)
        _publish(policy, invalid)
        _wait("the invalid policy refused", lambda: _reloads(w, "invalid") >= 1, w)
        time.sleep(1.0)  # records keep flowing under the second policy meanwhile
        _publish(policy, third)
        _wait("the third policy applied", lambda: _reloads(w, "applied") >= 2, w)
        feed.join()
        feed.send(range(N, N + TAIL))
        records = read_all(
            kafka_bootstrap,
            [route.clean, route.quarantine],
            accounted(feed, route, N + TAIL),
            timeout=180,
        )
    finally:
        feed.close()
        workers.close()
    acc = account(feed, route, records)
    report(acc.figures(f"reload under load/{runner}"))
    assert acc.lost == [] and acc.duplicates == 0
    assert_nothing_raw((r.value for r in records), range(N + TAIL), "clean/quarantine topics")

    by_partition: dict[int, list[tuple[int, str]]] = defaultdict(list)
    seen: set[str] = set()
    for r in records:
        if r.topic != route.clean:
            continue
        manifest = find_manifest(list(r.headers or []))
        assert manifest is not None
        assert manifest.digest in valid, "a record was cleaned under a policy that is not valid"
        seen.add(manifest.digest)
        by_partition[r.partition].append((r.offset, manifest.digest))
    assert _digest(invalid) not in seen
    assert seen == set(valid), f"policies seen: {sorted(seen)}"
    for rows in by_partition.values():
        order = [valid.index(d) for _, d in sorted(rows)]
        assert order == sorted(order), "a partition went back to an older policy"
    report(
        f"reload/{runner}: digests per clean record "
        + ", ".join(
            f"{d}={sum(1 for rows in by_partition.values() for _, x in rows if x == d)}"
            for d in valid
        )
    )
