"""Recognizer for person names in fields and keys that say "name of a person"."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "real_name", "realname", "full_name", "fullname", "first_name", "firstname",
    "last_name", "lastname", "given_name", "givenname", "family_name", "familyname",
    "surname", "middle_name", "contact_name", "contactname", "customer_name",
    "customername", "receiver_name", "receivername", "recipient_name", "consignee",
    "cardholder", "card_holder", "holder_name", "account_holder", "patient_name",
    "person_name", "personname", "user_real_name", "姓名", "真实姓名", "收货人", "联系人",
]


class PersonRecognizer(LogRecognizer):
    """Detect a person's name after a name key: ``"real_name": "Zhang San"``.

    Names in free text are found by NER (``pipeline/ner.py``), not by this recognizer.
    """

    ENTITY: ClassVar[str] = "PERSON"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("person (keyed)", _KEYS, r"[^\s\"'&,;|}\])=]{1,64}", 0.4),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset({k.replace("_", "") for k in _KEYS})
    CONTEXT_REQUIRED: ClassVar[bool] = True
    WINDOW: ClassVar[tuple[int, int]] = (24, 150)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders."""
        return pattern_text.strip().lower() in {"null", "none", "-", "", "unknown", "undefined"}
