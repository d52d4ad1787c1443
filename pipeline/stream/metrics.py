"""Prometheus metrics of the stream worker, and the small web server for /health and /metrics.

Metric names follow ``logscrub_<component>_<metric>``. Labels are route names, entity
types, reason codes and output kinds: bounded sets taken from configuration, never from
a record.

Security: no label or sample carries a value from a record; /health reports state and
counts only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from pipeline.exceptions import WebPortError

logger = logging.getLogger(__name__)

# No `*_created` series: a timestamp per counter doubles the exposition and no dashboard
# of ours reads it. (A process-wide switch of prometheus_client; this process is ours.)
disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated in prometheus_client

# Engine time per record is ~0.1-5 ms (pattern scan) up to tens of ms (NER); delivery
# waits for the broker's acknowledgement (~1-10 ms on a healthy cluster, seconds when not).
_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class StreamMetrics:
    """The worker's counters, histograms and gauges, in their own registry.

    A registry per instance (not the process-global one), so tests and the demo can build
    several without clashes.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records_in = Counter(
            "logscrub_stream_records_in", "Records read from raw topics.", ["route"], registry=r
        )
        self.records_out = Counter(
            "logscrub_stream_records_out",
            "Cleaned records acknowledged by the broker on clean topics.",
            ["route"],
            registry=r,
        )
        self.records_dropped = Counter(
            "logscrub_stream_records_dropped",
            "Records dropped on purpose by the policy (counted, nothing sent).",
            ["route"],
            registry=r,
        )
        self.records_quarantined = Counter(
            "logscrub_stream_records_quarantined",
            "Quarantine entries acknowledged by the broker, by reason code.",
            ["route", "reason"],
            registry=r,
        )
        self.entities = Counter(
            "logscrub_stream_entities",
            "Values changed in cleaned records, by entity type.",
            ["route", "entity"],
            registry=r,
        )
        self.processing_seconds = Histogram(
            "logscrub_stream_processing_seconds",
            "Time in the engine per record.",
            ["route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "logscrub_stream_delivery_seconds",
            "Time from a record's arrival until its output was acknowledged (or committed).",
            ["route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.send_retries = Counter(
            "logscrub_stream_send_retries",
            "Sends retried after a transient broker error, by output kind.",
            ["route", "kind"],
            registry=r,
        )
        self.transactions = Counter(
            "logscrub_stream_transactions",
            "exactly_once: transactions by result (committed, aborted).",
            ["route", "result"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "logscrub_stream_consumer_lag",
            "Records in the raw topic not yet processed by this worker (assigned partitions).",
            ["route"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.assigned_partitions = Gauge(
            "logscrub_stream_assigned_partitions",
            "Raw-topic partitions assigned to this worker.",
            ["route"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.config_reloads = Counter(
            "logscrub_config_reloads",
            "Config reloads by result (applied, unchanged, invalid, restart_needed, error).",
            ["result"],
            registry=r,
        )
        self.policy_active = Gauge(
            "logscrub_policy_active",
            "1 for the policy (name, digest) each route cleans with now, 0 for replaced ones.",
            ["route", "policy", "digest"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.engine_child_restarts = Counter(
            "logscrub_stream_engine_child_restarts",
            "Faust runner with engine_process: engine child processes replaced after a crash "
            "or a hang (the batch is cleaned again, nothing is lost).",
            ["route"],
            registry=r,
        )
        self.new_field_paths = Counter(
            "logscrub_stream_new_field_paths",
            "JSON field paths first seen after a route's warm-up (schema drift; see /drift).",
            ["route"],
            registry=r,
        )
        self._lag_source: Callable[[], Mapping[str, tuple[int, int]]] | None = None
        self._drift_source: Callable[[bool], list[dict[str, Any]]] | None = None

    def declare_routes(self, routes: list[str]) -> None:
        """Create the per-route series at zero, so dashboards see them before any traffic."""
        for name in routes:
            for metric in (self.records_in, self.records_out, self.records_dropped):
                metric.labels(route=name)
            self.consumer_lag.labels(route=name).set(0)
            self.assigned_partitions.labels(route=name).set(0)

    def set_lag_source(self, source: Callable[[], Mapping[str, tuple[int, int]]]) -> None:
        """Register the transport's view: route -> (lag, assigned partitions), read per scrape."""
        self._lag_source = source

    def set_drift_source(self, source: Callable[[bool], list[dict[str, Any]]]) -> None:
        """Register the routes' field path listings (``/drift``; argument: new paths only)."""
        self._drift_source = source

    def drift(self, new_only: bool = False) -> list[dict[str, Any]]:
        """What ``/drift`` answers: per route, its field paths (no values)."""
        return [] if self._drift_source is None else self._drift_source(new_only)

    def refresh(self) -> None:
        """Update the gauges from the transport (called before each exposition)."""
        if self._lag_source is None:
            return
        try:
            view = self._lag_source()
        except Exception:  # noqa: BLE001 — a scrape must never take the worker down
            logger.debug("lag source failed", exc_info=True)
            return
        for route, (lag, assigned) in view.items():
            self.consumer_lag.labels(route=route).set(lag)
            self.assigned_partitions.labels(route=route).set(assigned)

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        self.refresh()
        return generate_latest(self.registry)

    def totals(self) -> dict[str, float]:
        """Counter totals summed over labels (for the demo's summary and tests)."""
        out: dict[str, float] = {}
        for family in self.registry.collect():
            if family.type != "counter":
                continue
            out[family.name] = sum(s.value for s in family.samples if s.name.endswith("_total"))
        return out


@dataclass
class Health:
    """The worker's own view of whether it is doing its job.

    ``consuming`` is set once the consumer has joined its group and received an
    assignment (possibly empty: more workers than partitions is healthy);
    ``stalled_since`` is set while a send keeps failing; ``stopping`` during shutdown.
    """

    consuming: bool = False
    stopping: bool = False
    stalled_since: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    stall_limit_s: float = 60.0

    def status(self, now: float) -> tuple[bool, str]:
        """(healthy, state) at monotonic time ``now``."""
        if self.stopping:
            return False, "stopping"
        if not self.consuming:
            return False, "starting"
        if self.stalled_since is not None and now - self.stalled_since > self.stall_limit_s:
            return False, "stalled"
        return True, "ok"


def _bound_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; WebPortError (one clear line) when that fails."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        # As aiohttp does: a restarted worker rebinds despite TIME_WAIT connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError as exc:
        if sock is not None:
            sock.close()
        reason = exc.strerror or type(exc).__name__
        msg = (
            f"cannot serve /health and /metrics on {host}:{port}: {reason.lower()}"
            " (choose another port with --web-port or LOGSCRUB_WEB_PORT; 0 turns them off)"
        )
        raise WebPortError(msg) from None
    return sock


def check_web_port(host: str, port: int) -> None:
    """Fail now (WebPortError) if /health and /metrics could not serve on ``host:port``.

    The worker calls this before it touches Kafka, so a taken port is one line and exit 2
    at once; the server binds again when it starts (a port taken in between is reported
    the same way).
    """
    _bound_socket(host, port).close()


class WebServer:
    """``GET /health`` (200 when consuming, 503 otherwise) and ``GET /metrics``."""

    def __init__(self, host: str, port: int, metrics: StreamMetrics, health: Health) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.health = health
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None

    def bind(self) -> None:
        """Bind the address now, before the slow part of start-up, so a taken port is one line.

        Raises:
            WebPortError: the address cannot be bound (in use, not local, no permission).
        """
        self._sock = _bound_socket(self.host, self.port)

    async def start(self) -> None:
        """Serve (binding first unless :meth:`bind` did). Raises WebPortError when taken."""
        if self._sock is None:
            self.bind()
        assert self._sock is not None  # noqa: S101 — bind() sets it or raises
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/drift", self._drift)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.SockSite(self._runner, self._sock)
        await site.start()
        logger.info("serving /health and /metrics on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()

    async def _health(self, _request: web.Request) -> web.Response:
        ok, state = self.health.status(asyncio.get_running_loop().time())
        body = orjson.dumps({"status": state, **self.health.detail})
        return web.Response(body=body, status=200 if ok else 503, content_type="application/json")

    async def _drift(self, request: web.Request) -> web.Response:
        new_only = request.query.get("new", "") in ("1", "true", "yes")
        # Off the loop: with the engine child a listing waits for the batch in flight and
        # asks the child over its pipe (seconds at worst), and the loop keeps the
        # consumer's heartbeats.
        routes = await asyncio.to_thread(self.metrics.drift, new_only)
        body = orjson.dumps({"routes": routes})
        return web.Response(body=body, content_type="application/json")

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        # CONTENT_TYPE_LATEST carries a charset parameter, which aiohttp wants separately.
        content_type, _, params = CONTENT_TYPE_LATEST.partition(";")
        charset = params.split("=", 1)[1].strip() if "=" in params else None
        return web.Response(body=body, content_type=content_type.strip(), charset=charset)
