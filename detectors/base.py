"""Base class shared by the logscrub detector pack.

Every detector is a real Presidio ``PatternRecognizer``: ``recognizer.analyze(text, [ENTITY])``
works as in Presidio and the class can be registered in an ``AnalyzerEngine``. The extra
class constants below are what the engine's fast scanner
(``pipeline/detection/scanner.py``) needs to decide *when* a recognizer runs at all, so
that a log line costs microseconds instead of the milliseconds a full analyzer call costs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

# Presidio's default flags for pattern recognizers; the fast scanner compiles with the same.
REGEX_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE


def field_name_key(name: str) -> str:
    """Normalize a field name for hint lookup: lowercase, only ASCII letters and digits.

    ``deviceInfo.IMEI`` -> last segment ``IMEI`` -> ``imei``; ``X-Real-IP`` -> ``xrealip``.
    """
    return "".join(ch for ch in name.lower() if ch.isalnum())


# `_`, `-`, `.`, camelCase, and the end of an acronym (`MEIDHex` -> meid, hex).
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def field_name_tokens(name: str) -> list[str]:
    """Split a field name into lowercase tokens on ``_``, ``-``, ``.`` and camelCase."""
    return [t.lower() for t in _TOKEN_SPLIT.split(name) if t]


def _compiled(pattern: Any, flags: int | None) -> Any:
    """Presidio's own per-pattern cache of the compiled regex (``Pattern.compiled_regex``,
    which its type annotations declare as always None)."""
    if pattern.compiled_regex is None or pattern.compiled_with_flags != flags:
        pattern.compiled_with_flags = flags
        pattern.compiled_regex = regex.compile(pattern.regex, flags=flags or 0)
    return pattern.compiled_regex


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
    #: Scanner hint (added): how many words before a match are read for context (3 or 5).
    CONTEXT_REACH: ClassVar[int] = 3
    #: Scanner hint (added): lowercase words that, right after a match, are context too
    #: (``555-0182 office``).
    CONTEXT_AFTER: ClassVar[frozenset[str]] = frozenset()
    #: Scanner hint (added): a match whose ``validate_result`` fails (a check digit) still
    #: counts when the key right before it is one of ``FIELD_NAMES`` (``imei=...``): the
    #: producer says what it is, and a typo or test value is still someone's identifier.
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = False
    #: Scanner hint (added): ``bytes`` regexes over :func:`text_shape`. When set, the
    #: recognizer's patterns run only in ``WINDOW``-sized windows around their matches
    #: (plus around its keys, see below, and the whole text on a ``TRIGGER_WORDS`` hit).
    #: Start each with a literal byte (``b"0000"``) so the search is a fast substring scan;
    #: every true match must overlap an anchor match.
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = ()
    #: Scanner hint (added): pattern name -> anchors for that pattern alone (it then runs
    #: only around those); patterns not listed use ``SHAPE_ANCHORS``.
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {}
    #: Scanner hint (added): pattern name -> ``str`` regex over the text itself; the
    #: pattern runs over the whole text only when the gate finds something. For literal
    #: cue words (``Dear``, ``Hello``) whose shape would be a slow anchor.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {}
    #: Scanner hint (added): lowercase substrings (``"invalid user"``); when one occurs in
    #: the lowercased text, the recognizer's patterns run over the whole text.
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = ()
    #: Characters before / after an anchor (or after a key) that a match may reach.
    WINDOW: ClassVar[tuple[int, int]] = (32, 64)
    #: Scanner hint (added): names of patterns that count only with context; the
    #: scanner checks context before calling ``validate_result`` for them (cheap rejects
    #: of `2024-05-01`-like candidates before an expensive validation).
    CONTEXT_PATTERNS: ClassVar[frozenset[str]] = frozenset()
    #: Lowercase words that, as the key right before a match or in the few characters
    #: before it (``version=6.1.1.0``, ``build 5.5.224.1``), say the match is not this
    #: entity. Also applied by :meth:`analyze`.
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = frozenset()
    #: Scanner hint (added): lowercase name tokens that, in a field name or key, say the
    #: field is *not* this entity even though another token is context for it
    #: (``service_name`` is not a person's name).
    FIELD_EXCLUDES: ClassVar[frozenset[str]] = frozenset()
    #: Scanner hint (added): normalized endings that make a run-together field name
    #: context (``shippingname``, ``membername`` end in ``name``), unless what comes
    #: before the ending is in ``FIELD_EXCLUDES`` (``hostname``).
    FIELD_SUFFIXES: ClassVar[tuple[str, ...]] = ()
    # Set by Presidio's constructors; declared so that type checkers know them.
    patterns: list[Pattern]
    name: str

    def in_positive_position(self, text: str, start: int) -> bool:
        """Whether the text right before ``start`` says "this is the entity" so strongly
        that :attr:`NEGATIVE_CONTEXT` does not apply (an IP address in brackets after a
        host name, after ``from`` or ``client``). Default: never."""
        del text, start
        return False

    def in_negative_position(self, text: str, start: int) -> bool:
        """Whether a phrase before ``start`` says "not this entity" where no single word
        does (``Upgraded agent to 8.1.34.3``: a version, though ``to`` often precedes an
        address). Wins over :meth:`in_positive_position`. Default: never."""
        del text, start
        return False

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
            # A plain int, not the regex module's enum: the stdlib `re` compiler takes
            # `regex.RegexFlag` for a foreign enum and does every flag test through
            # Python-level `Flag.__and__` (33,000 calls, ~20% of engine build).
            global_regex_flags=int(REGEX_FLAGS),
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Run the patterns like Presidio's ``PatternRecognizer.analyze``, with two additions.

        A pattern's ``value`` group (:data:`VALUE_GROUP`), when it took part in the match,
        is the reported span; and a match with a :attr:`NEGATIVE_CONTEXT` word right before
        it is dropped. Otherwise scores follow Presidio: ``validate_result`` True gives 1.0,
        False or ``invalidate_result`` True drops the match.

        Args:
            text: Text to analyze.
            entities: Requested entities (Presidio passes the supported ones).
            nlp_artifacts: Unused; pattern recognizers need no NLP.
            regex_flags: Flags overriding ``global_regex_flags``.

        Returns:
            Presidio ``RecognizerResult`` objects, duplicates and contained spans removed.
        """
        del nlp_artifacts
        flags = regex_flags if regex_flags else self.global_regex_flags
        results: list[RecognizerResult] = []
        for pattern in self.patterns:
            for match in _compiled(pattern, flags).finditer(text):
                start, end = span_of(match)
                if start >= end:
                    continue
                value = text[start:end]
                if self.invalidate_result(value):
                    continue
                if (
                    self.NEGATIVE_CONTEXT
                    and has_negative_context(text, start, self.NEGATIVE_CONTEXT)
                    and not self.in_positive_position(text, start)
                ):
                    continue
                validation = self.validate_result(value)
                if validation is False:
                    continue
                score = EntityRecognizer.MAX_SCORE if validation else pattern.score
                results.append(
                    RecognizerResult(
                        entity_type=self.ENTITY,
                        start=start,
                        end=end,
                        score=score,
                        analysis_explanation=self.build_regex_explanation(
                            self.name,
                            pattern.name,
                            pattern.regex,
                            score,
                            bool(validation),
                            flags or 0,
                        ),
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)

    def normalize(self, value: str) -> str:
        """Return the canonical form used as pseudonym input.

        Equal entities written differently (``+86 138 0013 8000`` and ``13800138000``,
        upper- and lowercase MACs) must give the same pseudonym, so joins still work.
        The default strips surrounding whitespace.
        """
        return value.strip()


# ---------------------------------------------------------------------------------------
# Additions used by the detector pack and the fast scanner (pipeline/detection/scanner.py).
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


# Shape anchors shared by the numeric recognizers (a shared anchor is searched once per
# text). The lookbehind sits after the literal so the search keeps its fast literal scan;
# it requires the run to start a token: `ORD20240501123456`, `container_1445144423722`
# and `blk_1608999687919862906` open no window.
#: 7+ digits, maybe grouped by spaces, dashes or dots, at a token start.
DIGITS_7 = rb"000(?<![0ax_.]000)(?:[ \-.]?0){4,}"
#: 12+ digits, maybe grouped by spaces or dashes, at a token start.
DIGITS_12 = rb"0000(?<![0ax_.]0000)(?:[ \-]?0){8,}"
#: 15+ consecutive digits at a token start.
DIGITS_15 = rb"000000000000000(?<![0ax_.]000000000000000)"


def text_shape(text: str) -> bytes:
    """Return the shape of ``text``: one byte per character, aligned with ``text``.

    ASCII digits become ``0``, hex letters ``a``, other ASCII letters ``x``, every other
    ASCII byte stays as it is and every non-ASCII character becomes ``?``.
    ``"MAC 00:1A:2b"`` -> ``b"xaa 00:0a:0a"``.
    """
    return text.encode("ascii", "replace").translate(SHAPE_TABLE)


class KeyedPattern(Pattern):
    """A ``key=value`` pattern (see :func:`keyed_pattern`) that knows its keys.

    The scanner tries it only where the text has one of ``keys`` followed by ``=`` or
    ``:``, instead of searching the whole text for it.
    """

    def __init__(self, name: str, regex: str, score: float, keys: tuple[str, ...]) -> None:
        super().__init__(name, regex, score)
        self.keys = keys


#: Words that name a record's number, not a person's card or SIM: a long Luhn-valid digit
#: run under `order_no` or after `trace` is an order or a trace id (credit cards, ICCIDs).
RECORD_NUMBER_WORDS: frozenset[str] = frozenset(
    {
        "order",
        "orderno",
        "orderid",
        "trade",
        "tradeno",
        "txn",
        "txnid",
        "transaction",
        "seq",
        "sequence",
        "trace",
        "traceid",
        "span",
        "spanid",
        "request",
        "requestid",
        "msgid",
        "block",
        "blockid",
        "offset",
        "epoch",
        "ts",
        "timestamp",
        "invoice",
        "ticket",
        "waybill",
        "tracking",
        "shipment",
        "refund",
        "batch",
        "snowflake",
    }
)


def keyed_pattern(
    name: str, keys: list[str], value: str, score: float, *, quoted: bool = True
) -> KeyedPattern:
    """Build a ``key=value`` pattern whose ``value`` group is the reported span.

    Matches ``nickname=bob``, ``nickname: bob``, ``"nickname": "Bob Smith"``,
    ``user_nickname=bob`` (the key may end a longer ``_``/``-``/``.`` separated name) and
    ``userNickname=bob`` (camelCase), but not ``nicknames=`` or ``xnickname=``.

    Args:
        name: Pattern name (Presidio ``Pattern.name``).
        keys: Key spellings, regex-escaped by this function; matched case-insensitively.
        value: Regex for an unquoted value.
        score: Pattern score.
        quoted: Whether a quoted value is taken up to its closing quote (at most 120
            characters) whatever ``value`` says. Turn off for shape-checked values.

    Returns:
        A Presidio ``Pattern`` (a :class:`KeyedPattern`).
    """
    alternation = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    # The key must start a word or a camelCase hump: `(?-i:...)` keeps the case test
    # meaningful under the global IGNORECASE flag.
    start = r"(?:(?<![A-Za-z0-9])|(?-i:(?<=[a-z0-9])(?=[A-Z])))"
    regex = (
        start
        + f"(?:{alternation})"
        + r"""["']?[ \t]{0,3}[=:\uff1a][ \t]{0,3}"""
        + r"""["']?"""
        + f"(?P<{VALUE_GROUP}>"
        + (r"""(?<=")[^"\n]{1,120}(?=")|(?<=')[^'\n]{1,120}(?=')|""" if quoted else "")
        + f"{value})"
    )
    return KeyedPattern(name, regex, score, tuple(k.lower() for k in keys))


def span_of(match: re.Match[str] | regex.Match[str]) -> tuple[int, int]:
    """Return the reported span of a pattern match: its ``value`` group if that took part."""
    if VALUE_GROUP in match.re.groupindex:
        start, end = match.span(VALUE_GROUP)
        if start >= 0:
            return start, end
    return match.span()


# The word(s) right before a match, read backwards: skip the separators of `key=`,
# `"key": "`, `key: ` and free-text spaces, then take up to `count` words. Reading a reversed
# slice with an anchored `match` costs a fraction of a microsecond.
def _words_before_rev(count: int) -> re.Pattern[str]:
    word = r"([\w.\-]{1,40})"
    more = ""
    for _ in range(count - 1):
        more = rf"""(?:[\s"'=:_\-]{{1,3}}{word}{more})?"""
    return re.compile(r"""[\s"'=:\uff1a\[({<#]{0,6}""" + word + more)


_WORDS_BEFORE_REV = {count: _words_before_rev(count) for count in (3, 5)}


def words_before(text: str, start: int, count: int = 3) -> tuple[str, ...]:
    """Return up to ``count`` (3 or 5) words right before ``start``, nearest first.

    ``imei=35...`` -> ``("imei",)``; ``"client_ip": "10...`` -> ``("client_ip",)``;
    ``my phone number is 138...`` -> ``("is", "number", "phone")``.
    """
    if start <= 0:
        return ()
    segment = text[max(0, start - (64 if count <= 3 else 120)) : start][::-1]
    match = _WORDS_BEFORE_REV[count].match(segment)
    if match is None:
        return ()
    return tuple(word[::-1] for word in match.groups() if word)


def has_negative_context(text: str, start: int, words: frozenset[str]) -> bool:
    """Return whether a word in ``words`` is (a token of) the word right before ``start``."""
    before = words_before(text, start)
    if not before:
        return False
    word = before[0]
    if word.lower() in words:
        return True
    return any(token in words for token in field_name_tokens(word))
