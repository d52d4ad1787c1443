"""The scanner's timing calibrations, remembered between runs.

The scanner picks, per pattern, the faster of :mod:`re` and :mod:`regex` and whether one
alternation beats separate patterns, by timing them on a typical log line (about 0.3-0.5 s
of start-up for the shipped detectors, and both engines compiled for every pattern). The
answers depend only on the pattern and the library versions, so they are kept in a small
JSON file in the user's cache and read at the next start: a second run compiles each
pattern once, with the engine chosen before.

The file holds booleans keyed by a digest of (pattern, flags, what was measured) and
nothing else; it lives in ``$LOGSCRUB_CACHE`` or ``$XDG_CACHE_HOME/logscrub`` (default
``~/.cache/logscrub``). It is an optimization only: when it cannot be read or written (a
read-only container), calibration runs as before, quietly.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import regex

__all__ = ["Calibrations"]

_VERSION = 1


def _cache_dir() -> Path:
    base = os.environ.get("LOGSCRUB_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root if os.environ.get("LOGSCRUB_CACHE") else root / "logscrub"


class Calibrations:
    """Remembered answers by key; :meth:`save` writes new ones back (atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        name = f"regex-calibration-v{_VERSION}-py{py}-regex{regex.__version__}.json"
        self.path = path or _cache_dir() / name
        self._known: dict[str, bool] = {}
        self._dirty = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self._known = {k: v for k, v in data.items() if isinstance(v, bool)}
        except (OSError, ValueError):
            pass

    @staticmethod
    def key(kind: str, *parts: object) -> str:
        return hashlib.sha256(repr((kind, *parts)).encode()).hexdigest()[:32]

    def get(self, key: str) -> bool | None:
        return self._known.get(key)

    def put(self, key: str, value: bool) -> None:
        if self._known.get(key) != value:
            self._known[key] = value
            self._dirty = True

    def save(self) -> None:
        """Write new answers (a no-op when nothing is new or the cache is not writable)."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._known, f, sort_keys=True)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass
