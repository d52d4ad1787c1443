"""Bounded sets of deliveries in progress, for the at-least-once agents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class InFlight:
    """At most ``limit`` deliveries at a time; :meth:`room` waits for a free slot.

    A delivery is either a task (:meth:`start`) or a producer's acknowledgement future
    with a callback (:meth:`watch`).

    Why: awaiting each record's acknowledgement before reading the next one makes every
    record its own produce request and costs a broker round trip per record. With several
    deliveries in flight, the producer batches what accumulates while a request is out,
    and the agent keeps anonymizing meanwhile. An input is still acked only after its
    output is acknowledged (each task acks its own event), so at-least-once holds.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._pending: set[asyncio.Future[Any]] = set()
        # Outputs in flight: a watched future may stand for several (a record batch).
        self._load = 0
        self._weights: dict[asyncio.Future[Any], int] = {}
        self._room = asyncio.Event()
        self._room.set()
        self.closed = False

    def __len__(self) -> int:
        return self._load

    async def room(self) -> None:
        """Return once fewer than ``limit`` outputs are in flight."""
        while self._load >= self.limit:
            self._room.clear()
            await self._room.wait()

    def start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``coro`` as a tracked task (call :meth:`room` first to respect the limit).

        After :meth:`settle` nothing starts (``coro`` is closed, None returned): a retry
        asked for by a late acknowledgement failure must not outlive its agent; its
        event stays unacked and the record is processed again.
        """
        if self.closed:
            coro.close()
            return None
        task = asyncio.ensure_future(coro)
        self._add(task, 1)
        task.add_done_callback(self._finished)
        return task

    def watch(
        self,
        fut: asyncio.Future[Any],
        on_done: Callable[[asyncio.Future[Any]], Any],
        weight: int = 1,
    ) -> None:
        """Track a future someone else resolves (a producer's acknowledgement) and call
        ``on_done`` with it when it is done (call :meth:`room` first).

        Cheaper than a task per delivery: no coroutine to step through on the usual path.
        :meth:`settle` waits for these but does not cancel them: they belong to the
        producer, and an acknowledgement that still arrives is still true. ``weight``:
        how many outputs the future stands for (a record batch holds several).
        """
        self._add(fut, weight)
        fut.add_done_callback(on_done)
        fut.add_done_callback(self._finished)

    def _add(self, fut: asyncio.Future[Any], weight: int) -> None:
        self._pending.add(fut)
        self._weights[fut] = weight
        self._load += weight

    def _finished(self, done: asyncio.Future[Any]) -> None:
        self._pending.discard(done)
        self._load -= self._weights.pop(done, 0)
        if self._load < self.limit:
            self._room.set()

    async def settle(self, timeout_s: float) -> None:
        """Give the deliveries in flight up to ``timeout_s`` to finish, then cancel the
        tasks among the rest (watched futures belong to the producer).

        A cancelled delivery never acks its event, so its record is processed again by
        the next owner of the partition (at-least-once); a finished one spares that.
        """
        if self._pending and timeout_s > 0:
            await asyncio.wait(list(self._pending), timeout=timeout_s)
        self.closed = True
        for task in list(self._pending):
            if isinstance(task, asyncio.Task):
                task.cancel()
