"""The Faust runner's engine in a child process, off the worker's GIL (``engine_process``).

Why: in one process the engine thread and Faust's event loop share one GIL, so a worker
whose events cost Faust ~200 CPU-µs and the engine ~150 gets at most P / (P + E) of a
pass-through agent's rate, about 0.55. With the engine in a child process the two run on
two cores: the parent moves bytes (Faust, acks, metrics), the child cleans.

The protocol: frames of a 4-byte big-endian length and a pickle, over two pipes (fds
passed to the child, never its stdout). The parent sends ``init`` (route, policy, key
ring, engine and processor settings), ``swap`` (a reloaded policy and key ring: taken up
before the next batch, as :meth:`RouteProcessor.swap` does in one process) and ``batch``
(the raw records as plain tuples, the time slice); the child answers each batch with one
output per processed record (the fields of an :class:`Emit`, without its source: the
parent still holds the raw record) and what the parent counts: records in, policy
drops, engine seconds per record, and now and then the drift log's listing.

The child runs a :class:`RouteProcessor` of its own, so everything that decides an
output (fail closed, quarantine entries, the time budget, batched NER, manifests) is the
same code as in one process. Counters that /metrics shows move in the parent only.

Failure: a child that dies, or answers nothing within its time, is killed and started
again, and the batch goes to the new one: its records were not acknowledged, so nothing
is lost and nothing raw moves. A batch that kills a child twice is taken one record at a
time, and a record that kills a child on its own becomes a quarantine entry
(``engine_crash``, the payload encrypted as for any engine failure), so a poison record
cannot hold its partition up forever.

Stopping: the child ignores SIGINT and SIGTERM (a terminal's Ctrl-C reaches the whole
process group): it ends when the parent closes the pipe, after the last batch, or when the
parent dies (end of file).

Security: frames hold record values and the key ring; they move only over the two pipes
between the worker and its own child. Nothing here logs or raises with a value; log lines
name the route, counts and exception classes.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pipeline.core.drift import PathLog

if TYPE_CHECKING:
    from pipeline.stream.processor import RouteProcessor

logger = logging.getLogger(__name__)

__all__ = ["ENGINE_CRASH", "EngineProcess", "MirroredPathLog"]

ENGINE_CRASH = "engine_crash"

_HEADER = struct.Struct(">I")
_PICKLE = pickle.HIGHEST_PROTOCOL
# How long /drift waits for the child's listing (it answers between batches).
_DRIFT_WAIT_S = 5.0
# A child that answers a batch in none of this (plus the record budget) is taken as hung.
_ANSWER_S = 60.0
# How long a new child gets to import and build its engine (slow on a loaded machine).
_START_S = 60.0
# After a child failed to start, records are cleaned in the worker process this long.
_RETRY_START_S = 30.0
# How long a stopping child gets to finish its batch and exit before it is killed.
_STOP_S = 10.0

# What crosses the pipe for one record: (topic, partition, offset, timestamp_ms, key,
# value, headers).
RawTuple = tuple[str, int, int, "int | None", "bytes | None", "bytes | None", list[Any]]
# And for one output: (kind, topic, value, key, headers, timestamp_ms, reason, entities,
# stage), or None for a policy drop.
EmitTuple = tuple[
    str, str, bytes, "bytes | None", Any, "int | None", "str | None", dict[str, int], int
]


class EngineCrashedError(Exception):
    """The engine child died or stopped answering (no record content in the message)."""


class EngineStartError(EngineCrashedError):
    """No engine child could be started (the batch is cleaned in this process instead)."""


# ----------------------------------------------------------------------------- framing


def _write(fh: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=_PICKLE)
    fh.write(_HEADER.pack(len(data)))
    fh.write(data)
    fh.flush()


def _read(fh: Any) -> Any:
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(head)
    data = fh.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 — our own child, over our own pipe


def _send_within(fh: Any, obj: Any, timeout_s: float) -> None:
    """Write one frame to a non-blocking pipe end, or raise TimeoutError past ``timeout_s``.

    A hung child reads nothing: a blocking write of a frame larger than the pipe's buffer
    (64 KiB: a batch of 64 records of 1 KB) would wait for ever, and no answer timeout
    would ever be reached.
    """
    data = pickle.dumps(obj, protocol=_PICKLE)
    view = memoryview(_HEADER.pack(len(data)) + data)
    deadline = time.monotonic() + timeout_s
    while view:
        n = fh.write(view)  # what fits now; None when nothing does
        if n:
            view = view[n:]
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        select.select([], [fh], [], left)


def _read_within(fh: Any, size: int, deadline: float) -> bytes:
    """``size`` bytes from a non-blocking pipe end; EOFError at its end, TimeoutError past
    ``deadline`` (a child stopped half-way through an answer must not hold the parent)."""
    buf = bytearray()
    while len(buf) < size:
        chunk = fh.read(size - len(buf))  # None: nothing there yet
        if chunk == b"":
            raise EOFError
        if chunk:
            buf += chunk
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        select.select([fh], [], [], left)
    return bytes(buf)


# ----------------------------------------------------------------------------- parent side


class MirroredPathLog(PathLog):
    """The parent's copy of the child's drift log (what ``/drift`` reads).

    The child's :class:`PathLog` decides what is new (its engine walks the records, it
    logs a new path); each listing asks the child for its own first (``before_listing``)
    and takes it over: paths, first sightings, counts, records, overflow. Paths from a
    child that was restarted stay listed; the new child's counts and warm-up start over.
    """

    def absorb(self, listing: dict[str, Any]) -> None:
        """Take over the child's listing (:meth:`PathLog.listing`)."""
        with self._lock:
            for row in listing.get("items", ()):
                self._paths[row["path"]] = [row["first_seen"], row["count"], row["new"]]
            self.records = int(listing.get("records", self.records))
            self.overflow = int(listing.get("overflow", self.overflow))


