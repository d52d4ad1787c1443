"""The fast scanner: finds personal data in one string in microseconds, not milliseconds.

Presidio's ``AnalyzerEngine`` runs the spaCy pipeline and every recognizer's regexes over
the whole text on each call (7-8 ms). The scanner uses the same recognizers (the
``detectors`` package, real Presidio ``PatternRecognizer`` subclasses) but decides *where*
each one runs:

1. The text's *shape* (:func:`detectors.base.text_shape`: digits -> ``0``, hex letters ->
   ``a``, other letters -> ``x``) is one ``bytes.translate``. Recognizers declare
   ``SHAPE_ANCHORS``, bytes regexes with a literal first byte (``b"0000(?:[ -]?0){8,}"`` =
   "12+ digits, maybe grouped"), which run over the shape as fast substring searches; a
   recognizer's patterns then run only in small windows around the anchors.
2. One regex over the *reversed* text lists every ``key=`` / ``"key":`` / ``key:`` in a
   single pass that only stops at ``=`` and ``:`` characters. Keys known to a recognizer
   (its keyed patterns' keys, ``CONTEXT`` words, ``FIELD_NAMES``) trigger its keyed
   patterns as an anchored ``match`` at the key, and its other patterns in a window after
   the key.
3. ``TRIGGER_WORDS`` (``"invalid user"``) run a recognizer over the whole text; a
   recognizer with no hints at all (third-party ones) always does.

Which recognizer runs which patterns in which windows (a *plan*) depends on the text only
through its shape, its keys and the field; for short texts without keys the plan is cached
per (shape, field), so `1730695830082` in `created_at` costs the pattern runs, not the
planning.

So a kilobyte without personal data costs a few C-level searches instead of ~50 full
regex passes. Each pattern is compiled with :mod:`re` or :mod:`regex`, whichever is faster
for it (``regex`` finds required literals such as ``@`` or ``.`` much faster; ``re`` is
faster for plain character-class scans; :mod:`pipeline.detection.patterns`).

Everything about a match is decided the Presidio way (``invalidate_result``,
``validate_result``, pattern score, context words) plus a +0.35 context boost from the
key right before the match or the field name, ``CONTEXT_REQUIRED``, negative context and
overlap resolution.

Security: the scanner never logs or raises with a value from the text; its only log line
(NER unavailable) names the model.
"""

from __future__ import annotations

import functools
import logging
import re
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from detectors import all_recognizers
from detectors.base import (
    VALUE_GROUP,
    KeyedPattern,
    LogRecognizer,
    field_name_key,
    field_name_tokens,
    text_shape,
    words_before,
)
from pipeline.detection import _native
from pipeline.detection.addresses import find_addresses
from pipeline.detection.findings import OWN_TOKEN, Finding, mask_spans, overlaps
from pipeline.detection.names import (
    coordinated_names,
    find_cued_names,
    find_lowercase_names,
    find_names,
)
from pipeline.detection.names_zh import find_names_zh
from pipeline.detection.patterns import (
    NUMBERED_BACKREF,
    JoinedPattern,
    calibrations,
    join_patterns,
    join_pays,
)
from pipeline.detection.prefilter import BITS, Prefilter, UntranslatableError, bit, superset_pattern

if TYPE_CHECKING:
    from pipeline.detection.ner import NerDetector

__all__ = ["CONTEXT_BOOST", "Finding", "Scanner"]

logger = logging.getLogger(__name__)

#: Score added when the key right before a match, or the field name, is a context word.
CONTEXT_BOOST = 0.35

# How much of a free-text value the name and address passes read.
_FREE_TEXT_CHARS = 20_000

# Two Han characters in a row: the cheap test before the Chinese name pass.
_TWO_HAN = re.compile(r"[\u4e00-\u9fff]{2}")

# A match whose end comes this close to a window's end was decided with the artificial
# end of text in sight (a lookahead, `$`); it is re-matched against the full text.
_END_MARGIN = 8

# Whole values that no recognizer reports without field context, by shape (see
# detectors.base.text_shape): ISO dates and timestamps, clock times, integers of up to 10
# digits, short decimals, UUIDs and 16/32/40/64-hex ids (trace, span, request ids),
# words and dotted/dashed names without digits (levels, services, loggers). A scan of such
# a value is answered without running any recognizer.
_BENIGN_SHAPE = re.compile(
    rb"0000-00-00(?:[x ]00:00(?::00)?(?:[.,]0{1,9})?)?(?:x|[+\-]00:?00)?"
    rb"|00:00(?::00)?(?:[.,]0{1,9})?"
    rb"|[+\-]?0{1,10}(?:\.0{1,2})?"
    rb"|[0a]{8}-[0a]{4}-[0a]{4}-[0a]{4}-[0a]{12}"
    rb"|(?=[0a]*a)(?:[0a]{16}|[0a]{32}|[0a]{40}|[0a]{64})"
    rb"|[ax][ax\-_.]{0,63}"
)

# Below this length one combined anchor search decides whether any anchored recognizer
# needs a look; above it the combined alternation costs more than it saves.
_GATE_LENGTH = 160

# Caches keyed by field names / key words are bounded: names come from data.
_NAME_CACHE_LIMIT = 4096

# Scan plans (which recognizer runs which patterns in which windows) are cached per
# (shape, field) for texts up to this length: beyond it shapes rarely repeat.
_PLAN_LENGTH = 64
_PLAN_CACHE_LIMIT = 8192



@dataclass(frozen=True, slots=True)
class GateSet:
    """One pattern set of the native record gate (see :meth:`Scanner.gate_sets`)."""

    patterns: list[str]  # translated (superset) patterns
    bit: int  # the recognizer's prefilter bit
    needs_context: bool  # its matches count only with context
    needles: list[str]  # normalized words that can be that context
    validator: str | None  # native validator of its matches (`card`)
    waiver: list[str]  # normalized field names that waive a failed check


# Validation the native sets repeat (native/src/record.rs), as necessary conditions of
# the recognizer's own, per (recognizer, pattern name; None: every pattern):
# `card`: some run of digit groups passes Luhn and the brand lengths
#   (CreditCardRecognizer.validate_result);
# `ipv6`: `::`, or seven colons in one run of hex digits, colons and dots
#   (IpAddressRecognizer: `_is_host_address` rejects any other colon form).
_NATIVE_VALIDATORS: dict[tuple[str, str | None], str] = {
    ("CreditCardRecognizer", None): "card",
    ("IpAddressRecognizer", "ipv6"): "ipv6",
    ("IpAddressRecognizer", "ipv6 full with port"): "ipv6",
}


