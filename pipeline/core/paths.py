"""Field path patterns: dotted paths with ``*``, ``**`` and ``[]`` wildcards.

A concrete path is a tuple of segments: object keys as strings and array elements as the
marker ``[]`` (the index does not matter to a policy). Pattern syntax:

* ``user.email``           exactly that field
* ``*.email``              ``email`` one level below any top-level field
* ``**.email``             ``email`` at any depth (``**`` is zero or more segments)
* ``x_forwarded_for[]``    every element of the array (``[*]`` is the same)
* ``items[].card``         ``card`` inside every element of ``items``

Keys are compared case-insensitively: producers disagree on ``IMEI`` versus ``imei`` and a
policy should not leak because of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

ARRAY = "[]"
STAR = "*"
GLOBSTAR = "**"


def parse_pattern(text: str) -> tuple[str, ...]:
    """Split a path pattern into lowercase segments.

    Raises:
        ValueError: the pattern is empty or has an empty segment.
    """
    if not text or not text.strip():
        raise ValueError("empty path")
    segments: list[str] = []
    for part in text.replace("[*]", ARRAY).split("."):
        arrays = 0
        while part.endswith(ARRAY):
            part = part[: -len(ARRAY)]
            arrays += 1
        if part:
            segments.append(part if part in (STAR, GLOBSTAR) else part.lower())
        elif not arrays:
            raise ValueError("empty segment (two dots in a row, or a leading/trailing dot)")
        segments.extend([ARRAY] * arrays)
    return tuple(segments)


class PathPattern:
    """A compiled path pattern with a specificity used to pick between overlapping rules."""

    __slots__ = ("text", "segments", "__dict__")

    def __init__(self, text: str) -> None:
        self.text = text
        self.segments = parse_pattern(text)

    @cached_property
    def is_literal(self) -> bool:
        """True when the pattern has no wildcard (a plain dotted path)."""
        return not any(s in (STAR, GLOBSTAR, ARRAY) for s in self.segments)

    @cached_property
    def specificity(self) -> tuple[int, int, int]:
        """More literal segments win, then fewer ``**``, then longer patterns."""
        literals = sum(1 for s in self.segments if s not in (STAR, GLOBSTAR, ARRAY))
        globstars = sum(1 for s in self.segments if s == GLOBSTAR)
        return (literals, -globstars, len(self.segments))

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        # Over `join_path(path)`: each segment behind a separator, so `**` is "any number
        # of (separator, segment)" and the whole test is one C-level fullmatch.
        parts = []
        for seg in self.segments:
            if seg == GLOBSTAR:
                parts.append(f"(?:{_SEP}[^{_SEP}]*)*")
            elif seg == STAR:
                parts.append(f"{_SEP}[^{_SEP}]*")
            else:
                parts.append(_SEP + re.escape(seg))
        return re.compile("".join(parts), re.DOTALL)

    def matches(self, path: tuple[str, ...]) -> bool:
        """Return whether the concrete ``path`` (lowercase keys, ``[]`` for indices) matches."""
        return self.matches_joined(path, join_path(path))

    def matches_joined(self, path: tuple[str, ...], joined: str | None) -> bool:
        """:meth:`matches` with ``joined = join_path(path)`` computed once by the caller."""
        if joined is None:
            return _match(self.segments, 0, path, 0)
        return self._regex.fullmatch(joined) is not None

    def __repr__(self) -> str:
        return f"PathPattern({self.text!r})"


# Separator of joined paths: a control character that JSON keys practically never hold
# (a key that does is matched segment by segment instead).
_SEP = "\x1f"


class PathPatternList:
    """Patterns in priority order, asked for the first one a path matches in one C-level
    fullmatch: an alternation of their regexes with one named group each, which
    :mod:`re` tries left to right, so the group that matched is the first pattern that
    matches (the same answer as testing them one by one, which it replaces: a policy of
    40 rules cost 40 fullmatch calls per new path)."""

    __slots__ = ("patterns", "_regex")

    def __init__(self, patterns: Sequence[PathPattern]) -> None:
        self.patterns = list(patterns)
        alternatives = [f"(?P<p{i}>{p._regex.pattern})" for i, p in enumerate(self.patterns)]
        self._regex = re.compile("|".join(alternatives), re.DOTALL) if alternatives else None

    def first(self, path: tuple[str, ...], joined: str | None) -> int | None:
        """Index of the first pattern that matches ``path`` (``joined``: its
        :func:`join_path`), or None."""
        if self._regex is None:
            return None
        if joined is None:  # a key holding the separator: segment by segment
            for i, pattern in enumerate(self.patterns):
                if pattern.matches_joined(path, None):
                    return i
            return None
        found = self._regex.fullmatch(joined)
        return None if found is None or found.lastgroup is None else int(found.lastgroup[1:])


def join_path(path: tuple[str, ...]) -> str | None:
    """``("a", "[]", "b")`` -> ``"\x1fa\x1f[]\x1fb"``; None if a key holds the separator."""
    joined = "".join(_SEP + seg for seg in path)
    if joined.count(_SEP) != len(path):
        return None
    return joined


def _match(pat: tuple[str, ...], i: int, path: tuple[str, ...], j: int) -> bool:
    while i < len(pat):
        seg = pat[i]
        if seg == GLOBSTAR:
            # Zero or more segments: try every split point (paths are short).
            return any(_match(pat, i + 1, path, k) for k in range(j, len(path) + 1))
        if j >= len(path):
            return False
        if seg == STAR or seg == path[j] or (seg == ARRAY and path[j] == ARRAY):
            i += 1
            j += 1
            continue
        return False
    return j == len(path)


def format_path(path: tuple[str, ...]) -> str:
    """Render a concrete path for messages: ``a.b[].c``."""
    out = ""
    for seg in path:
        if seg == ARRAY:
            out += ARRAY
        else:
            out += ("." if out else "") + seg
    return out
