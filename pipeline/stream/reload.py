"""Hot reload of routes and policies: on SIGHUP and when their files change.

A :class:`ConfigWatcher` thread polls the routes file and every policy file it names (by
modification time and size) and wakes at once on SIGHUP. A change is validated completely
first (``load_routes``: every issue of every file, by file, line and path, never a value)
and engines are built for the changed policies, all off the stream's threads. Only then is
each route's processor handed its new (policy, engine) pair
(:meth:`pipeline.stream.processor.RouteProcessor.swap`), which it takes up at the start of its next
batch: no record is lost, duplicated, or cleaned half under each policy, and every clean
record's manifest names the digest of the policy that cleaned it.

Refused, the running config staying: an invalid file (``invalid``), and a change of a
route's topics or the set of routes (``restart_needed``: the consumers' subscriptions are
fixed at start). Metrics: ``logscrub_config_reloads_total{result}``, and
``logscrub_policy_active{route,policy,digest}`` (1 for the active one).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.core.engine import Engine
from pipeline.exceptions import ConfigError, KeyMissingError
from pipeline.keys import KeyRing
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.processor import RouteProcessor
from pipeline.stream.routes import load_routes
from pipeline.stream.settings import Settings

__all__ = ["ConfigWatcher"]

logger = logging.getLogger(__name__)


def _stamp(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


def _seen(
    before: tuple[tuple[str, int, int], ...], paths: Sequence[Path]
) -> tuple[tuple[str, int, int], ...]:
    """What a reload has surely read: files as they were stamped *before* it read them.

    A stamp taken after the reload would take a change made while it ran (a file written
    as soon as /metrics shows the last one applied) as already seen: never refused, never
    applied, until the next edit. Files the reload started watching (a route's new policy
    file) were not stamped before; they are stamped now.
    """
    known = {row[0]: row for row in before}
    fresh = {row[0]: row for row in _stamp([p for p in paths if str(p) not in known])}
    return tuple(known.get(str(p)) or fresh[str(p)] for p in paths)


class ConfigWatcher:
    """Watches the worker's routes and policies and swaps changed policies in.

    Args:
        settings: the worker's settings (routes path, key, NER, poll interval).
        processors: the running route processors.
        metrics: where reload results and active digests go.
    """

    def __init__(
        self, settings: Settings, processors: Sequence[RouteProcessor], metrics: StreamMetrics
    ) -> None:
        self.settings = settings
        self.processors = {p.route.name: p for p in processors}
        self.metrics = metrics
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The policy files watched: those of the policies in use (or about to be).
        self._sources = {p.route.name: p.policy.source for p in processors}
        self._stamp = _stamp(self._watched())
        for p in processors:
            self._mark_active(p.route.name, p.policy.name, p.policy.digest)

    # ----------------------------------------------------------------- lifecycle

    def start(self, *, sighup: bool = True) -> None:
        """Start polling (every ``settings.reload_interval_s``); with ``sighup``, reload on
        SIGHUP too (call from the main thread)."""
        if sighup:
            signal.signal(signal.SIGHUP, lambda *_: self.request())
        self._thread = threading.Thread(target=self._loop, name="logscrub-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request(self) -> None:
        """Reload now (what SIGHUP does)."""
        self._wake.set()

    def _loop(self) -> None:
        interval = self.settings.reload_interval_s
        while not self._stop.is_set():
            forced = self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            stamp = _stamp(self._watched())
            if not forced and stamp == self._stamp:
                continue
            try:
                self.reload()
            except Exception as exc:  # noqa: BLE001 — the watcher must outlive any bug
                logger.error("reload failed (%s); the running config stays", type(exc).__name__)
                self._count("error")
            self._stamp = _seen(stamp, self._watched())

    # ----------------------------------------------------------------- the reload

    def reload(self) -> str:
        """Validate the files as they are now and swap changed policies in; returns the
        result (``applied``, ``unchanged``, ``invalid``, ``restart_needed``)."""
        try:
            routes, policies = load_routes(self.settings.routes)
            keys = KeyRing.load(self.settings.key_file, self.settings.key_id)
        except (ConfigError, KeyMissingError) as exc:
            issues = getattr(exc, "issues", None)
            for issue in issues or [str(exc)]:
                logger.error("reload refused: %s", issue)
            logger.error("reload refused: the running config stays")
            return self._count("invalid")
        running = {n: p.route for n, p in self.processors.items()}
        new = {r.name: r for r in routes}
        if set(new) != set(running) or any(
            (new[n].source, new[n].sink, new[n].quarantine)
            != (running[n].source, running[n].sink, running[n].quarantine)
            for n in new
        ):
            logger.error(
                "reload refused: routes or their topics changed; restart the worker for that "
                "(policy changes are applied without a restart)"
            )
            return self._count("restart_needed")
        changed = [
            n for n in new if policies[n].digest != self.processors[n].pending_or_active_digest
        ]
        if not changed:
            return self._count("unchanged")
        built = {n: Engine(policies[n], keys=keys, ner=self.settings.ner) for n in changed}
        for name in changed:
            processor = self.processors[name]
            old = processor.pending_or_active_digest
            processor.swap(policies[name], built[name])
            self._sources[name] = policies[name].source
            self._mark_active(name, policies[name].name, policies[name].digest, old=old)
            logger.info(
                "route %s: policy %s %s -> %s (from the next batch)",
                name,
                policies[name].name,
                old,
                policies[name].digest,
            )
        return self._count("applied")

    # ----------------------------------------------------------------- helpers

    def _watched(self) -> list[Path]:
        """The routes file and the policy files it names (user files only: shipped ones
        change only with the package)."""
        paths: list[Path] = []
        if self.settings.routes:
            paths.append(Path(self.settings.routes))
        for source in self._sources.values():
            if Path(source).is_file():
                paths.append(Path(source))
        return paths

    def _count(self, result: str) -> str:
        self.metrics.config_reloads.labels(result=result).inc()
        return result

    def _mark_active(self, route: str, policy: str, digest: str, old: str | None = None) -> None:
        gauge: Any = self.metrics.policy_active
        if old is not None:
            for sample in list(gauge.collect()[0].samples):
                labels = sample.labels
                if labels.get("route") == route and labels.get("digest") == old:
                    gauge.labels(route=route, policy=labels["policy"], digest=old).set(0)
        gauge.labels(route=route, policy=policy, digest=digest).set(1)