@dataclass(slots=True)
class _Compiled:
    """A recognizer with its patterns compiled and its hints resolved."""

    recognizer: LogRecognizer
    entity: str
    name: str
    patterns: list[JoinedPattern]
    shape_anchors: tuple[Any, ...]  # re.Pattern[bytes]: all anchors of the recognizer
    # Plain patterns grouped by the anchors they run around (empty: whole text / keys).
    # (anchors, text gate, patterns): a gated group runs over the whole text when its gate
    # (a ``str`` regex, checked when the plan runs) finds something.
    groups: list[tuple[tuple[Any, ...], Any, list[JoinedPattern]]]
    trigger_words: tuple[str, ...]
    # The trigger words as one compiled alternation: one C-level search per text instead
    # of a Python-level `in` per word (this check runs for most recognizers on most texts).
    trigger_re: Any  # re.Pattern[str] | None
    window: tuple[int, int]
    trigger_chars: str
    min_digits: int
    context_required: bool
    context_reach: int  # how many words before a match may be its context (3 or 5)
    context_after: frozenset[str]  # words right after a match that are its context
    key_waives_checksum: bool  # a failed checksum counts anyway right after its own key
    negative_context: frozenset[str]
    field_excludes: frozenset[str]
    field_suffixes: tuple[str, ...]
    context_words: frozenset[str]
    field_names: frozenset[str]
    # context_words | field_names, and its non-ASCII words (matched as substrings: `手机号`
    # in `用户手机号`), computed once: _word_context runs for every new word.
    vocabulary: frozenset[str]
    non_ascii_vocabulary: tuple[str, ...]
    keys: frozenset[str]  # normalized keys that trigger this recognizer in the key pass
    full_text: bool  # no hints: always run over the whole text
    has_keyed: bool
    has_plain: bool


# A scan plan is a list of steps, made by Scanner._plan and run by Scanner.scan.
class _Run(NamedTuple):
    """Run ``patterns`` of ``item`` in ``windows`` of the text; with a ``gate``, only when
    the gate finds something in the text."""

    item: _Compiled
    patterns: list[JoinedPattern]
    windows: list[tuple[int, int]]
    in_field: bool
    gate: Any  # re.Pattern[str] | None


class _Keyed(NamedTuple):
    """Try ``item``'s keyed patterns anchored right after each of its keys in the text."""

    item: _Compiled
    key_starts: list[tuple[int, int]]
    in_field: bool


class _Trigger(NamedTuple):
    """``whole`` when one of ``item``'s trigger words is in the text, else ``runs``."""

    item: _Compiled
    whole: _Run
    runs: list[_Run]


_Step = _Run | _Keyed | _Trigger


# `key=` / `"key":` / `key: ` read backwards: the separator, spaces, a quote, the key.
# Starting with the separator lets the engine skip to `=`/`:` characters in C.
_KEY_REV = re.compile(r"""[=:\uff1a][ \t]{0,3}["']?([\w.\-]{0,47}[^\W\d_])(?![\w.\-])""")
# The word right after a match: `555-0182 office`, `2813882583 (mobile)`.
_WORD_AFTER = re.compile(r"[\s\-,(\[]{1,3}([A-Za-z]{2,12})")
_KEY_SPLIT = re.compile(r"[_.\-]+|(?<=[a-z0-9])(?=[A-Z])")

# Words that say whose value a field holds, often run together with the rest of the name
# by producers that lowercase everything (`memberdob`, `accountsex`, `hwserial`).
_OWNER_PREFIX = re.compile(
    r"^(?:member|account|acct|user|customer|cust|client|profile|device|dev|hardware|hw|"
    r"sim|buyer|seller|payer|payee|owner|holder|contact|receiver|recipient|sender|kyc|"
    r"verify|verified|identity|person|patient|driver|rider|passenger|guest|player|"
    r"subscriber|consumer|shopper|employee|staff|student|applicant|my|primary)"
)
# Trailing words that name a format, not a different thing (`meidHex`, `serial_no`).
_FORMAT_SUFFIXES = frozenset({
    "hex", "dec", "raw", "str", "string", "val", "value", "plain", "orig", "original",
    "no", "num", "nr", "number", "md5", "sha1", "sha256", "hash", "masked",
})


_ID_SUFFIXES = frozenset({"id", "no", "num", "nr", "number", "code", "key", "str", "value"})


def _variants(candidate: str) -> list[str]:
    """Other spellings of one normalized name: without trailing digits (``imei2``),
    without a run-together format word (``meidhex``), and without each leading owner
    word in turn (``devicedeviceuuid`` -> ``deviceuuid`` -> ``uuid``)."""
    out = []
    bare = candidate.rstrip("0123456789")
    if bare and bare != candidate:
        out.append(bare)
    for suffix in _FORMAT_SUFFIXES:
        if len(suffix) >= 3 and bare.endswith(suffix) and len(bare) > len(suffix) + 1:
            out.append(bare[: -len(suffix)])
    rest = bare
    while (match := _OWNER_PREFIX.match(rest)) is not None and match.end() < len(rest):
        rest = rest[match.end() :]
        out.append(rest)
    return out

