"""The bounded set of deliveries in flight used by the at-least-once agents."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.stream.inflight import InFlight


def test_room_waits_until_a_delivery_finishes() -> None:
    async def scenario() -> list[str]:
        order: list[str] = []
        pending = InFlight(2)
        gates = [asyncio.Event() for _ in range(3)]

        async def delivery(i: int) -> None:
            await gates[i].wait()
            order.append(f"done {i}")

        for i in range(2):
            await pending.room()
            pending.start(delivery(i))
        waiter = asyncio.ensure_future(pending.room())
        await asyncio.sleep(0)
        assert not waiter.done() and len(pending) == 2
        gates[1].set()
        await asyncio.wait_for(waiter, 1)
        order.append("room")
        pending.start(delivery(2))
        gates[0].set()
        gates[2].set()
        await pending.settle(1.0)
        return order

    order = asyncio.run(scenario())
    assert order[:2] == ["done 1", "room"]
    assert sorted(order[2:]) == ["done 0", "done 2"]


def test_settle_cancels_what_does_not_finish_in_time() -> None:
    async def scenario() -> tuple[bool, bool]:
        pending = InFlight(4)
        acked = {"fast": False, "stuck": False}

        async def delivery(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            acked[name] = True  # stands for event.ack() after the broker's acknowledgement

        pending.start(delivery("fast", 0.01))
        stuck = pending.start(delivery("stuck", 60))
        await pending.settle(0.2)
        await asyncio.sleep(0)
        return acked["fast"] and not acked["stuck"], stuck.cancelled()

    assert asyncio.run(scenario()) == (True, True)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlight(0)


def test_watched_acknowledgements_hold_slots_and_are_never_cancelled() -> None:
    async def scenario() -> tuple[list[str], bool, bool, list[str]]:
        loop = asyncio.get_running_loop()
        pending = InFlight(1)
        seen: list[str] = []
        acked: asyncio.Future[str] = loop.create_future()  # resolved by "the producer"
        pending.watch(acked, lambda fut: seen.append(fut.result()))
        waiter = asyncio.ensure_future(pending.room())
        await asyncio.sleep(0)
        blocked = not waiter.done()
        acked.set_result("acked")
        await asyncio.wait_for(waiter, 1)

        late: asyncio.Future[str] = loop.create_future()
        pending.watch(late, lambda fut: seen.append(fut.result()))
        await pending.settle(0.05)
        not_cancelled = not late.cancelled()
        late.set_result("late ack")  # an acknowledgement after settle is still reported
        await asyncio.sleep(0)

        # ... but a retry asked for after settle does not start.
        ran: list[str] = []

        async def retry() -> None:
            ran.append("retry")

        assert pending.start(retry()) is None
        await asyncio.sleep(0)
        return seen, blocked, not_cancelled, ran

    seen, blocked, not_cancelled, ran = asyncio.run(scenario())
    assert blocked and not_cancelled
    assert seen == ["acked", "late ack"]
    assert ran == []
