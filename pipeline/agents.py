"""Faust agents: one per route, moving bytes between Kafka and :class:`RouteProcessor`. I/O only.

Each agent iterates its raw topic with manual acknowledgement (``stream.noack()``) and
acks an event only after its output (cleaned record or quarantine entry) is acknowledged
by the broker, or after a counted policy drop. Faust commits an offset only when every
event before it is acked, so a crash at any point leaves the offset uncommitted and the
record is processed again: at-least-once.

Up to ``in_flight`` outputs per agent await their acknowledgement while the agent goes on
with the next records (:class:`pipeline.inflight.InFlight`); each acknowledgement acks its
own event (a callback on the producer's future; a failed send goes to
:func:`pipeline.worker.deliver` for retries or the smaller output). Waiting for every
acknowledgement before the next record made each record its own produce request. Outputs of one partition leave in input order; only a retried output
(the broker refused it for a while) can arrive after later ones.

The agent only reads events into a small queue; a drainer takes what has accumulated as
one batch and hands it to the route's engine thread (:meth:`RouteProcessor.take_off_loop`),
so the event loop keeps serving /health, heartbeats and acknowledgements while a record
is anonymized (one with 80,000 findings took the loop for 36 s when the engine ran on it).
Batches form by themselves under load and cost no waiting when idle; per batch, the
hand-over to the thread is noise (per record it was ~6% of the CPU time). Every record of
a batch gets an output or a counted drop (:meth:`RouteProcessor.take` never raises), so no
event is left unacked while later ones are acked, and no exception restarts the agent.

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
import time
from collections.abc import Iterable, Sequence
from typing import Any

import faust

from pipeline.inflight import InFlight
from pipeline.metrics import Health
from pipeline.topics import source_topic
from pipeline.worker import Emit, RouteProcessor, deliver


logger = logging.getLogger(__name__)

# How long a stopping agent waits for outputs still awaiting their acknowledgement.
_SETTLE_S = 5.0

# Longest stretch of queueing a batch's outputs without handing the event loop to the
# deliveries. (Before the engine moved to its own thread this bounded anonymizing on the
# loop: Faust hands over buffered events without suspending; measured at half load, p99
# 1.4 s without the pause, 0.29 s with it, the rest garbage collection: gc_tuning.)
_YIELD_EVERY_S = 0.005


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
        fut: asyncio.Future[Any] = await app.producer.send(
            emit.topic, emit.key, emit.value, partition=None, timestamp=ts, headers=emit.headers
        )
        return fut  # resolves when the broker acknowledged (acks=all), raises otherwise

    return enqueue


def install(
    app: faust.App,
    processors: Iterable[RouteProcessor],
    health: Health,
    *,
    concurrency: int = 1,
    in_flight: int = 1,
) -> list[Any]:
    """Register one agent per route on ``app``; returns the agents."""
    return [_install_route(app, p, health, concurrency, in_flight) for p in processors]


def _install_route(
    app: faust.App, processor: RouteProcessor, health: Health, concurrency: int, in_flight: int
) -> Any:
    route = processor.route
    enqueue = _enqueuer(app)

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

        async def handle(batch: list[Any], cancel: threading.Event) -> int:
            """Anonymize the start of a batch off the loop (one time slice), then send each
            output and ack on its acknowledgement; returns how many events were handled."""
            emits = await processor.take_off_loop(
                [event.message for event in batch],
                timestamp_unit=_FAUST_TS_UNIT,
                cancel=cancel,
                slice_s=_SLICE_S,
            )
            clock = time.monotonic
            yielded = clock()
            for event, emit in zip(batch, emits, strict=False):
                if emit is None:
                    event.ack()  # a counted policy drop
                    continue
                await pending.room()
                # Usual path: queue the output and ack the event from the callback of its
                # acknowledgement (a task per record cost ~20 event-loop steps per record).
                try:
                    acked = await enqueue(emit)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 — refused before queueing: same handling
                    pending.start(deliver_and_ack(emit, event, exc))
                else:
                    pending.watch(acked, functools.partial(acknowledged, emit, event))
                if clock() - yielded >= _YIELD_EVERY_S:
                    await asyncio.sleep(0)  # let the deliveries reach the producer
                    yielded = clock()
            return len(emits)

        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_BATCH_MAX)
        cancel = threading.Event()
        idle = True  # the drainer waits for a record (holds no batch)

        async def drain() -> None:
            """Take what the agent has read so far as one batch, and again."""
            nonlocal idle
            while not cancel.is_set():
                idle = True
                first = await queue.get()
                idle = False
                batch = [first]
                while batch and not cancel.is_set():
                    while len(batch) < _BATCH_MAX and not queue.empty():
                        batch.append(queue.get_nowait())
                    # Events not handled (the slice ran out) go first into the next one;
                    # stopping, they stay unacked and are processed again by the next owner.
                    batch = batch[await handle(batch, cancel) :]

        drainer = asyncio.ensure_future(drain())
        try:
            async for event in manual.events():
                if drainer.done():
                    # Cannot happen (handle() never raises on a record): say so loudly
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
