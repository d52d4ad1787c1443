"""Recognizer for ICCID SIM card serial numbers."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import luhn

from detectors.base import DIGITS_12, RECORD_NUMBER_WORDS, LogRecognizer

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


class IccidRecognizer(LogRecognizer):
    """Detect ICCIDs: ``89`` (telecom) + country + issuer + account, 19-20 digits.

    The last digit is a Luhn check digit; a Luhn-valid ICCID stands alone, one without a
    valid check digit needs context (``iccid=``). Chinese operators sometimes put a
    letter in the account part (``898600D...``), which is accepted with context only.
    """

    ENTITY: ClassVar[str] = "ICCID"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("iccid", r"(?<![\w\-.])89\d{17,18}(?![\w\-]|\.\d)", 0.4),
        Pattern(
            "iccid (grouped)",
            r"(?<![\w\-.])89\d{2}(?:[ \-]\d{4}){3}[ \-]\d{3,4}(?:[ \-]?\d{1,4})?(?![\w\-])",
            0.4,
        ),
        Pattern("iccid (alnum)", r"(?<![\w\-.])8986[0-9A-Z]{15,16}(?![\w\-])", 0.2),
    ]
    CONTEXT: ClassVar[list[str]] = ["iccid", "sim", "simcard", "simserial"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "iccid",
            "simiccid",
            "simserial",
            "simserialnumber",
            "iccid1",
            "iccid2",
        }
    )
    MIN_DIGITS: ClassVar[int] = 12
    # `"orderno": 8963173173452369009` starts with 89 and passes Luhn: an order number.
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = RECORD_NUMBER_WORDS
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_12,)
    WINDOW: ClassVar[tuple[int, int]] = (8, 12)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a Luhn-valid all-digit ICCID, else None (context needed)."""
        value = _NON_ALNUM.sub("", pattern_text)
        if value.isdigit() and 19 <= len(value) <= 20 and luhn.is_valid(value):
            return True
        return None

    def normalize(self, value: str) -> str:
        """Return the digits (and letters) only, uppercase."""
        return _NON_ALNUM.sub("", value).upper()
