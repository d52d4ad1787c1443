"""A detection view of a string with look-alike characters folded, and the way back.

Producers (and people dodging a filter) write personal data in forms the detectors'
ASCII patterns do not see: full-width digits and signs (``１３８００１３８０００``,
``ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ``), other scripts' digits (Arabic-Indic ``٠١٢``,
Devanagari), and values split by invisible characters (zero-width spaces, joiners, NUL
bytes). The engine scans the folded view and replaces the matching span of the
*original* text, so the value is removed in whatever form it was written, and the
operator sees the folded value (one phone number, one pseudonym, however it was typed).

What folds, per character (so every folded character knows where it came from):

* any decimal digit (Unicode category ``Nd``) -> its ASCII digit;
* full-width ASCII forms (U+FF01-U+FF5E) and the ideographic space -> ASCII;
* other compatibility characters outside the letters of a script (``﹫``, ``①``,
  ligatures) -> their NFKC form;
* format characters (category ``Cf``: zero-width space/joiners, BOM, bidi marks) and
  control characters other than tab and newlines -> removed.

Letters of scripts (Han, Kana, Hangul, Cyrillic, ...) are never changed: name detection
in Chinese text reads them as written. Pure ASCII text without NUL is returned as is
without building a map (the common case costs one ``isascii`` check).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_FULLWIDTH_FIRST = 0xFF01
_FULLWIDTH_LAST = 0xFF5E
_FULLWIDTH_SHIFT = 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"
_KEEP_CONTROLS = frozenset("\t\n\r")


def needs_folding(text: str) -> bool:
    """Cheap test: could :func:`fold_with_offsets` change ``text``?"""
    return not text.isascii() or "\x00" in text or _has_ascii_control(text)


def _has_ascii_control(text: str) -> bool:
    # Only NUL and the C0 controls matter; most log text has none, and `min` over a str
    # is a single C loop.
    return bool(text) and min(text) < " " and any(
        c < " " and c not in _KEEP_CONTROLS for c in text
    )


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """The folded form of one character ('' to remove it)."""
    code = ord(char)
    if code < 0x80:
        return "" if char < " " and char not in _KEEP_CONTROLS else char
    if _FULLWIDTH_FIRST <= code <= _FULLWIDTH_LAST:
        return chr(code - _FULLWIDTH_SHIFT)
    if char == _IDEOGRAPHIC_SPACE:
        return " "
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.digit(char))
    if category in ("Cf", "Cc"):
        return ""
    if category[0] == "L" and category != "Lm":
        return char  # letters of a script stay as written
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded.isascii() else char


def fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text`` for detection.

    Returns:
        ``(folded, starts)``; ``starts`` is None when nothing changed. Otherwise
        ``starts[i]`` is the offset in ``text`` of the character folded character ``i``
        came from, and ``starts[len(folded)] == len(text)``: the folded span ``[s, e)``
        covers ``text[starts[s]:starts[e]]`` (removed characters inside it included).
    """
    if not needs_folding(text):
        return text, None
    out: list[str] = []
    starts: list[int] = []
    changed = False
    for i, char in enumerate(text):
        folded = _fold_char(char)
        if folded != char:
            changed = True
        for piece in folded:
            out.append(piece)
            starts.append(i)
    if not changed:
        return text, None
    starts.append(len(text))
    return "".join(out), starts
