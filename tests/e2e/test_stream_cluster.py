"""A 3-broker cluster (replication 3, min.insync.replicas 2): the leader of a partition is
SIGKILLed mid-stream. At-least-once loses nothing; exactly-once loses nothing and a
read_committed consumer sees no duplicate.

The cluster is this module's own (`docker/kafka-local start --brokers 3`), so killing a
broker disturbs no other test.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient

from tests.e2e.conftest import KAFKA_LOCAL
from tests.e2e.test_stream_support import (
    Feed,
    RouteTopics,
    Workers,
    account,
    accounted,
    assert_nothing_raw,
    group_id,
    read_all,
    report,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

N = 2000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    state = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "LOGSCRUB_KAFKA_STATE": str(state), "PYTHON": sys.executable}
    started = None
    for _attempt in range(3):
        # Three contiguous broker ports and three controller ports: another process may
        # hold one of them, then kafka-local refuses and another range is tried.
        port = random.randint(20_000, 40_000)  # noqa: S311 — a port, not a secret
        started = subprocess.run(  # noqa: S603 — a fixed script of this repository
            [str(KAFKA_LOCAL), "start", "--brokers", "3", "--port", str(port),
             "--controller-port", str(port + 100), "--timeout", "240",
             "--set", "broker.session.timeout.ms=4000",
             "--set", "broker.heartbeat.interval.ms=1000"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if started.returncode == 0:
            break
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, capture_output=True, timeout=120, check=False)  # noqa: S603
    assert started is not None and started.returncode == 0, started.stderr[-3000:] if started else ""
    try:
        yield started.stdout.strip().splitlines()[-1], env
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, capture_output=True, timeout=180, check=False)  # noqa: S603


def _route(bootstrap: str, tmp_path: Path, label: str) -> RouteTopics:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="logscrub-e2e-admin")
    names = {}
    try:
        for kind in ("raw", "clean", "quarantine"):
            name = f"e2e.cluster.{kind}.{label}.{uuid.uuid4().hex[:6]}"
            admin.create_topics(
                {name: {"num_partitions": 3, "replication_factor": 3,
                        "configs": {"min.insync.replicas": "2"}}},
                wait_for_metadata=True,
            )
            names[kind] = name
    finally:
        admin.close()
    routes_file = tmp_path / f"routes-{label}.yaml"
    routes_file.write_text(
        "routes:\n  - name: e2e\n"
        f"    source: {names['raw']}\n    policy: default\n"
        f"    sink: {names['clean']}\n    quarantine: {names['quarantine']}\n"
        "    partitions: 3\n    replication: 3\n",
        encoding="utf-8",
    )
    return RouteTopics(names["raw"], names["clean"], names["quarantine"], 3, routes_file)


def _leader(bootstrap: str, topic: str, partition: int) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="logscrub-e2e-admin")
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    for p in described["partitions"]:
        # kafka-python's describe_topics: each partition as its Metadata response fields.
        if p.get("partition_index", p.get("partition")) == partition:
            return int(p.get("leader_id", p.get("leader")))
    raise AssertionError(f"no leader for {topic}[{partition}]")


def _outputs(w) -> float:
    text = w.metrics_text()
    return w.counter("logscrub_stream_records_out", text) + w.counter(
        "logscrub_stream_records_quarantined", text
    )


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_leader_killed_mid_stream_loses_nothing(cluster, tmp_path: Path, guarantee: str) -> None:
    bootstrap, env = cluster
    route = _route(bootstrap, tmp_path, guarantee)
    workers = Workers(bootstrap, tmp_path)
    feed = Feed(bootstrap, route.raw)
    victim = None
    try:
        w = workers.start(route, group_id(f"cluster-{guarantee}"), guarantee=guarantee)
        w.wait_healthy(timeout=180)
        feed.send_in_background(list(range(N)), chunk=100, pause_s=0.05, poison_every=50)
        deadline = time.monotonic() + 180
        while _outputs(w) < N * 0.25:
            assert time.monotonic() < deadline, w.log_tail()
            time.sleep(0.1)
        victim = _leader(bootstrap, route.raw, 0)
        killed = subprocess.run(  # noqa: S603 — a fixed script of this repository
            [str(KAFKA_LOCAL), "kill-broker", str(victim)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert killed.returncode == 0, killed.stderr[-2000:]
        feed.join(timeout=300)
        records = read_all(
            bootstrap, [route.clean, route.quarantine], accounted(feed, route, N), timeout=300
        )
        assert w.proc.poll() is None, "the worker survives the leader's death"
    finally:
        feed.close()
        workers.close()
        if victim is not None:
            subprocess.run(  # noqa: S603 — back to three brokers for the next test
                [str(KAFKA_LOCAL), "start-broker", str(victim)],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )
    acc = account(feed, route, records)
    report(acc.figures(f"3 brokers, leader {victim} killed/{guarantee}"))
    assert acc.lost == [], f"lost inputs: {acc.lost[:20]}"
    if guarantee == "exactly_once":
        assert acc.duplicates == 0
    assert_nothing_raw((r.value for r in records), range(N), "clean/quarantine topics")
