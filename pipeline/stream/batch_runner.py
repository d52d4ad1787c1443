"""The batched runner on confluent-kafka (librdkafka): consume a batch, clean it, produce, commit.

``logscrub worker --runner batch`` (and every ``--guarantee exactly_once`` worker) runs this
loop instead of Faust agents. It calls the same :class:`~pipeline.stream.processor.RouteProcessor`
as the Faust runner (:meth:`~pipeline.stream.processor.RouteProcessor.take_batch`), so outcomes,
quarantine entries, the manifest header and the metric names are the same for both: the
runners differ only in transport.

One batch at a time, in one thread:

1. ``consumer.consume()``: what the client has fetched, up to ``batch_max_records``
   (waiting only when nothing is there, so an idle stream costs no latency);
2. every record through the engine: a cleaned record, a quarantine entry or a counted drop;
3. at-least-once: every output produced (idempotent producer, ``acks=all``); while the
   producer's threads deliver them, the next batch is cleaned; then the acknowledgements
   are settled: a refused output falls back to a smaller one
   (:meth:`RouteProcessor.rejected`), a failed one is sent again with backoff, and only
   once every output of the batch is acknowledged are its input offsets committed, before
   the next batch's outputs are produced. A crash anywhere before the commit means the
   batch is processed again: duplicates are possible, losses are not.
4. exactly-once: the outputs and the input offsets in one transaction
   (``send_offsets_to_transaction`` with ``consumer_group_metadata()``, KIP-447: one
   transactional producer per process, fenced by the consumer group's generation). On a
   failure the transaction is aborted and the batch's partitions are rewound to their
   committed offsets, so the records are fetched and processed again. The engine runs
   before ``begin_transaction``: a transaction is open only while its outputs are sent,
   milliseconds on a healthy cluster, well inside ``transaction_timeout_s``.

The loop only consumes between batches, so a rebalance (served inside ``consume()``)
never meets a half-done batch.

Why this replaces the aiokafka exactly-once worker: aiokafka's
``send_offsets_to_transaction`` sends no group generation (no KIP-447), which forced a
transactional producer per input partition; after a broker restart it stopped making
progress (CI: 1,248 of 2,000 inputs missing after 100 s). librdkafka implements KIP-447
and recovers from coordinator moves by itself.

Security: nothing here logs or raises with a record value: log lines name the route,
topic, partition, offset, error code names and counts; librdkafka's own log lines carry no
payload either.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import FrameType
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from pipeline.stream.client_logs import RepeatFilter
from pipeline.stream.delivery import RECORD_ERRORS, backoff_s, is_record_error
from pipeline.stream.metrics import Health, StreamMetrics, WebServer
from pipeline.stream.processor import Emit, Header, RouteProcessor
from pipeline.stream.settings import Settings

logger = logging.getLogger(__name__)
# librdkafka's error callback: the same error every few ms while a broker is away; one line
# per code every 5 s (RepeatFilter, installed by run_batch).
_client_log = logging.getLogger(f"{__name__}.client")

# How long a stopping runner still waits for acknowledgements of outputs already sent.
_SETTLE_S = 5.0
# How long ``consume()`` blocks when nothing has been fetched (also how quickly SIGTERM is
# seen while idle: the Python signal handler runs when the C call returns).
_IDLE_WAIT_S = 0.25
# The lag gauge is refreshed at most this often (it reads librdkafka's cached watermarks).
_LAG_EVERY_S = 0.5
# Past message.timeout.ms plus this, a missing delivery report means a stuck producer.
_STUCK_MARGIN_S = 5.0
# Producer restarts in a row (no transaction committed in between) before the process gives
# up: another process holds our transactional id (two workers sharing an instance_id).
_MAX_FATAL_IN_A_ROW = 5
# Failed reads of the committed offsets (``request_timeout_s`` each) before a rewind gives
# up on the consumer and joins the group again with a new one (:meth:`_rejoin`).
_REWIND_TRIES = 3


def _record_errors() -> dict[int, type[BaseException]]:
    """librdkafka error codes about one record -> the aiokafka class the Faust runner sees.

    The same class, so a quarantine entry's ``error_type`` (``MessageSizeTooLargeError``)
    does not depend on the runner, and :func:`pipeline.stream.delivery.is_record_error` applies.
    """
    from aiokafka.errors import (
        CorruptRecordException,
        InvalidTimestampError,
        MessageSizeTooLargeError,
        RecordListTooLargeError,
        UnsupportedForMessageFormatError,
    )

    return {
        KafkaError.MSG_SIZE_TOO_LARGE: MessageSizeTooLargeError,
        KafkaError.RECORD_LIST_TOO_LARGE: RecordListTooLargeError,
        KafkaError.INVALID_MSG: CorruptRecordException,
        KafkaError.INVALID_RECORD: CorruptRecordException,
        KafkaError.INVALID_TIMESTAMP: InvalidTimestampError,
        KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT: UnsupportedForMessageFormatError,
    }


_RECORD_ERRORS = _record_errors()
assert all(issubclass(c, RECORD_ERRORS) for c in _RECORD_ERRORS.values())  # noqa: S101


class SendError(Exception):
    """An output the broker did not take for a reason other than the record itself."""

    def __init__(self, code_name: str) -> None:
        super().__init__(code_name)
        self.code_name = code_name


def as_exception(err: Any) -> BaseException:
    """A librdkafka ``KafkaError`` as an exception: the aiokafka record-error class for a
    refusal of the record itself, :class:`SendError` (named by its code) otherwise."""
    cls = _RECORD_ERRORS.get(err.code())
    return cls() if cls is not None else SendError(str(err.name()))


class ConfluentRecord:
    """A confluent-kafka ``Message`` with the attributes
    :func:`pipeline.stream.processor.incoming_from` reads (``topic``, ``partition``,
    ``offset``, ``timestamp`` in ms, ``key``, ``value``, ``headers``). Its repr shows
    nothing of the record."""

    __slots__ = ("_m",)

    def __init__(self, message: Any) -> None:
        self._m = message

    @property
    def topic(self) -> str:
        """Source topic."""
        return str(self._m.topic())

    @property
    def partition(self) -> int:
        """Source partition."""
        return int(self._m.partition())

    @property
    def offset(self) -> int:
        """Source offset."""
        return int(self._m.offset())

    @property
    def timestamp(self) -> int | None:
        """The record's timestamp in ms, None when it has none."""
        kind, ts = self._m.timestamp()
        return None if kind == TIMESTAMP_NOT_AVAILABLE else int(ts)

    @property
    def key(self) -> bytes | None:
        """Raw key."""
        key: bytes | None = self._m.key()
        return key

    @property
    def value(self) -> bytes | None:
        """Raw value."""
        value: bytes | None = self._m.value()
        return value

    @property
    def headers(self) -> list[Header] | None:
        """Raw headers (a null value stays None)."""
        headers: list[Header] | None = self._m.headers()
        return headers

    def __repr__(self) -> str:
        return "ConfluentRecord(...)"


