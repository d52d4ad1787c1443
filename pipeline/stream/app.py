"""The Faust application (at-least-once worker): app factory and runner.

Agents are installed explicitly by :func:`pipeline.stream.agents.install` rather than found by
``autodiscover``: they are built from the routes file and the settings at start-up, so
there is nothing to discover at import time.

Security: Faust logs message keys and values at DEBUG in ``faust.topics``; the runner
pins Faust's loggers to INFO or quieter whatever ``-v`` says.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from mode import Service

from pipeline.stream import agents
from pipeline.stream.metrics import Health, StreamMetrics, WebServer
from pipeline.stream.processor import RouteProcessor
from pipeline.stream.settings import Settings

logger = logging.getLogger(__name__)

# How often a supervised child refreshes its lag and partition gauges (see below).
_GAUGE_REFRESH_S = 2.0


def create_app(settings: Settings, *, data_dir: Path) -> faust.App:
    """A Faust app for the at-least-once worker (no tables, no web, no topic creation)."""
    session = settings.session_timeout_s
    return faust.App(
        settings.group_id,  # the app id is the consumer group
        broker=[f"kafka://{b}" for b in settings.broker_list],
        broker_client_id=settings.client_id,
        processing_guarantee="at_least_once",
        autodiscover=False,
        datadir=str(data_dir),
        store="memory://",
        # Our own /health and /metrics (pipeline.stream.metrics) serve both guarantees; Faust's
        # web would add table and router pages nobody needs.
        web_enabled=False,
        # Topics come from `logscrub topics create`; Faust must neither create nor alter
        # them, and the leader-assignor topic is only needed by table-based apps.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # Faust's 60 s session timeout would hold a dead worker's partitions a minute.
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.1, session / 3),
        broker_rebalance_timeout=max(30.0, session * 2),
        broker_commit_interval=settings.commit_interval_s,
        producer_acks=-1,
        producer_max_request_size=settings.max_request_bytes,
        # Faust's default is 20 minutes; a failed send should surface (retry + metric).
        producer_request_timeout=settings.request_timeout_s,
        consumer_max_fetch_size=max(1_048_576, settings.max_request_bytes),
        stream_wait_empty=True,
        worker_redirect_stdouts=False,
    )


class WebService(Service):
    """Runs the /health and /metrics server for the lifetime of the Faust worker."""

    def __init__(self, web: WebServer, **kwargs: Any) -> None:
        self.web = web
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self.web.start()

    async def on_stop(self) -> None:
        await self.web.stop()


def run_faust_worker(
    settings: Settings,
    processors: Sequence[RouteProcessor],
    metrics: StreamMetrics,
    health: Health,
    *,
    loglevel: int = logging.INFO,
) -> None:
    """Run the at-least-once worker until SIGTERM/SIGINT. Does not return normally.

    On SIGTERM Faust stops the agents, waits for acked events and commits their offsets;
    an event whose output was not yet acknowledged stays uncommitted and is processed
    again by the next owner of its partition.
    """
    web_server: WebServer | None = None
    if settings.web_port:
        web_server = WebServer(settings.web_host, settings.web_port, metrics, health)
        # First: inside Faust a bind error ends the worker with a traceback. A WebPortError
        # from here is one line and exit 2 (the `logscrub` command group).
        web_server.bind()
    owned_dir = settings.data_dir is None
    data_dir = (
        Path(tempfile.mkdtemp(prefix="logscrub-faust-"))
        if owned_dir
        else Path(settings.data_dir or ".")
    )
    app = create_app(settings, data_dir=data_dir)
    agents.install(
        app,
        processors,
        health,
        concurrency=settings.concurrency,
        in_flight=settings.in_flight,
        engine_process=settings.engine_process,
        ner=settings.ner,
    )

    # mode's Signal.connect annotation rejects coroutine receivers, which it does call.
    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(_app: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", ())
        health.consuming = True
        health.detail = {"assigned_partitions": len(assigned)}

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def _stopping(_app: Any, *_args: Any, signal: Any = None, **_kwargs: Any) -> None:
        health.stopping = True

    metrics.set_lag_source(lambda: agents.lag_view(app, processors))
    if not settings.web_port and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A child of `--processes N` serves no scrape of its own: the supervisor's /metrics
        # sums the gauges the children write, so they are refreshed here on a timer.
        async def _refresh_gauges() -> None:
            metrics.refresh()

        app.timer(interval=_GAUGE_REFRESH_S)(_refresh_gauges)

    services: list[Service] = []
    if web_server is not None:
        services.append(WebService(web_server))
    level = logging.getLevelName(loglevel)
    worker = faust.Worker(app, *services, loglevel=level, quiet=True, redirect_stdouts=False)
    # After the worker set logging up: Faust's DEBUG lines quote keys and values.
    for name in ("faust", "mode", "aiokafka"):
        logging.getLogger(name).setLevel(max(loglevel, logging.INFO))
    try:
        worker.execute_from_commandline()
    finally:
        if owned_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
