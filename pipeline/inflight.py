"""Bounded sets of deliveries in progress, for the at-least-once agents."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class InFlight:
    """At most ``limit`` delivery tasks at a time; :meth:`room` waits for a free slot.

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
        self._tasks: set[asyncio.Task[Any]] = set()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def room(self) -> None:
        """Return once fewer than ``limit`` tasks are in flight."""
        while len(self._tasks) >= self.limit:
            self._room.clear()
            await self._room.wait()

    def start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a tracked task (call :meth:`room` first to respect the limit)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if len(self._tasks) < self.limit:
            self._room.set()

    async def settle(self, timeout_s: float) -> None:
        """Give the tasks in flight up to ``timeout_s`` to finish, then cancel the rest.

        A cancelled delivery never acks its event, so its record is processed again by
        the next owner of the partition (at-least-once); a finished one spares that.
        """
        if self._tasks and timeout_s > 0:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)
        for task in list(self._tasks):
            task.cancel()
