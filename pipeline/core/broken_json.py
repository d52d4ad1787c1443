"""The field structure that can still be read from JSON that does not parse.

A truncated or garbled record (``{"user":{"id":"u_10293","IMEI":"12345``) is not JSON,
but most of it still says which value sits under which field name, and some values are
personal data only because of their field name (a user id, a short IMEI). Scanned as
plain text those values would pass. :func:`read_pieces` walks the tokens the way a JSON
parser would, without ever failing, and reports every scalar value with the path of field
names leading to it, so the engine can apply the same field rules and hints as for valid
JSON. Keys are reported so they are cleaned like keys; words and garbage between the
values are reported as text for the engine's text scan; punctuation is kept.

An unterminated string at the end of the line runs to the end of the line, so the value
it starts is still treated as a value. Iterative (no recursion): nesting depth costs
nothing beyond ``max_depth`` path segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.core.paths import ARRAY

_TOKENS = re.compile(
    r"""
    (?P<string>"(?:[^"\\]|\\.)*(?:"|\\?\Z))
  | (?P<open>[{\[])
  | (?P<close>[}\]])
  | (?P<colon>:)
  | (?P<comma>,)
  | (?P<scalar>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])|true\b|false\b|null\b)
  | (?P<space>\s+)
  | (?P<other>[^"{}\[\]:,\s]+)
    """,
    re.VERBOSE | re.DOTALL,
)


class Piece(NamedTuple):
    """One stretch of a broken document, in order; the pieces cover the whole text.

    ``kind`` is ``value`` (a scalar under a field name: ``path``, ``name`` and ``parent``
    say where), ``key`` (an object key, quotes included), ``text`` (anything that is not
    JSON structure: words, garbage, scalars outside any field) or ``punct`` (braces,
    brackets, colons, commas and the space between them).
    """

    kind: str
    start: int
    end: int
    path: tuple[str, ...] = ()  # lowercased field names, ARRAY for array items
    name: str = ""  # the field name as written (the array's name for its items)
    parent: str | None = None  # the name of the object holding the field


@dataclass(slots=True)
class _Frame:
    is_object: bool
    path: tuple[str, ...]
    name: str
    parent: str | None
    key: str | None = None  # the object key read last, awaiting its value
    expecting_key: bool = True


def read_pieces(text: str, max_depth: int = 64) -> list[Piece]:
    """Split ``text`` into values under field names, keys, other text and punctuation."""
    stack: list[_Frame] = []
    pieces: list[Piece] = []

    def add(kind: str, start: int, end: int) -> None:
        # Neighbouring text (and punctuation) is merged: a phone number written with
        # spaces (`138 0013 8000`) must reach the scan as one stretch.
        if pieces and pieces[-1].kind == kind and kind in ("text", "punct"):
            pieces[-1] = pieces[-1]._replace(end=end)
        else:
            pieces.append(Piece(kind, start, end))

    prev = "open"  # the kind of the last token other than space
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup or "other"
        start, end = match.span()
        top = stack[-1] if stack else None
        after, prev = prev, (prev if kind == "space" else kind)
        if kind == "space":
            add(pieces[-1].kind if pieces and pieces[-1].kind == "text" else "punct", start, end)
        elif kind == "other":
            add("text", start, end)
        elif kind == "open":
            if top is not None and len(stack) >= max_depth:
                path, name, parent = top.path, top.name, top.parent  # deeper than any policy path
            else:
                path, name, parent = _child(top)
            stack.append(_Frame(match.group() == "{", path, name, parent))
            if top is not None and top.is_object:
                top.key = None
            add("punct", start, end)
        elif kind == "close":
            if stack:
                stack.pop()
            add("punct", start, end)
        elif kind in ("colon", "comma"):
            if top is not None and top.is_object:
                top.expecting_key = kind == "comma"
                if kind == "comma":
                    top.key = None
            add("punct", start, end)
        elif top is not None and top.is_object and top.expecting_key and kind == "string":
            top.key = unquote(match.group())
            pieces.append(Piece("key", start, end))
        elif top is not None and _at_value(top, after):
            path, name, parent = _child(top)
            pieces.append(Piece("value", start, end, path, name, parent))
            if top.is_object:
                top.key = None
        else:
            add("text", start, end)
    return pieces


def _at_value(top: _Frame, after: str) -> bool:
    """Does a token that follows a token of kind ``after`` inside ``top`` start a value?"""
    if top.is_object:
        return after == "colon" and top.key is not None
    return after in ("open", "comma")


def _child(top: _Frame | None) -> tuple[tuple[str, ...], str, str | None]:
    """Path, name and parent of the value that comes next inside ``top``."""
    if top is None:
        return (), "", None
    if top.is_object:
        key = top.key or ""
        return (*top.path, key.lower()), key, top.name or None
    return (*top.path, ARRAY), top.name, top.parent


def unquote(token: str) -> str:
    """The text of a string token, escapes resolved as far as they are well-formed."""
    inner = token[1:-1] if len(token) > 1 and token.endswith('"') else token[1:]
    if "\\" not in inner:
        return inner
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _escape, inner)


def _escape(match: re.Match[str]) -> str:
    seq = match.group(1)
    if seq[0] == "u":
        return chr(int(seq[1:], 16))
    return {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(seq, seq)

