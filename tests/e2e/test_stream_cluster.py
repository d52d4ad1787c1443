"""A 3-broker cluster, the leader of a partition killed mid-stream: both runners lose
nothing (exactly-once: no duplicates for a read_committed reader).

The cluster is this module's own (``docker/kafka-local start --brokers 3`` on free loopback
ports, a private state directory), so killing a broker disturbs no other test. Topics have
replication 3 and min.insync.replicas 2: with one broker gone, writes go on.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.tools.local_kafka import BrokerStartError, LocalBroker
from tests.e2e.test_stream_support import (
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

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]

N = 2000
POISON_EVERY = 50


def _free_block(count: int) -> int:
    """A first port of ``count`` consecutive loopback ports free right now."""
    for _ in range(200):
        base = random.randint(20_000, 60_000)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.fail("no block of free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    base = _free_block(6)
    try:
        broker = LocalBroker.start(
            state=tmp_path_factory.mktemp("cluster-kafka"),
            brokers=3,
            port=base,
            controller_port=base + 3,
            # A killed broker is fenced after 4 s instead of 9: leadership moves sooner.
            extra_args=(
                "--set",
                "broker.session.timeout.ms=4000",
                "--set",
                "broker.heartbeat.interval.ms=1000",
            ),
        )
    except BrokerStartError as exc:
        pytest.fail(f"could not start a 3-broker cluster: {exc}")
    try:
        yield broker
    finally:
        broker.stop(remove_state=False)


@pytest.mark.parametrize(
    ("runner", "guarantee"),
    [("faust", "at_least_once"), ("batch", "at_least_once"), ("batch", "exactly_once")],
)
def test_partition_leader_killed_mid_stream_loses_nothing(
    cluster, tmp_path: Path, runner: str, guarantee: str
) -> None:
    bootstrap = cluster.bootstrap
    # log_level 0: its handle outlives the cluster (stopped at module end) and would log
    # every refused reconnect.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})

    def topic_factory(partitions: int = 1, configs=None, prefix: str = "e2e") -> str:
        name = f"{prefix}.leader.{guarantee}.{uuid.uuid4().hex[:8]}"
        new = NewTopic(name, partitions, 3, config={"min.insync.replicas": "2", **(configs or {})})
        admin.create_topics([new])[name].result(60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # every partition has a leader
            meta = admin.list_topics(name, timeout=10).topics[name]
            if (
                meta.error is None
                and meta.partitions
                and all(p.leader >= 0 for p in meta.partitions.values())
            ):
                return name
            time.sleep(0.2)
        pytest.fail(f"no leaders for {name}")

    route = make_route(tmp_path, topic_factory, partitions=3)
    workers = Workers(bootstrap, tmp_path)
    label = f"leader kill/{runner}/{guarantee}"
    try:
        w = workers.start(
            route,
            group_id(f"leader-{runner}-{guarantee}"),
            name="w1",
            guarantee=guarantee,
            runner=runner,
        )
        w.wait_healthy(timeout=120)
        feed = Feed(bootstrap, route.raw)
        try:
            feed.send_in_background(
                list(range(N)), chunk=20, pause_s=0.1, poison_every=POISON_EVERY
            )
            deadline = time.monotonic() + 120
            while w.counter("logscrub_stream_records_in") < N * 0.25:
                assert time.monotonic() < deadline, w.log_tail()
                time.sleep(0.2)
            topic = admin.list_topics(route.clean, timeout=10).topics[route.clean]
            leader = topic.partitions[0].leader
            done = cluster.run("kill-broker", str(leader))
            assert done.returncode == 0, done.stderr[-2000:]
            report(f"[{label}] SIGKILLed broker {leader}, leader of {route.clean}[0]")
            feed.join(timeout=240)
            records = read_all(
                bootstrap, [route.clean, route.quarantine], accounted(feed, route, N), timeout=150
            )
        finally:
            feed.close()
        acc = account(feed, route, records)
        report(acc.figures(label))
        assert acc.lost == [], f"lost inputs: {acc.lost[:20]}"
        assert acc.unknown == 0 and acc.both == 0
        if guarantee == "exactly_once":
            assert acc.duplicates == 0
        assert w.proc.poll() is None, "the worker survives the leader's death"
        assert_nothing_raw(workers.logs(), range(N), "worker logs")
        # Bring the broker back for the next test of this module.
        cluster.run("start-broker", str(leader), timeout=180)
    finally:
        workers.close()
