"""Baseline: a Faust agent that forwards every record's bytes unchanged (no anonymization).

The upper bound of what a Faust worker moves on this machine: same library, same
transport, same raw-bytes topics as the logscrub worker, but no engine call.

Run (the stream benchmark does this)::

    BENCH_BROKERS=127.0.0.1:9092 BENCH_SOURCE=raw BENCH_SINK=out BENCH_GROUP=g \\
        python benchmarks/faust_passthrough.py worker -l info

Why ``-l info``: at ``-l warn`` (and above) Faust's worker keeps a terminal spinner that
sets the root logger to DEBUG (``faust/worker.py``, ``_setup_spinner_handler``), so every
``log.debug`` call in aiokafka and Faust builds a log record: measured here, that costs
about 15% of the pass-through rate (244 vs 200 CPU-µs per record).

Environment: ``BENCH_BROKERS``, ``BENCH_SOURCE``, ``BENCH_SINK``, ``BENCH_GROUP``,
``BENCH_DATADIR`` (Faust's data directory; a temporary one by default),
``BENCH_MAX_SECONDS`` (the worker stops itself after this long; default 900).
"""

from __future__ import annotations

import asyncio
import os
import tempfile

import faust

BROKERS = os.environ.get("BENCH_BROKERS", "127.0.0.1:9092")
SOURCE = os.environ.get("BENCH_SOURCE", "bench.raw")
SINK = os.environ.get("BENCH_SINK", "bench.out.faust")
GROUP = os.environ.get("BENCH_GROUP", "bench-faust-passthrough")
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "900"))

app = faust.App(
    GROUP,
    broker=",".join(f"kafka://{b}" for b in BROKERS.split(",")),
    store="memory://",
    datadir=os.environ.get("BENCH_DATADIR") or tempfile.mkdtemp(prefix="bench-faust-"),
    key_serializer="raw",
    value_serializer="raw",
    consumer_auto_offset_reset="earliest",
    topic_allow_declare=False,  # the benchmark creates its topics
    topic_disable_leader=True,
    web_enabled=False,
)
source = app.topic(
    SOURCE, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
sink = app.topic(
    SINK, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)


@app.agent(source)
async def forward(stream: faust.StreamT[bytes]) -> None:
    """Send each event's key, value and headers to the sink unchanged."""
    async for event in stream.events():
        await sink.send(key=event.key, value=event.value, headers=event.headers)


@app.task
async def _bound() -> None:
    """Bound the run in time even if nobody stops this process."""
    asyncio.get_running_loop().call_later(MAX_SECONDS, os._exit, 3)


if __name__ == "__main__":
    app.main()
