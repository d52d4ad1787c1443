"""A percent-decoded view of a string, with the way back to the original offsets.

URLs and query strings in logs carry personal data percent-encoded
(``email=jane%40example.com``, ``phone=%2B86%20138...``, ``card_no=6222%200212...``).
Detectors match the decoded form; the engine then replaces the *encoded* span of the
original text, so nothing of the value survives in either form.

Only well-formed ``%XX`` escapes are decoded; a run of escapes that is not valid UTF-8
keeps its undecodable bytes encoded (they cannot be personal text we would recognize
anyway). ``+`` is left alone: outside form bodies it is a literal plus (``+86``).
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def has_escapes(text: str) -> bool:
    """Cheap test: does ``text`` hold at least one ``%XX`` escape?"""
    return "%" in text and _ESCAPES.search(text) is not None


def decode_with_offsets(text: str) -> tuple[str, list[int]]:
    """Percent-decode ``text``.

    Returns:
        ``(decoded, starts)`` where ``starts[i]`` is the offset in ``text`` where decoded
        character ``i`` begins, and ``starts[len(decoded)] == len(text)``; so the decoded
        span ``[s, e)`` came from ``text[starts[s]:starts[e]]``.
    """
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    for run in _ESCAPES.finditer(text):
        for i in range(pos, run.start()):
            out.append(text[i])
            starts.append(i)
        _decode_run(text, run.start(), run.end(), out, starts)
        pos = run.end()
    for i in range(pos, len(text)):
        out.append(text[i])
        starts.append(i)
    starts.append(len(text))
    return "".join(out), starts


def _decode_run(text: str, begin: int, end: int, out: list[str], starts: list[int]) -> None:
    """Decode the escapes in ``text[begin:end]`` (each 3 characters) one UTF-8 character
    at a time, so every decoded character knows the escape it started at."""
    data = bytes(int(text[i + 1 : i + 3], 16) for i in range(begin, end, 3))
    k = 0
    while k < len(data):
        size = _utf8_length(data[k])
        chunk = data[k : k + size]
        try:
            char = chunk.decode("utf-8") if size else ""
        except UnicodeDecodeError:
            char = ""
        origin = begin + 3 * k
        if char:
            out.append(char)
            starts.append(origin)
            k += size
        else:
            # Not a character: keep the escape as it was written.
            out.extend(text[origin : origin + 3])
            starts.extend((origin, origin + 1, origin + 2))
            k += 1


def _utf8_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC2 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF5:
        return 4
    return 0
