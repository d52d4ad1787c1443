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

import gc

# Young-generation threshold (CPython's default is 700) and the two older ones.
YOUNG_THRESHOLD = 20_000
OLDER_THRESHOLDS = (20, 20)


def settle_for_streaming() -> None:
    """Freeze what start-up allocated and make collections rarer (call once, after
    the policies, detectors and client libraries are loaded)."""
    gc.collect()  # start-up garbage goes now, not into the frozen set
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
