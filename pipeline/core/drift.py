"""Schema drift: the JSON field paths a route's records hold, and which of them are new.

The engine tells a :class:`PathLog` every path it walks (array indices folded: ``items[]``;
keys lower-cased as the policy matches them). The log keeps, per path, when it was first
seen and how often; a path first seen after the warm-up (the route's first
``warmup_records`` records, which set the baseline) is *new*: counted in a metric, logged
once by path and route, and listed by ``logscrub drift`` from the worker's ``/drift``.

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

from pipeline.core.paths import ARRAY

__all__ = ["PathLog"]

logger = logging.getLogger(__name__)

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_DIGIT_RUN = re.compile(r"\d{5,}")
UNSHOWN = "<key>"


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
        self._shown: dict[tuple[str, ...], str] = {}  # walked path -> shown path
        # shown path -> [first seen (unix s), occurrences, new?]
        self._paths: dict[str, list[Any]] = {}
        self._lock = threading.Lock()  # the engine thread writes; /drift reads
        # Called before a listing: the engine's native gate reports the paths it counted.
        self.before_listing: Callable[[], None] | None = None

    def saw_many(self, path: tuple[str, ...], count: int) -> None:
        """The engine walked ``path`` ``count`` times (reported in bulk by its native
        record gate, which counts the paths of the records it passes)."""
        self.saw(path)
        if count > 1:
            shown = self._shown.get(path)
            entry = None if shown is None else self._paths.get(shown)
            if entry is not None:
                entry[1] += count - 1

    def record_done(self) -> None:
        """One more record walked (the warm-up counts records)."""
        self.records += 1

    def saw(self, path: tuple[str, ...]) -> None:
        """The engine walked ``path`` in the current record."""
        shown = self._shown.get(path)
        if shown is None:
            if len(self._shown) >= self.limit:
                self.overflow += 1
                return
            shown = self._show(path)
            self._shown[path] = shown
        entry = self._paths.get(shown)
        if entry is not None:
            entry[1] += 1
            return
        new = self.records >= self.warmup_records
        with self._lock:
            self._paths[shown] = [time.time(), 1, new]
        if new:
            logger.warning("route %s: new field path %s", self.route, shown)
            if self._on_new is not None:
                self._on_new(shown)

    def listing(self, *, new_only: bool = False) -> dict[str, Any]:
        """What ``/drift`` answers: the route, its counts and its paths (no values)."""
        if self.before_listing is not None:
            self.before_listing()
        with self._lock:
            items = [(p, list(e)) for p, e in self._paths.items()]
        rows = [
            {"path": p, "first_seen": e[0], "count": e[1], "new": e[2]}
            for p, e in sorted(items)
            if e[2] or not new_only
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
