"""Faust agents: one per route, moving bytes between Kafka and :class:`RouteProcessor`. I/O only.

Each agent iterates its raw topic with manual acknowledgement (``stream.noack()``) and
acks an event only after its output (cleaned record or quarantine entry) is acknowledged
by the broker, or after a counted policy drop. Faust commits an offset only when every
event before it is acked, so a crash at any point leaves the offset uncommitted and the
record is processed again: at-least-once.

The outputs of a cleaned batch go out as one aiokafka record batch per output partition
(``send_batch``: one future per record batch, not per record); up to ``in_flight``
outputs per agent await their acknowledgement while the agent goes on with the next
records (:class:`pipeline.stream.inflight.InFlight`); an acknowledged record batch acks the
events of its outputs; a failed one sends each output again through
:func:`pipeline.stream.delivery.deliver` (retries, or the smaller output for the one the broker
refused). Outputs of one partition leave in input order; only a retried output (the
broker refused it for a while) can arrive after later ones.

The agent only reads events into a small queue; a drainer takes what has accumulated as
one batch and hands it to the route's engine thread (:meth:`RouteProcessor.take_off_loop`),
and hands it the next batch before sending the last one's outputs (pipelined: the engine
thread waited for work 34% of the time when it came after the sending),
so the event loop keeps serving /health, heartbeats and acknowledgements while a record
is anonymized (one with 80,000 findings took the loop for 36 s when the engine ran on it).
Batches form by themselves under load and cost no waiting when idle; per batch, the
hand-over to the thread is noise (per record it was ~6% of the CPU time). Every record of
a batch gets an output or a counted drop (:meth:`RouteProcessor.take` never raises), so no
event is left unacked while later ones are acked, and no exception restarts the agent.
With ``engine_process`` (the default) the batches go to the route's engine child process
instead (:class:`pipeline.stream.engine_process.EngineProcess`, same contract), so Faust's loop
and the engine no longer share one GIL.

Why manual acks: with Faust's automatic acks the event is acknowledged in a ``finally``
around the agent body, i.e. also when the body raised or was cancelled mid-send (faust
``streams.py``), which would commit an offset whose output never reached the broker.
Why the producer directly, not ``Topic.send``: inside an agent ``Topic.send`` attaches the
message to the event and publishes it only at commit time, so awaiting its delivery from
the agent would never return; and Faust's send-error path logs the message, value
included (``Topic._on_published``).

Security: no value is logged here; the agents never see a decision, only bytes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import faust

from pipeline.stream.delivery import deliver
from pipeline.stream.engine_process import EngineProcess
from pipeline.stream.inflight import InFlight
from pipeline.stream.metrics import Health
from pipeline.stream.processor import Emit, RouteProcessor
from pipeline.stream.topics import source_topic

logger = logging.getLogger(__name__)

# How long a stopping agent waits for outputs still awaiting their acknowledgement.
_SETTLE_S = 5.0

# Records handed to the engine thread at most per call. The hand-over costs ~55 CPU-µs
# (measured), so batches keep it off the hot path; batches form by themselves under load
# (the agent goes on reading while the engine works) and cost no waiting when idle.
_BATCH_MAX = 64

# Longest the engine thread works on a batch before its outputs go out (the rest of the
# batch follows in the next hand-over): a batch of 64 records (~60 ms) held each record's
# output back for the whole batch; 10 ms slices keep that small and the hand-overs rare
# (at most ~100 a second, ~0.5% of a core).
_SLICE_S = 0.01

# Faust's Message.timestamp is in seconds.
_FAUST_TS_UNIT = 1000.0


def _enqueuer(app: faust.App) -> Any:
    async def enqueue(emit: Emit) -> asyncio.Future[Any]:
        """Hand ``emit`` to the producer; returns the future of its acknowledgement."""
        # Faust's producer takes seconds; +0.5 ms so int(ts * 1000) gives back the same ms.
        ts = None if emit.timestamp_ms is None else (emit.timestamp_ms + 0.5) / 1000.0
        # Faust's annotations say headers hold no null values and the result is an
        # awaitable; aiokafka takes null header values and returns a future.
        send: Any = app.producer.send
        fut: asyncio.Future[Any] = await send(
            emit.topic, emit.key, emit.value, partition=None, timestamp=ts, headers=emit.headers
        )
        return fut  # resolves when the broker acknowledged (acks=all), raises otherwise

    return enqueue


class _Outbox:
    """What the agents need of the aiokafka producer under Faust's to send record batches.

    aiokafka's ``create_batch``/``send_batch`` are public; the partition choice uses the
    producer's own partitioner (``_partition``, as its ``send`` does), so keyed outputs
    land where a per-record send would put them.
    """

    # Outputs larger than this go out one by one (``send``), where the client checks them
    # against ``max_request_bytes`` and names a refusal (MessageSizeTooLargeError).
    _SOLO_BYTES = 8192

    def __init__(self, app: faust.App) -> None:
        self.app = app

    def producer(self) -> Any:
        """The started aiokafka producer, or None (then outputs go out one by one)."""
        try:
            return self.app.producer._ensure_producer()  # type: ignore[attr-defined]  # noqa: SLF001
        except Exception:  # noqa: BLE001 — not started, another transport: per record
            return None

    def too_large(self, emit: Emit) -> bool:
        """True for an output sent on its own."""
        size = len(emit.value) + (len(emit.key) if emit.key else 0)
        for name, value in emit.headers or ():
            size += len(name) + (len(value) if value else 0)
        return size > self._SOLO_BYTES

    @staticmethod
    def partition(producer: Any, topic: str, key: bytes | None) -> int:
        """The partition aiokafka's partitioner picks for ``key`` (random for None)."""
        return int(producer._partition(topic, None, key, None, key, None))  # noqa: SLF001

    @staticmethod
    def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
        """``items`` in runs of at most ``size`` (``in_flight`` bounds a batch too)."""
        for i in range(0, len(items), max(1, size)):
            yield items[i : i + size]