def _code(exc: BaseException) -> str:
    """What a log line may say about a client error: its code name or class, no text."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return str(exc.args[0].name())
    if isinstance(exc, SendError):
        return exc.code_name
    return type(exc).__name__


class _StoppedError(Exception):
    """The runner is stopping while a batch could not be finished (left uncommitted)."""


class _RewindError(Exception):
    """The batch failed as a whole: abort (exactly-once) and refetch from committed offsets."""

    def __init__(self, why: BaseException) -> None:
        super().__init__(_code(why))
        self.why = why


# A batch produced and not yet settled: its outputs, their delivery reports (filled by the
# producer's callbacks: index -> None or the failure) and its input offsets.
_Sent = tuple[
    list[tuple[RouteProcessor, Emit]], dict[int, BaseException | None], dict[tuple[str, int], int]
]


class BatchRunner:
    """Consume, clean and produce in batches with confluent-kafka.

    Guarantees: at-least-once: a batch's input offsets are committed only once every
    output of the batch (cleaned record or quarantine entry) is acknowledged by the broker;
    exactly-once: outputs and input offsets are committed in one transaction (read the
    clean topics with ``isolation_level=read_committed``). Fail closed: only outputs of
    :class:`RouteProcessor` are produced, and it gives a cleaned record only for a record
    whose anonymization completed.
    """

    def __init__(
        self,
        settings: Settings,
        processors: Sequence[RouteProcessor],
        metrics: StreamMetrics,
        health: Health,
    ) -> None:
        self.settings = settings
        self.exactly_once = settings.guarantee == "exactly_once"
        self.processors = {p.route.source: p for p in processors}  # by source topic
        self.metrics = metrics
        self.health = health
        self.stop = threading.Event()
        self._consumer: Any = None
        self._producer: Any = None
        self._uncommitted: dict[tuple[str, int], int] = {}  # at-least-once: offsets to commit
        self._leftover: list[Any] = []  # fetched, not yet processed (past a batch's slice)
        # At-least-once: the last batch's outputs, produced and not yet known acknowledged
        # (outputs, delivery results filled by the producer's callbacks, input offsets).
        self._sent: _Sent | None = None
        self._lag: dict[str, tuple[int, int]] = {p.route.name: (0, 0) for p in processors}
        self._lag_at = 0.0
        self._fatal_in_a_row = 0
        self._attempt = 0  # failed transactions in a row (for the backoff)
        self._suspect = False  # the producer missed delivery reports: replace it
        self._calls: ThreadPoolExecutor | None = None  # runs the transactional calls
        instance = settings.instance_id or uuid.uuid4().hex[:12]
        # KIP-447: one transactional id per process, not per partition; the consumer
        # group's generation fences a zombie. A stable instance_id also lets a restarted
        # process abort its predecessor's open transaction at once (init_transactions)
        # instead of after transaction_timeout_s.
        self.transactional_id = f"logscrub-{settings.group_id}-{instance}"

    # ----------------------------------------------------------------- clients

    def _common(self) -> dict[str, Any]:
        s = self.settings
        return {
            "bootstrap.servers": s.brokers,
            "client.id": s.client_id,
            "error_cb": self._on_client_error,
            "log.connection.close": False,
        }

    def _consumer_config(self) -> dict[str, Any]:
        s = self.settings
        session_ms = int(s.session_timeout_s * 1000)
        fetch = max(1_048_576, s.max_request_bytes)
        return {
            **self._common(),
            "group.id": s.group_id,
            "enable.auto.commit": False,  # offsets only after the outputs (or in the txn)
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            # Also makes the committed-offset fetch wait for a pending transaction's
            # offsets (KIP-447 require_stable) instead of reading a stale one.
            "isolation.level": "read_committed",
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": max(100, session_ms // 3),
            "max.poll.interval.ms": max(300_000, session_ms),
            # librdkafka prefetches up to 100,000 records / 64 MB per partition by default:
            # ~360 MB peak RSS draining 4 partitions (measured). 10,000 records per
            # partition is still seconds of engine work ahead.
            "queued.min.messages": 10_000,
            "queued.max.messages.kbytes": 16_384,
            "max.partition.fetch.bytes": fetch,
            "fetch.max.bytes": max(52_428_800, fetch),
            "receive.message.max.bytes": max(100_000_000, fetch + 1_048_576),
        }

    def _producer_config(self) -> dict[str, Any]:
        s = self.settings
        request_ms = int(s.request_timeout_s * 1000)
        conf: dict[str, Any] = {
            **self._common(),
            "enable.idempotence": True,
            "acks": "all",
            # A batch's outputs are produced together, so they fill requests without
            # lingering; the runner no longer waits for them (it cleans the next batch),
            # so a linger would be added to every record's latency.
            "linger.ms": 1,
            "message.max.bytes": s.max_request_bytes,
            # An output not acknowledged within this time is reported failed and sent again
            # by this runner (counted in send_retries), rather than waited for forever.
            "message.timeout.ms": request_ms,
            "request.timeout.ms": request_ms,
            "receive.message.max.bytes": max(100_000_000, s.max_request_bytes + 1_048_576),
        }
        if self.exactly_once:
            txn_ms = int(s.transaction_timeout_s * 1000)
            conf["transactional.id"] = self.transactional_id
            conf["transaction.timeout.ms"] = txn_ms
            conf["message.timeout.ms"] = min(request_ms, txn_ms)  # librdkafka requires <=
        return conf

    def _on_client_error(self, err: Any) -> None:
        # Broker down, all brokers down, ...: librdkafka retries on its own; said once per
        # code and interval (RepeatFilter on this logger), code name only.
        _client_log.warning("kafka client: %s%s", err.name(), " (fatal)" if err.fatal() else "")

    def _start_producer(self) -> Any:
        """A producer; exactly-once: with ``init_transactions`` done (retried until it works)."""
        attempt = 0
        while True:
            producer = Producer(self._producer_config())
            if not self.exactly_once:
                return producer
            try:
                # Fences an earlier producer with this transactional id and completes or
                # aborts its open transaction.
                self._bounded(producer.init_transactions, self.settings.request_timeout_s)
            except KafkaException as exc:
                attempt += 1
                logger.warning(
                    "batch: transactional producer not ready (%s), retry %d", _code(exc), attempt
                )
                _discard(producer)
                if self._sleep(backoff_s(attempt)):
                    raise _StoppedError from None
                continue
            self._suspect = False
            return producer

    def _bounded(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` (a blocking transactional call whose last argument is its
        timeout), given up after that timeout plus a margin.

        Why: librdkafka 2.16.0 honours these timeouts, except that once, after a broker
        restart and a rebalance, ``send_offsets_to_transaction`` blocked for minutes
        (thread dumps: the stream stopped, every partition behind). A call that hangs is
        left in its thread; the producer is replaced, and the new one's
        ``init_transactions`` (same transactional id) fences the old one and aborts its
        open transaction, which also ends the hung call.
        """
        if self._calls is None:
            self._calls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logscrub-txn")
        future = self._calls.submit(call, *args)
        limit = float(args[-1]) + _STUCK_MARGIN_S
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            logger.warning(
                "batch: %s did not return within %.0f s; replacing the producer",
                getattr(call, "__name__", "a transactional call"),
                limit,
            )
            self._calls.shutdown(wait=False)
            self._calls = None  # the hung call keeps its thread; the next one gets a new one
            self._suspect = True
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT)) from None

    def _renew_producer(self) -> None:
        """Replace the producer by a new one (its init_transactions resets the sequences)."""
        old, self._producer = self._producer, None
        if old is not None:
            _discard(old)
        self._producer = self._start_producer()

    def _restart_producer(self, why: BaseException) -> None:
        self._fatal_in_a_row += 1
        if self._fatal_in_a_row > _MAX_FATAL_IN_A_ROW:
            msg = (
                f"the producer failed {self._fatal_in_a_row} times in a row ({_code(why)}); "
                "exactly_once: fenced by another process with the same transactional id?"
            )
            raise SystemExit(msg)
        logger.warning("batch: restarting the producer after %s", _code(why))
        self._renew_producer()

    # ----------------------------------------------------------------- lifecycle

    def run(self) -> None:
        """Process until :attr:`stop` is set; then finish the batch, commit it, leave the group."""
        self._producer = self._start_producer() if not self.stop.is_set() else None
        if self._producer is None:
            return
        self._consumer = self._subscribe()
        logger.info(
            "batch: %s, %d route(s), up to %d records per batch%s",
            self.settings.guarantee,
            len(self.processors),
            self.settings.batch_max_records,
            f", transactional id {self.transactional_id}" if self.exactly_once else "",
        )
        try:
            while not self.stop.is_set():
                room = self.settings.batch_max_records - len(self._leftover)
                fetched = (
                    self._fetch(self._consumer, room, block=not self._leftover) if room > 0 else []
                )
                # After the fetch: a rebalance inside it drops the leftovers (not ours now,
                # or refetched from the committed offsets).
                messages, self._leftover = self._leftover + fetched, []
                if messages:
                    self._leftover = self._batch(messages)
                else:
                    self._finish_sent()  # nothing to clean meanwhile: settle the last batch
                self._refresh_lag()
        except _StoppedError:
            logger.info("batch: stopping with a batch unfinished; it stays uncommitted")
        finally:
            self.health.stopping = True
            if self._sent is not None:
                try:
                    self._finish_sent()
                except _StoppedError:
                    logger.info(
                        "batch: stopping before the last batch was acknowledged; uncommitted"
                    )
            if not self.exactly_once and self._uncommitted:
                self._commit(final=True)
            _close_quietly(self._consumer)  # leaves the group: partitions move on at once
            if self._producer is not None:
                self._producer.flush(_SETTLE_S)
                _discard(self._producer)
            for processor in self.processors.values():
                processor.close()

    def _subscribe(self) -> Any:
        consumer = Consumer(self._consumer_config())
        consumer.subscribe(
            sorted(self.processors),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        return consumer

    def _rejoin(self) -> None:
        """Replace the consumer: leave the group, join again with a new one.

        Why: a new member starts each partition it is given at the committed offset, which
        is what a rewind needs when the old consumer cannot read those offsets. CI saw an
        exactly-once worker whose consumer, after a broker restart during a failed
        transaction, timed out reading committed offsets for over 90 s while the broker and
        a new producer worked (librdkafka 2.16.0; its session had timed out meanwhile). The
        old consumer's ``close`` is given ``session_timeout_s`` and then left behind: the
        broker drops its membership when that session times out.
        """
        old, self._consumer = self._consumer, None
        self._leftover = []
        closing = threading.Thread(target=_close_quietly, args=(old,), daemon=True)
        closing.start()
        closing.join(self.settings.session_timeout_s)
        if closing.is_alive():
            logger.warning("batch: the old consumer did not close in time; left behind")
        self._consumer = self._subscribe()
        logger.warning("batch: rejoined the group with a new consumer")

    def _fetch(self, consumer: Any, limit: int, *, block: bool = True) -> list[Any]:
        """What has been fetched, up to ``batch_max_records``; blocks briefly only when empty.

        ``consume(n, timeout)`` waits for the whole timeout unless n records are there, so
        a batch is taken without waiting, and the wait is spent on a single ``poll``.
        """
        messages: list[Any] = consumer.consume(limit, 0)
        if not messages and block:
            first = consumer.poll(_IDLE_WAIT_S)
            if first is None:
                return []
            messages = [first]
            if limit > 1:
                messages += consumer.consume(limit - 1, 0)
        records = []
        for m in messages:
            err = m.error()
            if err is None:
                records.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                logger.warning("batch: consumer error %s", err.name())
        return records

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (serving producer callbacks); True when stopping."""
        return self.stop.wait(seconds)

    # ----------------------------------------------------------------- one batch

    def _batch(self, messages: list[Any]) -> list[Any]:
        """Clean, send and commit the start of ``messages`` that fits in ``batch_max_s`` of
        engine time (one record at least); returns the rest, in order, for the next batch.

        Why a time slice: outputs go out per batch, so a record waits for the rest of its
        batch; 1,000 records are ~0.3-1 s of engine time on these machines.
        """
        started = time.monotonic()
        until = started + self.settings.batch_max_s
        by_topic: dict[str, list[Any]] = {}
        for m in messages:
            by_topic.setdefault(m.topic(), []).append(m)
        offsets: dict[tuple[str, int], int] = {}
        outputs: list[tuple[RouteProcessor, Emit]] = []
        rest: list[Any] = []
        for topic, batch in by_topic.items():
            processor = self.processors.get(topic)
            if processor is None:  # cannot happen: only the routes' topics are subscribed
                logger.error("batch: records of an unknown topic %s; not committed", topic)
                continue
            left = until - time.monotonic()
            if left <= 0 and outputs:
                rest += batch
                continue
            # Every record gets an output or a counted drop (take never raises); it stops
            # after its slice, one record at least, and the rest waits for the next batch.
            emits = processor.take_batch(
                [ConfluentRecord(m) for m in batch], timestamp_unit=1, slice_s=max(left, 0.0)
            )
            rest += batch[len(emits) :]
            for m in batch[: len(emits)]:
                key = (topic, m.partition())
                offsets[key] = max(offsets.get(key, -1), m.offset() + 1)
            outputs += [(processor, e) for e in emits if e is not None]
        cleaned = time.monotonic()
        if self.exactly_once:
            if not self._transact(outputs, offsets):
                # Aborted and rewound: the rest is fetched again too (rewind its partitions).
                parts = {(m.topic(), m.partition()) for m in rest} - set(offsets)
                if parts:
                    self._rewind(sorted(parts))
                return []
        else:
            # The last batch's outputs were acknowledged while this one was cleaned (the
            # producer's threads deliver meanwhile): settle it (retries, fallbacks),
            # commit its offsets, then produce this one's and go on without waiting.
            # Outputs of a batch still leave after every output of the batch before.
            self._finish_sent()
            results: dict[int, BaseException | None] = {}
            self._enqueue(outputs, range(len(outputs)), results)
            self._sent = (outputs, results, offsets)
        if logger.isEnabledFor(logging.DEBUG):
            done = time.monotonic()
            logger.debug(
                "batch: %d records, %d outputs: engine %.1f ms, send+commit %.1f ms",
                len(messages),
                len(outputs),
                (cleaned - started) * 1e3,
                (done - cleaned) * 1e3,
            )
        return rest

    # ----------------------------------------------------------------- producing

    def _produce_all(
        self,
        outputs: Sequence[tuple[RouteProcessor, Emit]],
        todo: Sequence[int],
        solo: set[int] | frozenset[int] = frozenset(),
    ) -> dict[int, BaseException | None]:
        """Produce ``outputs[i]`` for each i in ``todo``; wait for every acknowledgement.

        The outputs in ``solo`` go last, each in a produce request of its own: the broker
        refuses a whole record batch for one record too large for the topic, so a refusal
        seen in a batch is checked alone before the record falls back to a smaller output.
        Returns i -> None (acknowledged) or the failure. Raises _StoppedError when stopping and
        the acknowledgements do not come within ``_SETTLE_S``.
        """
        results: dict[int, BaseException | None] = {}
        together = [i for i in todo if i not in solo]
        self._produce(outputs, together, results)
        for i in todo:
            if i in solo:
                self._produce(outputs, [i], results)
                if self.exactly_once and results[i] is not None:
                    break  # the transaction must be aborted: the rest would fail with it
        return results

    def _produce(
        self,
        outputs: Sequence[tuple[RouteProcessor, Emit]],
        todo: Sequence[int],
        results: dict[int, BaseException | None],
    ) -> None:
        want = len(results) + len(todo)
        self._enqueue(outputs, todo, results)
        self._await_reports(todo, results, want)

    def _enqueue(
        self,
        outputs: Sequence[tuple[RouteProcessor, Emit]],
        todo: Sequence[int],
        results: dict[int, BaseException | None],
    ) -> None:
        """Produce ``outputs[i]`` for each i in ``todo``; their delivery reports fill
        ``results`` (i -> None or the failure) when the producer is polled."""
        producer = self._producer

        def acked(i: int) -> Callable[[Any, Any], None]:
            def on_delivery(err: Any, _msg: Any) -> None:
                results[i] = None if err is None else as_exception(err)

            return on_delivery

        for i in todo:
            emit = outputs[i][1]
            while True:
                try:
                    producer.produce(
                        emit.topic,
                        emit.value,
                        emit.key,
                        headers=emit.headers or None,
                        timestamp=emit.timestamp_ms or 0,
                        on_delivery=acked(i),
                    )
                except BufferError:  # the local queue is full: let acknowledgements drain
                    producer.poll(0.05)
                    continue
                except KafkaException as exc:  # refused before sending (larger than allowed)
                    err = exc.args[0] if exc.args else None
                    results[i] = as_exception(err) if err is not None else SendError("unknown")
                except RECORD_ERRORS as exc:  # the client cannot encode it (type, value)
                    results[i] = exc
                break
        producer.poll(0)  # serve the reports already in (no wait)

    def _await_reports(
        self, todo: Sequence[int], results: dict[int, BaseException | None], want: int
    ) -> None:
        """Wait until ``results`` holds ``want`` delivery reports."""
        producer = self._producer
        stop_at: float | None = None
        # Every output gets a delivery report within message.timeout.ms; past that (and a
        # margin) the producer is stuck (seen once after a broker restart, waiting on a
        # producer-id bump): the missing outputs count as failed and the producer is
        # replaced, rather than waited for forever.
        stuck_at = time.monotonic() + self.settings.request_timeout_s + _STUCK_MARGIN_S
        while len(results) < want:
            producer.flush(0.2)
            now = time.monotonic()
            if self.stop.is_set():
                stop_at = stop_at if stop_at is not None else now
                if now - stop_at > _SETTLE_S and len(results) < want:
                    raise _StoppedError
            if now > stuck_at and len(results) < want:
                logger.warning(
                    "batch: %d delivery report(s) missing after %.0f s; replacing the producer",
                    want - len(results),
                    self.settings.request_timeout_s + _STUCK_MARGIN_S,
                )
                self._suspect = True
                for i in todo:
                    results.setdefault(i, SendError("_DELIVERY_STUCK"))

    def _finish_sent(self) -> None:
        """At-least-once: wait for the last batch's acknowledgements (usually all in), settle
        its failures (:meth:`_send`), then commit its input offsets."""
        if self._sent is None:
            return
        (outputs, results, offsets), self._sent = self._sent, None
        self._await_reports(range(len(outputs)), results, len(outputs))
        self._send(outputs, first=results)
        self._uncommitted.update(offsets)
        self._commit()

    def _send(
        self,
        outputs: list[tuple[RouteProcessor, Emit]],
        first: dict[int, BaseException | None] | None = None,
    ) -> None:
        """At-least-once: every output acknowledged (with fallbacks and retries), counted.
        ``first``: the delivery reports of a first send of every output, made by the caller."""
        todo = list(range(len(outputs)))
        solo: set[int] = set()
        attempt = 0
        while todo:
            if first is not None:
                results, first = first, None
            else:
                results = self._produce_all(outputs, todo, solo)
            again: list[int] = []
            transient: BaseException | None = None
            for i in todo:
                processor, emit = outputs[i]
                exc = results[i]
                if exc is None:
                    processor.delivered(emit)
                    continue
                if is_record_error(exc) and i not in solo:
                    solo.add(i)  # refused in a batch: alone next, to know it is this one
                    again.append(i)
                    continue
                if is_record_error(exc):
                    nxt = processor.rejected(emit, exc)
                    if nxt is not None:
                        outputs[i] = (processor, nxt)
                        again.append(i)
                        continue
                transient = exc
                again.append(i)
                processor.metrics.send_retries.labels(
                    route=processor.route.name, kind=emit.kind
                ).inc()
            todo = again
            if transient is not None:
                attempt += 1
                if self._suspect:
                    self._suspect = False
                    self._renew_producer()
                elif isinstance(transient, SendError) and transient.code_name == "_FATAL":
                    # An idempotent producer in a fatal state (a sequence gap) sends
                    # nothing more: a new one, the outputs sent again (at-least-once).
                    self._restart_producer(transient)
                self._stalled(attempt, "sending", transient, len(todo))
                if self._sleep(backoff_s(attempt)):
                    raise _StoppedError
        if attempt:
            logger.info("batch: outputs sent after %d retries", attempt)
        self._fatal_in_a_row = 0
        self.health.stalled_since = None

    def _stalled(self, attempt: int, what: str, exc: BaseException, count: int) -> None:
        if self.health.stalled_since is None:
            self.health.stalled_since = time.monotonic()
        if attempt == 1 or attempt % 10 == 0:
            logger.warning(
                "batch: %s failed (%s) for %d output(s), retry %d", what, _code(exc), count, attempt
            )

    # ----------------------------------------------------------------- at-least-once commit

    def _commit(self, *, final: bool = False) -> None:
        """Commit the offsets of acknowledged batches (retried while the broker is away)."""
        attempt = 0
        while self._uncommitted:
            offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(self._uncommitted.items())]
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                code = err.code() if err is not None else None
                if code in (
                    KafkaError.ILLEGAL_GENERATION,
                    KafkaError.UNKNOWN_MEMBER_ID,
                    KafkaError.REBALANCE_IN_PROGRESS,
                    KafkaError.FENCED_INSTANCE_ID,
                    KafkaError._NO_OFFSET,
                ):
                    # The partitions moved on: their new owner processes these records
                    # again from the last commit (duplicates, allowed at-least-once).
                    logger.warning("batch: commit refused (%s); the new owner redoes", _code(exc))
                    self._uncommitted.clear()
                    return
                attempt += 1
                if final or self.stop.is_set():
                    logger.warning("batch: final commit failed (%s)", _code(exc))
                    return
                self._stalled(attempt, "commit", exc, len(offsets))
                if self._sleep(backoff_s(attempt)):
                    return
                continue
            self._uncommitted.clear()
        self.health.stalled_since = None

    # ----------------------------------------------------------------- exactly-once

    def _transact(
        self, outputs: list[tuple[RouteProcessor, Emit]], offsets: Mapping[tuple[str, int], int]
    ) -> bool:
        """Outputs and input offsets in one transaction; on failure abort and rewind (False)."""
        topics = {t for t, _ in offsets}
        routes = {p.route.name for p in self.processors.values() if p.route.source in topics}
        s = self.settings
        solo: set[int] = set()
        try:
            while True:
                producer = self._producer
                producer.begin_transaction()
                results = self._produce_all(outputs, range(len(outputs)), solo)
                refused = [(i, e) for i, e in results.items() if e is not None]
                own = [(i, e) for i, e in refused if is_record_error(e)]
                if refused and not own:
                    raise _RewindError(refused[0][1])
                if own or len(results) < len(outputs):
                    # The broker refused some outputs themselves: abort, and send the batch
                    # again with each refused output alone (a whole record batch is refused
                    # for one record), or, refused alone, replaced by its smaller fallback.
                    # The other failures are the aborted transaction's (_STATE): resent.
                    # A new producer after the abort: librdkafka keeps the refused record's
                    # sequence number, and the next transaction then fails with
                    # OUT_OF_ORDER_SEQUENCE_NUMBER (measured with 2.16.1).
                    self._abort(routes)
                    self._renew_producer()
                    for i, exc in own:
                        if i not in solo:
                            solo.add(i)
                            continue
                        processor, emit = outputs[i]
                        nxt = processor.rejected(emit, exc)
                        if nxt is None:
                            raise _RewindError(exc)
                        outputs[i] = (processor, nxt)
                    continue
                self._bounded(
                    producer.send_offsets_to_transaction,
                    [TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                    self._consumer.consumer_group_metadata(),
                    s.request_timeout_s,
                )
                self._commit_transaction()
                break
        except (KafkaException, _RewindError) as exc:
            why = exc.why if isinstance(exc, _RewindError) else exc
            self._failed(routes, why, [t for t in offsets])
            return False
        self._fatal_in_a_row = 0
        self._attempt = 0
        self.health.stalled_since = None
        for name in routes:
            self.metrics.transactions.labels(route=name, result="committed").inc()
        for processor, emit in outputs:
            processor.delivered(emit)
        return True

    def _commit_transaction(self) -> None:
        attempt = 0
        while True:
            try:
                self._bounded(self._producer.commit_transaction, self.settings.request_timeout_s)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if not err.retriable() or err.txn_requires_abort() or err.fatal():
                    raise
                attempt += 1
                if attempt > 5 or self._sleep(backoff_s(attempt)):
                    raise

    def _failed(
        self, routes: set[str], why: BaseException, partitions: list[tuple[str, int]]
    ) -> None:
        """A transaction failed: abort it (or replace the producer), rewind, back off."""
        self._attempt += 1
        err = why.args[0] if isinstance(why, KafkaException) and why.args else None
        fatal = bool(err is not None and isinstance(err, KafkaError) and err.fatal())
        for p in self.processors.values():
            if p.route.name in routes:
                p.metrics.send_retries.labels(route=p.route.name, kind="transaction").inc()
        if self.health.stalled_since is None:
            self.health.stalled_since = time.monotonic()
        # Every time (rare, and what an operator needs to see): code name and counts only.
        logger.warning(
            "batch: transaction failed (%s) on %d partition(s), attempt %d",
            _code(why),
            len(partitions),
            self._attempt,
        )
        if fatal:
            for name in routes:
                self.metrics.transactions.labels(route=name, result="fenced").inc()
            self._restart_producer(why)
        elif self._suspect:
            # Its successor's init_transactions aborts the open transaction on the broker.
            self._suspect = False
            for name in routes:
                self.metrics.transactions.labels(route=name, result="aborted").inc()
            self._renew_producer()
        else:
            self._abort(routes)
        self._rewind(partitions)
        if self._sleep(backoff_s(self._attempt)):
            raise _StoppedError

    def _abort(self, routes: set[str]) -> None:
        for name in routes:
            self.metrics.transactions.labels(route=name, result="aborted").inc()
        try:
            self._bounded(self._producer.abort_transaction, self.settings.request_timeout_s)
        except KafkaException as exc:
            # A producer that cannot abort (broker away, fatal state) is replaced: its
            # successor's init_transactions aborts the open transaction on the broker.
            self._restart_producer(exc)

    def _rewind(self, partitions: list[tuple[str, int]]) -> None:
        """Seek ``partitions`` back to their committed offsets (the truth after a failure)."""
        consumer = self._consumer
        attempt = 0
        while True:
            try:
                committed = consumer.committed(
                    [TopicPartition(t, p) for t, p in partitions], self.settings.request_timeout_s
                )
                break
            except KafkaException as exc:
                attempt += 1
                self._stalled(attempt, "reading committed offsets", exc, len(partitions))
                if attempt >= _REWIND_TRIES:
                    # Nothing of these partitions is processed before their committed
                    # offsets are known: the new consumer starts from them.
                    self._rejoin()
                    return
                if self._sleep(backoff_s(attempt)):
                    raise _StoppedError from None
        for tp in committed:
            target = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            try:
                consumer.seek(TopicPartition(tp.topic, tp.partition, target))
            except KafkaException as exc:
                # Not ours any more (revoked meanwhile): its new owner reads the commit.
                logger.info("batch: %s[%d] not rewound (%s)", tp.topic, tp.partition, _code(exc))
            else:
                proc = self.processors.get(tp.topic)
                if proc is not None and tp.offset >= 0:
                    proc.positions[tp.partition] = tp.offset
        logger.info("batch: %d partition(s) rewound to their committed offsets", len(committed))

    # ----------------------------------------------------------------- rebalance, lag

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        if consumer is not self._consumer:
            return  # a consumer replaced by _rejoin, closing
        self.health.consuming = True
        self.health.detail = {"assigned_partitions": len(partitions)}
        logger.info("batch: %d partition(s) assigned", len(partitions))
        self._lag_at = 0.0

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        if consumer is not self._consumer:
            return  # a consumer replaced by _rejoin, closing
        # Between batches (callbacks are served inside consume): at-least-once settles the
        # last batch and commits what is acknowledged; exactly-once has nothing open.
        try:
            self._finish_sent()
        except _StoppedError:
            logger.info("batch: stopping before the last batch was acknowledged; uncommitted")
        if self._uncommitted:
            self._commit(final=True)
        self._leftover = []  # uncommitted: the next owner (maybe us) fetches them again
        self.health.detail = {"assigned_partitions": 0}
        logger.info("batch: %d partition(s) revoked", len(partitions))

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        if consumer is not self._consumer:
            return  # a consumer replaced by _rejoin, closing
        self._uncommitted.clear()  # a commit would be refused: the new owner redoes them
        self._sent = None
        self._leftover = []
        self.health.detail = {"assigned_partitions": 0}
        logger.warning("batch: %d partition(s) lost", len(partitions))

    def _refresh_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_at < _LAG_EVERY_S:
            return
        self._lag_at = now
        view = {p.route.name: (0, 0) for p in self.processors.values()}
        try:
            assignment = self._consumer.assignment()
        except (KafkaException, RuntimeError):
            return
        for tp in assignment:
            processor = self.processors.get(tp.topic)
            if processor is None:
                continue
            lag, n = view[processor.route.name]
            try:
                _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                high = -1
            pos = processor.positions.get(tp.partition)
            if high >= 0 and pos is not None:
                lag += max(0, high - pos)
            view[processor.route.name] = (lag, n + 1)
        self._lag = view

    def lag(self) -> dict[str, tuple[int, int]]:
        """Route -> (records behind the high watermark, partitions assigned)."""
        return dict(self._lag)


def _close_quietly(consumer: Any) -> None:
    """Close a consumer (leaving its group); a failure is logged by its code name only."""
    try:
        consumer.close()
    except (KafkaException, RuntimeError) as exc:
        logger.warning("batch: closing the consumer failed (%s)", _code(exc))


def _discard(producer: Any) -> None:
    """Drop a producer without waiting for what it still holds."""
    try:
        producer.purge(in_queue=True, in_flight=True, blocking=False)
        producer.flush(0)
    except (KafkaException, RuntimeError) as exc:
        logger.debug("producer purge failed (%s)", _code(exc))


# --------------------------------------------------------------------- wiring


class _WebThread:
    """/health and /metrics on their own event loop thread: the batch loop is synchronous."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="logscrub-web", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.web.start())
        except BaseException as exc:  # noqa: BLE001 — handed to start() in the main thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.web.stop())
        self.loop.close()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


def run_batch(
    settings: Settings,
    processors: Sequence[RouteProcessor],
    metrics: StreamMetrics,
    health: Health,
) -> None:
    """Run the batched runner until SIGTERM/SIGINT, then finish the batch and leave the group.

    Raises:
        WebPortError: /health and /metrics cannot be served on the configured port.
    """
    runner = BatchRunner(settings, processors, metrics, health)
    metrics.set_lag_source(runner.lag)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("batch: signal %d, stopping after the current batch", signum)
        runner.stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    # `kill -USR1 <pid>`: every thread's stack on stderr (code locations only, no values).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    _client_log.addFilter(RepeatFilter())
    web = None
    if settings.web_port:
        server = WebServer(settings.web_host, settings.web_port, metrics, health)
        server.bind()  # a taken port: WebPortError now, before Kafka
        web = _WebThread(server)
        web.start()
    try:
        runner.run()
    finally:
        if web is not None:
            web.stop()
    logger.info("batch: stopped cleanly")
