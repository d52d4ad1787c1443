"""What the stream does with one record, and the exactly-once worker loop on Kafka transactions.

Two transports share :class:`RouteProcessor`, the transport-free step from a raw record to
at most one output (a cleaned record or a quarantine entry):

* at-least-once (the default): Faust agents (:mod:`pipeline.agents`) send each output,
  wait for the broker's acknowledgement with :func:`deliver`, and only then ack the event,
  so Faust commits an offset only once its output is stored;
* exactly-once: :class:`ExactlyOnceWorker`, below, with aiokafka directly. Faust's own
  ``processing_guarantee="exactly_once"`` sends agent output outside the transaction (its
  ``Topic.publish_message`` never passes a transactional id to the producer; faust #177)
  and has open reports of duplicates after a kill (#517) and on rebalance (#323).

Exactly-once design: one transactional producer per input partition, with the
transactional id ``<group>-<topic>-<partition>`` (the Kafka Streams "EOS v1" scheme).
aiokafka's ``send_offsets_to_transaction`` does not send the consumer group generation
(no KIP-447), so a per-worker transactional id could not fence a zombie that lost its
partitions; a per-partition id can: whoever takes a partition over calls
``init_transactions`` with the same id, which aborts (or completes) the previous owner's
open transaction and fences it, and only then reads the committed offset. Each fetched
batch of one partition becomes one transaction: its outputs, plus the input offset,
committed together. Consumers of the clean topics must read with
``isolation_level=read_committed``.

Security: nothing here logs or raises with a record value; log lines name the route,
topic, partition, offset, reason code and exception class.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

# aiokafka ships no type information (no py.typed): its names are Any to mypy.
from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    TopicPartition,
)
from aiokafka.errors import (  # type: ignore[import-untyped]
    CorruptRecordException,
    InvalidProducerEpoch,
    InvalidTimestampError,
    KafkaError,
    MessageSizeTooLargeError,
    ProducerFenced,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)

from pipeline.drift import PathLog
from pipeline.engine import Engine
from pipeline.manifest import Manifest, with_manifest
from pipeline.metrics import Health, StreamMetrics
from pipeline.policy import Policy
from pipeline.quarantine import CLEAN_SEND_FAILED, ENGINE_EXCEPTION, SourceRef, build_entry
from pipeline.quarantine import VERSION as QUARANTINE_VERSION
from pipeline.routes import Route
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

# A header value may be null: the protocol allows it and real producers send it.
Header = tuple[str, bytes | None]

# Errors about one record (its size, format) rather than the broker's state: retrying
# the same bytes cannot succeed, so the output is replaced by a smaller one instead.
# The client's own refusals to serialize a record (a type or value it cannot encode)
# are about the record too: retried, they would hold the partition up forever.
RECORD_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
    TypeError,
    ValueError,
)
_FENCED = (ProducerFenced, InvalidProducerEpoch)
# Failed transactions retried with one producer before it is replaced by a new one (after a
# broker restart an idempotent producer's sequence state can be unusable for good).
_ATTEMPTS_PER_PRODUCER = 3
_BACKOFF_MAX_S = 5.0


def _root_cause(exc: BaseException) -> BaseException:
    # Faust wraps aiokafka's errors in ProducerSendError (raise ... from exc).
    seen = 0
    while exc.__cause__ is not None and seen < 5:
        exc = exc.__cause__
        seen += 1
    return exc


def is_record_error(exc: BaseException) -> bool:
    """True when the broker or client refused this record itself (size, format)."""
    return isinstance(_root_cause(exc), RECORD_ERRORS)


def backoff_s(attempt: int) -> float:
    """Pause before retry ``attempt`` (1-based): 0.2 s doubling up to 5 s."""
    return float(min(_BACKOFF_MAX_S, 0.2 * 2 ** min(attempt - 1, 5)))


@dataclass(slots=True)
class Incoming:
    """One raw record as it arrived, transport-neutral. Its repr shows coordinates only:
    a repr can end up in a log line (an event loop's callback error names its arguments)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None = field(repr=False)
    value: bytes | None = field(repr=False)
    headers: list[Header] = field(repr=False)
    received: float = field(default_factory=time.monotonic)

    @property
    def source(self) -> SourceRef:
        """The record's coordinates."""
        return SourceRef(self.topic, self.partition, self.offset, self.timestamp_ms)


def _header_list(raw: Any) -> list[Header]:
    """Kafka headers as ``(name, bytes | None)`` pairs, whatever the client handed over.

    A null value stays None (``bytes(None)`` raised here once and cost the record);
    a name that arrives as bytes is decoded rather than shown as ``b'...'``.
    """
    if not raw:
        return []
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    out: list[Header] = []
    for name, value in pairs:
        text = name.decode("utf-8", "replace") if isinstance(name, bytes | bytearray) else str(name)
        out.append((text, None if value is None else bytes(value)))
    return out


def incoming_from(record: Any, *, timestamp_unit: float) -> Incoming:
    """An :class:`Incoming` from a client's record (aiokafka's ConsumerRecord, Faust's
    Message): ``timestamp_unit`` is how many milliseconds one unit of its timestamp is
    (aiokafka: 1, Faust: 1000). Keys and values may be None (null); headers may be null."""
    ts = record.timestamp
    return Incoming(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        # Kafka's "no timestamp" is -1; Faust turns it into 0 or None.
        timestamp_ms=round(ts * timestamp_unit) if ts is not None and ts > 0 else None,
        key=None if record.key is None else bytes(record.key),
        value=None if record.value is None else bytes(record.value),
        headers=_header_list(record.headers),
    )


def _coordinates_only(record: Any) -> Incoming:
    """What can always be said of a record: where it came from (nothing of its content)."""

    def number(name: str) -> int:
        try:
            return int(getattr(record, name))
        except Exception:  # noqa: BLE001 — a coordinate we cannot read is reported as -1
            return -1

    return Incoming(
        topic=str(getattr(record, "topic", "?")),
        partition=number("partition"),
        offset=number("offset"),
        timestamp_ms=None,
        key=None,
        value=None,
        headers=[],
    )


@dataclass(slots=True)
class Emit:
    """One output to send: a cleaned record or a quarantine entry.

    ``stage`` counts fallbacks: 0 the first choice, 1 a quarantine entry replacing a
    refused clean record, 2 a metadata-only entry replacing a refused entry.
    """

    kind: Literal["clean", "quarantine"]
    topic: str
    value: bytes = field(repr=False)  # like Incoming: no record content in a repr
    key: bytes | None = field(repr=False)
    headers: list[Header] | None = field(repr=False)
    timestamp_ms: int | None
    source: Incoming
    reason: str | None = None
    entities: dict[str, int] = field(default_factory=dict)
    stage: int = 0


class RouteProcessor:
    """Turns one raw record of a route into at most one output. No I/O.

    Guarantees (fail closed): a cleaned record is produced only from an engine outcome
    without an issue; every exception in the engine, every malformed input and every
    placeholder becomes a quarantine entry; a policy drop produces nothing and is
    counted. Counters for outputs move only in :meth:`delivered`, i.e. once the broker
    has the output.
    """

    def __init__(
        self,
        route: Route,
        policy: Policy,
        engine: Engine,
        metrics: StreamMetrics,
        *,
        max_payload_bytes: int = 300_000,
        record_time_budget_s: float | None = None,
        drift_warmup_records: int = 1000,
        drift_max_paths: int = 10_000,
    ) -> None:
        self.route = route
        self.policy = policy
        self.engine = engine
        self.keys = engine.keys
        self.metrics = metrics
        self.max_payload_bytes = max_payload_bytes
        # Past this many seconds on one record the engine gives it up (quarantined as
        # too_slow) rather than holding up its partition; None: no budget.
        self.record_time_budget_s = record_time_budget_s
        # The engine runs in this one thread, off the event loop, so /health, heartbeats
        # and acknowledgements go on while a record is anonymized. One thread per route:
        # an engine is never used by two threads at once, and a route's records are
        # anonymized in the order they are handed over (per-partition order holds).
        self._engine_thread: ThreadPoolExecutor | None = None
        # Next offset to process per partition of the source topic (for the lag gauge).
        self.positions: dict[int, int] = {}
        self._in = metrics.records_in.labels(route=route.name)
        self._out = metrics.records_out.labels(route=route.name)
        self._dropped = metrics.records_dropped.labels(route=route.name)
        self._engine_time = metrics.processing_seconds.labels(route=route.name)
        self._latency = metrics.delivery_seconds.labels(route=route.name)
        # A reloaded (policy, engine), taken up at the start of the next batch (swap()).
        self._pending: tuple[Policy, Engine] | None = None
        self._pending_lock = threading.Lock()
        # The route's field paths and which are new (schema drift; /drift). Kept across
        # reloads: the new engine reports into the same log.
        new_paths = metrics.new_field_paths.labels(route=route.name)
        self.drift = PathLog(
            route.name,
            lambda key: self.engine.key_is_plain(key),
            warmup_records=drift_warmup_records,
            limit=drift_max_paths,
            on_new=lambda _path: new_paths.inc(),
        )
        engine.paths = self.drift

    # ----------------------------------------------------------------- hot reload

    def swap(self, policy: Policy, engine: Engine) -> None:
        """Clean with ``policy`` and ``engine`` from the next batch on (pipeline.reload).

        Between batches, in the engine's own thread: a batch is cleaned under one policy,
        and each clean record's manifest names the digest of the one that cleaned it.
        """
        with self._pending_lock:
            self._pending = (policy, engine)

    @property
    def pending_or_active_digest(self) -> str:
        """The digest of the policy the next batch will be cleaned with."""
        with self._pending_lock:
            return (self._pending[0] if self._pending is not None else self.policy).digest

    def _take_up_swap(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.policy, self.engine = pending
            self.keys = self.engine.keys
            self.engine.paths = self.drift

    # ----------------------------------------------------------------- record -> output

    def take(self, record: Any, *, timestamp_unit: float) -> Emit | None:
        """The output for one record as the Kafka client handed it over, or None for a
        counted policy drop. Both transports call this (through :meth:`take_batch`).

        This is the one place that guarantees every fetched record an outcome: building
        the :class:`Incoming` (null keys, values and header values included), the
        engine, the quarantine entry: whatever raises, the record still gets an output
        (at worst a metadata-only entry naming its coordinates), so a transport always
        has something to send for the offset, and never skips or crash-loops on it.
        """
        try:
            msg = incoming_from(record, timestamp_unit=timestamp_unit)
        except Exception as exc:  # noqa: BLE001 — a record we cannot even read still gets an entry
            msg = _coordinates_only(record)
            logger.error(
                "route %s: reading %s[%d]@%d failed (%s); quarantined without payload",
                self.route.name,
                msg.topic,
                msg.partition,
                msg.offset,
                type(exc).__name__,
            )
            self._in.inc()
            return self._last_resort(msg, "unreadable_record", exc)
        return self.process(msg)

    def take_batch(
        self,
        records: Sequence[Any],
        *,
        timestamp_unit: float,
        cancel: threading.Event | None = None,
        slice_s: float | None = None,
    ) -> list[Emit | None]:
        """:meth:`take` for each record, in order. Stops early once ``cancel`` is set (the
        worker is stopping), or once ``slice_s`` seconds are spent (after one record at
        least): the result is then shorter, and the records without an output are not
        processed (the caller hands them over again, or leaves them unacknowledged)."""
        self._take_up_swap()
        out: list[Emit | None] = []
        until = None if slice_s is None else time.monotonic() + slice_s
        for record in records:
            if cancel is not None and cancel.is_set():
                break
            if until is not None and out and time.monotonic() >= until:
                break
            out.append(self.take(record, timestamp_unit=timestamp_unit))
        return out

    async def take_off_loop(
        self,
        records: Sequence[Any],
        *,
        timestamp_unit: float,
        cancel: threading.Event | None = None,
        slice_s: float | None = None,
    ) -> list[Emit | None]:
        """:meth:`take_batch` in the route's engine thread, so the event loop keeps
        serving /health, heartbeats and acknowledgements while the engine works.

        A batch per call, not a record: a hand-over to the thread costs ~55 CPU-µs
        (measured), 6% of a record's ~900 µs; per batch it is noise.
        """
        if self._engine_thread is None:
            self._engine_thread = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"logscrub-engine-{self.route.name}"
            )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._engine_thread,
                functools.partial(
                    self.take_batch,
                    records,
                    timestamp_unit=timestamp_unit,
                    cancel=cancel,
                    slice_s=slice_s,
                ),
            )
        except RuntimeError:
            # The thread pool is shut down (interpreter exit): on the loop, not nothing.
            return self.take_batch(
                records, timestamp_unit=timestamp_unit, cancel=cancel, slice_s=slice_s
            )

    def close(self) -> None:
        """Let the engine thread go once its current batch is done (no new work)."""
        if self._engine_thread is not None:
            self._engine_thread.shutdown(wait=False, cancel_futures=True)
            self._engine_thread = None

    def process(self, msg: Incoming) -> Emit | None:
        """The output for one record, or None when the policy dropped it (counted here).

        Never raises: an exception in the engine becomes an ``engine_exception`` entry,
        and one in this class's own code (a bug) a metadata-only entry, so a transport can
        always send something for the offset and move on.
        """
        try:
            return self._process(msg)
        except Exception as exc:  # noqa: BLE001 — fail closed even on our own bug
            logger.error(
                "route %s: processing %s[%d]@%d failed (%s); quarantined without payload",
                self.route.name,
                msg.topic,
                msg.partition,
                msg.offset,
                type(exc).__name__,
            )
            return self._last_resort(msg, "processing_error", exc)

    def _last_resort(self, msg: Incoming, reason: str, exc: BaseException) -> Emit:
        """A metadata-only entry; if even that cannot be built, a hand-made one."""
        try:
            return self.quarantine(
                msg, reason, error_type=type(exc).__name__, include_payload=False
            )
        except Exception:  # noqa: BLE001 — nothing of the record goes in: cannot fail
            entry = orjson.dumps(
                {
                    "v": QUARANTINE_VERSION,
                    "reason": reason,
                    "error_type": type(exc).__name__,
                    "route": self.route.name,
                    "source": {
                        "topic": msg.topic,
                        "partition": msg.partition,
                        "offset": msg.offset,
                        "timestamp_ms": None,
                    },
                    "payload": None,
                    "payload_omitted": "send_failed",
                }
            )
            return self._entry_emit(msg, entry, reason, stage=2)

    def _process(self, msg: Incoming) -> Emit | None:
        self._in.inc()
        started = time.perf_counter()
        budget = self.record_time_budget_s
        try:
            out = self.engine.apply(
                msg.value if msg.value is not None else b"",
                msg.key,
                msg.headers,
                deadline=None if budget is None else time.monotonic() + budget,
            )
        except Exception as exc:  # noqa: BLE001 — the agent boundary: fail closed, keep going
            logger.warning(
                "route %s: the engine raised %s on %s[%d]@%d; quarantined",
                self.route.name,
                type(exc).__name__,
                msg.topic,
                msg.partition,
                msg.offset,
            )
            return self.quarantine(msg, ENGINE_EXCEPTION, error_type=type(exc).__name__)
        finally:
            self._engine_time.observe(time.perf_counter() - started)
        if out.dropped:
            self._dropped.inc()
            self.completed(msg)
            return None
        if out.issue is not None or out.placeholder or out.value is None:
            scrubbed = None if out.placeholder else out.value
            return self.quarantine(msg, out.issue or "engine_error", scrubbed=scrubbed)
        manifest = Manifest(
            policy=self.policy.name,
            digest=self.policy.digest,
            key_id=self.keys.key_id if self.keys is not None else None,
            entities=out.entities,
            route=self.route.name,
        )
        return Emit(
            kind="clean",
            topic=self.route.sink,
            value=out.value,
            key=out.key,
            headers=with_manifest(out.headers, manifest),
            timestamp_ms=msg.timestamp_ms,  # the log's own time, not the time of cleaning
            source=msg,
            entities=out.entities,
        )

    def quarantine(
        self,
        msg: Incoming,
        reason: str,
        *,
        scrubbed: bytes | None = None,
        error_type: str | None = None,
        include_payload: bool = True,
        stage: int = 0,
    ) -> Emit:
        """A quarantine entry for ``msg``: metadata, scrubbed text, encrypted raw payload."""
        entry = build_entry(
            reason=reason,
            source=msg.source,
            route=self.route.name,
            policy_name=self.policy.name,
            policy_digest=self.policy.digest,
            keys=self.keys,
            value=msg.value,
            key=msg.key,
            headers=msg.headers,
            scrubbed=scrubbed,
            error_type=error_type,
            max_payload_bytes=self.max_payload_bytes,
            include_payload=include_payload,
        )
        return self._entry_emit(msg, entry, reason, stage=stage)

    def _entry_emit(self, msg: Incoming, entry: bytes, reason: str, *, stage: int) -> Emit:
        """The output that carries a quarantine entry for ``msg``."""
        return Emit(
            kind="quarantine",
            topic=self.route.quarantine,
            value=entry,
            key=None,
            headers=None,
            timestamp_ms=None,
            source=msg,
            reason=reason,
            stage=stage,
        )

    def rejected(self, emit: Emit, exc: BaseException) -> Emit | None:
        """The next, smaller output after the broker refused ``emit`` (None: nothing left).

        A refused cleaned record (too large for the clean topic, say) goes to quarantine;
        a refused entry is resent without payload and scrubbed text (metadata only).
        """
        cause = type(_root_cause(exc)).__name__
        logger.warning(
            "route %s: %s output for %s[%d]@%d refused (%s)",
            self.route.name,
            emit.kind,
            emit.source.topic,
            emit.source.partition,
            emit.source.offset,
            cause,
        )
        if emit.kind == "clean":
            return self.quarantine(emit.source, CLEAN_SEND_FAILED, error_type=cause, stage=1)
        if emit.stage < 2:
            return self.quarantine(
                emit.source,
                emit.reason or "engine_error",
                error_type=cause,
                include_payload=False,
                stage=2,
            )
        return None

    # ----------------------------------------------------------------- accounting

    def delivered(self, emit: Emit) -> None:
        """Count an output the broker acknowledged (or a transaction committed)."""
        if emit.kind == "clean":
            self._out.inc()
            for entity, n in emit.entities.items():
                self.metrics.entities.labels(route=self.route.name, entity=entity).inc(n)
        else:
            self.metrics.records_quarantined.labels(
                route=self.route.name, reason=emit.reason or "unknown"
            ).inc()
        self.completed(emit.source)

    def completed(self, msg: Incoming) -> None:
        """Record that ``msg`` is fully handled."""
        self._latency.observe(time.monotonic() - msg.received)
        self.positions[msg.partition] = max(self.positions.get(msg.partition, 0), msg.offset + 1)


