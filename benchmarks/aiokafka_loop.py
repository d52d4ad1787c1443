"""Baseline: a plain aiokafka consume-produce loop that forwards bytes unchanged.

At-least-once like the worker: fetch a batch, send every record, wait for the sends to
be acknowledged (``acks=all``, as the worker), then commit the batch's offsets. No Faust,
no engine: the cost of the transport alone in Python.

Run (the stream benchmark does this)::

    BENCH_BROKERS=127.0.0.1:9092 BENCH_SOURCE=raw BENCH_SINK=out BENCH_GROUP=g \\
        python benchmarks/aiokafka_loop.py

Environment: ``BENCH_BROKERS``, ``BENCH_SOURCE``, ``BENCH_SINK``, ``BENCH_GROUP``,
``BENCH_MAX_SECONDS`` (stop after this long; default 900), ``BENCH_MAX_RECORDS`` (stop
after forwarding this many; default unbounded), ``BENCH_BATCH`` (records per fetch,
default 1000).
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

BROKERS = os.environ.get("BENCH_BROKERS", "127.0.0.1:9092")
SOURCE = os.environ.get("BENCH_SOURCE", "bench.raw")
SINK = os.environ.get("BENCH_SINK", "bench.out.aiokafka")
GROUP = os.environ.get("BENCH_GROUP", "bench-aiokafka-loop")
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "900"))
MAX_RECORDS = int(os.environ.get("BENCH_MAX_RECORDS", "0")) or None
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))


async def main() -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(MAX_SECONDS, stop.set)

    consumer = AIOKafkaConsumer(
        SOURCE,
        bootstrap_servers=BROKERS,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=1_048_576,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=BROKERS, linger_ms=5, max_batch_size=262_144, acks="all"
    )
    await consumer.start()
    await producer.start()
    forwarded = 0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            futures = []
            for messages in batches.values():
                for m in messages:
                    futures.append(
                        await producer.send(
                            SINK, value=m.value, key=m.key, headers=list(m.headers or ())
                        )
                    )
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
                forwarded += len(futures)
                if MAX_RECORDS is not None and forwarded >= MAX_RECORDS:
                    break
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"forwarded {forwarded}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
