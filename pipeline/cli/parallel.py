"""File mode on every core: lines cleaned by worker processes, written in input order.

The engine is CPU-bound Python, so one process uses one core. ``clean_lines`` hands
chunks of lines to ``jobs`` forked processes and yields the outcomes in input order, so
the output and the counts are the same as with one process (pseudonyms are keyed HMACs:
every process gives the same value the same token).

Why fork: the engine is built once in the parent (policy, key ring, compiled detectors:
seconds of start-up) and the children inherit it, instead of each building its own.
At most ``4 * jobs`` chunks are in flight, so memory stays bounded on a file of any size.
An exception in a child is not a lost line: the chunk is cleaned again in the parent,
where :meth:`Engine.apply` turns any failure into a placeholder or scrubbed text.

A chunk goes through :meth:`Engine.apply_many`: with NER on, the free text of its lines
goes through spaCy in one ``nlp.pipe`` (batched NER), with the same output. With one
process and NER on, lines are cleaned in chunks too; with NER off, one by one as read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from pipeline.core.engine import Engine, Outcome, placeholder
from pipeline.core.lines import Oversize

CHUNK_LINES = 256
_IN_FLIGHT_PER_JOB = 4

# The engine the forked children use (set in the parent right before the pool forks).
_ENGINE: Engine | None = None


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def clean_one(engine: Engine, raw: bytes | Oversize) -> Outcome:
    """One input line's outcome (an oversize line becomes its placeholder)."""
    if isinstance(raw, Oversize):
        return Outcome(
            placeholder("record_too_large", raw.size), "placeholder", issue="record_too_large"
        )
    return engine.apply(raw)


def clean_chunk(engine: Engine, chunk: list[bytes | Oversize]) -> list[Outcome]:
    """The outcomes of a chunk of lines, in order, through one :meth:`Engine.apply_many`
    (an oversize line becomes its placeholder)."""
    values = [raw for raw in chunk if not isinstance(raw, Oversize)]
    cleaned = iter(engine.apply_many(values) if values else ())
    return [clean_one(engine, raw) if isinstance(raw, Oversize) else next(cleaned) for raw in chunk]


def _clean_chunk(chunk: list[bytes | Oversize]) -> list[Outcome]:
    assert _ENGINE is not None  # noqa: S101 — set before the fork
    return clean_chunk(_ENGINE, chunk)


def clean_lines(engine: Engine, lines: Iterable[bytes | Oversize], jobs: int) -> Iterator[Outcome]:
    """Yield the outcome of every line, in input order, using ``jobs`` processes."""
    if jobs <= 1:
        if not engine.batches_ner:
            for raw in lines:
                yield clean_one(engine, raw)
            return
        one = iter(lines)
        while chunk := list(islice(one, CHUNK_LINES)):
            yield from clean_chunk(engine, chunk)
        return
    global _ENGINE
    _ENGINE = engine
    source = iter(lines)
    pending: deque[tuple[list[bytes | Oversize], Future[list[Outcome]]]] = deque()
    context: Any = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        try:
            while True:
                while len(pending) < _IN_FLIGHT_PER_JOB * jobs:
                    chunk = list(islice(source, CHUNK_LINES))
                    if not chunk:
                        break
                    pending.append((chunk, pool.submit(_clean_chunk, chunk)))
                if not pending:
                    return
                chunk, future = pending.popleft()
                try:
                    outcomes = future.result()
                except Exception:  # noqa: BLE001 — a dead child: clean the chunk here instead
                    outcomes = [clean_one(engine, raw) for raw in chunk]
                yield from outcomes
        finally:
            for _chunk, future in pending:
                future.cancel()
            _ENGINE = None