class _Child:
    """One running engine child: the process and the two ends of its pipes."""

    def __init__(self, route_name: str) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        # The parent's /metrics counts what the child does; in prometheus_client's
        # multiprocess mode (--processes N) the child's own counters would be summed in too.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.pop("prometheus_multiproc_dir", None)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        try:
            self.proc = subprocess.Popen(  # noqa: S603 — fixed argv: this interpreter, this module
                [
                    sys.executable,
                    "-m",
                    "pipeline.stream.engine_process",
                    str(to_child_r),
                    str(from_child_w),
                    route_name,
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                pass_fds=(to_child_r, from_child_w),
                close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        # The parent's ends only (the child's are its own): every wait on the child has a
        # deadline, writes included.
        os.set_blocking(to_child_w, False)
        os.set_blocking(from_child_r, False)
        self.out = open(to_child_w, "wb", buffering=0)  # noqa: SIM115 — lives as long as the child
        self.inp = open(from_child_r, "rb", buffering=0)  # noqa: SIM115
        self.policy_digest: str | None = None
        self.keys: Any = None

    def send(self, obj: Any, timeout_s: float) -> None:
        """Hand ``obj`` over; a child that takes none of it within ``timeout_s`` is hung."""
        try:
            _send_within(self.out, obj, timeout_s)
        except TimeoutError:
            msg = f"engine child took no request in {timeout_s:.0f} s"
            raise EngineCrashedError(msg) from None
        except (OSError, ValueError) as exc:
            msg = f"engine child unreachable ({type(exc).__name__})"
            raise EngineCrashedError(msg) from None

    def receive(self, timeout_s: float) -> Any:
        """The child's next answer, whole, within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        try:
            (size,) = _HEADER.unpack(_read_within(self.inp, _HEADER.size, deadline))
            data = _read_within(self.inp, size, deadline)
            return pickle.loads(data)  # noqa: S301 — our own child, over our own pipe
        except TimeoutError:
            msg = f"engine child gave no answer in {timeout_s:.0f} s"
            raise EngineCrashedError(msg) from None
        except (OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            msg = f"engine child gone ({type(exc).__name__})"
            raise EngineCrashedError(msg) from None

    def stop(self, timeout_s: float = _STOP_S) -> int | None:
        """Close the pipe (the child ends after its batch) and wait; kill it past ``timeout_s``."""
        for fh in (self.out, self.inp):
            try:
                fh.close()
            except OSError:
                pass
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.stop(5)


class EngineProcess:
    """A route's engine in a child process; the parent's side of the protocol.

    Guarantees, as :meth:`RouteProcessor.take_batch` in one process: every record
    handed over gets an output or a counted drop, in order, unless the batch was cut
    short (time slice, ``cancel``): then the result is shorter and the rest is handed
    over again. A cleaned record comes only from the child's engine outcome without an
    issue; a dead child costs a restart, never an output.

    Args:
        processor: the route's processor in the parent (policy, key ring, metrics,
            quarantine entries, acknowledgement accounting).
        ner: the worker's NER override (``Settings.ner``), as the engines are built with.
    """

    def __init__(self, processor: RouteProcessor, *, ner: bool | None = None) -> None:
        self.processor = processor
        self.route = processor.route
        self.ner = ner
        self.restarts = 0
        self._no_child_until = 0.0  # after a failed start: clean here until then
        self._child: _Child | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # starting and replacing the child
        self._talk = threading.Lock()  # one request and its answer at a time
        metrics = processor.metrics
        name = self.route.name
        self._in = metrics.records_in.labels(route=name)
        self._child_restarts = metrics.engine_child_restarts.labels(route=name)
        self._dropped = metrics.records_dropped.labels(route=name)
        self._engine_time = metrics.processing_seconds.labels(route=name)
        self._new_paths = metrics.new_field_paths.labels(route=name)
        old = processor.drift
        self.drift = MirroredPathLog(
            name,
            lambda _key: False,  # paths arrive shown already (the child decides)
            warmup_records=old.warmup_records,
            limit=old.limit,
        )
        self.drift.before_listing = self.refresh_drift
        processor.drift = self.drift  # /drift reads processor.drift
        budget = processor.record_time_budget_s or 0.0
        self._answer_s = _ANSWER_S + budget
        atexit.register(self.close)

    # ----------------------------------------------------------------- lifecycle

    def _executor(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"logscrub-engine-io-{self.route.name}"
            )
        return self._thread

    def start_soon(self) -> None:
        """Start the child in the background (the first batch waits for it if needed)."""
        self._executor().submit(self._ensure_child)

    def _ensure_child(self) -> _Child:
        with self._lock:
            child = self._child
            if child is not None and child.proc.poll() is None:
                return child
            if child is not None:
                child.kill()
                self._child = None
            try:
                child = _Child(self.route.name)
            except OSError as exc:  # no interpreter, no pipes, no processes left
                msg = f"engine child not started ({type(exc).__name__})"
                raise EngineStartError(msg) from None
            policy, keys = self._current()
            try:
                child.send(
                    (
                        "init",
                        {
                            "route": self.route,
                            "policy": policy,
                            "keys": keys,
                            "ner": self.ner,
                            "max_payload_bytes": self.processor.max_payload_bytes,
                            "record_time_budget_s": self.processor.record_time_budget_s,
                            "drift_warmup_records": self.drift.warmup_records,
                            "drift_max_paths": self.drift.limit,
                            "log_level": logging.getLogger("pipeline").getEffectiveLevel(),
                        },
                    ),
                    _START_S,
                )
                reply = child.receive(_START_S)
            except EngineCrashedError as exc:
                child.kill()
                raise EngineStartError(str(exc)) from None
            if reply[0] != "ready":
                child.kill()
                msg = f"engine child failed to start ({reply[1]})"
                raise EngineStartError(msg)
            child.policy_digest = policy.digest
            child.keys = keys
            self._child = child
            logger.info(
                "route %s: engine child pid %d started (policy %s %s)",
                self.route.name,
                child.proc.pid,
                policy.name,
                policy.digest,
            )
            return child

    def refresh_drift(self) -> None:
        """Take over the child's drift listing (called by ``/drift``, between batches)."""
        if not self._talk.acquire(timeout=_DRIFT_WAIT_S):
            return  # a batch is taking long: the last listing stands
        child = self._child
        try:
            if child is None or child.proc.poll() is not None:
                return
            child.send(("drift",), _DRIFT_WAIT_S)
            reply = child.receive(_DRIFT_WAIT_S)
            if reply[0] == "drift":
                self.drift.absorb(reply[1])
        except EngineCrashedError as exc:
            # The exchange is cut short: a late listing (up to 64 KiB and more) would be
            # taken as the next batch's answer, or fill the pipe while the next batch
            # fills the other one. That child is not asked again; the next batch starts one.
            logger.warning(
                "route %s: drift listing not taken (%s); engine child replaced",
                self.route.name,
                exc,
            )
            if child is not None:
                self._retire(child)
        finally:
            self._talk.release()

    def _retire(self, child: _Child) -> None:
        with self._lock:
            if self._child is child:
                self._child = None
        self.restarts += 1
        self._child_restarts.inc()
        child.kill()

    def _current(self) -> tuple[Any, Any]:
        """The (policy, key ring) the next batch is cleaned with (a pending swap taken up)."""
        policy, engine = self.processor.take_up_swap()
        # A swapped-in engine points the drift log's hook at its own (unused) native gate;
        # the listing /drift shows is the child's.
        self.drift.before_listing = self.refresh_drift
        return policy, engine.keys

    def close(self) -> None:
        """Stop the child after its current batch (graceful; SIGTERM path and exit)."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            code = child.stop()
            logger.info("route %s: engine child stopped (exit %s)", self.route.name, code)
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None

    # ----------------------------------------------------------------- batches

    async def take_off_loop(
        self,
        records: Sequence[Any],
        *,
        timestamp_unit: float,
        cancel: threading.Event | None = None,
        slice_s: float | None = None,
    ) -> list[Any]:
        """:meth:`take_batch` in this route's I/O thread (it waits on the pipe, GIL free)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor(),
            functools.partial(
                self.take_batch,
                records,
                timestamp_unit=timestamp_unit,
                cancel=cancel,
                slice_s=slice_s,
            ),
        )

    def take_batch(
        self,
        records: Sequence[Any],
        *,
        timestamp_unit: float,
        cancel: threading.Event | None = None,
        slice_s: float | None = None,
    ) -> list[Any]:
        """The outputs of (the start of) ``records``, cleaned in the child; never raises
        on a record (see the class docstring)."""
        from pipeline.stream.processor import incoming_from

        if cancel is not None and cancel.is_set():
            return []
        incoming: list[Any] = []
        for record in records:
            try:
                incoming.append(incoming_from(record, timestamp_unit=timestamp_unit))
            except Exception:  # noqa: BLE001 — unreadable: the processor's own last resort
                incoming.append(record)  # taken in this process, below
        try:
            return self._clean(incoming, slice_s, timestamp_unit)
        except Exception as exc:  # noqa: BLE001 — a bug here must not lose the batch's offsets
            logger.error(
                "route %s: engine child hand-over failed (%s); batch cleaned in this process",
                self.route.name,
                type(exc).__name__,
            )
            return self.processor.take_batch(
                records, timestamp_unit=timestamp_unit, cancel=cancel, slice_s=slice_s
            )

    def _clean(
        self, incoming: list[Any], slice_s: float | None, timestamp_unit: float
    ) -> list[Any]:
        from pipeline.stream.processor import Incoming

        out: list[Any] = []
        start = 0
        # Records the parent could not read go through the processor here, in order.
        while start < len(incoming) and not isinstance(incoming[start], Incoming):
            out.append(self.processor.take(incoming[start], timestamp_unit=timestamp_unit))
            start += 1
        end = start
        while end < len(incoming) and isinstance(incoming[end], Incoming):
            end += 1
        if end > start:
            out.extend(self._through_child(incoming[start:end], slice_s))
        return out

    def _through_child(self, batch: list[Any], slice_s: float | None) -> list[Any]:
        """Clean ``batch`` in the child; on a crash restart it and try again (see the module
        docstring: twice, then record by record)."""
        if time.monotonic() < self._no_child_until:
            return self._here(batch)
        try:
            for attempt in (1, 2):
                try:
                    return self._send_batch(batch, slice_s)
                except EngineStartError:
                    raise
                except EngineCrashedError as exc:
                    self._crashed(exc, len(batch), attempt)
            out = []
            for i, msg in enumerate(batch):  # one at a time: find the record that kills it
                try:
                    out.extend(self._send_batch([msg], None))
                except EngineStartError as exc:
                    return out + self._start_failed(exc, batch[i:])
                except EngineCrashedError as exc:
                    self._crashed(exc, 1, 3)
                    self._in.inc()
                    out.append(
                        self.processor.quarantine(
                            msg, ENGINE_CRASH, error_type="EngineCrashedError"
                        )
                    )
            return out
        except EngineStartError as exc:
            return self._start_failed(exc, batch)

    def _start_failed(self, exc: EngineStartError, batch: list[Any]) -> list[Any]:
        self._no_child_until = time.monotonic() + _RETRY_START_S
        logger.error(
            "route %s: %s; records are cleaned in the worker process for %.0f s",
            self.route.name,
            exc,
            _RETRY_START_S,
        )
        return self._here(batch)

    def _here(self, batch: list[Any]) -> list[Any]:
        """Clean ``batch`` in this process (no child could be started): slower, same outputs."""
        return [self.processor.process(msg) for msg in batch]

    def _crashed(self, exc: EngineCrashedError, n: int, attempt: int) -> None:
        self.restarts += 1
        self._child_restarts.inc()
        logger.error(
            "route %s: %s with a batch of %d (attempt %d); restarting it",
            self.route.name,
            exc,
            n,
            attempt,
        )
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.kill()

    def _send_batch(self, batch: list[Any], slice_s: float | None) -> list[Any]:
        from pipeline.stream.processor import Emit

        child = self._ensure_child()
        policy, keys = self._current()
        raw = [
            (m.topic, m.partition, m.offset, m.timestamp_ms, m.key, m.value, m.headers)
            for m in batch
        ]
        with self._talk:
            if policy.digest != child.policy_digest or keys is not child.keys:
                child.send(("swap", policy, keys), self._answer_s)
                child.policy_digest, child.keys = policy.digest, keys
            # The child may be building the swapped policy's engine before it reads this.
            child.send(("batch", raw, slice_s), self._answer_s)
            reply = child.receive(self._answer_s)
        if reply[0] != "done":
            msg = f"engine child answered {reply[0]!r}"
            raise EngineCrashedError(msg)
        _, emits, taken, dropped, seconds, new_paths = reply
        if taken:
            self._in.inc(taken)
        for s in seconds:
            self._engine_time.observe(s)
        if new_paths:
            self._new_paths.inc(new_paths)
        out: list[Any] = []
        for msg, e in zip(batch, emits, strict=False):
            if e is None:
                self.processor.completed(msg)  # a counted policy drop
                out.append(None)
                continue
            kind, topic, value, key, headers, ts, reason, entities, stage = e
            out.append(Emit(kind, topic, value, key, headers, ts, msg, reason, entities, stage))
        if dropped:
            self._dropped.inc(dropped)
        return out


