"""Recognizer for nicknames / display names, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "nickname",
    "nick_name",
    "nick",
    "display_name",
    "displayname",
    "screen_name",
    "screenname",
    "alias",
    "handle",
    "昵称",
]
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nil", "-", ""})


class NicknameRecognizer(LogRecognizer):
    """Detect a nickname after its key: ``nickname=bob``, ``"nick_name": "Bob S."``."""

    ENTITY: ClassVar[str] = "NICKNAME"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("nickname (keyed)", _KEYS, r"[^\s\"'&,;|}\])]{1,64}", 0.4),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "nickname",
            "nick",
            "displayname",
            "screenname",
            "usernick",
            "usernickname",
            "nicknamecn",
            "昵称",
        }
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    WINDOW: ClassVar[tuple[int, int]] = (2, 150)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for empty placeholders (``null``, ``-``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
