"""Recognizer for birthdays, found by their key or by a cue word before them in prose."""

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
# Two-digit months and days are tried first: `1985-12-01` is not year 1985, month 1, day 2
# followed by `-01`.
_MM = r"(?:1[0-2]|0?[1-9])"
_DD = r"(?:[12]\d|3[01]|0?[1-9])"
_DATE = (
    rf"(?:19|20)\d{{2}}[\-/.年]?{_MM}[\-/.月]?{_DD}日?"
    rf"|{_DD}[\-/.]{_MM}[\-/.](?:19|20)\d{{2}}"
    rf"|{_MM}[\-/.]{_DD}[\-/.](?:19|20)\d{{2}}"
    rf"|{_MM}[\-/]{_DD}(?![\-/.\d])"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# A date written with its month's name: `May 17, 1990`, `17th May 1990`.
_WORDS_DATE = (
    rf"{_MONTH}[ \t]{{1,2}}{_DD}(?:st|nd|rd|th)?,?[ \t]{{1,2}}(?:19|20)\d{{2}}"
    rf"|{_DD}(?:st|nd|rd|th)?[ \t]{{1,2}}{_MONTH},?[ \t]{{1,2}}(?:19|20)\d{{2}}"
)
# Where a date ends: not inside a longer number or date.
_DATE_END = r"(?![\w]|[\-/.]\d)"
# Words allowed between a cue and its date in prose: `birthday updated to 1992-02-29`,
# `born on May 17, 1990`, `date of birth is 17.05.1990`.
_LINK = r"(?:is|was|on|updated|changed|set|saved|recorded|entered|to|as|of|at)"


class BirthdayRecognizer(LogRecognizer):
    """Detect a birth date after its key: ``dob=1990-01-31``, ``"birthday": "01/31"``."""

    ENTITY: ClassVar[str] = "BIRTHDAY"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("birthday (keyed)", _KEYS, rf"(?:{_DATE}){_DATE_END}", 0.4),
        Pattern(
            "birthday in prose",
            r"(?<![A-Za-z])(?:birth[ _\-]?day|birth[ _\-]?date|date of birth|d\.o\.b\.?|dob|born)"
            rf"(?:[ \t]*[:=][ \t]*|(?:[ \t]+{_LINK}){{0,3}}[ \t]+)"
            rf"(?P<value>{_DATE}|{_WORDS_DATE}){_DATE_END}",
            0.85,
        ),
        # Chinese prose without a separator: `用户生日1990年5月17日`, `出生于1990年5月17日`.
        Pattern(
            "birthday in chinese text",
            r"(?:生日|出生日期|出生于|出生)(?:是|为)?[:：]?[ \t]{0,2}"
            rf"(?P<value>{_DATE}){_DATE_END}",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} | {"userbirthday", "birthyear", "birthmonth"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "birthday in chinese text": r"生日|出生",
        "birthday in prose": r"(?i)birth|d\.?o\.?b|born",
    }
    WINDOW: ClassVar[tuple[int, int]] = (12, 80)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for empty placeholders."""
        return pattern_text.strip().lower() in {"null", "none", "-", "", "unknown"}
