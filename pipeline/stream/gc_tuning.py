"""Garbage-collector settings for a long-running worker.

Measured (``benchmarks/stream_bench.py --only logscrub,latency``, NER off): with
CPython's defaults the worker ran a full (generation 2) collection every ~1,600
records, each 150-550 ms, because the heap holds ~130,000 start-up objects (modules,
policies, compiled patterns) plus ~100,000 cached scan plans and field decisions, and
the bounded caches keep refilling. Those collections found nothing to free (0 objects
in steady state: the engine makes no reference cycles) and were the whole p99 latency:
1.4 s, then 0.29-0.35 s once the agent yielded to its deliveries.

So, once everything is loaded:

* ``gc.freeze()`` moves the start-up objects out of the collector's sight. They are
  still freed by reference counting; only cycles among them would now be kept, and the
  start-up state is meant to live as long as the process.
* a larger first threshold makes collections rarer: a record allocates and frees its
  containers, so the net count grows mainly with the caches. Full collections still
  run (every 400 young collections), so cyclic garbage from the client libraries is
  still reclaimed, just less often.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Young-generation threshold (CPython's default is 700) and the two older ones.
YOUNG_THRESHOLD = 20_000
OLDER_THRESHOLDS = (20, 20)


def settle_for_streaming() -> None:
    """Freeze what start-up allocated and make collections rarer (call once, after
    the policies, detectors and client libraries are loaded)."""
    gc.collect()  # start-up garbage goes now, not into the frozen set
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


@contextlib.contextmanager
def no_collections_while_loading() -> Iterator[None]:
    """Run the block (imports and engine build) with the collector off, then freeze.

    Start-up allocates ~230,000 tracked objects (modules, classes, compiled patterns) that
    live as long as the process; the collections CPython runs while they are created scan
    them again and again and free almost nothing (~2,000 objects, import-time cycles):
    ~85 ms of the ~1 s `logscrub scrub` start-up. Afterwards the start-up objects are
    frozen (kept out of later collections, like :func:`settle_for_streaming`, and shared
    copy-on-write by forked ``--jobs`` children) without a full collection first (that
    would cost ~60 ms to free those few cycles once), and the collector runs as before for
    what the records allocate. If the block raises, the collector is only switched back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
