"""Recognizer for Chinese resident identity card numbers (GB 11643-1999)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum.cn import ric

from detectors.base import LogRecognizer


class CnResidentIdRecognizer(LogRecognizer):
    """Detect 18-character resident ids: region, birth date, sequence, ISO 7064 check.

    python-stdnum's ``cn.ric`` checks the birth date and the check digit, so a match
    scores 1.0 on its own. The old 15-digit form (no check digit) needs context.
    """

    ENTITY: ClassVar[str] = "CN_RESIDENT_ID"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "resident id (18)",
            r"(?<![\w\-.])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\d{3}[\dX](?![\w\-])",
            0.5,
        ),
        Pattern(
            "resident id (15, context)",
            r"(?<![\w\-.])[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![\w\-])",
            0.2,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "idcard", "idno", "id_card", "idnumber", "identity", "citizen", "ric", "sfz",
        "身份证", "身份证号", "证件号", "shenfenzheng",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset({
        "idcard", "idcardno", "idno", "idnumber", "identitycard", "identityno",
        "identitynumber", "citizenid", "residentid", "sfz", "sfzh", "certno", "certificateno",
        "idcardnumber", "nationalid",
    })
    MIN_DIGITS: ClassVar[int] = 15
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (rb"000000000000000",)
    WINDOW: ClassVar[tuple[int, int]] = (2, 6)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a valid 18-character id, None for a plausible 15-digit one."""
        if len(pattern_text) == 15:
            return None
        return bool(ric.is_valid(pattern_text))

    def normalize(self, value: str) -> str:
        """Return the id uppercased (the check character may be ``x``)."""
        return value.strip().upper()