# --------------------------------------------------------------------- at-least-once

SendFn = Callable[[Emit], Awaitable[Any]]


async def deliver(
    emit: Emit,
    send: SendFn,
    processor: RouteProcessor,
    health: Health,
    *,
    failed: BaseException | None = None,
) -> None:
    """Send ``emit`` and return only once the broker acknowledged it (at-least-once).

    A record-specific refusal (size, format) falls back to a smaller output
    (:meth:`RouteProcessor.rejected`); any other failure (broker down, leader moving,
    timeout) is retried with backoff, for as long as it takes: the caller must not ack
    the input before this returns. Retries may write an output twice; that is the
    at-least-once contract. ``failed``: how a first send, made by the caller, failed.
    """
    attempt = 0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if failed is not None:
                first, failed = failed, None
                raise first
            await send(emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 — every failure is either a fallback or a retry
            if is_record_error(exc):
                nxt = processor.rejected(emit, exc)
                if nxt is not None:
                    emit = nxt
                    continue
            attempt += 1
            processor.metrics.send_retries.labels(route=processor.route.name, kind=emit.kind).inc()
            if health.stalled_since is None:
                health.stalled_since = loop.time()
            if attempt == 1 or attempt % 10 == 0:
                logger.warning(
                    "route %s: sending %s output to %s failed (%s), retry %d",
                    processor.route.name,
                    emit.kind,
                    emit.topic,
                    type(_root_cause(exc)).__name__,
                    attempt,
                )
            await asyncio.sleep(backoff_s(attempt))
            continue
        if attempt:
            logger.info(
                "route %s: %s output sent after %d retries",
                processor.route.name,
                emit.kind,
                attempt,
            )
        health.stalled_since = None
        processor.delivered(emit)
        return


# --------------------------------------------------------------------- exactly-once


class _RejectedError(Exception):
    """Some outputs of a transaction were refused; carries (index, error) pairs."""

    def __init__(self, failures: list[tuple[int, BaseException]]) -> None:
        super().__init__(f"{len(failures)} output(s) refused")
        self.failures = failures


class ExactlyOnceWorker:
    """Consume, clean and produce in Kafka transactions: each input offset's output is
    committed exactly once, atomically with the offset (for read_committed consumers).

    Guarantees: an input offset is committed only in the transaction that holds its
    output; a crash at any point leaves either both or neither. A partition is processed
    only by the holder of its transactional producer, which fences the previous holder.
    """

    def __init__(
        self,
        settings: Settings,
        processors: Mapping[str, RouteProcessor],
        metrics: StreamMetrics,
        health: Health,
    ) -> None:
        self.settings = settings
        self.processors = dict(processors)  # by source topic
        self.metrics = metrics
        self.health = health
        self._consumer: AIOKafkaConsumer | None = None
        self._producers: dict[TopicPartition, AIOKafkaProducer] = {}
        self._next: dict[TopicPartition, int] = {}  # next offset to process, per partition
        self._needs_reset: set[TopicPartition] = set()
        self._lock = asyncio.Lock()  # held while transactions run; rebalances wait for it
        self._stop = asyncio.Event()
        # Set with _stop, read by the engine thread: a stopping worker does not start
        # another record of a batch (the ones done are committed, the rest left).
        self._cancel = threading.Event()
        # How long one transaction (sends, offsets, commit) may take before its producer is
        # replaced: three request timeouts, within the broker's transaction timeout.
        self._transaction_bound_s = min(
            3 * settings.request_timeout_s, settings.transaction_timeout_s
        )

    # ----------------------------------------------------------------- lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        """Process until ``stop`` is set, then finish the transactions in flight and leave.

        A transaction that cannot commit when ``stop`` comes (the broker is down) is
        aborted instead of retried: its records stay uncommitted for the next owner.
        """
        self._stop = stop
        self._cancel.clear()
        stop_watch = asyncio.ensure_future(stop.wait())
        stop_watch.add_done_callback(lambda _: self._cancel.set())
        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.broker_list,
            group_id=s.group_id,
            client_id=s.client_id,
            enable_auto_commit=False,  # offsets are committed inside the transactions
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=max(100, int(s.session_timeout_s * 1000 / 3)),
            max_partition_fetch_bytes=max(1_048_576, s.max_request_bytes),
        )
        self._consumer = consumer
        consumer.subscribe(sorted(self.processors), listener=_Listener(self))
        await consumer.start()
        try:
            while not stop.is_set():
                await self._reset_partitions()
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=s.transaction_max_records
                )
                if not batches:
                    continue
                async with self._lock:
                    await asyncio.gather(
                        *(self._transact(tp, records) for tp, records in batches.items())
                    )
        finally:
            self.health.stopping = True
            stop_watch.cancel()
            # The loop only exits between transactions: nothing is half-done here.
            try:
                await consumer.stop()
            finally:
                await self._stop_producers(list(self._producers))
                for processor in self.processors.values():
                    processor.close()

    def _running_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            msg = "the exactly-once worker is not running"
            raise RuntimeError(msg)
        return self._consumer

    def lag(self) -> dict[str, tuple[int, int]]:
        """Route -> (records behind the high watermark, partitions assigned)."""
        out: dict[str, tuple[int, int]] = {p.route.name: (0, 0) for p in self.processors.values()}
        consumer = self._consumer
        if consumer is None:
            return out
        for tp in consumer.assignment():
            name = self.processors[tp.topic].route.name
            lag, n = out[name]
            high = consumer.highwater(tp)
            pos = self._next.get(tp)
            if high is not None and pos is not None:
                lag += max(0, high - pos)
            out[name] = (lag, n + 1)
        return out

    # ----------------------------------------------------------------- producers

    async def _start_producer(self, tp: TopicPartition) -> AIOKafkaProducer:
        s = self.settings
        attempt = 0
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=s.broker_list,
                client_id=f"{s.client_id}-{tp.topic}-{tp.partition}",
                transactional_id=f"{s.group_id}-{tp.topic}-{tp.partition}",
                enable_idempotence=True,
                acks="all",
                max_request_size=s.max_request_bytes,
                request_timeout_ms=int(s.request_timeout_s * 1000),
                transaction_timeout_ms=int(s.transaction_timeout_s * 1000),
            )
            try:
                # start() runs init_transactions: it fences the previous holder of this
                # id and aborts (or completes) its open transaction before returning.
                await producer.start()
            except KafkaError as exc:
                attempt += 1
                if self._stop.is_set():
                    await _stop_quietly(producer)
                    raise
                logger.warning(
                    "exactly_once: transactional producer for %s[%d] not ready (%s), retry %d",
                    tp.topic,
                    tp.partition,
                    type(exc).__name__,
                    attempt,
                )
                await _stop_quietly(producer)
                await asyncio.sleep(backoff_s(attempt))
                continue
            self._producers[tp] = producer
            return producer

    async def _stop_producers(self, tps: Sequence[TopicPartition]) -> None:
        for tp in tps:
            producer = self._producers.pop(tp, None)
            if producer is not None:
                await _stop_quietly(producer)

    async def _seek_committed(self, tp: TopicPartition) -> None:
        # An explicit position (not seek_to_beginning, which aiokafka applies lazily, after
        # records fetched from the old position may already have been handed out).
        consumer = self._running_consumer()
        committed = await consumer.committed(tp)
        if committed is None:
            committed = (await consumer.beginning_offsets([tp]))[tp]
        consumer.seek(tp, committed)
        self._next[tp] = committed

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Take partitions over: fence their previous holders first, then read offsets."""
        async with self._lock:
            for tp in sorted(assigned):
                if tp not in self._producers:
                    await self._start_producer(tp)
                # Read the committed offset only now: after init_transactions, the previous
                # holder's last transaction is either committed or aborted, never pending.
                await self._seek_committed(tp)
                self._needs_reset.discard(tp)
        self.health.consuming = True
        self.health.detail = {"assigned_partitions": len(assigned)}
        logger.info("exactly_once: %d partition(s) assigned", len(assigned))

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Give partitions up once no transaction of theirs is running."""
        async with self._lock:
            await self._stop_producers(sorted(revoked))
            for tp in revoked:
                self._next.pop(tp, None)
                self._needs_reset.discard(tp)

    async def _reset_partitions(self) -> None:
        """Replace the producer of each partition marked for reset, and re-read its offset.

        After a failure whose outcome is unknown (a commit that may or may not have gone
        through), the committed offset read after ``init_transactions`` is the truth.
        """
        consumer = self._running_consumer()
        if not self._needs_reset:
            return
        async with self._lock:
            while self._needs_reset:
                tp = self._needs_reset.pop()
                if tp not in consumer.assignment():
                    continue
                await self._stop_producers([tp])
                try:
                    await self._start_producer(tp)
                    await self._seek_committed(tp)
                except (KafkaError, TimeoutError) as exc:
                    if self._stop.is_set():
                        raise
                    # The broker is still away: try again on the next turn of the loop.
                    self._needs_reset.add(tp)
                    logger.warning(
                        "exactly_once: %s[%d] not restarted yet (%s)",
                        tp.topic,
                        tp.partition,
                        type(exc).__name__,
                    )
                    await asyncio.sleep(backoff_s(1))
                    return
                logger.info(
                    "exactly_once: %s[%d] restarted from its committed offset",
                    tp.topic,
                    tp.partition,
                )

    # ----------------------------------------------------------------- transactions

    async def _transact(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        """Process one partition's batch as one transaction (retried until it commits)."""
        start = self._next.get(tp)
        if tp in self._needs_reset or tp not in self._producers or start is None:
            # Not (or no longer) set up: the reset or assignment that follows seeks this
            # partition to its committed offset, so these records are fetched again.
            return
        # Records below the committed position were fetched before a seek (a rebalance or
        # reset overtook this batch): they are done already, and processing them again
        # would duplicate their output.
        records = [r for r in records if r.offset >= start]
        if not records:
            return
        processor = self.processors[tp.topic]
        # Every record gets an output or a counted drop (RouteProcessor.take), in the
        # route's engine thread: the event loop keeps answering meanwhile.
        emits = await processor.take_off_loop(records, timestamp_unit=1, cancel=self._cancel)
        if len(emits) < len(records):
            # Stopping: the records not processed are left to the next owner; what was
            # processed is committed with its offsets. Not stopping (cannot happen
            # today): the partition rereads from its committed offset.
            if not self._stop.is_set():
                self._needs_reset.add(tp)
            records = records[: len(emits)]
            if not records:
                return
        next_offset = records[-1].offset + 1
        attempt = 0
        route = processor.route.name
        while True:
            producer = self._producers.get(tp)
            if producer is None:
                return
            try:
                # Bounded: a transactional producer can wait for ever on a broker that came
                # back without its state (KAFKA-7763 in the Java client). Past the bound the
                # outcome is unknown, and the partition restarts with a new producer.
                await asyncio.wait_for(
                    self._commit_batch(producer, tp, emits, next_offset),
                    timeout=self._transaction_bound_s,
                )
            except TimeoutError:
                self._give_up_producer(tp, route, "transaction timed out")
                return
            except _RejectedError as rej:
                await self._abort(tp, producer, route)
                for i, exc in rej.failures:
                    emit = emits[i]
                    nxt = processor.rejected(emit, exc) if emit and is_record_error(exc) else None
                    if nxt is not None:
                        emits[i] = nxt
                    else:
                        attempt += 1
                if attempt:
                    if self._stop.is_set():
                        return  # shutting down: leave these records to the next owner
                    if attempt >= _ATTEMPTS_PER_PRODUCER:
                        self._give_up_producer(tp, route, "outputs kept failing")
                        return
                    await self._pause(processor, attempt, "output", rej.failures[0][1])
                continue
            except _FENCED:
                # Another worker holds this partition now; what we read is its to redo.
                logger.warning(
                    "exactly_once: fenced on %s[%d]; giving it up", tp.topic, tp.partition
                )
                self._needs_reset.add(tp)
                self.metrics.transactions.labels(route=route, result="fenced").inc()
                return
            except KafkaError as exc:
                attempt += 1
                await self._abort(tp, producer, route)
                if tp in self._needs_reset or self._stop.is_set():
                    return  # refetched after the reset / left to the next owner
                if attempt >= _ATTEMPTS_PER_PRODUCER:
                    self._give_up_producer(tp, route, "transaction kept failing")
                    return
                await self._pause(processor, attempt, "transaction", exc)
                continue
            break
        self.metrics.transactions.labels(route=route, result="committed").inc()
        self.health.stalled_since = None
        self._next[tp] = next_offset
        for emit in emits:
            if emit is not None:
                processor.delivered(emit)

    async def _commit_batch(
        self,
        producer: AIOKafkaProducer,
        tp: TopicPartition,
        emits: Sequence[Emit | None],
        next_offset: int,
    ) -> None:
        await producer.begin_transaction()
        futures: list[tuple[int, asyncio.Future[Any]]] = []
        failures: list[tuple[int, BaseException]] = []
        for i, emit in enumerate(emits):
            if emit is None:
                continue
            try:
                fut = await producer.send(
                    emit.topic,
                    emit.value,
                    key=emit.key,
                    headers=emit.headers,
                    timestamp_ms=emit.timestamp_ms,
                )
            except RECORD_ERRORS as exc:  # refused before it left (larger than max_request_size)
                failures.append((i, exc))
                continue
            futures.append((i, fut))
        results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
        failures += [
            (i, r)
            for (i, _), r in zip(futures, results, strict=True)
            if isinstance(r, BaseException)
        ]
        if failures:
            raise _RejectedError(failures)
        await producer.send_offsets_to_transaction({tp: next_offset}, self.settings.group_id)
        await producer.commit_transaction()

    def _give_up_producer(self, tp: TopicPartition, route: str, why: str) -> None:
        """Replace this partition's producer and reread its committed offset (see
        ``_reset_partitions``): the records of the batch are fetched and cleaned again."""
        logger.warning(
            "exactly_once: %s[%d]: %s; restarting the partition", tp.topic, tp.partition, why
        )
        self.metrics.transactions.labels(route=route, result="aborted").inc()
        self._needs_reset.add(tp)

    async def _abort(self, tp: TopicPartition, producer: AIOKafkaProducer, route: str) -> None:
        self.metrics.transactions.labels(route=route, result="aborted").inc()
        try:
            await asyncio.wait_for(producer.abort_transaction(), timeout=self._transaction_bound_s)
        except Exception as exc:  # noqa: BLE001 — a producer that cannot abort is replaced
            logger.warning(
                "exactly_once: abort on %s[%d] failed (%s); restarting the partition",
                tp.topic,
                tp.partition,
                type(exc).__name__,
            )
            self._needs_reset.add(tp)

    async def _pause(
        self, processor: RouteProcessor, attempt: int, what: str, exc: BaseException
    ) -> None:
        processor.metrics.send_retries.labels(route=processor.route.name, kind=what).inc()
        loop = asyncio.get_running_loop()
        if self.health.stalled_since is None:
            self.health.stalled_since = loop.time()
        if attempt == 1 or attempt % 10 == 0:
            logger.warning(
                "exactly_once: route %s: %s failed (%s), retry %d",
                processor.route.name,
                what,
                type(_root_cause(exc)).__name__,
                attempt,
            )
        await asyncio.sleep(backoff_s(attempt))


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, worker: ExactlyOnceWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.worker.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.worker.on_assigned(set(assigned))


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=15)
    except Exception as exc:  # noqa: BLE001 — stopping a broken producer must not stop the worker
        logger.debug("producer stop failed (%s)", type(exc).__name__)


