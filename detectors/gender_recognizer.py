"""Recognizer for gender values, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = ["gender", "sex", "user_gender", "user_sex", "性别"]
_VALUES = (
    r"(?:male|female|man|woman|m|f|w|non-binary|nonbinary|other|unknown|secret|"
    r"[0-2]|男|女|未知)(?![\w\-])"
)


class GenderRecognizer(LogRecognizer):
    """Detect a gender value after its key: ``gender=F``, ``"sex": 1``, ``性别:女``."""

    ENTITY: ClassVar[str] = "GENDER"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("gender (keyed)", _KEYS, _VALUES, 0.4),
        # Chinese prose without a separator: `性别女`, `性别为男`.
        Pattern("gender in chinese text", r"性别(?:是|为)?(?P<value>[男女])(?![\w])", 0.85),
    ]
    CONTEXT: ClassVar[list[str]] = ["gender", "sex", "性别"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "gender",
            "sex",
            "usergender",
            "usersex",
            "性别",
        }
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {"gender in chinese text": r"性别"}
    WINDOW: ClassVar[tuple[int, int]] = (12, 40)
