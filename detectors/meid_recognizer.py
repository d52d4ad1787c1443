"""Recognizer for MEID (CDMA mobile equipment identifiers)."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import meid

from detectors.base import DIGITS_15, LogRecognizer

_SEPARATORS = re.compile(r"[\s\-]")


class MeidRecognizer(LogRecognizer):
    """Detect MEIDs: 14 uppercase hex digits (optionally a 15th check digit) or 18 decimals.

    Validation is python-stdnum's ``meid``. Only an MEID with a valid check digit stands
    alone; the 14-hex and 18-decimal forms need context (``meid=``), because hex ids of
    that length are everywhere in logs.
    """

    ENTITY: ClassVar[str] = "MEID"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        # Uppercase hex starting A0-FF (the regional code of a hex MEID) with at least
        # one letter; lowercase hex is an id, not an MEID.
        Pattern(
            "meid (hex)",
            r"(?<![\w\-])(?-i:[A-F][0-9A-F]{13}[0-9A-F]?)(?![\w\-])",
            0.3,
        ),
        Pattern("meid (decimal)", r"(?<![\w\-.])\d{18}(?![\w\-]|\.\d)", 0.2),
        # Printed groupings (`AF 01 23 45 0A BC DE`, `29360 87365 0070 3710`): context only.
        Pattern(
            "meid (grouped)",
            r"(?<![\w\-])(?:(?-i:[A-F][0-9A-F](?:[ \-][0-9A-F]{2}){6}(?:[ \-][0-9A-F])?)"
            r"|\d{5}[ \-]\d{5}[ \-]\d{4}[ \-]\d{4}(?:[ \-]\d)?)(?![\w\-])",
            0.2,
        ),
    ]
    # Patterns whose matches `validate_result` never confirms (returns True for): an
    # 18-digit decimal MEID carries no check digit, so it scores at most 0.2 and counts
    # only with context (the scanner's native sets read this: no context, no candidate).
    NEVER_CONFIRMED: ClassVar[frozenset[str]] = frozenset({"meid (decimal)"})
    CONTEXT: ClassVar[list[str]] = ["meid", "esn", "cdma"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset({"meid", "devicemeid", "esn"})
    MIN_DIGITS: ClassVar[int] = 2
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        rb"a(?<![0ax_.]a)[0a]{13}",
        DIGITS_15,
    )
    WINDOW: ClassVar[tuple[int, int]] = (2, 4)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a valid MEID with check digit, None for a plain valid one."""
        value = _SEPARATORS.sub("", pattern_text)
        if not meid.is_valid(value):
            return False
        if len(value) == 15:
            return True
        return None

    def normalize(self, value: str) -> str:
        """Return the 14-hex-digit uppercase form without check digit."""
        try:
            return str(meid.compact(value, strip_check_digit=True))
        except Exception:  # noqa: BLE001 - stdnum raises several types; fall back to raw
            return _SEPARATORS.sub("", value).upper()
