"""``logscrub worker --processes N``: N worker processes in one consumer group, one supervisor.

The supervisor starts N ``logscrub worker`` children with the same effective settings
(passed as ``LOGSCRUB_*`` variables), each with its own ``instance_id`` (``<base>-<i>``,
kept across restarts of child i, so exactly-once restarts fence their predecessor at
once) and without a web server of its own. It serves ``/health`` and one ``/metrics`` for
all children (prometheus_client's multiprocess mode: the children write their samples to
files in a private directory, the supervisor sums them). A child that exits is started
again after a backoff (0.5 s doubling to 30 s; reset after 60 s of running) and counted
(``logscrub_stream_child_restarts_total``); ``/health`` fails while a child keeps crashing
(3 exits within 60 s). SIGTERM/SIGINT is passed on to every child, which finishes its
batch and commits; the supervisor exits 0 once all have stopped. SIGHUP is passed on too
(hot reload), and a child gets SIGTERM if the supervisor itself dies.

Security: children inherit the environment (the key included); nothing here logs a value.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from pipeline.stream.metrics import Health, WebServer
from pipeline.stream.settings import Settings

logger = logging.getLogger(__name__)

_CRASH_WINDOW_S = 60.0
_CRASHES_UNHEALTHY = 3
_STOP_TIMEOUT_S = 60.0


def child_env(settings: Settings, index: int, base: str, metrics_dir: Path) -> dict[str, str]:
    """The environment of child ``index``: the effective settings, its own instance id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_")}
    for key in ("LOGSCRUB_KEY",):  # secrets stay in the environment, never in settings
        if key in os.environ:
            env[key] = os.environ[key]
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"LOGSCRUB_{name.upper()}"] = text
    env.update(
        {
            "LOGSCRUB_WEB_PORT": "0",
            "LOGSCRUB_PROCESSES": "1",
            "LOGSCRUB_INSTANCE_ID": f"{base}-{index}",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    return env


@dataclass
class _Child:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    crashes: list[float] = field(default_factory=list)
    next_start: float = 0.0
    in_a_row: int = 0


class _Metrics:
    """One exposition for all children (multiprocess files) and the supervisor's own."""

    def __init__(self, metrics_dir: Path) -> None:
        self.metrics_dir = metrics_dir
        self.own = CollectorRegistry()
        self.restarts = Counter(
            "logscrub_stream_child_restarts",
            "Worker processes started again after they exited.",
            registry=self.own,
        )

    def exposition(self) -> bytes:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.metrics_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(self.own)


class _SupervisorHealth(Health):
    """Healthy while every child runs and none keeps crashing."""

    children: list[_Child] = []

    def status(self, now: float) -> tuple[bool, str]:
        if self.stopping:
            return False, "stopping"
        mono = time.monotonic()
        for child in self.children:
            recent = [t for t in child.crashes if mono - t < _CRASH_WINDOW_S]
            if len(recent) >= _CRASHES_UNHEALTHY:
                return False, "crash_looping"
        if not all(c.proc is not None and c.proc.poll() is None for c in self.children):
            return False, "starting"
        return True, "ok"


def run_supervisor(settings: Settings, processes: int, argv: list[str] | None = None) -> int:
    """Run ``processes`` workers until SIGTERM/SIGINT; returns the exit code (0: clean)."""
    metrics_dir = Path(tempfile.mkdtemp(prefix="logscrub-metrics-"))
    base = settings.instance_id or uuid.uuid4().hex[:8]
    children = [_Child(i) for i in range(processes)]
    health = _SupervisorHealth()
    health.children = children
    health.detail = {"processes": processes}
    metrics = _Metrics(metrics_dir)
    command = [sys.executable, "-m", "pipeline", "worker", *(argv or [])]

    def start(child: _Child) -> None:
        env = child_env(settings, child.index, base, metrics_dir)
        child.proc = subprocess.Popen(  # noqa: S603 — this interpreter, fixed argv
            command, env=env, preexec_fn=_die_with_parent
        )
        child.started = time.monotonic()
        logger.info("supervisor: worker %d started (pid %d)", child.index, child.proc.pid)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Hot reload (pipeline.stream.reload): each child reloads on SIGHUP; pass it on.
        loop.add_signal_handler(signal.SIGHUP, _forward, children, signal.SIGHUP)
        web = None
        if settings.web_port:
            web = WebServer(settings.web_host, settings.web_port, metrics, health)  # type: ignore[arg-type]
            await web.start()
        for child in children:
            start(child)
        health.consuming = True
        try:
            while not stop.is_set():
                now = time.monotonic()
                for child in children:
                    proc = child.proc
                    if proc is not None and proc.poll() is not None:
                        mark_process_dead(proc.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
                        ran = now - child.started
                        child.in_a_row = 1 if ran > _CRASH_WINDOW_S else child.in_a_row + 1
                        child.crashes.append(now)
                        delay = min(30.0, 0.5 * 2 ** (child.in_a_row - 1))
                        child.next_start = now + delay
                        logger.warning(
                            "supervisor: worker %d exited with %s after %.0f s; restart in %.1f s",
                            child.index,
                            proc.returncode,
                            ran,
                            delay,
                        )
                        child.proc = None
                    if child.proc is None and now >= child.next_start:
                        start(child)
                        metrics.restarts.inc()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except TimeoutError:
                    pass
        finally:
            health.stopping = True
            running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
            for proc in running:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + _STOP_TIMEOUT_S
            for proc in running:
                try:
                    await asyncio.to_thread(proc.wait, max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    logger.warning("supervisor: worker pid %d ignored SIGTERM; killed", proc.pid)
                    proc.kill()
            if web is not None:
                await web.stop()
            shutil.rmtree(metrics_dir, ignore_errors=True)
        logger.info("supervisor: stopped cleanly")
        return 0

    return asyncio.run(main())


def _forward(children: list[_Child], sig: int) -> None:
    for child in children:
        if child.proc is not None and child.proc.poll() is None:
            child.proc.send_signal(sig)


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM it when the supervisor dies, even by SIGKILL
    (Linux prctl PR_SET_PDEATHSIG), so no worker outlives its supervisor."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def parse_processes(value: Any) -> int:
    """``--processes``: a count, or ``auto`` (the machine's cores)."""
    if str(value).strip().lower() == "auto":
        return max(1, os.cpu_count() or 1)
    count = int(value)
    if count < 1:
        msg = "--processes must be at least 1 (or auto)"
        raise ValueError(msg)
    return count
