"""Recognizer for birthdays, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "birthday",
    "birth_day",
    "birthdate",
    "birth_date",
    "date_of_birth",
    "dateofbirth",
    "dob",
    "bday",
    "birth",
    "born",
    "生日",
    "出生日期",
]
_DATE = (
    r"(?:19|20)\d{2}[\-/.年]?(?:0?[1-9]|1[0-2])[\-/.月]?(?:0?[1-9]|[12]\d|3[01])日?"
    r"|(?:0?[1-9]|[12]\d|3[01])[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:19|20)\d{2}"
    r"|(?:0?[1-9]|1[0-2])[\-/.](?:0?[1-9]|[12]\d|3[01])[\-/.](?:19|20)\d{2}"
    r"|(?:0?[1-9]|1[0-2])[\-/](?:0?[1-9]|[12]\d|3[01])(?![\-/.\d])"
)


class BirthdayRecognizer(LogRecognizer):
    """Detect a birth date after its key: ``dob=1990-01-31``, ``"birthday": "01/31"``."""

    ENTITY: ClassVar[str] = "BIRTHDAY"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("birthday (keyed)", _KEYS, rf"(?:{_DATE})(?![\w])", 0.4),
        # Chinese prose without a separator: `用户生日1990年5月17日`, `出生于1990年5月17日`.
        Pattern(
            "birthday in chinese text",
            r"(?:生日|出生日期|出生于|出生)(?:是|为)?[:：]?[ \t]{0,2}"
            r"(?P<value>(?:19|20)\d{2}年(?:1[0-2]|0?[1-9])月(?:[12]\d|3[01]|0?[1-9])日?)(?!\d)",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} | {"userbirthday", "birthyear", "birthmonth"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {"birthday in chinese text": r"生日|出生"}
    WINDOW: ClassVar[tuple[int, int]] = (12, 80)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for empty placeholders."""
        return pattern_text.strip().lower() in {"null", "none", "-", "", "unknown"}
