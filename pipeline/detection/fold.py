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
* full-width ASCII forms (U+FF01-U+FF5E) and the ideographic space -> ASCII, except
  the prose punctuation of Chinese text (，；（）！？), which is a boundary as it is;
* other compatibility characters outside the letters of a script (``﹫``, ``①``,
  ligatures) -> their NFKC form;
* format characters (category ``Cf``: zero-width space/joiners, BOM, bidi marks) and
  control characters other than tab and newlines -> removed;
* a written-out ``\\n``, ``\\t`` or ``\\r`` (JSON-escaped text in a text line) -> a space,
  unless ``breaks=False``. The same two characters start a Windows account or path after
  a backslash (``CORP\\tom``, ``C:\\Users\\nancy``): :func:`has_ambiguous_break` says when
  a text should be scanned in both views.

Letters of scripts (Han, Kana, Hangul, Cyrillic, ...) are never changed: name detection
in Chinese text reads them as written. Pure ASCII text without NUL is returned as is
without building a map (the common case costs one ``isascii`` check).
"""

from __future__ import annotations

import functools
import re
import unicodedata

_FULLWIDTH_FIRST = 0xFF01
_FULLWIDTH_LAST = 0xFF5E
_FULLWIDTH_SHIFT = 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"
_PROSE_PUNCTUATION = frozenset("，；（）！？")
_KEEP_CONTROLS = frozenset("\t\n\r")
_LAST_CODE_POINT_FOLDED = 0x1FFFF  # digits and compatibility forms end in plane 1
# `\n`, `\t`, `\r` written out (JSON-escaped text inside a text line, or a record cut
# before its string closed): a value right after one (`\n13800138000`) has a boundary
# only once the escape reads as the break it stands for.
_ESCAPED_BREAK = re.compile(r"\\[ntr]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_FOLDABLE = re.compile(f"{_CONTROLS.pattern}|{_ESCAPED_BREAK.pattern}")
# A written-out break between word characters (`CORP\tom`, `domain\\robert`) may be a
# backslash and a name, not a break.
_AMBIGUOUS_BREAK = re.compile(r"(?<=[\w\\$])\\[ntr](?=\w)")


def _fold_char(char: str) -> str:
    """The folded form of one character ('' to remove it)."""
    code = ord(char)
    if code < 0x80:
        return "" if (char < " " or code == 0x7F) and char not in _KEEP_CONTROLS else char
    if _FULLWIDTH_FIRST <= code <= _FULLWIDTH_LAST:
        # Chinese prose punctuation is already a boundary for the detectors; leaving it
        # keeps ordinary Chinese text on the fast path (nothing to fold, no offset map).
        return char if char in _PROSE_PUNCTUATION else chr(code - _FULLWIDTH_SHIFT)
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


@functools.cache
def _foldable() -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]:
    """Every character that folds: one pattern to fold with, and the quick tests.

    Built once, in about 0.2 s. The quick tests are single classes searched one by one:
    an alternation of them costs ten times as much per character.
    """
    codes = [
        code
        for code in range(0x80, _LAST_CODE_POINT_FOLDED + 1)
        if not 0xD800 <= code < 0xE000 and _fold_char(chr(code)) != chr(code)
    ]
    # Two classes: `re` keeps a class of BMP characters as a bitmap (one lookup per
    # character) but a class reaching past U+FFFF as a list of ranges (slow).
    bmp = _char_class([c for c in codes if c <= 0xFFFF])
    astral = _char_class([c for c in codes if c > 0xFFFF])
    combined = re.compile(f"{_ASCII_FOLDABLE.pattern}|{bmp}|{astral}")
    return combined, (re.compile(bmp), re.compile(astral))


@functools.cache
def _foldable_without_breaks() -> re.Pattern[str]:
    combined = _foldable()[0].pattern.replace(f"|{_ESCAPED_BREAK.pattern}", "", 1)
    return re.compile(combined)


def _char_class(codes: list[int]) -> str:
    """A regex character class of ``codes`` (sorted), consecutive runs as ranges."""
    ranges: list[str] = []
    first = last = codes[0]
    for code in [*codes[1:], -1]:
        if code == last + 1:
            last = code
            continue
        low, high = re.escape(chr(first)), re.escape(chr(last))
        ranges.append(low if first == last else f"{low}-{high}")
        first = last = code
    return f"[{''.join(ranges)}]"


def needs_folding(text: str) -> bool:
    """Could :func:`fold_with_offsets` change ``text``? (One C-level scan.)"""
    if _CONTROLS.search(text) is not None:
        return True
    if "\\" in text and _ESCAPED_BREAK.search(text) is not None:
        return True
    if text.isascii():
        return False
    bmp, astral = _foldable()[1]
    if bmp.search(text) is not None:
        return True
    # The class past U+FFFF is a list of ranges in `re`: test it only when needed.
    return max(text) > "\uffff" and astral.search(text) is not None


def has_ambiguous_break(text: str) -> bool:
    """Does ``text`` hold a written-out break that could be a backslash and a word?"""
    return "\\" in text and _AMBIGUOUS_BREAK.search(text) is not None


def fold_with_offsets(text: str, *, breaks: bool = True) -> tuple[str, list[int] | None]:
    """Fold ``text`` for detection.

    ``breaks=False`` leaves written-out ``\\n``/``\\t``/``\\r`` as they are (the view in
    which ``CORP\\tom`` is an account).

    Returns:
        ``(folded, starts)``; ``starts`` is None when nothing changed. Otherwise
        ``starts[i]`` is the offset in ``text`` of the character folded character ``i``
        came from, and ``starts[len(folded)] == len(text)``: the folded span ``[s, e)``
        covers ``text[starts[s]:starts[e]]`` (removed characters inside it included).
    """
    if not needs_folding(text):
        return text, None
    if breaks:
        pattern = _ASCII_FOLDABLE if text.isascii() else _foldable()[0]
    elif text.isascii():
        if _CONTROLS.search(text) is None:
            return text, None
        pattern = _CONTROLS
    else:
        pattern = _foldable_without_breaks()
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    for match in pattern.finditer(text):
        begin = match.start()
        out.append(text[pos:begin])
        starts.extend(range(pos, begin))
        found = match.group()
        folded = " " if len(found) == 2 else _fold_char(found)  # an escaped break, or one char
        out.append(folded)
        starts.extend([begin] * len(folded))
        pos = match.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    starts.append(len(text))
    return "".join(out), starts
