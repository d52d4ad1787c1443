"""Recognizer for card expiry dates, found by their key (``exp``, ``expiry``, ``valid thru``)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_MM_YY = r"(?:0[1-9]|1[0-2])\s?[/\-]\s?(?:20)?\d{2}(?![\w/\-])|20\d{2}-(?:0[1-9]|1[0-2])(?![\w\-])"
_KEYS = [
    "exp",
    "expiry",
    "expires",
    "expiration",
    "exp_date",
    "expdate",
    "expiry_date",
    "expiration_date",
    "card_exp",
    "cardexp",
    "card_expiry",
    "valid_thru",
    "valid thru",
    "validthru",
    "valid until",
    "good thru",
    "有效期",
]


class CardExpiryRecognizer(LogRecognizer):
    """Detect a card expiry (``12/27``, ``12/2027``, ``2027-12``) after an expiry key.

    Only the ``MM/YY`` shapes count, so ``exp=1700000000`` (a JWT expiry epoch) is left.
    """

    ENTITY: ClassVar[str] = "CARD_EXPIRY"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("expiry (keyed)", _KEYS, _MM_YY, 0.5, quoted=False),
        Pattern(
            "expiry (text)",
            r"(?<![\w])(?:valid\s+thru|valid\s+until|good\s+thru|exp(?:iry|ires)?\.?)\s+"
            r"(?P<value>(?:0[1-9]|1[0-2])\s?/\s?(?:20)?\d{2}|20\d{2}[-/](?:0[1-9]|1[0-2]))(?![\w/\-])",
            0.5,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + ["thru", "valid"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "exp",
            "expiry",
            "expdate",
            "expirydate",
            "expirationdate",
            "cardexp",
            "cardexpiry",
            "validthru",
            "cardexpiration",
            "expmonthyear",
        }
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    MIN_DIGITS: ClassVar[int] = 3
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = ("valid thru", "valid until", "good thru", "exp")
    WINDOW: ClassVar[tuple[int, int]] = (2, 40)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return None: a shape match is evidence only together with its key."""
        return None
