"""Recognizer for base64-encoded text: a payload whose personal data is only readable once
decoded (``"data": "eyJlbWFpbCI6ImJvYkB4Lm9yZyJ9"`` is ``{"email":"bob@x.org"}``).

It only locates such blobs; the engine decodes each one, cleans what it holds as a value of
the same field, and writes it back encoded the same way (left as it was when nothing in it
changed). Two shapes are taken, both rare outside encoded payloads:

* base64 of JSON: ``eyJ...`` (``{"``) or ``W3s...``/``WyJ...`` (``[{``, ``["``);
* other base64 text with its ``=`` padding, or of ASCII text without padding.

A run of hex digits or an unpadded id (``PixvUzwImeobPCMJdYYa``) is neither, and a blob
must decode to printable UTF-8 text to count. JWTs (dot-separated segments) are the
secret recognizer's.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer

ENCODED_TEXT = "ENCODED_TEXT"
# Not inside a longer base64 run or a dotted token (a JWT's segments).
_BEFORE = r"(?<![A-Za-z0-9+/_.\-])"
_AFTER = r"(?![A-Za-z0-9+/_=.\-])"
_B64 = r"[A-Za-z0-9+/]"
# Printable text decoded from at least this many characters (shorter blobs are ids).
_MIN_BLOB = 16
_MIN_TEXT = 8


def _is_urlsafe(blob: str) -> bool:
    """Whether ``blob`` is written in the URL-safe alphabet (``-`` and ``_``)."""
    return "-" in blob or "_" in blob


def decode_base64_text(blob: str) -> str | None:
    """The text ``blob`` encodes (standard or URL-safe base64, padded or not), or None when
    it is not base64 of printable UTF-8 text."""
    if len(blob) < _MIN_BLOB:
        return None
    urlsafe = _is_urlsafe(blob)
    padded = blob + "=" * (-len(blob) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded)
            if urlsafe
            else base64.b64decode(padded, validate=True)
        )
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if len(text) < _MIN_TEXT or not all(c.isprintable() or c in "\t\n\r" for c in text):
        return None
    return text


def encode_like(blob: str, text: str) -> str:
    """``text`` encoded as ``blob`` was: the same alphabet, padded only if it was."""
    raw = text.encode("utf-8")
    urlsafe = _is_urlsafe(blob)
    out = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode("ascii")
    # Unpadded in, unpadded out; a blob whose length needed no padding is kept valid.
    return out if blob.endswith("=") or len(blob) % 4 == 0 else out.rstrip("=")


class EncodedTextRecognizer(LogRecognizer):
    """Locate base64 blobs that hold text (see the module docstring)."""

    ENTITY: ClassVar[str] = ENCODED_TEXT
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "base64 json",
            rf"{_BEFORE}(?:eyJ|eyA|W3s|WyJ|WyB)[A-Za-z0-9+/_\-]{{13,}}={{0,2}}{_AFTER}",
            0.6,
        ),
        Pattern(
            "padded base64 text",
            rf"{_BEFORE}(?:{_B64}{{4}}){{3,}}(?:{_B64}{{2}}==|{_B64}{{3}}=){_AFTER}",
            0.6,
        ),
        Pattern(
            # Unpadded: base64 of ASCII text has a letter from I-Z or a-f first in every
            # group of four (the top six bits of a printable byte); hex ids and random
            # tokens rarely do for five groups in a row, so they are not decoded.
            "base64 ascii text",
            rf"{_BEFORE}(?-i:(?:[I-Za-f]{_B64}{{3}}){{5,}}(?:[I-Za-f]{_B64}{{1,2}})?){_AFTER}",
            0.6,
        ),
    ]
    # The shapes are their own evidence; they run when their marks are in the text.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "base64 json": r"eyJ|eyA|W3s|WyJ|WyB",
        "padded base64 text": r"[A-Za-z0-9+/]{14}=",
    }
    CONTEXT_REQUIRED: ClassVar[bool] = False

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True when the blob decodes to printable text, False otherwise."""
        return decode_base64_text(pattern_text) is not None