# --------------------------------------------------------------------- wiring


class RepeatFilter(logging.Filter):
    """Let one record per message template through every ``interval_s``, per logger.

    Why: while a broker is down, aiokafka logs "Unable connect to node" from every
    connection attempt, thousands of lines a second (measured: 53,000 lines in a 20 s
    outage). One line per template per interval says the same, and the suppressed count
    is added to the next one let through.
    """

    def __init__(self, interval_s: float = 5.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, suppressed = self._last.get(key, (-1e18, 0))
        if now - last < self.interval_s:
            self._last[key] = (last, suppressed + 1)
            return False
        self._last[key] = (now, 0)
        if suppressed:
            record.msg = f"{record.msg} [{suppressed} similar lines suppressed]"
        return True


def quiet_client_logs(interval_s: float = 5.0) -> None:
    """Rate-limit the Kafka client libraries' repeated log lines (see :class:`RepeatFilter`)."""
    # Imported for their side effect: a module's logger exists once the module is loaded.
    import aiokafka.consumer.fetcher  # type: ignore[import-untyped]  # noqa: F401
    import aiokafka.producer.sender  # type: ignore[import-untyped]  # noqa: F401

    flt = RepeatFilter(interval_s)
    names = [
        n for n in logging.root.manager.loggerDict if n == "aiokafka" or n.startswith("aiokafka.")
    ]
    for name in names:
        logging.getLogger(name).addFilter(flt)


def build_processors(settings: Settings, metrics: StreamMetrics) -> list[RouteProcessor]:
    """Load routes, policies and the key; build one engine and processor per route.

    Raises:
        ConfigError: invalid routes or policies (every issue at once).
        KeyMissingError: a policy needs the secret key and none is configured.
    """
    from pipeline.keys import KeyRing
    from pipeline.routes import load_routes

    routes, policies = load_routes(settings.routes)
    keys = KeyRing.load(settings.key_file, settings.key_id)
    if keys is None:
        logger.warning("no secret key: quarantine entries will carry no (encrypted) payload")
    processors = [
        RouteProcessor(
            route,
            policies[route.name],
            Engine(policies[route.name], keys=keys, ner=settings.ner),
            metrics,
            max_payload_bytes=settings.quarantine_payload_max_bytes,
            record_time_budget_s=settings.record_time_budget_s or None,
            drift_warmup_records=settings.drift_warmup_records,
            drift_max_paths=settings.drift_max_paths,
        )
        for route in routes
    ]
    metrics.declare_routes([r.name for r in routes])
    metrics.set_drift_source(lambda new_only: [p.drift.listing(new_only=new_only) for p in processors])
    return processors


def run_exactly_once(
    settings: Settings,
    processors: Sequence[RouteProcessor],
    metrics: StreamMetrics,
    health: Health,
) -> None:
    """Run the exactly-once worker until SIGTERM/SIGINT, then finish in-flight transactions."""
    import signal

    from pipeline.metrics import WebServer

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        worker = ExactlyOnceWorker(
            settings, {p.route.source: p for p in processors}, metrics, health
        )
        metrics.set_lag_source(worker.lag)
        web = (
            WebServer(settings.web_host, settings.web_port, metrics, health)
            if settings.web_port
            else None
        )
        if web is not None:
            await web.start()
        try:
            await worker.run(stop)
        finally:
            if web is not None:
                await web.stop()
        logger.info("exactly_once: stopped cleanly")

    asyncio.run(main())