# ----------------------------------------------------------------------------- child side


class _Record(NamedTuple):
    """A raw record as :func:`pipeline.stream.processor.incoming_from` reads it
    (timestamp in ms)."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None
    headers: list[Any]


class _Tally:
    """Stands in for a counter or histogram child in the child process: the parent counts."""

    __slots__ = ("n", "seconds")

    def __init__(self) -> None:
        self.n = 0
        self.seconds: list[float] = []

    def inc(self, amount: float = 1) -> None:
        self.n += int(amount)

    def observe(self, value: float) -> None:
        self.seconds.append(value)

    def take(self) -> tuple[int, list[float]]:
        n, seconds = self.n, self.seconds
        self.n, self.seconds = 0, []
        return n, seconds


def _child_main(fd_in: int, fd_out: int, route_name: str) -> int:
    """The child: answer init, swap and batch frames until the pipe closes."""
    # An uncaught exception's message could quote a value: its class only, then exit.
    sys.excepthook = lambda kind, _value, _tb: sys.stderr.write(
        f"logscrub engine child: {kind.__name__}\n"
    )
    # Ctrl-C and SIGTERM reach the whole process group; the parent decides when we end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inp = open(fd_in, "rb")  # noqa: SIM115 — the process's lifetime
    out = open(fd_out, "wb")  # noqa: SIM115
    try:
        kind, init = _read(inp)
    except EOFError:
        return 0
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s[engine]: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pipeline").setLevel(init.get("log_level", logging.INFO))
    try:
        processor, engine_of = _child_processor(init)
    except Exception as exc:  # noqa: BLE001 — reported to the parent by class only
        _write(out, ("failed", type(exc).__name__))
        return 1
    tally_in, tally_dropped, tally_time = _Tally(), _Tally(), _Tally()
    processor._in = tally_in  # noqa: SLF001 — the parent counts (see the module docstring)
    processor._dropped = tally_dropped  # noqa: SLF001
    processor._engine_time = tally_time  # noqa: SLF001
    new_paths = _Tally()
    processor.drift._on_new = lambda _p: new_paths.inc()  # noqa: SLF001
    from pipeline.stream.gc_tuning import settle_for_streaming

    settle_for_streaming()
    _write(out, ("ready",))
    while True:
        try:
            frame = _read(inp)
        except EOFError:
            return 0
        if frame[0] == "swap":
            _, policy, keys = frame
            try:
                processor.swap(policy, engine_of(policy, keys))
            except Exception as exc:  # noqa: BLE001 — the parent restarts us with the new one
                logger.error(
                    "route %s: engine for the new policy failed (%s)",
                    route_name,
                    type(exc).__name__,
                )
                return 1
            continue
        if frame[0] == "drift":
            _write(out, ("drift", processor.drift.listing()))
            continue
        if frame[0] != "batch":
            return 1
        _, raw, slice_s = frame
        records = [_Record(*r) for r in raw]
        emits = processor.take_batch(records, timestamp_unit=1.0, slice_s=slice_s)
        rows = [
            None
            if e is None
            else (
                e.kind,
                e.topic,
                e.value,
                e.key,
                e.headers,
                e.timestamp_ms,
                e.reason,
                e.entities,
                e.stage,
            )
            for e in emits
        ]
        taken, _ = tally_in.take()
        dropped, _ = tally_dropped.take()
        _, seconds = tally_time.take()
        fresh, _ = new_paths.take()
        try:
            _write(out, ("done", rows, taken, dropped, seconds, fresh))
        except (OSError, ValueError):
            return 0  # the parent is gone


def _child_processor(init: dict[str, Any]) -> tuple[Any, Any]:
    from pipeline.core.engine import Engine
    from pipeline.stream.metrics import StreamMetrics
    from pipeline.stream.processor import RouteProcessor

    ner = init["ner"]

    def engine_of(policy: Any, keys: Any) -> Engine:
        return Engine(policy, keys=keys, ner=ner)

    processor = RouteProcessor(
        init["route"],
        init["policy"],
        engine_of(init["policy"], init["keys"]),
        StreamMetrics(),  # a private registry; the parent's counters are the ones shown
        max_payload_bytes=init["max_payload_bytes"],
        record_time_budget_s=init["record_time_budget_s"],
        drift_warmup_records=init["drift_warmup_records"],
        drift_max_paths=init["drift_max_paths"],
    )
    return processor, engine_of


if __name__ == "__main__":
    sys.exit(_child_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
