"""`logscrub worker --processes N`: N worker processes in one consumer group, one supervisor.

A Python worker process uses one core for the engine; N processes in one consumer group
share the partitions and use N cores. The supervisor:

* starts N children (``logscrub worker`` with the same options, ``--processes 1``), each
  with its own client id suffix and its web port off;
* restarts a child that exits on its own, after a backoff (1 s, doubling to 30 s), and
  counts it (``logscrub_supervisor_child_restarts_total``);
* serves one ``/metrics`` for all children (prometheus_client's multiprocess mode: each
  child writes its samples to files in a private directory, the supervisor adds them up)
  and ``/health``: 200 while every child runs and none has restarted more than
  ``CRASH_LIMIT`` times in ``CRASH_WINDOW_S``; 503 otherwise;
* forwards SIGHUP (hot reload) to the children, and on SIGTERM or SIGINT stops them all
  gracefully (SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``) and exits.

Per-child figures that do not add up across processes are left out: consumer lag and
assigned partitions (read them from the consumer group on the broker), and ``/drift``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["CRASH_LIMIT", "CRASH_WINDOW_S", "Supervisor"]

logger = logging.getLogger(__name__)

CRASH_LIMIT = 3
CRASH_WINDOW_S = 300.0
STOP_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 30.0
ENV_CHILD = "LOGSCRUB_WORKER_CHILD"  # set in children: their index


@dataclass
class _Child:
    index: int
    proc: asyncio.subprocess.Process | None = None
    restarts: deque[float] = field(default_factory=deque)  # times of recent restarts
    backoff_s: float = 1.0


class Supervisor:
    """Runs ``count`` children of ``argv`` (the worker command line without --processes).

    Args:
        argv: the child command (``[python, -m, pipeline, worker, ...]``).
        count: how many children.
        web_host, web_port: where /health and /metrics are served (port 0: not served).
    """

    def __init__(
        self,
        argv: Sequence[str],
        count: int,
        web_host: str,
        web_port: int,
        *,
        first_backoff_s: float = 1.0,
    ) -> None:
        self.argv = list(argv)
        self.count = count
        self.web_host = web_host
        self.web_port = web_port
        self.children = [_Child(i, backoff_s=first_backoff_s) for i in range(count)]
        self._stopping = asyncio.Event()
        self._metrics_dir = tempfile.mkdtemp(prefix="logscrub-metrics-")
        self.restarts_total = 0

    # ----------------------------------------------------------------- children

    def _env(self, child: _Child) -> dict[str, str]:
        env = dict(os.environ)
        env["PROMETHEUS_MULTIPROC_DIR"] = self._metrics_dir
        env[ENV_CHILD] = str(child.index)
        env["LOGSCRUB_WEB_PORT"] = "0"  # the supervisor serves /health and /metrics
        client = env.get("LOGSCRUB_CLIENT_ID", "logscrub")
        env["LOGSCRUB_CLIENT_ID"] = f"{client}-p{child.index}"
        return env

    async def _start(self, child: _Child) -> None:
        child.proc = await asyncio.create_subprocess_exec(
            *self.argv, env=self._env(child), preexec_fn=_die_with_parent
        )
        logger.info("worker process %d started (pid %d)", child.index, child.proc.pid)

    async def _watch(self, child: _Child) -> None:
        """Keep ``child`` running until the supervisor stops."""
        while not self._stopping.is_set():
            await self._start(child)
            assert child.proc is not None  # noqa: S101 — _start sets it
            code = await child.proc.wait()
            _mark_dead(child.proc.pid, self._metrics_dir)
            if self._stopping.is_set():
                return
            now = time.monotonic()
            child.restarts.append(now)
            while child.restarts and now - child.restarts[0] > CRASH_WINDOW_S:
                child.restarts.popleft()
            self.restarts_total += 1
            logger.error(
                "worker process %d exited with %s; restarting in %.0f s (%d restart(s) in %.0f s)",
                child.index,
                code,
                child.backoff_s,
                len(child.restarts),
                CRASH_WINDOW_S,
            )
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=child.backoff_s)
                return
            except TimeoutError:
                pass
            child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)

    def healthy(self) -> tuple[bool, dict[str, object]]:
        running = sum(1 for c in self.children if c.proc is not None and c.proc.returncode is None)
        crashing = [c.index for c in self.children if len(c.restarts) > CRASH_LIMIT]
        ok = running == self.count and not crashing and not self._stopping.is_set()
        return ok, {
            "status": "ok" if ok else ("stopping" if self._stopping.is_set() else "degraded"),
            "processes": self.count,
            "running": running,
            "crash_looping": crashing,
            "restarts": self.restarts_total,
        }

    # ----------------------------------------------------------------- web

    async def _serve(self) -> web.AppRunner | None:
        if not self.web_port:
            return None
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        async def health(_request: web.Request) -> web.Response:
            ok, state = self.healthy()
            return web.json_response(state, status=200 if ok else 503)

        async def metrics(_request: web.Request) -> web.Response:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self._metrics_dir)
            body = generate_latest(registry)
            body += (
                b"# HELP logscrub_supervisor_child_restarts_total Worker processes restarted.\n"
                b"# TYPE logscrub_supervisor_child_restarts_total counter\n"
                + f"logscrub_supervisor_child_restarts_total {self.restarts_total}\n".encode()
            )
            content_type, _, params = CONTENT_TYPE_LATEST.partition(";")
            charset = params.split("=", 1)[1].strip() if "=" in params else None
            return web.Response(body=body, content_type=content_type, charset=charset)

        app = web.Application()
        app.router.add_get("/health", health)
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.web_host, self.web_port).start()
        return runner

    # ----------------------------------------------------------------- run

    def stop(self) -> None:
        """Stop the children and return from :meth:`run` (what SIGTERM does)."""
        self._stopping.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._forward, signal.SIGHUP)
        runner = await self._serve()
        watchers = [asyncio.ensure_future(self._watch(c)) for c in self.children]
        try:
            await self._stopping.wait()
            await self._stop_children()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            if runner is not None:
                await runner.cleanup()
            shutil.rmtree(self._metrics_dir, ignore_errors=True)
        return 0

    def _forward(self, sig: int) -> None:
        for c in self.children:
            if c.proc is not None and c.proc.returncode is None:
                c.proc.send_signal(sig)

    async def _stop_children(self) -> None:
        self._forward(signal.SIGTERM)
        live = [c.proc for c in self.children if c.proc is not None and c.proc.returncode is None]
        if not live:
            return
        done, pending = await asyncio.wait(
            [asyncio.ensure_future(p.wait()) for p in live], timeout=STOP_TIMEOUT_S
        )
        if pending:
            for p in live:
                if p.returncode is None:
                    p.kill()
            await asyncio.gather(*(p.wait() for p in live), return_exceptions=True)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the supervisor dies, even by SIGKILL
    (Linux prctl PR_SET_PDEATHSIG), so no worker outlives its supervisor."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _mark_dead(pid: int, path: str) -> None:
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, path)
    except Exception:  # noqa: BLE001 — figures of a dead child are not worth a crash
        logger.debug("could not clear the metrics of pid %d", pid)


def run_supervisor(argv: Sequence[str], count: int, web_host: str, web_port: int) -> None:
    """Run the supervisor until SIGTERM/SIGINT; exits the process."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    sys.exit(asyncio.run(Supervisor(argv, count, web_host, web_port).run()))
