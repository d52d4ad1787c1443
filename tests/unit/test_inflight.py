"""The bounded set of deliveries in flight used by the at-least-once agents."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.inflight import InFlight


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
