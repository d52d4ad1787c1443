"""The record gate: one native pass per JSON record says which values the engine must see.

Most values of a log record hold nothing personal (levels, hosts, durations, trace ids),
yet walking a parsed record in Python and asking the scanner about each value cost more
than everything else the engine does. The gate (``RecordGate`` in ``native/src/record.rs``)
reads the record's raw bytes once and answers with the few values Python must look at:

* values at paths the policy treats specially (a field rule, a field name that says what
  the value is, free text for name detection, an unlisted field to quarantine);
* values the scanner would scan and that one of the prefilter's pattern sets matches
  (the same native sets as :mod:`pipeline.detection.prefilter`: a value none of them matches
  cannot hold a finding);
* values the scanner reads through a transformation (folded non-ASCII text, ``%XX``
  escapes, logscrub's own tokens), and long numbers.

An empty answer means the record leaves byte for byte as it came, without a parse. A
value at a path, or under an object key, that the gate was not taught yet is *untaught*:
it goes to Python whole and the engine walks it as it walks any record, and what it
decides on the way (:meth:`teach_path`, :meth:`teach_key`) makes the next value of that
shape gated; the record's other values are gated as usual. A record the gate cannot vouch
for (not an object, duplicate keys, too deep or long, unusual escapes) is *ineligible*:
the engine cleans all of it the usual way. So the gate changes how much Python runs,
never what is found: the findings snapshot (tests/unit/test_findings_snapshot.py) holds
the engine to that.

Nothing here reads or logs a value; the native side returns paths, not values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from pipeline.detection import _native
from pipeline.detection.prefilter import UntranslatableError, superset_pattern

__all__ = [
    "CONTAINER_KEEP",
    "CONTAINER_PYTHON",
    "CONTAINER_WALK",
    "LEAF_KEEP",
    "LEAF_PYTHON",
    "LEAF_SCAN",
    "RecordGate",
]

# What the engine does with a value at a path (native/src/record.rs has the same numbers).
LEAF_KEEP = 0  # left as it is
LEAF_SCAN = 1  # scanned, nothing else: the native pattern sets decide whether Python sees it
LEAF_PYTHON = 2  # always to Python
CONTAINER_WALK = 0  # an object or array whose items are decided one by one
CONTAINER_KEEP = 1  # kept whole
CONTAINER_PYTHON = 2  # one rule for the whole subtree: to Python

_SEP = "\x1f"  # joins a path's segments into the native table's key
_NAME_SEP = "\x1e"  # then the field name and the parent's name, as written


class RecordGate:
    """The native gate of one engine (see the module docstring).

    Args:
        sets: the scanner's compiled ``GateSets`` (``Scanner.native_sets``): the
            recognizers' pattern sets and what their matches need.
        deny: the policy's deny-list patterns (``re.Pattern``), which match without a
            detector: a value one of them may match goes to Python as well.
        max_depth, max_bytes: the policy's record limits (beyond them: ineligible).

    Raises:
        UntranslatableError: a deny pattern has no native translation (then no gate).
    """

    def __init__(
        self, sets: Any, deny: list[re.Pattern[str]], *, max_depth: int, max_bytes: int
    ) -> None:
        extra = [superset_pattern(p.pattern, p.flags & ~re.UNICODE) for p in deny]
        for pattern in extra:
            if _native.compile_error(pattern) is not None:
                raise UntranslatableError("deny list")
        self._native = _native.RecordGate(sets, extra, max_depth, max_bytes)

    # A record the gate accepts (`scan` is not None) is a JSON object in valid UTF-8,
    # within the size and depth limits, and (GATE_VERSION 2) holds no integer literal of
    # 20 or more digits: orjson alone reads it as `decode_line` would.
    plain_json: bool = getattr(_native, "GATE_VERSION", 1) >= 2
    # GATE_VERSION 3: untaught values go to Python instead of making the record
    # ineligible, and `scan` says whether there were any.
    _untaught_values: bool = getattr(_native, "GATE_VERSION", 1) >= 3

    def scan(self, raw: bytes) -> tuple[list[tuple[str | int, ...]], bool] | None:
        """The values of ``raw`` the engine must look at (each as its keys and indices
        from the root, in document order) and whether some of them are untaught; None
        when the record is ineligible."""
        found = self._native.scan(raw)
        if self._untaught_values:
            return found
        # A module built before version 3 answers the values alone (untaught: None).
        values = cast("list[tuple[str | int, ...]] | None", found)
        return None if values is None else (values, False)

    def teach_path(
        self, path: tuple[str, ...], name: str, parent: str | None, leaf: int, container: int
    ) -> None:
        """What the engine does at ``path`` (its lower-cased keys, ``[]`` for items) for a
        value whose field name and parent's name are written ``name`` and ``parent``."""
        key = f"{_SEP.join(path)}{_NAME_SEP}{name}{_NAME_SEP}{parent or ''}"
        self._native.set_path(key, leaf, container)

    def forget_paths(self) -> None:
        """Forget the taught paths (each is walked by Python again, then taught)."""
        self._native.clear_paths()

    def forget_values(self) -> None:
        """Forget what the pattern sets said about values seen so far (remembered per
        value and field meaning; benchmarks start each timed pass cold)."""
        self._native.clear_verdicts()

    def teach_key(self, key: str, ruled_out: int, context: int, any_context: bool) -> None:
        """An object key in which the engine found nothing; ``ruled_out``: the mask of
        the recognizers the scanner never runs on a value under that field name;
        ``context``: of those for which it is context; ``any_context``: it is context
        for some entity (the scanner then reads values it otherwise answers by shape)."""
        self._native.add_plain_key(key, ruled_out, context, any_context)

    def take_path_counts(self, saw: Callable[[tuple[str, ...], int], None]) -> None:
        """Report the paths the gate walked since the last call (schema drift counts)."""
        for key, count in self._native.take_path_counts():
            saw(tuple(key.split(_SEP)), count)
