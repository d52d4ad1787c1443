"""Recognizer for IMEI and IMEISV device identifiers."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import imei

from detectors.base import DIGITS_12, LogRecognizer

_NON_DIGITS = re.compile(r"\D")
# GSMA reporting-body identifiers: the first two digits of every allocated TAC. A
# Luhn-valid 15-digit run outside these is more likely an id than an IMEI.
_REPORTING_BODIES = frozenset(
    {
        "00",
        "01",
        "10",
        "30",
        "33",
        "35",
        "44",
        "45",
        "49",
        "50",
        "51",
        "52",
        "53",
        "54",
        "86",
        "91",
        "98",
        "99",
    }
)


class ImeiRecognizer(LogRecognizer):
    """Detect IMEI (15 digits, Luhn) and IMEISV (16 digits), bare or dash/space grouped.

    A Luhn-valid IMEI with a real reporting-body prefix stands alone; a 14-digit IMEI
    without check digit or an IMEISV (no checksum) needs context (``imei=``, an ``imei``
    field), since 16-digit runs are often epochs in microseconds.
    """

    ENTITY: ClassVar[str] = "IMEI"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("imei (bare)", r"(?<![\w\-.])\d{14,16}(?![\w\-]|\.\d)", 0.3),
        Pattern(
            "imei (grouped)",
            r"(?<![\w\-.])(?:\d{2}[\- ]\d{6}[\- ]\d{6}(?:[\- ]\d{1,2})?"
            r"|\d{6}[\- ]\d{2}[\- ]\d{6}(?:[\- ]\d{1,2})?"
            r"|\d{8}[\- ]\d{6}(?:[\- ]\d{1,2})?)(?![\w\-]|\.\d)",
            0.4,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["imei", "imeisv", "imei1", "imei2", "deviceimei", "串号"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "imei",
            "imeisv",
            "imei1",
            "imei2",
            "deviceimei",
            "phoneimei",
            "meiimei",
            "imeino",
            "imeinumber",
        }
    )
    MIN_DIGITS: ClassVar[int] = 14
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_12,)
    WINDOW: ClassVar[tuple[int, int]] = (8, 8)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a Luhn-valid IMEI with a known prefix, None if context is needed."""
        digits = _NON_DIGITS.sub("", pattern_text)
        if len(digits) == 15:
            if not imei.is_valid(digits):
                return False
            return True if digits[:2] in _REPORTING_BODIES else None
        if len(digits) in (14, 16) and digits[:2] in _REPORTING_BODIES:
            return None
        return False

    def normalize(self, value: str) -> str:
        """Return the digits only."""
        return _NON_DIGITS.sub("", value)