class Scanner:
    """Find personal data in strings, fast enough to run on every field of every record.

    Guarantees: findings are non-overlapping and sorted by start; a value already replaced
    by logscrub (``<ENTITY>`` / ``<ENTITY:key:hash>``) is never reported; allow-listed
    values are never reported; deny-listed values always are (score 1.0). The scanner
    is stateless apart from bounded name caches and is safe to share between records of
    one worker thread.
    """

    def __init__(
        self,
        recognizers: Sequence[LogRecognizer] | None = None,
        *,
        threshold: float = 0.5,
        entities: Collection[str] | None = None,
        allow_list: Collection[str] = (),
        deny_list: Mapping[str, Collection[str]] | None = None,
        ner: NerDetector | None = None,
    ) -> None:
        """Compile the recognizers.

        Args:
            recognizers: Recognizer instances; ``None`` means one of each class of
                :func:`detectors.all_recognizers` (the pack and the installed plugins).
            threshold: Minimum final score of a finding.
            entities: Entity types to report; ``None`` means all.
            allow_list: Exact values that are never reported.
            deny_list: Entity -> literal values that are always reported (case-insensitive,
                on word boundaries).
            ner: Name detector for free-text fields (``scan(..., ner=True)``). If its model
                is not installed, one warning is logged and names are not detected.
        """
        if recognizers is None:
            recognizers = [cls() for cls in all_recognizers()]
        wanted = None if entities is None else frozenset(entities)
        self._threshold = threshold
        self._allow = frozenset(allow_list) | frozenset(v.strip() for v in allow_list)
        self._by_entity: dict[str, LogRecognizer] = {}
        self._compiled: list[_Compiled] = []
        for recognizer in recognizers:
            entity = recognizer.supported_entities[0]
            self._by_entity.setdefault(entity, recognizer)
            if wanted is not None and entity not in wanted:
                continue
            self._compiled.append(self._compile_recognizer(recognizer, entity))

        # Key vocabulary of the key pass: normalized key -> recognizer indexes.
        self._key_vocab: dict[str, tuple[int, ...]] = {}
        vocab: dict[str, set[int]] = {}
        for index, item in enumerate(self._compiled):
            for key in item.keys:
                vocab.setdefault(key, set()).add(index)
        self._key_vocab = {key: tuple(sorted(ids)) for key, ids in vocab.items()}
        self._key_cache: dict[str, tuple[tuple[int, int], ...]] = {}
        calibrations().save()  # new timing answers, for the next start
        self._bits = [bit(index) for index in range(len(self._compiled))]
        self._shape_needed = any(
            item.shape_anchors or item.min_digits for item in self._compiled
        )
        # Gate for short texts: when no shape anchor, key or field context applies, only
        # recognizers that run on trigger words, text gates or everywhere need looking at.
        anchors = sorted({a.pattern for item in self._compiled for a in item.shape_anchors})
        self._any_anchor = re.compile(b"|".join(anchors)) if anchors else None
        self._indexed = list(enumerate(self._compiled))
        self._trigger_chars = frozenset(ch for item in self._compiled for ch in item.trigger_chars)
        self._ungated = [
            (i, item)
            for i, item in self._indexed
            if item.full_text or item.trigger_words or any(g for _, g, _ in item.groups)
        ]

        # The same patterns with what their matches need (context, a checksum), compiled
        # natively: a text's hits leave out recognizers that match but cannot count there
        # (a trace id is a hex run, but no device id without a device word or field).
        # Without them (a pattern with no native form, more recognizers than mask bits),
        # the plain prefilter (pipeline/detection/prefilter.py) says which can match at all.
        self._native_sets: Any = None
        self._prefilter: Prefilter | None = None
        try:
            specs = self.gate_sets()
            if specs:
                self._native_sets = _native.GateSets(
                    [
                        (g.patterns, g.bit, g.needs_context, g.needles, g.validator, g.waiver)
                        for g in specs
                    ]
                )
        except (UntranslatableError, ValueError):
            self._native_sets = None
        if self._native_sets is None:
            self._prefilter = self.prefilter
        self._field_bits_cache: dict[str, tuple[int, int, bool]] = {}

        self._deny: list[tuple[str, Any]] = []
        for entity, values in (deny_list or {}).items():
            literals = sorted({v for v in values if v}, key=len, reverse=True)
            if literals:
                alternation = "|".join(re.escape(v) for v in literals)
                self._deny.append(
                    (entity, re.compile(rf"(?<![\w])(?:{alternation})(?![\w])", re.IGNORECASE))
                )

        self._ner = ner
        if ner is not None and not ner.available():
            logger.warning("name detection (NER) is off: model %s not installed", ner.model)
            self._ner = None

        self._plans: dict[tuple[bytes, int, int], list[_Step]] = {}
        self._signature_cache: dict[str, int] = {}
        self._signatures: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        self._field_ctx_cache: dict[str, frozenset[str]] = {}
        self._field_neg_cache: dict[str, frozenset[str]] = {}
        self._word_ctx_cache: dict[str, frozenset[str]] = {}
        self._field_entity_cache: dict[str, str | None] = {}
        entity_names = {item.entity for item in self._compiled}
        entity_names.update(entity for entity, _ in self._deny)
        if self._ner is not None:
            entity_names.update(self._ner.entities)
        self._entities = frozenset(entity_names)

    # ------------------------------------------------------------------ public API

    @property
    def prefilter(self) -> Prefilter:
        """The plain native prefilter (built when first asked for: scanning uses the
        native sets when every pattern has a native form)."""
        if self._prefilter is None:
            self._prefilter = Prefilter.build([item.recognizer for item in self._compiled])
        return self._prefilter

    @property
    def deny_patterns(self) -> list[Any]:
        """The deny list's compiled patterns (they match without any detector)."""
        return [pattern for _entity, pattern in self._deny]

    def gate_sets(self) -> list[GateSet]:
        """What the native record gate needs to know about each recognizer to say, from a
        value alone, that :meth:`scan` cannot find it there (pipeline.detection.record_gate).

        Per recognizer, its translated patterns in up to two sets: those that count only
        with context (``CONTEXT_REQUIRED``, ``CONTEXT_PATTERNS``; not a pattern with a
        value group, whose own key is its context) and the rest. With each, the words
        that can be that context (:meth:`_word_context` reads a word before the match
        through its lower-cased letters and digits: every word it accepts contains one of
        these), and for a validated recognizer the validator the gate runs natively
        (``card``: Luhn and brand lengths, as :class:`CreditCardRecognizer` checks)
        with the field names a key before the number would need for its checksum to be
        waived. Empty when recognizers share mask bits.
        """
        if len(self._compiled) > BITS:
            return []
        # A word is context for an entity when any recognizer of that entity knows it.
        words: dict[str, set[str]] = {}
        for item in self._compiled:
            words.setdefault(item.entity, set()).update(
                field_name_key(w)
                for w in (*item.vocabulary, *item.field_suffixes, *item.context_after, *item.keys)
            )
        out: list[GateSet] = []
        for index, item in self._indexed:
            recognizer = item.recognizer
            flags = int(recognizer.global_regex_flags or 0)
            context_only = frozenset(getattr(type(recognizer), "CONTEXT_PATTERNS", frozenset()))
            # A pattern its validator never confirms keeps its own score, so below the
            # threshold it counts only with the context boost.
            never_confirmed = frozenset(getattr(type(recognizer), "NEVER_CONFIRMED", frozenset()))
            needles = sorted(words[item.entity] - {""})
            groups: dict[tuple[bool, str | None], list[str]] = {}
            for pattern in recognizer.patterns:
                valued = isinstance(pattern, KeyedPattern) or f"(?P<{VALUE_GROUP}>" in pattern.regex
                needs = not valued and (
                    item.context_required
                    or pattern.name in context_only
                    or (pattern.name in never_confirmed and pattern.score < self._threshold)
                )
                name = type(recognizer).__name__
                validator = _NATIVE_VALIDATORS.get((name, pattern.name)) or _NATIVE_VALIDATORS.get(
                    (name, None)
                )
                groups.setdefault((needs, validator), []).append(
                    superset_pattern(pattern.regex, flags)
                )
            waiver = (
                sorted(
                    {field_name_key(w) for i in self._compiled if i.entity == item.entity
                     for w in i.field_names} - {""}
                )
                if item.key_waives_checksum
                else []
            )
            for (needs, validator), patterns in groups.items():
                out.append(
                    GateSet(
                        patterns,
                        self._bits[index],
                        needs,
                        needles if needs else [],
                        validator,
                        waiver if validator else [],
                    )
                )
        return out

    @property
    def native_sets(self) -> Any:
        """The compiled ``GateSets`` (None when a pattern has no native form)."""
        return self._native_sets

    def field_bits(self, field: str) -> tuple[int, int, bool]:
        """What a field name tells the native sets, as prefilter bit masks (cached):

        * the recognizers :meth:`scan` never runs on a value under ``field`` (their
          negative words name it: ``order_id`` is no card number; 0 when recognizers
          share bits, more than the mask holds);
        * those for which ``field`` is context;
        * whether it is context for any entity (then :meth:`scan` reads a value it would
          otherwise answer by its shape alone).
        """
        found = self._field_bits_cache.get(field)
        if found is None:
            context = self._field_context(field)
            negative = self._field_negative(field) if len(self._compiled) <= BITS else ()
            ruled_out = context_bits = 0
            for index, item in self._indexed:
                if item.entity in negative:
                    ruled_out |= self._bits[index]
                if item.entity in context:
                    context_bits |= self._bits[index]
            found = (ruled_out, context_bits, bool(context))
            if len(self._field_bits_cache) >= _NAME_CACHE_LIMIT:
                self._field_bits_cache.clear()
            self._field_bits_cache[field] = found
        return found

    @property
    def entities(self) -> frozenset[str]:
        """All entity types this scanner can emit."""
        return self._entities

    def field_entity(self, field: str) -> str | None:
        """Return the entity a field name says its whole value is, or None.

        ``client_ip`` -> ``IP_ADDRESS``, ``deviceInfo.IMEI`` -> ``IMEI``,
        ``customer_mobile_no`` -> ``PHONE_NUMBER``, ``trace_id`` -> None. The exact
        normalized name wins over its token suffixes (``remote_addr`` is an IP,
        ``addr`` an address); among recognizers, the first in registration order wins.

        Args:
            field: A JSON field name (its last path segment is used).
        """
        cached = self._field_entity_cache.get(field)
        if cached is not None or field in self._field_entity_cache:
            return cached
        result = self._lookup_field_entity(field)
        if len(self._field_entity_cache) >= _NAME_CACHE_LIMIT:
            self._field_entity_cache.clear()
        self._field_entity_cache[field] = result
        return result

    def field_signature(self, field: str | None) -> int:
        """A small number standing for everything :meth:`scan` reads from ``field``.

        ``scan(text, field)`` depends on the field only through the entities it is
        context for and the entities it rules out, so ``hostName``, ``host_name`` and
        ``HOSTNAME`` share one signature, and callers may memoize results per
        ``(text, signature)``. 0 means no field.
        """
        if not field:
            return 0
        found = self._signature_cache.get(field)
        if found is None:
            meaning = (self._field_context(field), self._field_negative(field))
            found = self._signatures.setdefault(meaning, len(self._signatures) + 1)
            if len(self._signature_cache) >= _NAME_CACHE_LIMIT:
                self._signature_cache.clear()
            self._signature_cache[field] = found
        return found

    def normalize(self, entity: str, value: str) -> str:
        """Return the canonical form of ``value`` used as pseudonym input.

        Phones become E.164, emails lowercase, MACs lowercase colon form, card and IMEI
        digits only, so one person or device gets one pseudonym however it was written.

        Args:
            entity: The finding's entity type.
            value: The detected text.
        """
        recognizer = self._by_entity.get(entity)
        if recognizer is None:
            return value.strip()
        return recognizer.normalize(value)

    def scan(
        self, text: str, field: str | None = None, *, ner: bool = False, names: bool = False
    ) -> list[Finding]:
        """Find personal data in ``text``.

        Args:
            text: The string to scan (a field value or a whole log line).
            field: The JSON field name it came from (last path segment, original
                spelling), used as context; ``None`` for a bare line.
            ner: Also run name detection (for free-text fields only; costs milliseconds).
            names: Also run the name gazetteer (:mod:`pipeline.detection.names`; microseconds),
                which NER includes.

        Returns:
            Non-overlapping findings sorted by start.
        """
        n = len(text)
        if n < 2:
            return []
        if "<" in text and ">" in text:
            tokens = [m.span() for m in OWN_TOKEN.finditer(text)]
            if tokens:
                text = mask_spans(text, tokens)
        else:
            tokens = []

        field_ctx = self._field_context(field) if field else frozenset()
        shape = text_shape(text)
        if not field_ctx and not self._deny and _BENIGN_SHAPE.fullmatch(shape):
            return []
        # Recognizers with a pattern that can match somewhere in the text (a bit mask); a
        # recognizer outside it cannot find anything here, so no plan step runs it.
        if self._native_sets is not None:
            ruled_out, context, _any = self.field_bits(field) if field else (0, 0, False)
            hits = self._native_sets.hits(text, ruled_out, context)
        else:
            hits = (self._prefilter or self.prefilter).hits(text)
        keys = self._find_keys(text) if n > 3 and hits else {}
        plan: list[_Step]
        if not hits:
            plan = []
        elif n <= _PLAN_LENGTH and not keys:
            # Short values repeat their shape (`1730695830082`, `29159us`, host names):
            # which recognizers run where is decided once per (shape, field, hits).
            plan_key = (shape, self.field_signature(field), hits)
            cached = self._plans.get(plan_key)
            if cached is None:
                cached = self._plan(text, shape, keys, field_ctx, field, hits)
                if len(self._plans) >= _PLAN_CACHE_LIMIT:
                    self._plans.clear()
                self._plans[plan_key] = cached
            plan = cached
        else:
            plan = self._plan(text, shape, keys, field_ctx, field, hits)
        candidates: list[Finding] = []
        lowered: str | None = None
        for step in plan:
            if type(step) is _Run:
                if step.gate is None or step.gate.search(text) is not None:
                    run = step
                    self._run(run.item, run.patterns, text, run.windows, run.in_field, candidates)
            elif type(step) is _Keyed:
                self._run_keyed(step.item, text, step.key_starts, step.in_field, candidates)
            elif type(step) is _Trigger:  # the whole text with a trigger word in it, else windows
                if lowered is None:
                    lowered = text.lower()
                triggered = step.item.trigger_re.search(lowered) is not None
                for run in (step.whole,) if triggered else step.runs:
                    if run.gate is None or run.gate.search(text) is not None:
                        item, patterns, windows = run.item, run.patterns, run.windows
                        self._run(item, patterns, text, windows, run.in_field, candidates)

        for entity, pattern in self._deny:
            for match in pattern.finditer(text):
                candidates.append(Finding(match.start(), match.end(), entity, 1.0, "deny_list"))

        if ner and self._ner is not None:
            candidates.extend(self._ner.find(text))
        elif names or ner:
            candidates.extend(find_names(text, extended=ner))
        if ner:
            # The free-text passes read at most the first _FREE_TEXT_CHARS characters
            # (like NER's max_chars; the pattern recognizers above see everything), so a
            # megabyte message costs a bounded time.
            prose = text if n <= _FREE_TEXT_CHARS else text[:_FREE_TEXT_CHARS]
            if _TWO_HAN.search(prose) is not None:
                # Names inside Chinese sentences (pipeline.detection.names_zh). With the
                # Chinese model (NER on, pipeline.detection.ner_zh) the model replaces
                # jieba's name tags and only the honorific, cue and mention rules run beside it.
                if self._ner is None or not self._ner.chinese.available():
                    candidates.extend(find_names_zh(prose))
            # Street addresses in prose and address blocks (pipeline.detection.addresses), and
            # names that a cue, a title or a list of given names announces.
            candidates.extend(find_addresses(prose))
            candidates.extend(find_cued_names(prose))
            candidates.extend(find_lowercase_names(prose))

        if not candidates:
            return []
        found = self._resolve(candidates, text, tokens)
        if ner and any(f.entity == "PERSON" for f in found):
            # Names listed with a found name (`Schiavone and Livingston`).
            extra = coordinated_names(text, found)
            if extra:
                found = self._resolve(found + extra, text, tokens)
        return found

    # ------------------------------------------------------------------ internals

    def _plan(
        self,
        text: str,
        shape: bytes,
        keys: dict[int, list[tuple[int, int]]],
        field_ctx: frozenset[str],
        field: str | None,
        hits: int,
    ) -> list[_Step]:
        """Decide which recognizers run which patterns where in ``text`` (the steps:
        :class:`_Run`, :class:`_Keyed`, :class:`_Trigger`).

        Depends on the text only through its shape, its keys, the field and ``hits`` (the
        prefilter's mask: recognizers outside it are left out): a plan made for a text
        without keys serves every text of the same shape and hits in the same field.
        Trigger words are looked for when the plan runs, not here.
        """
        n = len(text)
        digits = shape.count(b"0")
        items = self._indexed
        if (
            n < _GATE_LENGTH
            and not keys
            and not field_ctx
            and (self._any_anchor is None or self._any_anchor.search(shape) is None)
        ):
            items = self._ungated
        present = {ch for ch in self._trigger_chars if ch in text}
        # A field named by a recognizer's negative words (`build.version`, `order_no`)
        # holds no such entity: `1.1.126.4` there is a version, not an IP.
        field_neg = self._field_negative(field) if field else frozenset()
        anchor_cache: dict[Any, list[tuple[int, int]]] = {}
        steps: list[_Step] = []
        bits = self._bits
        for index, item in items:
            if not hits & bits[index]:
                continue
            if digits < item.min_digits:
                continue
            if item.entity in field_neg:
                continue
            if item.trigger_chars and present.isdisjoint(item.trigger_chars):
                continue
            in_field = item.entity in field_ctx
            key_starts = keys.get(index)
            if key_starts and item.has_keyed:
                steps.append(_Keyed(item, key_starts, in_field))
            if not item.has_plain:
                continue
            whole = _Run(item, item.patterns, [(0, n)], in_field, None)
            if in_field or item.full_text:
                steps.append(whole)
                continue
            # The value after a context key: `android_id=<16 hex>`, `mac: <12 hex>`.
            key_windows = (
                _merge_windows(list(key_starts), (0, item.window[1]), n) if key_starts else []
            )
            runs: list[_Run] = []
            for anchors, gate, group in item.groups:
                if gate is not None:
                    runs.append(_Run(item, group, [(0, n)], in_field, gate))
                    continue
                if not anchors:
                    # No anchors for these patterns: the whole text, unless they need
                    # context anyway (then only after context keys).
                    windows = key_windows if item.context_required else [(0, n)]
                else:
                    spans: list[tuple[int, int]] = []
                    for anchor in anchors:
                        found = anchor_cache.get(anchor)
                        if found is None:
                            # `search` first: most anchors are absent, and a miss is
                            # cheaper than building an iterator.
                            first = anchor.search(shape)
                            if first is None:
                                found = []
                            else:
                                found = [first.span()]
                                found.extend(m.span() for m in anchor.finditer(shape, first.end()))
                            anchor_cache[anchor] = found
                        spans.extend(found)
                    windows = _merge_windows(spans, item.window, n) if spans else []
                    if key_windows:
                        windows = _merge_windows(windows + key_windows, (0, 0), n)
                if windows:
                    runs.append(_Run(item, group, windows, in_field, None))
            if item.trigger_words:
                steps.append(_Trigger(item, whole, runs))
            else:
                steps.extend(runs)
        return steps

    @staticmethod
    def _compile_recognizer(recognizer: LogRecognizer, entity: str) -> _Compiled:
        """Compile one recognizer's patterns and hints."""
        flags = recognizer.global_regex_flags or 0
        keys: set[str] = set()
        keyed_patterns = [p for p in recognizer.patterns if isinstance(p, KeyedPattern)]
        plain_patterns = [p for p in recognizer.patterns if not isinstance(p, KeyedPattern)]
        for keyed in keyed_patterns:
            keys.update(field_name_key(k) for k in keyed.keys)
        patterns = [join_patterns([p], flags, keyed=True) for p in keyed_patterns]
        cls = type(recognizer)
        default_anchors = tuple(getattr(cls, "SHAPE_ANCHORS", ()))
        pattern_anchors = dict(getattr(cls, "PATTERN_ANCHORS", {}))
        text_gates = dict(getattr(cls, "PATTERN_TEXT_GATES", {}))
        by_anchors: dict[tuple[tuple[bytes, ...], str | None], list[Any]] = {}
        for pattern in plain_patterns:
            gate = text_gates.get(pattern.name)
            anchors = () if gate else tuple(pattern_anchors.get(pattern.name, default_anchors))
            by_anchors.setdefault((anchors, gate), []).append(pattern)
        groups: list[tuple[tuple[Any, ...], Any, list[JoinedPattern]]] = []
        context_only = frozenset(getattr(cls, "CONTEXT_PATTERNS", frozenset()))
        for (anchors, gate), members in by_anchors.items():
            separate = [
                join_patterns([p], flags, keyed=False, context_only=context_only) for p in members
            ]
            if len(members) > 1 and not any(NUMBERED_BACKREF.search(p.regex) for p in members):
                # One call per window instead of one per pattern, unless joining loses the
                # engine's literal optimizations (then it is slower): measured, not guessed.
                joined = join_patterns(members, flags, keyed=False, context_only=context_only)
                if join_pays(tuple(p.regex for p in members), flags):
                    separate = [joined]
            compiled_anchors = tuple(re.compile(a) for a in anchors)
            groups.append((compiled_anchors, re.compile(gate) if gate else None, separate))
            patterns += separate
        context = {w.lower() for w in (recognizer.context or [])}
        context |= {field_name_key(w) for w in context if field_name_key(w)}
        field_names = frozenset(getattr(cls, "FIELD_NAMES", frozenset()))
        context_required = bool(getattr(cls, "CONTEXT_REQUIRED", False))
        threshold_gap = [p for p in plain_patterns if p.score < 0.5]
        if context_required or threshold_gap:
            # Plain patterns that count only with context (`mac=<12 hex>`): a context key
            # opens a window after it.
            keys |= {field_name_key(w) for w in context} | set(field_names)
        keys.discard("")
        shape_anchors = tuple({a.pattern: a for anchors, _, _ in groups for a in anchors}.values())
        trigger_words = tuple(w.lower() for w in getattr(cls, "TRIGGER_WORDS", ()))
        return _Compiled(
            recognizer=recognizer,
            entity=entity,
            name=recognizer.name,
            patterns=patterns,
            shape_anchors=shape_anchors,
            groups=groups,
            trigger_words=trigger_words,
            trigger_re=(
                re.compile("|".join(map(re.escape, trigger_words))) if trigger_words else None
            ),
            window=tuple(getattr(cls, "WINDOW", (32, 64))),
            trigger_chars=getattr(cls, "TRIGGER_CHARS", ""),
            min_digits=int(getattr(cls, "MIN_DIGITS", 0)),
            context_required=context_required,
            context_reach=int(getattr(cls, "CONTEXT_REACH", 3)),
            context_after=frozenset(getattr(cls, "CONTEXT_AFTER", frozenset())),
            key_waives_checksum=bool(getattr(cls, "KEY_WAIVES_CHECKSUM", False)),
            negative_context=frozenset(getattr(cls, "NEGATIVE_CONTEXT", frozenset())),
            field_excludes=frozenset(getattr(cls, "FIELD_EXCLUDES", frozenset())),
            field_suffixes=tuple(getattr(cls, "FIELD_SUFFIXES", ())),
            context_words=frozenset(context),
            field_names=field_names,
            vocabulary=frozenset(context) | field_names,
            non_ascii_vocabulary=tuple(
                sorted(w for w in frozenset(context) | field_names if not w.isascii())
            ),
            keys=frozenset(keys),
            # Without hints a recognizer runs everywhere, unless it needs context anyway
            # (then the key pass and field names are where it can match).
            full_text=not (shape_anchors or trigger_words or context_required or text_gates),
            has_keyed=any(p.keyed for p in patterns),
            has_plain=any(not p.keyed for p in patterns),
        )

    def _find_keys(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Return, per recognizer index, ``(start, end)`` of the known keys in ``text``.

        ``start`` is where a keyed pattern may begin: the key itself or one of its
        ``_``/``.``/``-``/camelCase suffixes (``user_nickname`` -> ``nickname``); ``end`` is
        the end of the key. One C-level ``findall`` over the reversed text finds all keys;
        positions are computed only when a known key is present.
        """
        if "=" not in text and ":" not in text and "\uff1a" not in text:
            return {}
        reversed_text = text[::-1]
        cache = self._key_cache
        known = False
        for reversed_key in _KEY_REV.findall(reversed_text):
            info = cache.get(reversed_key)
            if info is None:
                info = self._key_info(reversed_key)
            if info:
                known = True
                break
        if not known:
            return {}
        n = len(text)
        hits: dict[int, list[tuple[int, int]]] = {}
        for match in _KEY_REV.finditer(reversed_text):
            info = cache.get(match.group(1))
            if info is None:
                info = self._key_info(match.group(1))
            if not info:
                continue
            key_start, key_end = n - match.end(1), n - match.start(1)
            for index, offset in info:
                hits.setdefault(index, []).append((key_start + offset, key_end))
        return hits

    def _key_info(self, reversed_key: str) -> tuple[tuple[int, int], ...]:
        """Resolve one key (given reversed) to ``(recognizer index, start offset)`` pairs.

        The whole key and each suffix starting at a ``_``/``.``/``-`` or camelCase boundary
        is looked up, normalized, in the key vocabulary. Cached per key spelling.
        """
        key = reversed_key[::-1]
        offsets = [0] + [m.end() for m in _KEY_SPLIT.finditer(key) if 0 < m.end() < len(key)]
        found: set[tuple[int, int]] = set()
        for offset in offsets:
            normalized = field_name_key(key[offset:])
            for index in self._key_vocab.get(normalized, ()):
                found.add((index, offset))
        info = tuple(sorted(found))
        if len(self._key_cache) >= _NAME_CACHE_LIMIT:
            self._key_cache.clear()
        self._key_cache[reversed_key] = info
        return info

    def _run_keyed(
        self,
        item: _Compiled,
        text: str,
        key_starts: list[tuple[int, int]],
        in_field: bool,
        out: list[Finding],
    ) -> None:
        """Try the recognizer's keyed patterns anchored at each of its keys.

        ``key_starts`` may hold several starts for one key (``userNickname`` at ``u`` and
        at ``N``); the first start where a pattern matches wins for that key.
        """
        for pattern in item.patterns:
            if not pattern.keyed:
                continue
            done_until = -1
            for start, key_end in key_starts:
                if key_end == done_until:
                    continue
                match = pattern.compiled.match(text, start)
                if match is not None:
                    done_until = key_end
                    self._accept(item, pattern, match, text, in_field, out)

    def _run(
        self,
        item: _Compiled,
        patterns: list[JoinedPattern],
        text: str,
        windows: list[tuple[int, int]],
        in_field: bool,
        out: list[Finding],
    ) -> None:
        """Run plain ``patterns`` of ``item`` in ``windows``; append accepted findings."""
        n = len(text)
        for pattern in patterns:
            if pattern.keyed:
                continue
            compiled = (
                pattern.full
                if len(windows) == 1 and windows[0][1] - windows[0][0] == n
                else pattern.compiled
            )
            for ws, we in windows:
                pos = ws
                while pos < we:
                    match = compiled.search(text, pos, we)
                    if match is None:
                        break
                    if we < n and match.end() + _END_MARGIN > we:
                        # Decided against the window's artificial end: redo on the full text.
                        match = compiled.match(text, match.start())
                        if match is None:
                            pos += 1
                            continue
                    mstart, mend = match.span()
                    pos = mend if mend > mstart else mstart + 1
                    self._accept(item, pattern, match, text, in_field, out)

    def _accept(
        self,
        item: _Compiled,
        pattern: JoinedPattern,
        match: Any,
        text: str,
        in_field: bool,
        out: list[Finding],
    ) -> None:
        """Validate and score one match; append it to ``out`` if it counts."""
        mstart, mend = match.span()
        start, end = mstart, mend
        self_context = False
        score, value_group, context_only = pattern.alternatives[match.lastgroup]
        if value_group is not None:
            vstart, vend = match.span(value_group)
            if vstart >= 0:
                # The key or phrase around the value is part of the match.
                self_context = (vstart, vend) != (mstart, mend)
                start, end = vstart, vend
        if start >= end:
            return
        recognizer = item.recognizer
        value = text[start:end]
        if context_only and not (
            self_context or in_field or self._has_context(text, start, end, item)
        ):
            return
        if recognizer.invalidate_result(value):
            return
        validation = recognizer.validate_result(value)
        if validation is False:
            # `imei=355302046283920` with a wrong check digit is still the device's IMEI as
            # far as privacy goes (typos, test data, truncated logs): the key names it.
            if not (item.key_waives_checksum and self._named_by_key(text, start, item)):
                return
            validation = None
        if validation:
            score = 1.0
        if (
            item.negative_context
            and self._negative(text, start, item)
            and not recognizer.in_positive_position(text, start)
        ) or recognizer.in_negative_position(text, start):
            return
        if self_context or in_field:
            score = min(1.0, score + CONTEXT_BOOST)
        elif (score < 1.0 or item.context_required) and self._has_context(text, start, end, item):
            # (A validated match needs no context unless its recognizer requires it.)
            score = min(1.0, score + CONTEXT_BOOST)
        elif item.context_required:
            return
        if score >= self._threshold:
            out.append(Finding(start, end, item.entity, score, item.name))

    def _named_by_key(self, text: str, start: int, item: _Compiled) -> bool:
        """Whether the key or word right before ``start`` is a field name of ``item``'s
        entity (``imei=``, ``"deviceImei": "``, ``IMEI:``)."""
        before = words_before(text, start, 3)
        return bool(before) and self.field_entity(before[0]) == item.entity

    def _has_context(self, text: str, start: int, end: int, item: _Compiled) -> bool:
        """Return whether the word(s) right before ``start``, or the recognizer's
        ``CONTEXT_AFTER`` word right after ``end``, are context for ``item``."""
        for word in words_before(text, start, item.context_reach):
            if item.entity in self._word_context(word):
                return True
        if item.context_after:
            match = _WORD_AFTER.match(text, end)
            return match is not None and match.group(1).lower() in item.context_after
        return False

    @staticmethod
    def _negative(text: str, start: int, item: _Compiled) -> bool:
        """Return whether the word right before ``start`` says "not this entity"."""
        before = words_before(text, start)
        if not before:
            return False
        word = before[0].lower()
        if word in item.negative_context:
            return True
        return any(token in item.negative_context for token in field_name_tokens(before[0]))

    def _word_context(self, word: str) -> frozenset[str]:
        """Return the entities for which ``word`` (a key or preceding word) is context."""
        cached = self._word_ctx_cache.get(word)
        if cached is not None:
            return cached
        lowered = word.lower()
        key = field_name_key(word)
        tokens = field_name_tokens(word)
        result = set()
        for item in self._compiled:
            if item.field_excludes and not item.field_excludes.isdisjoint(tokens):
                continue
            vocabulary = item.vocabulary
            if (
                lowered in vocabulary
                or key in vocabulary
                or any(token in vocabulary for token in tokens)
                or any(w in lowered for w in item.non_ascii_vocabulary)
                or any(
                    key.endswith(s) and key[: -len(s)] and key[: -len(s)] not in item.field_excludes
                    for s in item.field_suffixes
                )
            ):
                result.add(item.entity)
        frozen = frozenset(result)
        if len(self._word_ctx_cache) >= _NAME_CACHE_LIMIT:
            self._word_ctx_cache.clear()
        self._word_ctx_cache[word] = frozen
        return frozen

    def _field_context(self, field: str) -> frozenset[str]:
        """Return the entities for which the field name is context (cached)."""
        cached = self._field_ctx_cache.get(field)
        if cached is not None:
            return cached
        entities = set(self._word_context(field))
        entity = self.field_entity(field)
        if entity is not None:
            entities.add(entity)
        frozen = frozenset(entities)
        if len(self._field_ctx_cache) >= _NAME_CACHE_LIMIT:
            self._field_ctx_cache.clear()
        self._field_ctx_cache[field] = frozen
        return frozen

    def _field_negative(self, field: str) -> frozenset[str]:
        """Entities whose negative words name ``field`` and that the field does not
        name itself (cached)."""
        cached = self._field_neg_cache.get(field)
        if cached is not None:
            return cached
        # What the field *is* is its last word (`build.version`), or the word before a
        # generic id suffix (`order_no`, `trace_id`); `request.url` is a URL, whatever
        # request it belongs to.
        # A trailing number tells copies apart (`version_2`, `version2`), not what they are.
        parts = list(field_name_tokens(field))
        while parts and parts[-1].isdigit():
            parts.pop()
        if parts:
            parts[-1] = parts[-1].rstrip("0123456789") or parts[-1]
        key = field_name_key(field).rstrip("0123456789")
        tokens = {field_name_key(field), key}
        if parts:
            tokens.add(parts[-1])
            if len(parts) > 1 and parts[-1] in _ID_SUFFIXES:
                tokens.add(parts[-2])
        own = self._field_context(field)
        found = frozenset(
            item.entity
            for item in self._compiled
            if item.negative_context
            and item.entity not in own
            and (
                not item.negative_context.isdisjoint(tokens)
                # Run together by producers that lowercase everything: `releaseversion`.
                or any(len(w) >= 5 and key.endswith(w) for w in item.negative_context)
            )
        )
        if len(self._field_neg_cache) >= _NAME_CACHE_LIMIT:
            self._field_neg_cache.clear()
        self._field_neg_cache[field] = found
        return found

    def _lookup_field_entity(self, field: str) -> str | None:
        """Uncached :meth:`field_entity`.

        Candidates, in order: the whole normalized name, then its token suffixes
        (``device_imei`` -> ``imei``); each also without a leading owner word run
        together with it (``memberdob`` -> ``dob``, ``hwserial`` -> ``serial``) and
        without a trailing format word (``meidHex`` -> ``meid``, ``serial.no`` ->
        ``serial``), and without trailing digits (``imei2``). A JSON key may itself hold
        dots (``"user.id"``): they split tokens like ``_`` does.
        """
        key = field_name_key(field)
        if not key:
            return None
        tokens = field_name_tokens(field)
        candidates = [key] + ["".join(tokens[i:]) for i in range(1, len(tokens))]
        if len(tokens) > 1 and tokens[-1] in _FORMAT_SUFFIXES:
            candidates += ["".join(tokens[i:-1]) for i in range(len(tokens) - 1)]
        candidates += [v for c in candidates for v in _variants(c)]
        for candidate in candidates:
            for item in self._compiled:
                if candidate in item.field_names:
                    return item.entity
        if len(tokens) == 1:
            # One run-together word (`netbssid`, `wifibssid`, `hostaddress`): producers
            # that lowercase everything leave no boundary, so its ending is read as its
            # last word, for field names of five letters or more (`ssid` or `name`
            # alone would be read into too many words).
            bare = key.rstrip("0123456789")
            for name, entity in self._run_together_endings():
                if len(bare) > len(name) + 1 and bare.endswith(name):
                    return entity
        return None

    @functools.cache  # noqa: B019 — one scanner per engine, kept for the process
    def _run_together_endings(self) -> tuple[tuple[str, str], ...]:
        """Field names of five letters or more, longest first (registration order among
        equals), with their entity."""
        seen: dict[str, str] = {}
        for item in self._compiled:
            for name in item.field_names:
                if len(name) >= 5 and name.isalpha():
                    seen.setdefault(name, item.entity)
        return tuple(sorted(seen.items(), key=lambda pair: -len(pair[0])))

    def _resolve(
        self, candidates: list[Finding], text: str, tokens: list[tuple[int, int]]
    ) -> list[Finding]:
        """Drop allow-listed and token-overlapping findings; keep the best of overlaps."""
        if len(candidates) > 1:
            # Higher score first, then the longer span, then the earlier one.
            candidates.sort(key=lambda f: (-f.score, f.start - f.end, f.start))
        # Chosen spans never overlap, so sorted by start they are sorted by end too: an
        # overlap test is two bisections, O(n log n) for n findings (a record with 80,000
        # phone numbers took minutes with a pairwise test).
        token_starts = [s for s, _e in tokens]
        chosen_starts: list[int] = []
        chosen: list[Finding] = []
        for finding in candidates:
            if self._allow and text[finding.start : finding.end].strip() in self._allow:
                continue
            if tokens and overlaps(tokens, token_starts, finding.start, finding.end):
                continue
            i = bisect_right(chosen_starts, finding.start)
            if i and chosen[i - 1].end > finding.start:
                continue
            if i < len(chosen) and chosen[i].start < finding.end:
                continue
            chosen_starts.insert(i, finding.start)
            chosen.insert(i, finding)
        if 1 < len(candidates) <= _CONTAINMENT_LIMIT and len(chosen) < len(candidates):
            chosen = _widen(chosen, candidates, text, tokens, self._allow)
        return chosen


# Findings per scan up to which a left-out finding may widen a chosen one (pairwise).
_CONTAINMENT_LIMIT = 64


def _widen(
    chosen: list[Finding],
    candidates: list[Finding],
    text: str,
    tokens: list[tuple[int, int]],
    allow: Collection[str],
) -> list[Finding]:
    """Chosen findings replaced by a left-out one of the same entity that holds them all
    and overlaps nothing else chosen.

    `Zhang San Feng` after `consignee=` (a key: score 0.4 and context) and the pinyin
    pair `San Feng` (0.9) are one name: by score alone `Zhang` would stay.
    """
    for wide in sorted(candidates, key=lambda f: f.start - f.end):
        inside = [f for f in chosen if f.start < wide.end and wide.start < f.end]
        if not inside or any(f.start == wide.start and f.end == wide.end for f in inside):
            continue
        if any(
            f.entity != wide.entity or f.start < wide.start or wide.end < f.end for f in inside
        ):
            continue
        if allow and text[wide.start : wide.end].strip() in allow:
            continue
        if any(s < wide.end and wide.start < e for s, e in tokens):
            continue
        chosen = sorted([f for f in chosen if f not in inside] + [wide], key=lambda f: f.start)
    return chosen


def _merge_windows(
    spans: list[tuple[int, int]], window: tuple[int, int], n: int
) -> list[tuple[int, int]]:
    """Widen anchor spans by ``window`` (before, after), clip to the text and merge."""
    before, after = window
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        ws = start - before if start > before else 0
        we = end + after
        if we > n:
            we = n
        if merged and ws <= merged[-1][1]:
            if we > merged[-1][1]:
                merged[-1] = (merged[-1][0], we)
        else:
            merged.append((ws, we))
    return merged
