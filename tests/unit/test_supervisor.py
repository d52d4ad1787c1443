"""The --processes supervisor with real child processes (no broker: the children here are
small Python programs; tests/e2e/test_stream_processes.py runs real workers)."""

from __future__ import annotations

import asyncio
import sys
import time

from pipeline.supervisor import CRASH_LIMIT, Supervisor


async def _until(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def test_a_child_that_keeps_crashing_is_restarted_counted_and_fails_health():
    async def go() -> None:
        sup = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], 1, "127.0.0.1", 0, first_backoff_s=0.02)
        task = asyncio.ensure_future(sup.run())
        await _until(lambda: sup.restarts_total > CRASH_LIMIT)
        ok, state = sup.healthy()
        assert not ok and state["crash_looping"] == [0] and state["restarts"] > CRASH_LIMIT
        sup.stop()
        assert await asyncio.wait_for(task, 30) == 0

    asyncio.run(go())


def test_running_children_are_healthy_and_stop_together():
    async def go() -> None:
        sup = Supervisor([sys.executable, "-c", "import time; time.sleep(120)"], 2, "127.0.0.1", 0)
        task = asyncio.ensure_future(sup.run())
        await _until(lambda: sup.healthy()[0])
        pids = [c.proc.pid for c in sup.children if c.proc is not None]
        assert len(pids) == 2
        started = time.monotonic()
        sup.stop()
        assert await asyncio.wait_for(task, 90) == 0
        assert time.monotonic() - started < 30
        assert all(c.proc is not None and c.proc.returncode is not None for c in sup.children)
        assert sup.restarts_total == 0

    asyncio.run(go())
