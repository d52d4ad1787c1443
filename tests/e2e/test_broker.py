"""The e2e tier's own smoke test: the broker the fixtures give is real and behaves.

If this fails, every other e2e failure is about the broker, not about logscrub.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from tests.e2e.conftest import consume_all, produce

pytestmark = pytest.mark.kafka

N = 100
PARTITIONS = 3


def test_round_trip_keeps_every_message_and_the_order_per_partition(
    kafka_bootstrap: str, topic_factory
) -> None:
    topic = topic_factory(partitions=PARTITIONS)
    values = [f'{{"seq": {i}, "msg": "hello {i}"}}' for i in range(N)]
    keys = [f"user-{i % 7}" for i in range(N)]  # 7 keys spread over the 3 partitions
    headers = [[("seq", str(i).encode()), ("source", b"e2e")] for i in range(N)]

    written = produce(kafka_bootstrap, topic, values, keys=keys, headers=headers)
    records = consume_all(kafka_bootstrap, topic, expected_count=N, timeout=30)

    # Everything back, exactly once, byte for byte.
    assert len(records) == N
    got = sorted((r.key, r.value, tuple(r.headers)) for r in records)
    want = sorted(
        (k.encode(), v.encode(), tuple(h)) for k, v, h in zip(keys, values, headers, strict=True)
    )
    assert got == want

    # The same key always lands on the same partition (what per-user ordering rests on).
    partition_of_key: dict[bytes, set[int]] = defaultdict(set)
    for r in records:
        partition_of_key[r.key].add(r.partition)
    assert all(len(parts) == 1 for parts in partition_of_key.values())
    assert len({r.partition for r in records}) > 1, "7 keys should use more than one partition"

    # Per partition, records come back in the order they were produced, at the offsets the
    # producer was told.
    produced_order: dict[int, list[int]] = defaultdict(list)
    for seq, meta in enumerate(written):
        produced_order[meta.partition].append(seq)
    consumed_order: dict[int, list[int]] = defaultdict(list)
    for r in records:
        consumed_order[r.partition].append(int(dict(r.headers)["seq"]))
    assert consumed_order == produced_order
    for partition in consumed_order:
        offsets = [r.offset for r in records if r.partition == partition]
        assert offsets == sorted(offsets)
        assert offsets == sorted(m.offset for m in written if m.partition == partition)


def test_topics_are_never_created_by_accident(kafka_bootstrap: str, topic_factory) -> None:
    # auto.create.topics.enable=false on every broker we run: a typo in a route's topic
    # name must fail loudly, not silently create a topic nobody reads.
    missing = topic_factory(partitions=1) + ".typo"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(missing, b"x").get(timeout=5)
    finally:
        producer.close(timeout=5)
