"""What a detection is: a finding (span, entity, score, recognizer), and the span helpers
the scanner and the free-text passes share.

Its own module so that the scanner and the passes it calls (names, addresses, NER) import
it, not each other.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# logscrub's own output: pseudonyms `<EMAIL_ADDRESS:k1:9f86d081884c7d65>` and redactions
# `<EMAIL_ADDRESS>`. They are masked before scanning so nothing inside is re-detected.
OWN_TOKEN = re.compile(r"<[A-Z_]+(?::[^<>\s]*)?>")


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: ``text[start:end]`` is the personal data.

    Attributes:
        start: Start offset in the scanned text.
        end: End offset (exclusive).
        entity: Entity type, e.g. ``EMAIL_ADDRESS``.
        score: Confidence in [0, 1] after validation and context.
        recognizer: Name of the recognizer that found it (``deny_list``, ``ner``...).
    """

    start: int
    end: int
    entity: str
    score: float
    recognizer: str


def overlaps(spans: list[tuple[int, int]], starts: list[int], start: int, end: int) -> bool:
    """Does ``[start, end)`` overlap one of ``spans`` (disjoint, sorted; ``starts`` theirs)?"""
    i = bisect_right(starts, start)
    if i and spans[i - 1][1] > start:
        return True
    return i < len(spans) and spans[i][0] < end


def mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace ``spans`` of ``text`` with underscores (same length, so offsets stay valid).

    Not spaces: a token is a word where a value was, so ``user <USERNAME:k1:..> failed``
    keeps ``failed`` in the place of a verb, not of the user name (a pattern that takes
    the word after ``user`` takes the underscores, and findings on a token are dropped).
    """
    parts = []
    last = 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append("_" * (end - start))
        last = end
    parts.append(text[last:])
    return "".join(parts)
