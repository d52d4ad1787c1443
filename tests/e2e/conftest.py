"""Fixtures for the e2e tier: a real Kafka broker and small kafka-python helpers.

Where the broker comes from:

* ``LOGSCRUB_TEST_BOOTSTRAP`` set (CI does ``export LOGSCRUB_TEST_BOOTSTRAP=$(docker/kafka-local
  start)`` before pytest): that cluster is used and left running.
* otherwise the session starts its own single broker with ``docker/kafka-local`` on free
  ports, in a temporary state directory (so it never clashes with a developer's broker
  on 9092), and stops it at the end. The jar cache is shared (``LOGSCRUB_KAFKA_HOME``),
  so only the first run ever waits for Maven.

When no broker can be had, the tier is skipped with a loud reason on a developer's
machine, and fails when ``CI`` is set: a CI run that silently skipped every Kafka test
would look green while testing nothing.

Every test module in this directory must set ``pytestmark = pytest.mark.kafka``; the
collection hook below refuses a test that is not marked, so ``-m "not kafka"`` really
leaves out everything that needs a broker.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord
from kafka.producer.future import RecordMetadata

from pipeline.tools.local_kafka import BrokerStartError, LocalBroker, probe

E2E_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 300  # a cold Maven fetch of the jars takes ~20 s; a start ~3 s

Header = tuple[str, bytes]
Value = bytes | str | None


# --- the broker --------------------------------------------------------------------------


def _unavailable(reason: str) -> NoReturn:
    """Skip the Kafka tier loudly, or fail it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"Kafka e2e tier cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"KAFKA E2E TIER SKIPPED (no broker): {reason}")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a running Kafka cluster (``HOST:PORT[,HOST:PORT...]``)."""
    given = os.environ.get("LOGSCRUB_TEST_BOOTSTRAP", "").strip()
    if given:
        problem = probe(given, timeout_s=30)
        if problem:
            _unavailable(f"LOGSCRUB_TEST_BOOTSTRAP={given} does not answer: {problem}")
        yield given
        return
    try:
        broker = LocalBroker.start(
            state=tmp_path_factory.mktemp("kafka-state"), timeout=START_TIMEOUT_S
        )
    except BrokerStartError as exc:
        _unavailable(str(exc))
    try:
        problem = probe(broker.bootstrap, timeout_s=30)
        if problem:
            _unavailable(f"the broker started at {broker.bootstrap} does not answer: {problem}")
        yield broker.bootstrap
    finally:
        # Always: a half-started broker must not outlive the session. The state dir is
        # pytest's temporary one (its logs stay for a failed run).
        broker.stop(remove_state=False)


# --- topics ------------------------------------------------------------------------------


@pytest.fixture
def topic_factory(
    kafka_bootstrap: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """Create uniquely named topics: ``topic_factory(partitions=3) -> "e2e.test_x.1a2b3c4d"``.

    Topics are never deleted: names are unique per call, and deleting while a consumer
    group of the test may still be shutting down only produces noise. A session broker
    is wiped at the end anyway.
    """
    admin: KafkaAdminClient | None = None
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)[:80]

    def create(
        partitions: int = 1,
        replication: int | None = None,
        configs: dict[str, str] | None = None,
        prefix: str = "e2e",
    ) -> str:
        nonlocal admin
        if admin is None:
            admin = KafkaAdminClient(
                bootstrap_servers=kafka_bootstrap, client_id="logscrub-e2e-admin"
            )
        name = f"{prefix}.{stem}.{uuid.uuid4().hex[:8]}"
        admin.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": -1 if replication is None else replication,
                    "configs": dict(configs or {}),
                }
            },
            timeout_ms=30_000,
            # Wait until a leader is known for every partition: a producer that starts
            # right after creation must not meet UNKNOWN_TOPIC_OR_PARTITION.
            wait_for_metadata=True,
        )
        return name

    yield create
    if admin is not None:
        admin.close()


# --- produce / consume -------------------------------------------------------------------


def _as_bytes(value: Value) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def produce(
    bootstrap: str,
    topic: str,
    values: Sequence[Value],
    keys: Sequence[Value] | None = None,
    headers: Sequence[Sequence[Header]] | None = None,
    partition: int | None = None,
) -> list[RecordMetadata]:
    """Produce ``values`` in order (acks=all, idempotent) and wait until all are written.

    ``keys`` and ``headers`` line up with ``values`` (one key, one list of
    ``(name, bytes)`` headers per message). str is sent UTF-8 encoded. Returns the
    metadata (partition, offset) of each message, in the order given.
    """
    if keys is not None and len(keys) != len(values):
        raise ValueError("keys must line up with values")
    if headers is not None and len(headers) != len(values):
        raise ValueError("headers must line up with values (one list of pairs per message)")
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_block_ms=30_000,
        client_id="logscrub-e2e-producer",
    )
    try:
        futures = [
            producer.send(
                topic,
                value=_as_bytes(value),
                key=_as_bytes(keys[i]) if keys is not None else None,
                headers=list(headers[i]) if headers is not None else None,
                partition=partition,
            )
            for i, value in enumerate(values)
        ]
        producer.flush(timeout=30)
        return [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=10)


def consume_all(
    bootstrap: str,
    topic: str,
    expected_count: int,
    timeout: float = 30.0,
    isolation_level: str = "read_committed",
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning of every partition; return every record read.

    Stops once at least ``expected_count`` records arrived and the consumer has reached
    the end of every partition (the last stable offset under read_committed), so
    duplicates beyond ``expected_count`` are returned too and a test can see them. Uses
    no consumer group: nothing is committed, and the topic can be read again.
    Raises AssertionError when fewer than ``expected_count`` arrive within ``timeout``.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
        client_id="logscrub-e2e-consumer",
    )
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        partitions = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions and time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} has no partitions (does it exist?)")
            if not partitions:
                time.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        idle_since = time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
            now = time.monotonic()
            if batch:
                idle_since = now
            if len(records) >= expected_count:
                ends = consumer.end_offsets(tps, timeout_ms=5000)
                caught_up = all(consumer.position(tp) >= ends[tp] for tp in tps)
                # Trailing transaction markers can keep a position just short of the end
                # offset; a second without new records after the count is reached ends it too.
                if caught_up or now - idle_since > 1.0:
                    return records
            if now > deadline:
                raise AssertionError(
                    f"consumed {len(records)} of {expected_count} expected records from "
                    f"{topic} within {timeout:g}s ({isolation_level})"
                )
    finally:
        consumer.close()


# The helpers are also fixtures, so tests can take them as arguments instead of importing.
@pytest.fixture(name="produce")
def _produce_fixture() -> Callable[..., list[RecordMetadata]]:
    return produce


@pytest.fixture(name="consume_all")
def _consume_all_fixture() -> Callable[..., list[ConsumerRecord]]:
    return consume_all


# --- every test here needs a broker, and says so --------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if E2E_DIR in Path(str(item.path)).resolve().parents
        and item.get_closest_marker("kafka") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests under tests/e2e must be marked kafka (pytestmark = pytest.mark.kafka): "
            + ", ".join(unmarked)
        )
