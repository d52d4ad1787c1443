"""Every fetched record gets an outcome: RouteProcessor.take, the one place both transports
hand their records to (the batch runner: confluent-kafka's Message behind
:class:`pipeline.stream.batch_runner.ConfluentRecord`; the Faust runner: Faust's Message; aiokafka's
ConsumerRecord), and the engine thread it runs in.

No broker, no mocks of the clients: the records are the clients' own record classes, built
as their consumers build them. The broker-side proof is tests/e2e/test_stream_hostile.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from confluent_kafka import TIMESTAMP_CREATE_TIME
from confluent_kafka import Message as ConfluentMessage
from faust.types.tuples import Message

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.stream.batch_runner import ConfluentRecord
from pipeline.stream.delivery import deliver
from pipeline.stream.metrics import Health, StreamMetrics
from pipeline.stream.processor import Emit, RouteProcessor
from pipeline.stream.quarantine import decrypt_entry
from pipeline.stream.routes import Route

ROUTE = Route(
    name="service",
    source="logs.raw.service",
    policy="default",
    sink="logs.clean.service",
    quarantine="logs.quarantine.service",
)
EMAIL = b"li.wei@example.com"
VALUE = b'{"msg":"login li.wei@example.com"}'


def aiokafka_record(value: Any, key: Any = None, headers: Any = (), offset: int = 5) -> Any:
    """As aiokafka's fetcher builds it (timestamps in ms, headers a tuple of pairs)."""
    return ConsumerRecord(
        "logs.raw.service", 0, offset, 1_700_000_000_123, 0, key, value, None, 0, 0, headers
    )


def faust_message(value: Any, key: Any = None, headers: Any = None, offset: int = 5) -> Any:
    """As Faust's aiokafka driver builds it (timestamps in seconds)."""
    return Message(
        "logs.raw.service", 0, offset, 1_700_000_000.123, 0, headers, key, value, None
    )


def confluent_record(value: Any, key: Any = None, headers: Any = None, offset: int = 5) -> Any:
    """As the batch runner hands a confluent-kafka Message over (timestamps in ms)."""
    return ConfluentRecord(
        ConfluentMessage(
            topic="logs.raw.service",
            partition=0,
            offset=offset,
            key=key,
            value=value,
            headers=list(headers) if headers else None,
            timestamp=(TIMESTAMP_CREATE_TIME, 1_700_000_000_123),
        )
    )


BOTH = pytest.mark.parametrize(
    ("build", "unit"),
    [(aiokafka_record, 1), (faust_message, 1000.0), (confluent_record, 1)],
    ids=["aiokafka", "faust", "batch"],
)


def processor(keys: KeyRing, budget: float | None = 5.0) -> RouteProcessor:
    policy = load_policy()
    return RouteProcessor(
        ROUTE,
        policy,
        Engine(policy, keys=keys, ner=False),
        StreamMetrics(),
        record_time_budget_s=budget,
    )


def total(metrics: StreamMetrics, name: str) -> float:
    return metrics.totals().get(name, 0.0)


@BOTH
def test_null_header_value_gives_a_clean_record_and_keeps_the_header(keys, build, unit):
    proc = processor(keys)
    record = build(VALUE, key=None, headers=[("trace", None), ("user", EMAIL)])
    emit = proc.take(record, timestamp_unit=unit)
    assert emit is not None and emit.kind == "clean"
    names = [name for name, _ in emit.headers or []]
    assert names[:2] == ["trace", "user"]
    assert dict(emit.headers or [])["trace"] in (None, b"")  # null stays null (or empty)
    assert EMAIL not in (dict(emit.headers or [])["user"] or b"")
    assert emit.timestamp_ms == 1_700_000_000_123


@BOTH
def test_null_value_and_null_key_get_an_outcome(keys, build, unit):
    proc = processor(keys)
    emit = proc.take(build(None, key=None, headers=None), timestamp_unit=unit)
    assert emit is not None  # clean (an empty line) or an entry: never nothing, never a raise


@BOTH
def test_quarantined_record_with_null_header_round_trips_through_decryption(keys, build, unit):
    proc = processor(keys)
    raw = b"\xff\xfe not utf-8 " + EMAIL
    emit = proc.take(build(raw, headers=[("trace", None)]), timestamp_unit=unit)
    assert emit is not None and emit.kind == "quarantine"
    got = decrypt_entry(orjson.loads(emit.value), keys)
    assert got.value == raw and got.headers == [("trace", None)]


class Unreadable:
    """A record whose content cannot be read (a client handing over something odd)."""

    topic = "logs.raw.service"
    partition = 2
    offset = 99
    timestamp = 1_700_000_000_000
    key = None

    @property
    def value(self) -> bytes:
        raise OSError("cannot read")

    headers = ()


def test_a_record_that_cannot_be_read_becomes_a_metadata_only_entry(keys):
    proc = processor(keys)
    emit = proc.take(Unreadable(), timestamp_unit=1)
    assert emit is not None and emit.kind == "quarantine" and emit.reason == "unreadable_record"
    doc = orjson.loads(emit.value)
    assert doc["source"]["offset"] == 99 and doc["payload"] is None
    assert total(proc.metrics, "logscrub_stream_records_in") == 1