def install(
    app: faust.App,
    processors: Iterable[RouteProcessor],
    health: Health,
    *,
    concurrency: int = 1,
    in_flight: int = 1,
    engine_process: bool = False,
    ner: bool | None = None,
) -> list[Any]:
    """Register one agent per route on ``app``; returns the agents.

    With ``engine_process``, each route's engine runs in a child process
    (:class:`pipeline.stream.engine_process.EngineProcess`; ``ner``: the engines' NER override).
    """
    return [
        _install_route(
            app,
            p,
            health,
            concurrency,
            in_flight,
            EngineProcess(p, ner=ner) if engine_process else None,
        )
        for p in processors
    ]


def _install_route(
    app: faust.App,
    processor: RouteProcessor,
    health: Health,
    concurrency: int,
    in_flight: int,
    offload: EngineProcess | None = None,
) -> Any:
    route = processor.route
    take_off_loop = processor.take_off_loop if offload is None else offload.take_off_loop
    enqueue = _enqueuer(app)
    outbox = _Outbox(app)

    async def send(emit: Emit) -> None:
        await (await enqueue(emit))

    async def deliver_and_ack(emit: Emit, event: Any, failed: BaseException | None) -> None:
        await deliver(emit, send, processor, health, failed=failed)
        event.ack()

    async def anonymize_route(stream: faust.StreamT[bytes]) -> None:
        """Anonymize the route's raw topic into its clean (or quarantine) topic."""
        # Stream.noack() exists on faust's Stream but not on its StreamT protocol.
        manual: Any = stream.noack()  # type: ignore[attr-defined]
        pending = InFlight(in_flight)

        def acknowledged(emit: Emit, event: Any, fut: asyncio.Future[Any]) -> None:
            # Nothing may escape: the event loop would log this callback with its
            # arguments, and a Faust event's repr shows the record.
            try:
                if fut.cancelled():
                    return  # the producer is stopping: unacked, processed again
                failed = fut.exception()
                if failed is not None:  # retries with backoff, or the smaller output
                    pending.start(deliver_and_ack(emit, event, failed))
                    return
                health.stalled_since = None
                event.ack()  # first: the broker has the output, whatever the counters do
                processor.delivered(emit)
            except Exception as exc:  # noqa: BLE001 — unacked: processed again (at-least-once)
                logger.error(
                    "route %s: handling the acknowledgement of %s[%d]@%d failed (%s)",
                    route.name,
                    emit.source.topic,
                    emit.source.partition,
                    emit.source.offset,
                    type(exc).__name__,
                )

        def clean(batch: list[Any]) -> asyncio.Future[list[Emit | None]]:
            """Start anonymizing the start of ``batch`` in the engine thread (one time slice)."""
            return asyncio.ensure_future(
                take_off_loop(
                    [event.message for event in batch],
                    timestamp_unit=_FAUST_TS_UNIT,
                    cancel=cancel,
                    slice_s=_SLICE_S,
                )
            )

        def batch_acknowledged(items: list[tuple[Emit, Any]], fut: asyncio.Future[Any]) -> None:
            # As acknowledged(), for a record batch: one future for all of its outputs.
            try:
                if fut.cancelled():
                    return  # the producer is stopping: unacked, processed again
                if fut.exception() is not None:
                    # Each output again on its own (deliver(): retries with backoff, or
                    # the smaller output for the one the broker refused), then its ack.
                    for emit, event in items:
                        pending.start(deliver_and_ack(emit, event, None))
                    return
                health.stalled_since = None
                for _emit, event in items:
                    event.ack()  # first: the broker has the outputs, whatever the counters do
                for emit, _event in items:
                    processor.delivered(emit)
            except Exception as exc:  # noqa: BLE001 — unacked: processed again (at-least-once)
                logger.error(
                    "route %s: handling the acknowledgement of a batch of %d failed (%s)",
                    route.name,
                    len(items),
                    type(exc).__name__,
                )

        async def send_one(emit: Emit, event: Any) -> None:
            """One output as its own send (large ones: the client checks their size)."""
            await pending.room()
            try:
                acked = await enqueue(emit)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — refused before queueing: same handling
                pending.start(deliver_and_ack(emit, event, exc))
            else:
                pending.watch(acked, functools.partial(acknowledged, emit, event))

        async def send_all(batch: list[Any], emits: list[Emit | None]) -> None:
            """Send the outputs of a cleaned batch, one record batch per output partition,
            and ack each event once its output is acknowledged.

            Why record batches: a send per output cost ~40 µs of the event loop per record
            (a future, two callbacks, the client's per-record checks); a record batch costs
            one future and an append per record. Outputs of a partition keep their order.
            """
            producer = outbox.producer()
            groups: dict[tuple[str, int], list[tuple[Emit, Any]]] = {}
            sticky: dict[str, int] = {}
            for event, emit in zip(batch, emits, strict=False):
                if emit is None:
                    event.ack()  # a counted policy drop
                    continue
                if producer is None or outbox.too_large(emit):
                    await send_one(emit, event)
                    continue
                topic = emit.topic
                try:
                    if topic not in sticky:
                        await producer.client._wait_on_metadata(topic)  # noqa: SLF001
                        # Keyless outputs of one batch go to one partition (as Kafka's
                        # sticky partitioner does), keyed ones where their key hashes.
                        sticky[topic] = outbox.partition(producer, topic, None)
                    part = (
                        sticky[topic]
                        if emit.key is None
                        else outbox.partition(producer, topic, emit.key)
                    )
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 — no metadata yet: the usual path decides
                    await send_one(emit, event)
                    continue
                groups.setdefault((topic, part), []).append((emit, event))
            for (topic, part), items in groups.items():
                for chunk in outbox.chunks(items, pending.limit):
                    await pending.room()
                    builder = producer.create_batch()
                    taken: list[tuple[Emit, Any]] = []
                    for emit, event in chunk:
                        if append(builder, emit) is None:  # full: send it, start another
                            await submit(producer, builder, taken, topic, part)
                            builder, taken = producer.create_batch(), []
                            append(builder, emit)  # an empty batch takes any record
                        taken.append((emit, event))
                    await submit(producer, builder, taken, topic, part)

        def append(builder: Any, emit: Emit) -> Any:
            # The log's own time in ms (None: the broker's), as a per-record send gives it.
            return builder.append(
                timestamp=emit.timestamp_ms,
                key=emit.key,
                value=emit.value,
                headers=emit.headers or [],
            )

        async def submit(
            producer: Any, builder: Any, taken: list[tuple[Emit, Any]], topic: str, part: int
        ) -> None:
            if not taken:
                return
            try:
                acked = await producer.send_batch(builder, topic, partition=part)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — not queued (producer stopping, timeout): one by one
                for emit, event in taken:
                    pending.start(deliver_and_ack(emit, event, None))
                return
            pending.watch(acked, functools.partial(batch_acknowledged, taken), weight=len(taken))

        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_BATCH_MAX)
        cancel = threading.Event()
        idle = True  # the drainer waits for a record (holds no batch)

        def fill(batch: list[Any]) -> list[Any]:
            while len(batch) < _BATCH_MAX and not queue.empty():
                batch.append(queue.get_nowait())
            return batch

        async def drain() -> None:
            """Take what the agent has read so far as one batch, and again.

            Pipelined: once the engine thread hands back a batch's outputs, it is given the
            next batch (the rest of this one, plus what the agent read meanwhile) before
            those outputs are sent, so it cleans while the loop sends, acks and reads.
            Outputs still leave in input order: a batch's outputs are queued on the
            producer before the next batch's are awaited.
            """
            nonlocal idle
            batch: list[Any] = []
            job: asyncio.Future[list[Emit | None]] | None = None
            while job is not None or not cancel.is_set():
                if job is None:
                    idle = True
                    first = await queue.get()
                    idle = False
                    batch = fill([first])
                    job = clean(batch)
                emits = await job
                done, rest = batch[: len(emits)], batch[len(emits) :]
                # Stopping: events not handled stay unacked and are processed again by
                # the next owner; the outputs of the handled ones still go out.
                job = None
                if not cancel.is_set():
                    batch = fill(rest)
                    if batch:
                        job = clean(batch)
                await send_all(done, emits)

        if offload is not None:
            offload.start_soon()  # the engine child starts while the partitions come
        drainer = asyncio.ensure_future(drain())
        try:
            async for event in manual.events():
                if drainer.done():
                    # Cannot happen (take_batch never raises on a record): say so loudly
                    # rather than let the queue fill and the partition stall unseen.
                    drainer.result()
                    msg = "the engine drainer stopped"
                    raise RuntimeError(msg)
                await queue.put(event)
        finally:
            # Stopping or losing the partitions: the batch being anonymized ends after
            # its current record and its outputs go out; records still queued stay
            # unacked. Deliveries still out get a moment to be acknowledged; the rest
            # stay unacked and are processed again by the next owner.
            cancel.set()
            if idle:
                drainer.cancel()
            await asyncio.wait([drainer], timeout=_SETTLE_S)
            if not drainer.done():
                drainer.cancel()
            await pending.settle(_SETTLE_S)

    anonymize_route.__name__ = anonymize_route.__qualname__ = (
        f"anonymize_{route.name.replace('-', '_')}"
    )
    return app.agent(
        source_topic(app, route),
        name=f"logscrub.anonymize.{route.name}",
        concurrency=concurrency,
    )(anonymize_route)


def lag_view(app: faust.App, processors: Sequence[RouteProcessor]) -> dict[str, tuple[int, int]]:
    """Route -> (records behind the high watermark, partitions assigned), for the lag gauge."""
    by_topic = {p.route.source: p for p in processors}
    out = {p.route.name: (0, 0) for p in processors}
    consumer = app.consumer
    for tp in consumer.assignment():
        processor = by_topic.get(tp.topic)
        if processor is None:
            continue
        lag, n = out[processor.route.name]
        pos = processor.positions.get(tp.partition)
        try:
            high = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 — not fetched yet: lag unknown, not an error
            high = None
        if high is not None and pos is not None:
            lag += max(0, int(high) - pos)
        out[processor.route.name] = (lag, n + 1)
    return out
