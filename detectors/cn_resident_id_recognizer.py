"""Recognizer for Chinese resident identity card numbers (GB 11643-1999)."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum.cn import ric

from detectors.base import DIGITS_15, LogRecognizer

# GB/T 2260 province codes; 81/82/83 are the residence permits of Hong Kong, Macau and
# Taiwan residents, which use the same format.
_PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    }
)


# Spaces and dashes between the groups of a grouped id.
_GROUPING = re.compile(r"[\s\-]")


class CnResidentIdRecognizer(LogRecognizer):
    """Detect 18-character resident ids: region, birth date, sequence, ISO 7064 check.

    python-stdnum's ``cn.ric`` checks the birth date and the check digit, so a match
    scores 1.0 on its own. The old 15-digit form (no check digit) needs context.
    """

    ENTITY: ClassVar[str] = "CN_RESIDENT_ID"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "resident id (18)",
            r"(?<![\w\-.])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\d{3}[\dX](?![\w\-])",
            0.5,
        ),
        Pattern(
            # Written in groups for reading aloud or copying: `110101 19900307 4514`,
            # `110101-19900307-4514`, `1101 0119 9003 0745 14`-like 6-4-4-4.
            "resident id (18, grouped)",
            r"(?<![\w\-.])[1-9]\d{5}(?P<sep>[ \-])(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
            r"(?:0[1-9]|[12]\d|3[01])(?P=sep)\d{3}[\dX](?![\w\-])"
            r"|(?<![\w\-.])[1-9]\d{5} (?:18|19|20)\d{2} (?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r" \d{3}[\dX](?![\w\-])",
            0.5,
        ),
        Pattern(
            "resident id (15, context)",
            r"(?<![\w\-.])[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![\w\-])",
            0.2,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "idcard",
        "idno",
        "id_card",
        "idnumber",
        "identity",
        "citizen",
        "ric",
        "sfz",
        "身份证",
        "身份证号",
        "证件号",
        "shenfenzheng",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "idcard",
            "idcardno",
            "idno",
            "idnumber",
            "identitycard",
            "identityno",
            "identitynumber",
            "citizenid",
            "residentid",
            "sfz",
            "sfzh",
            "certno",
            "certificateno",
            "idcardnumber",
            "nationalid",
        }
    )
    MIN_DIGITS: ClassVar[int] = 15
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_15,)
    # A grouped id has no run of 15 digits to anchor on.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "resident id (18, grouped)": r"\d{6}[ \-]\d{4} ?\d{4}[ \-]\d{3}[\dXx]",
    }
    WINDOW: ClassVar[tuple[int, int]] = (2, 6)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a valid 18-character id, None for a plausible 15-digit one.

        Checks the province, the birth date and the ISO 7064 check character with
        python-stdnum's ``cn.ric`` helpers. Its full county table is not used: it lags
        behind (abandoned and new codes are still valid ids), and a miss would leak.
        """
        number = _GROUPING.sub("", pattern_text).upper()
        if number[:2] not in _PROVINCES:
            return False
        if len(number) == 15:
            return None
        if number[-1] != ric.calc_check_digit(number):
            return False
        try:
            ric.get_birth_date(number)
        except Exception:  # noqa: BLE001 - stdnum raises InvalidComponent for bad dates
            return False
        return True

    def normalize(self, value: str) -> str:
        """Return the id uppercased and ungrouped (the check character may be ``x``)."""
        return _GROUPING.sub("", value).upper()
