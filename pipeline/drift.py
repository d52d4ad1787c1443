"""Schema drift: the JSON field paths a route's records hold, and which of them are new.

The engine tells a :class:`PathLog` every path it walks (array indices folded: ``items[]``;
keys lower-cased as the policy matches them). The log keeps, per path, when it was first
seen and how often; a path first seen after the warm-up (the route's first
``warmup_records`` records, which set the baseline) is *new*: counted in a metric, logged
by path and route (each of the first 20, then every 1,000th), and listed by ``logscrub drift`` from the worker's ``/drift``.

Paths only, never values. A key can itself be personal data (``{"alice@example.com": 1}``),
so a path segment is shown as it is only when it reads like a field name (letters, digits,
``_`` and ``-``, no long digit runs) and the engine finds nothing in it; otherwise it shows
as ``<key>`` (which also folds map keys such as user ids into one path). Memory is bounded:
past ``limit`` distinct paths, further new ones are only counted (``overflow``).

Why an endpoint rather than a compacted topic: the list is per worker and small, an
operator asks for it when a dashboard shows the new-path metric move, and it needs no topic,
ACL or retention setting. Several workers of a group each answer for their partitions.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline._paths import ARRAY

__all__ = ["PathLog"]

logger = logging.getLogger(__name__)

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_DIGIT_RUN = re.compile(r"\d{5,}")
UNSHOWN = "<key>"
_LOG_FIRST = 20
_LOG_EVERY = 1000


class PathLog:
    """The field paths of one route (see the module docstring).

    Args:
        route: the route name (for log lines and the listing).
        plain: says whether a key holds no personal data (the engine's key check).
        warmup_records: records before a path counts as new.
        limit: distinct paths kept.
        on_new: called with each new path's shown form (the worker counts it).
    """

    def __init__(
        self,
        route: str,
        plain: Callable[[str], bool],
        *,
        warmup_records: int = 1000,
        limit: int = 10_000,
        on_new: Callable[[str], None] | None = None,
    ) -> None:
        self.route = route
        self._plain = plain
        self.warmup_records = warmup_records
        self.limit = limit
        self._on_new = on_new
        self.records = 0
        self.overflow = 0
        self.new_paths = 0
        #: Walked path -> occurrences; the engine increments known paths itself.
        self.counts: dict[tuple[str, ...], int] = {}
        self._shown: dict[tuple[str, ...], str] = {}  # walked path -> shown path
        self._first: dict[str, tuple[float, bool]] = {}  # shown path -> (first seen, new?)
        self._lock = threading.Lock()  # the engine thread writes; /drift reads

    def record_done(self) -> None:
        """One more record walked (the warm-up counts records)."""
        self.records += 1

    def saw_first(self, path: tuple[str, ...]) -> None:
        """The engine walked ``path``, not in :attr:`counts` yet (it counts known paths
        itself, inline: this log is on the hot path of every value)."""
        if len(self.counts) >= self.limit:
            self.overflow += 1
            return
        self.counts[path] = 1
        shown = self._show(path)
        self._shown[path] = shown
        if shown in self._first:
            return  # another walked path shown the same way (`<key>`)
        new = self.records >= self.warmup_records
        with self._lock:
            self._first[shown] = (time.time(), new)
        if new:
            self.new_paths += 1
            # One line per new path for the first few; then one per _LOG_EVERY, so a
            # stream whose keys are ids (a path per record) does not flood the log.
            if self.new_paths <= _LOG_FIRST or self.new_paths % _LOG_EVERY == 0:
                logger.warning(
                    "route %s: new field path %s (%d new so far; `logscrub drift` lists them)",
                    self.route,
                    shown,
                    self.new_paths,
                )
            if self._on_new is not None:
                self._on_new(shown)

    def listing(self, *, new_only: bool = False) -> dict[str, Any]:
        """What ``/drift`` answers: the route, its counts and its paths (no values)."""
        counts = dict(self.counts)  # one C-level copy: the engine thread goes on counting
        with self._lock:
            first = dict(self._first)
            shown = dict(self._shown)
        totals: dict[str, int] = {}
        for path, n in counts.items():
            name = shown.get(path)
            if name is not None:
                totals[name] = totals.get(name, 0) + n
        items = sorted(first.items())
        rows = [
            {"path": p, "first_seen": at, "count": totals.get(p, 0), "new": new}
            for p, (at, new) in items
            if new or not new_only
        ]
        return {
            "route": self.route,
            "records": self.records,
            "warmup_records": self.warmup_records,
            "paths": len(items),
            "overflow": self.overflow,
            "items": rows,
        }

    def _show(self, path: tuple[str, ...]) -> str:
        out = ""
        for seg in path:
            if seg == ARRAY:
                out += ARRAY
                continue
            name = seg if self._reads_as_field(seg) else UNSHOWN
            out += ("." if out else "") + name
        return out

    def _reads_as_field(self, segment: str) -> bool:
        if _FIELD_NAME.fullmatch(segment) is None or _DIGIT_RUN.search(segment):
            return False
        try:
            return self._plain(segment)
        except Exception:  # noqa: BLE001 — when in doubt, do not show it
            return False
