"""Recognizer for government ids other than the Chinese resident id: passport numbers,
US Social Security numbers, driver's licences, tax and national insurance numbers.

Their shapes are short runs of letters and digits that look like order numbers and
versions everywhere in logs, so they are found by what names them: a field name
(``passport_no``, ``ssn``), a ``key=value`` key, or, for the US SSN's own dashed shape
``123-45-6789``, a context word near it. The Chinese resident id has its own recognizer
(it carries a checksum and a birth date).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "ssn",
    "social_security_number",
    "socialsecuritynumber",
    "passport",
    "passport_no",
    "passport_number",
    "passportno",
    "passportnumber",
    "national_id",
    "nationalid",
    "national_id_number",
    "driver_license",
    "drivers_license",
    "driving_license",
    "driver_license_number",
    "licence_number",
    "license_number",
    "tax_id",
    "taxpayer_id",
    "nino",
    "aadhaar",
    "护照号",
    "护照号码",
    "驾驶证号",
]
# A US SSN in its dashed form; the SSA never issues area 000, 666 or 9xx, group 00 or
# serial 0000 (Presidio's UsSsnRecognizer rejects the same).
_SSN = r"(?<![\w\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w\-])"
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nil", "-", "", "unknown", "n/a"})


class NationalIdRecognizer(LogRecognizer):
    """Detect a passport, SSN, driver's licence or tax id after its key or in its field."""

    ENTITY: ClassVar[str] = "NATIONAL_ID"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("national id (keyed)", _KEYS, r"[A-Za-z0-9][A-Za-z0-9\-]{4,24}", 0.4),
        Pattern("us ssn", _SSN, 0.4),
        # Prose: `Passport no. E12345678 verified`, `passport number: G1234567`. A passport
        # number has a digit within its first four characters (not `passport verified`).
        Pattern(
            "passport number in prose",
            r"(?<![A-Za-z])passport(?:[ \t]+(?:no\.?|nr\.?|number|num|#|id))?[ \t]*[:#=]?[ \t]*"
            r"(?P<value>(?=[A-Z]{0,3}\d)[A-Z0-9]{6,12})(?![\w\-])",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "ssn",
        "social security",
        "social",  # context is matched word by word: `social security number 123-45-6789`
        "passport",
        "license",
        "licence",
        "taxpayer",
        "护照",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS}
        | {"passportid", "ssnumber", "dlnumber", "driverlicenseno", "taxidnumber"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    # Prose has no key to open a window: these run over the text when their shape or cue
    # is in it (the SSN still needs a context word near it).
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "us ssn": r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)",
        "passport number in prose": r"(?i)passport",
    }
    WINDOW: ClassVar[tuple[int, int]] = (40, 40)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders (``-``, ``null``, ``n/a``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
