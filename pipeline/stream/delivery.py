"""Delivering one output at least once: retries with backoff, and the smaller output
for a record the broker refuses (its size, its format).

Both runners classify send errors here (:func:`is_record_error`); the Faust agents send
through :func:`deliver`. Security: log lines name the route, output kind, topic and the
exception class, never a value.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

# aiokafka ships no type information (no py.typed): its names are Any to mypy.
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)

if TYPE_CHECKING:
    from pipeline.stream.metrics import Health
    from pipeline.stream.processor import Emit, RouteProcessor

logger = logging.getLogger(__name__)

# Errors about one record (its size, format) rather than the broker's state: retrying
# the same bytes cannot succeed, so the output is replaced by a smaller one instead.
# The client's own refusals to serialize a record (a type or value it cannot encode)
# are about the record too: retried, they would hold the partition up forever.
RECORD_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
    TypeError,
    ValueError,
)
_BACKOFF_MAX_S = 5.0


def root_cause(exc: BaseException) -> BaseException:
    # Faust wraps aiokafka's errors in ProducerSendError (raise ... from exc).
    seen = 0
    while exc.__cause__ is not None and seen < 5:
        exc = exc.__cause__
        seen += 1
    return exc


def is_record_error(exc: BaseException) -> bool:
    """True when the broker or client refused this record itself (size, format)."""
    return isinstance(root_cause(exc), RECORD_ERRORS)


def backoff_s(attempt: int) -> float:
    """Pause before retry ``attempt`` (1-based): 0.2 s doubling up to 5 s."""
    return float(min(_BACKOFF_MAX_S, 0.2 * 2 ** min(attempt - 1, 5)))


SendFn = Callable[["Emit"], Awaitable[Any]]


async def deliver(
    emit: Emit,
    send: SendFn,
    processor: RouteProcessor,
    health: Health,
    *,
    failed: BaseException | None = None,
) -> None:
    """Send ``emit`` and return only once the broker acknowledged it (at-least-once).

    A record-specific refusal (size, format) falls back to a smaller output
    (:meth:`RouteProcessor.rejected`); any other failure (broker down, leader moving,
    timeout) is retried with backoff, for as long as it takes: the caller must not ack
    the input before this returns. Retries may write an output twice; that is the
    at-least-once contract. ``failed``: how a first send, made by the caller, failed.
    """
    attempt = 0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if failed is not None:
                first, failed = failed, None
                raise first
            await send(emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 — every failure is either a fallback or a retry
            if is_record_error(exc):
                nxt = processor.rejected(emit, exc)
                if nxt is not None:
                    emit = nxt
                    continue
            attempt += 1
            processor.metrics.send_retries.labels(route=processor.route.name, kind=emit.kind).inc()
            if health.stalled_since is None:
                health.stalled_since = loop.time()
            if attempt == 1 or attempt % 10 == 0:
                logger.warning(
                    "route %s: sending %s output to %s failed (%s), retry %d",
                    processor.route.name,
                    emit.kind,
                    emit.topic,
                    type(root_cause(exc)).__name__,
                    attempt,
                )
            await asyncio.sleep(backoff_s(attempt))
            continue
        if attempt:
            logger.info(
                "route %s: %s output sent after %d retries",
                processor.route.name,
                emit.kind,
                attempt,
            )
        health.stalled_since = None
        processor.delivered(emit)
        return