class BrokenEngine:
    """An engine whose failure message quotes the record, with a key ring that breaks too."""

    def __init__(self) -> None:
        self.keys = None

    def apply(self, value: Any, key: Any = None, headers: Any = None, *, deadline: Any = None):
        raise ValueError(f"boom on {value!r}")


def test_when_even_the_entry_cannot_be_built_a_hand_made_entry_still_goes_out(keys, caplog):
    proc = RouteProcessor(ROUTE, load_policy(), BrokenEngine(), StreamMetrics())  # type: ignore[arg-type]

    def broken_quarantine(*_a: Any, **_k: Any) -> Emit:
        raise RuntimeError("entry")

    proc.quarantine = broken_quarantine  # type: ignore[method-assign]
    emit = proc.take(aiokafka_record(VALUE), timestamp_unit=1)
    assert emit is not None and emit.kind == "quarantine"
    doc = orjson.loads(emit.value)
    assert doc["source"]["offset"] == 5 and doc["payload"] is None
    assert EMAIL not in emit.value and "boom" not in caplog.text


def test_take_batch_stops_between_records_once_cancelled(keys):
    proc = processor(keys)
    cancel = threading.Event()
    records = [aiokafka_record(VALUE, offset=i) for i in range(5)]
    assert len(proc.take_batch(records, timestamp_unit=1, cancel=cancel)) == 5
    cancel.set()
    assert proc.take_batch(records, timestamp_unit=1, cancel=cancel) == []


def phones_line(n: int) -> bytes:
    return " ".join(f"139{i:08d}" for i in range(n)).encode()


def test_engine_runs_off_the_loop_and_the_time_budget_quarantines_too_slow(keys):
    """A record that takes seconds neither blocks the event loop nor holds up the route:
    the loop keeps ticking, and past the budget the record is a ``too_slow`` entry,
    counted under that reason once delivered."""
    # A budget far below what 4,000 findings take: the record must come out too_slow.
    proc = processor(keys, budget=0.001)
    record = aiokafka_record(phones_line(4_000))
    gaps: list[float] = []

    async def main() -> list[Emit | None]:
        done = asyncio.Event()

        async def tick() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.ensure_future(tick())
        started = time.monotonic()
        out = await proc.take_off_loop([record], timestamp_unit=1)
        elapsed = time.monotonic() - started
        done.set()
        await ticker
        assert elapsed < 60, elapsed
        return out

    (emit,) = asyncio.run(main())
    assert emit is not None and emit.kind == "quarantine" and emit.reason == "too_slow"
    assert orjson.loads(emit.value)["reason"] == "too_slow"
    proc.delivered(emit)
    assert 'reason="too_slow"' in proc.metrics.exposition().decode()
    assert gaps and max(gaps) < 0.5, f"event loop blocked {max(gaps):.2f}s"
    proc.close()


def test_a_send_the_client_refuses_to_serialize_falls_back_instead_of_retrying_forever(keys):
    """A local TypeError/ValueError from the client is about the record: the clean record
    becomes a quarantine entry, it is not retried for ever (a stalled partition)."""
    proc = processor(keys)
    emit = proc.take(aiokafka_record(VALUE), timestamp_unit=1)
    assert emit is not None and emit.kind == "clean"
    sent: list[Emit] = []

    async def send(e: Emit) -> None:
        sent.append(e)
        if e.kind == "clean":
            raise TypeError("cannot serialize")

    asyncio.run(deliver(emit, send, proc, Health(consuming=True)))
    assert [e.kind for e in sent] == ["clean", "quarantine"]
    assert total(proc.metrics, "logscrub_stream_records_quarantined") == 1


def test_take_batch_returns_after_its_time_slice_with_one_record_at_least(keys):
    proc = processor(keys)
    records = [aiokafka_record(VALUE, offset=i) for i in range(5)]
    assert len(proc.take_batch(records, timestamp_unit=1, slice_s=0.0)) == 1
    assert len(proc.take_batch(records, timestamp_unit=1, slice_s=60.0)) == 5


def test_batch_runner_maps_record_refusals_to_the_same_error_types_as_the_faust_runner(keys):
    from confluent_kafka import KafkaError

    from pipeline.stream.batch_runner import SendError, as_exception
    from pipeline.stream.delivery import is_record_error

    too_large = as_exception(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert type(too_large).__name__ == "MessageSizeTooLargeError" and is_record_error(too_large)
    timed_out = as_exception(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert isinstance(timed_out, SendError) and not is_record_error(timed_out)
    assert timed_out.code_name == "_MSG_TIMED_OUT"
    # The fallback after a refusal is the same quarantine entry as with the Faust runner.
    proc = processor(keys)
    emit = proc.take(confluent_record(VALUE), timestamp_unit=1)
    assert emit is not None and emit.kind == "clean"
    entry = proc.rejected(emit, too_large)
    assert entry is not None and entry.kind == "quarantine"
    doc = orjson.loads(entry.value)
    assert doc["reason"] == "clean_send_failed"
    assert doc["error_type"] == "MessageSizeTooLargeError"
    assert EMAIL not in entry.value and "ConfluentRecord(...)" == repr(confluent_record(VALUE))
