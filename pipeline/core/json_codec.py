"""Decoding of one raw log line into a JSON object or text, with the limits that keep it safe.

A line is JSON when it parses as JSON: an object or an array is walked as a record; a
line that merely starts like JSON (``[2024-05-01 10:00:00] ERROR``, a quoted request
line) or is a bare JSON string or number is text. Every way a line can be malformed maps
to a short reason code (``invalid_utf8``, ``invalid_json`` for an object that does not
parse, ``too_deep``); the line is then still scanned and never passed through raw. Only
``record_too_large`` cannot be scanned at all and raises :class:`RecordError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pipeline.exceptions import RecordError

# First characters after which a line is tried as JSON. Plain log lines (syslog, access
# logs, logcat) start with a letter or digit and skip the parse attempt entirely.
_JSON_STARTS = frozenset('{["')

# An integer literal of 20 or more digits may not fit 64 bits, and orjson turns such a
# number into a float (an ICCID `89860318123456789012` became 8.986031812345679e+19):
# documents holding one are parsed again by the standard library, which keeps every digit.
_LONG_INTEGER = re.compile(r"(?<![\w.+-])-?\d{20,}(?![\w.])")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded line: exactly one of ``obj`` (a JSON object or array) or ``text`` is set."""

    obj: dict[str, Any] | list[Any] | None
    text: str | None
    issue: str | None  # reason code when the line was malformed; None for a clean line


def max_depth_exceeded(obj: Any, limit: int) -> bool:
    """Return whether ``obj`` nests deeper than ``limit`` containers (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def decode_line(raw: bytes | str, *, max_bytes: int, max_depth: int) -> Decoded:
    """Decode one raw line (without its newline).

    Raises:
        RecordError: ``record_too_large`` when the line is longer than ``max_bytes``.
    """
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise RecordError("record_too_large")
    issue: str | None = None
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Undecodable bytes become U+FFFD: the rest of the line is still scanned as
            # usual, and no raw byte sequence survives.
            text = raw.decode("utf-8", "replace")
            issue = "invalid_utf8"
    else:
        # Lone surrogates (from a lenient reader) cannot be encoded; treat like bad UTF-8.
        try:
            text = raw
            raw.encode("utf-8")
        except UnicodeEncodeError:
            text = raw.encode("utf-8", "replace").decode("utf-8")
            issue = "invalid_utf8"
    stripped = text.lstrip()
    if not stripped or stripped[0] not in _JSON_STARTS:
        return Decoded(None, text, issue)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit"):
            return Decoded(None, text, issue or "too_deep")  # orjson stops at 1,024 levels
        if stripped[0] != "{":
            # `[2024-05-01 10:00:00] ERROR ...`, `"GET / HTTP/1.1" 200`: text that only
            # starts like JSON. A line is JSON when it parses as JSON.
            return Decoded(None, text, issue)
        return Decoded(None, text, issue or "invalid_json")
    if not isinstance(value, dict | list):
        # A bare JSON string or number is a line of text that happens to be quoted.
        return Decoded(None, text, issue)
    if max_depth_exceeded(value, max_depth):
        return Decoded(None, text, issue or "too_deep")
    if _LONG_INTEGER.search(text) is not None:
        value = json.loads(text)  # lossless integers; the depth is checked already
    return Decoded(value, None, issue)


def dumps(obj: Any) -> bytes:
    """Serialize a cleaned record: key order kept, non-ASCII kept, compact.

    Integers beyond 64 bits (kept exact by :func:`decode_line`) are written by the
    standard library, with every digit.
    """
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
