"""Recognizer for user, account, customer and member ids, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "user_id",
    "userid",
    "uid",
    "account_id",
    "accountid",
    "customer_id",
    "customerid",
    "cust_id",
    "custid",
    "member_id",
    "memberid",
    "player_id",
    "playerid",
    "subscriber_id",
    "passenger_id",
    "patient_id",
    "student_id",
    "employee_id",
    "buyer_uid",
    "owner_id",
    "ownerid",
    "profile_id",
    "profileid",
    "user_key",
    "userkey",
    "login_id",
    "loginid",
    "用户id",
    "用户ID",
    # A QQ number after its Chinese key: `QQ号：123456789` (`qq=` alone stays a field name).
    "qq号",
    "qq号码",
    "qq_number",
]
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nil", "-", "", "0", "anonymous"})


class UserIdRecognizer(LogRecognizer):
    """Detect user-linked ids after their key: ``uid=1234567``, ``"customer_id": "C-88"``.

    Such ids are personal data (they single out a person) though they have no shape of
    their own; trace, request and order ids are not listed and stay.
    """

    ENTITY: ClassVar[str] = "USER_ID"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("user id (keyed)", _KEYS, r"[\w\-.@]{1,64}(?![\w:])", 0.4),
        # REST paths name the user they act on: `/api/users/48213/orders`.
        Pattern(
            "user id in a path",
            r"/(?:users?|members?|customers?|profiles?|players?|accounts?)/"
            r"(?P<value>\d{2,20})(?=[/?#\s\"';,]|$)",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    # A QQ number is the account of China's largest messenger (as a field, not a key:
    # `qq=` in text is too short a word to trust).
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} | {"qq", "qqnumber", "qqno", "qqid", "qq号", "qq号码"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "user id in a path": r"(?i)/(?:user|member|customer|profile|player|account)s?/\d",
    }
    WINDOW: ClassVar[tuple[int, int]] = (24, 100)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders (``0``, ``null``, ``anonymous``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
