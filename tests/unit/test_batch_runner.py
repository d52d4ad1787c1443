"""The batch runner's contract without a broker: offsets after acknowledgements, a refusal
checked alone before a fallback, a batch cut at its time slice.

The clients are small fakes with confluent-kafka's call shapes; the records are
confluent-kafka's own Message. The broker-side proof is tests/e2e (test_stream_failures.py,
test_stream_pipeline.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError
from confluent_kafka import Message as ConfluentMessage

from pipeline.stream.batch_runner import BatchRunner
from pipeline.stream.metrics import Health
from pipeline.stream.settings import load_settings
from tests.unit.test_stream_outcomes import ROUTE, processor, total

VALUE = b'{"msg":"login li.wei@example.com"}'


def message(offset: int, value: bytes = VALUE, partition: int = 0) -> Any:
    return ConfluentMessage(
        topic=ROUTE.source,
        partition=partition,
        offset=offset,
        key=None,
        value=value,
        headers=None,
        timestamp=(TIMESTAMP_CREATE_TIME, 1_700_000_000_123),
    )


class FakeProducer:
    """Acknowledges on flush; ``verdict(value, produced_together)`` may fail a delivery."""

    def __init__(self, verdict: Any = None) -> None:
        self.verdict = verdict or (lambda value, together: None)
        self.pending: list[tuple[bytes, Any]] = []
        self.acked: list[bytes] = []

    def produce(self, topic: str, value: bytes, key: Any = None, **kw: Any) -> None:
        self.pending.append((value, kw["on_delivery"]))

    def flush(self, timeout: float = 0) -> int:
        pending, self.pending = self.pending, []
        for value, callback in pending:
            code = self.verdict(value, len(pending) > 1)
            if code is None:
                self.acked.append(value)
            callback(None if code is None else KafkaError(code), None)
        return 0

    def poll(self, timeout: float = 0) -> int:
        return 0


class FakeConsumer:
    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer
        self.commits: list[tuple[dict[tuple[str, int], int], int]] = []

    def commit(self, offsets: list[Any], asynchronous: bool = True) -> None:
        # What was acknowledged when the commit came.
        self.commits.append(
            ({(tp.topic, tp.partition): tp.offset for tp in offsets}, len(self.producer.acked))
        )


def runner(keys: Any, producer: FakeProducer, **settings: Any) -> tuple[BatchRunner, Any]:
    proc = processor(keys)
    s = load_settings(runner="batch", web_port=0, **settings)
    r = BatchRunner(s, [proc], proc.metrics, Health())
    r._producer = producer
    r._consumer = FakeConsumer(producer)
    return r, proc


def test_offsets_are_committed_only_once_every_output_is_acknowledged(keys):
    failed_once: set[bytes] = set()

    def verdict(value: bytes, together: bool) -> int | None:
        if value not in failed_once and len(failed_once) < 2:
            failed_once.add(value)
            return KafkaError._MSG_TIMED_OUT  # the broker was away: sent again
        return None

    producer = FakeProducer(verdict)
    r, proc = runner(keys, producer)
    rest = r._batch([message(i, VALUE.replace(b"login", f"login{i}".encode())) for i in range(5)])
    assert rest == []
    # Produced, not waited for: settled while the next batch is cleaned (or when idle).
    assert r._consumer.commits == []
    r._finish_sent()
    assert r._consumer.commits == [({(ROUTE.source, 0): 5}, 5)]  # after all 5 acks
    assert total(proc.metrics, "logscrub_stream_send_retries") == 2
    assert total(proc.metrics, "logscrub_stream_records_out") == 5


def test_a_record_refused_in_a_batch_is_sent_alone_before_it_falls_back_to_quarantine(keys):
    big = orjson.dumps({"user": "li.wei@example.com", "pad": "y" * 5_000})

    def verdict(value: bytes, together: bool) -> int | None:
        # The broker refuses a whole record batch for its one large record.
        if together:
            return KafkaError.MSG_SIZE_TOO_LARGE
        return KafkaError.MSG_SIZE_TOO_LARGE if b"yyyy" in value else None

    producer = FakeProducer(verdict)
    r, proc = runner(keys, producer)
    r._batch([message(0), message(1, big), message(2)])
    r._finish_sent()
    entries = [orjson.loads(v) for v in producer.acked if v.startswith(b'{"v"')]
    assert [e["reason"] for e in entries] == ["clean_send_failed"]
    assert entries[0]["source"]["offset"] == 1
    assert entries[0]["error_type"] == "MessageSizeTooLargeError"
    assert total(proc.metrics, "logscrub_stream_records_out") == 2  # 0 and 2 come out clean
    assert r._consumer.commits[-1][0] == {(ROUTE.source, 0): 3}


def test_a_batch_ends_after_its_time_slice_and_the_rest_leads_the_next(keys):
    producer = FakeProducer()
    r, proc = runner(keys, producer, batch_max_s=1e-9)  # one record per batch
    messages = [message(i) for i in range(3)]
    rest = r._batch(messages)
    assert [m.offset() for m in rest] == [1, 2]
    assert r._consumer.commits == []  # settled once the next batch is cleaned
    rest = r._batch(rest)
    assert [m.offset() for m in rest] == [2]
    assert r._consumer.commits == [({(ROUTE.source, 0): 1}, 1)]  # only what was processed
    r._finish_sent()
    assert r._consumer.commits[-1][0] == {(ROUTE.source, 0): 2}


class UnreadableOffsets:
    """A consumer that cannot read its committed offsets (CI saw librdkafka in that state
    after a broker restart during a failed transaction; it cannot be produced on demand)."""

    def __init__(self) -> None:
        self.reads = 0
        self.closed = False

    def committed(self, partitions: list[Any], timeout: float) -> list[Any]:
        from confluent_kafka import KafkaException

        self.reads += 1
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT))

    def close(self) -> None:
        self.closed = True


def test_a_rewind_that_cannot_read_committed_offsets_rejoins_with_a_new_consumer(keys):
    producer = FakeProducer()
    r, _proc = runner(keys, producer, guarantee="exactly_once")
    stuck = UnreadableOffsets()
    r._consumer = stuck
    r._leftover = [message(7)]  # fetched past the commit: must not be processed from here
    joined: list[Any] = []
    r._subscribe = lambda: joined.append("new") or "new consumer"  # type: ignore[method-assign]
    r._sleep = lambda seconds: False  # type: ignore[method-assign]
    r._rewind([(ROUTE.source, 0)])
    assert stuck.reads == 3 and stuck.closed
    assert joined == ["new"] and r._consumer == "new consumer"
    assert r._leftover == []
    # The old consumer's late callbacks (closing) change nothing of the new one's state.
    r._leftover = [message(8)]
    r._on_revoke(stuck, [])
    assert [m.offset() for m in r._leftover] == [8]
