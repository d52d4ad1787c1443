"""Base class shared by the logscrub detector pack.

Every detector is a real Presidio ``PatternRecognizer``: ``recognizer.analyze(text, [ENTITY])``
works as in Presidio and the class can be registered in an ``AnalyzerEngine``. The extra
class constants below are what the engine's fast scanner (``pipeline/scanner.py``) needs to
decide *when* a recognizer runs at all, so that a log line costs microseconds instead of the
milliseconds a full analyzer call costs.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

# Presidio's default flags for pattern recognizers; the fast scanner compiles with the same.
REGEX_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE


def field_name_key(name: str) -> str:
    """Normalize a field name for hint lookup: lowercase, only ASCII letters and digits.

    ``deviceInfo.IMEI`` -> last segment ``IMEI`` -> ``imei``; ``X-Real-IP`` -> ``xrealip``.
    """
    return "".join(ch for ch in name.lower() if ch.isalnum())


_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def field_name_tokens(name: str) -> list[str]:
    """Split a field name into lowercase tokens on ``_``, ``-``, ``.`` and camelCase."""
    return [t.lower() for t in _TOKEN_SPLIT.split(name) if t]


class LogRecognizer(PatternRecognizer):
    """A Presidio pattern recognizer with the hints the fast scanner uses.

    Subclasses set ``ENTITY``, ``PATTERNS`` and ``CONTEXT`` (Presidio's vocabulary), may
    override ``validate_result`` / ``invalidate_result`` (checksums, plausibility), and may
    set the scanner hints:

    * ``FIELD_NAMES``: normalized field names (see :func:`field_name_key`) or single name
      tokens (the last token of ``device_imei`` is ``imei``) that say a field *holds* this
      entity. Such a field is anonymized as a whole when the scan finds nothing in it.
    * ``TRIGGER_CHARS``: run only if the text contains at least one of these characters
      (``"@"`` for email). Empty means no character prefilter.
    * ``MIN_DIGITS``: run only if the text has at least this many ASCII digits.
    * ``CONTEXT_REQUIRED``: matches count only with context (a field name in
      ``FIELD_NAMES`` or a ``CONTEXT`` word as the key right before the match, e.g.
      ``android_id=``); for shapes that are too common to take on their own.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset()
    TRIGGER_CHARS: ClassVar[str] = ""
    MIN_DIGITS: ClassVar[int] = 0
    CONTEXT_REQUIRED: ClassVar[bool] = False
    #: Scanner hint (added): a ``bytes`` regex over :func:`text_shape`; when set, the
    #: recognizer runs only in windows around its matches. Start it with a literal byte
    #: (``b"0000"``) so the search is a fast substring scan.
    SHAPE_ANCHOR: ClassVar[bytes] = b""
    #: Scanner hint (added): lowercase literals; when set (and ``SHAPE_ANCHOR`` is not),
    #: the recognizer runs only in windows around their occurrences in the text.
    ANCHOR_WORDS: ClassVar[tuple[str, ...]] = ()
    #: Characters before / after an anchor that a match may reach.
    WINDOW: ClassVar[tuple[int, int]] = (32, 64)
    #: Lowercase words that, as the key right before a match or in the few characters
    #: before it (``version=6.1.1.0``, ``build 5.5.224.1``), say the match is not this
    #: entity. Also applied by :meth:`analyze`.
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )

    def normalize(self, value: str) -> str:
        """Return the canonical form used as pseudonym input.

        Equal entities written differently (``+86 138 0013 8000`` and ``13800138000``,
        upper- and lowercase MACs) must give the same pseudonym, so joins still work.
        The default strips surrounding whitespace.
        """
        return value.strip()


# ---------------------------------------------------------------------------------------
# Additions used by the detector pack and the fast scanner (pipeline/scanner.py).
# Everything above keeps its meaning; the hints below default to "no restriction", so a
# recognizer that does not set them is simply run over the whole text.
# ---------------------------------------------------------------------------------------

#: Name of the optional regex group that holds the value inside a longer match: the
#: pattern ``password=(?P<value>\S+)`` reports only the secret, not the key.
VALUE_GROUP = "value"

# Text shape: one byte per character (index-aligned with the text), so cheap ``bytes``
# searches with a literal first byte can find digit runs or hex runs in well under a
# microsecond instead of a character-class regex pass over the text (20-60 us per KB).
_SHAPE_TABLE = bytearray(range(256))
for _c in b"0123456789":
    _SHAPE_TABLE[_c] = ord("0")
for _c in b"abcdefABCDEF":
    _SHAPE_TABLE[_c] = ord("a")
for _c in b"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ":
    _SHAPE_TABLE[_c] = ord("x")
SHAPE_TABLE = bytes(_SHAPE_TABLE)
del _SHAPE_TABLE, _c


def text_shape(text: str) -> bytes:
    """Return the shape of ``text``: one byte per character, aligned with ``text``.

    ASCII digits become ``0``, hex letters ``a``, other ASCII letters ``x``, every other
    ASCII byte stays as it is and every non-ASCII character becomes ``?``.
    ``"MAC 00:1A:2b"`` -> ``b"xaa 00:0a:0a"``.
    """
    return text.encode("ascii", "replace").translate(SHAPE_TABLE)


def keyed_pattern(name: str, keys: list[str], value: str, score: float) -> Pattern:
    """Build a ``key=value`` pattern whose ``value`` group is the reported span.

    Matches ``nickname=bob``, ``nickname: bob``, ``"nickname": "Bob Smith"``,
    ``user_nickname=bob`` (the key may end a longer ``_``/``-``/``.`` separated name) and
    ``userNickname=bob`` (camelCase), but not ``nicknames=`` or ``xnickname=``.

    Args:
        name: Pattern name (Presidio ``Pattern.name``).
        keys: Key spellings, regex-escaped by this function; matched case-insensitively.
        value: Regex for an unquoted value. A quoted value is taken up to the closing
            quote (at most 120 characters) whatever ``value`` says.
        score: Pattern score.

    Returns:
        A Presidio ``Pattern``.
    """
    alternation = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    # The key must start a word or a camelCase hump: `(?-i:...)` keeps the case test
    # meaningful under the global IGNORECASE flag.
    start = r"(?:(?<![A-Za-z0-9])|(?-i:(?<=[a-z0-9])(?=[A-Z])))"
    regex = (
        start
        + f"(?:{alternation})"
        + r"""["']?[ \t]{0,3}[=:][ \t]{0,3}"""
        + r"""["']?"""
        + f"(?P<{VALUE_GROUP}>"
        + r"""(?<=")[^"\n]{1,120}(?=")|(?<=')[^'\n]{1,120}(?=')|"""
        + f"{value})"
    )
    return Pattern(name, regex, score)
