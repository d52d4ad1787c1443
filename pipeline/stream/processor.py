"""What the stream does with one record: :class:`RouteProcessor`, shared by both runners.

:class:`RouteProcessor` is the transport-free step from a raw record to at most one output
(a cleaned record or a quarantine entry). Two runners move the bytes:

* ``faust`` (the default for at-least-once): Faust agents (:mod:`pipeline.stream.agents`)
  send each output, wait for the broker's acknowledgement with
  :func:`pipeline.stream.delivery.deliver`, and only then ack the event, so Faust commits
  an offset only once its output is stored;
* ``batch`` (:mod:`pipeline.stream.batch_runner`, confluent-kafka): batches, committed once
  every output is acknowledged (at-least-once) or in one Kafka transaction per batch
  (exactly-once, the only exactly-once implementation). Faust's own
  ``processing_guarantee="exactly_once"`` sends agent output outside the transaction (its
  ``Topic.publish_message`` never passes a transactional id to the producer; faust #177)
  and has open reports of duplicates after a kill (#517) and on rebalance (#323).

Security: nothing here logs or raises with a record value; log lines name the route,
topic, partition, offset, reason code and exception class.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from pipeline.core.drift import PathLog
from pipeline.core.engine import Engine
from pipeline.core.policy import Policy
from pipeline.stream.delivery import root_cause
from pipeline.stream.manifest import Manifest, with_manifest
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.quarantine import CLEAN_SEND_FAILED, ENGINE_EXCEPTION, SourceRef, build_entry
from pipeline.stream.quarantine import VERSION as QUARANTINE_VERSION
from pipeline.stream.routes import Route
from pipeline.stream.settings import Settings

logger = logging.getLogger(__name__)

# A header value may be null: the protocol allows it and real producers send it.
Header = tuple[str, bytes | None]

# Records whose free text goes through NER together (one spaCy nlp.pipe) in take_batch.
NER_BATCH = 256


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


def _value_of(record: Any) -> bytes | None:
    """A client's record value for batched NER, None when it cannot be read (the record
    itself is read, and its failure handled, by :meth:`RouteProcessor.take`)."""
    try:
        value = record.value
        return None if value is None else bytes(value)
    except Exception:  # noqa: BLE001 — take() reports it; here it is only not primed
        return None


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
        # Labelled children by entity type and by reason, looked up once (labels() takes a
        # lock and builds a key each time: ~2 µs per record and entity type).
        self._entity_counters: dict[str, Any] = {}
        self._quarantine_counters: dict[str, Any] = {}
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
        """Clean with ``policy`` and ``engine`` from the next batch on (pipeline.stream.reload).

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

    def take_up_swap(self) -> tuple[Policy, Engine]:
        """Take up a pending swap, as a batch does, and return the (policy, engine) in
        use: the engine child (:mod:`pipeline.stream.engine_process`) is sent this pair."""
        self._take_up_swap()
        return self.policy, self.engine

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
        primed = 0  # records before this index had their free text through NER together
        for i, record in enumerate(records):
            if cancel is not None and cancel.is_set():
                break
            if until is not None and out and time.monotonic() >= until:
                break
            if i >= primed and self.engine.batches_ner:
                primed = i + NER_BATCH
                self._prime_ner(records[i:primed], until)
            out.append(self.take(record, timestamp_unit=timestamp_unit))
        return out

    def _prime_ner(self, records: Sequence[Any], until: float | None) -> None:
        """Batched NER (:meth:`Engine.prime_ner`) for the records about to be taken: one
        spaCy ``nlp.pipe`` over their free text, so :meth:`take` finds the names ready.
        Speed only: the outputs are the same, and a failure here costs nothing but time."""
        try:
            self.engine.prime_ner([_value_of(r) for r in records], deadline=until)
        except Exception as exc:  # noqa: BLE001 — each record is still cleaned on its own
            logger.warning(
                "route %s: batched NER failed (%s); records cleaned one by one",
                self.route.name,
                type(exc).__name__,
            )

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
        cause = type(root_cause(exc)).__name__
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
            counters = self._entity_counters
            for entity, n in emit.entities.items():
                counter = counters.get(entity)
                if counter is None:
                    counter = counters[entity] = self.metrics.entities.labels(
                        route=self.route.name, entity=entity
                    )
                counter.inc(n)
        else:
            reason = emit.reason or "unknown"
            counter = self._quarantine_counters.get(reason)
            if counter is None:
                counter = self._quarantine_counters[reason] = (
                    self.metrics.records_quarantined.labels(route=self.route.name, reason=reason)
                )
            counter.inc()
        self.completed(emit.source)

    def completed(self, msg: Incoming) -> None:
        """Record that ``msg`` is fully handled."""
        self._latency.observe(time.monotonic() - msg.received)
        self.positions[msg.partition] = max(self.positions.get(msg.partition, 0), msg.offset + 1)


def build_processors(settings: Settings, metrics: StreamMetrics) -> list[RouteProcessor]:
    """Load routes, policies and the key; build one engine and processor per route.

    Raises:
        ConfigError: invalid routes or policies (every issue at once).
        KeyMissingError: a policy needs the secret key and none is configured.
    """
    from pipeline.keys import KeyRing
    from pipeline.stream.routes import load_routes

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
    metrics.set_drift_source(
        lambda new_only: [p.drift.listing(new_only=new_only) for p in processors]
    )
    return processors
