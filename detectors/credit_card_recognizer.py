"""Recognizer for payment card numbers (PAN), including UnionPay."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import luhn

from detectors.base import DIGITS_12, RECORD_NUMBER_WORDS, LogRecognizer

_NON_DIGITS = re.compile(r"\D")


def _brand_length_ok(digits: str) -> bool:
    """Return whether the issuer prefix (IIN) allows this length.

    This is what keeps Luhn's 1-in-10 chance from flagging ids: a bare 14-digit order id
    ``20240501123456`` or an epoch in microseconds has no card brand of that length.
    """
    n = len(digits)
    d1, d2, d4 = digits[0], int(digits[:2]), int(digits[:4])
    if d1 == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= d2 <= 55 or 2221 <= d4 <= 2720:  # Mastercard
        return n == 16
    if d2 in (34, 37):  # Amex
        return n == 15
    if d2 == 62 or d2 == 81:  # UnionPay
        return 16 <= n <= 19
    if d2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:  # Diners
        return 14 <= n <= 19
    if d4 == 6011 or d2 == 65 or 644 <= int(digits[:3]) <= 649:  # Discover
        return 16 <= n <= 19
    if 3528 <= d4 <= 3589:  # JCB
        return 16 <= n <= 19
    if d2 in (50, 56, 57, 58, 60, 63, 67, 69):  # Maestro and domestic schemes
        return 12 <= n <= 19
    if d1 == "1":  # UATP
        return n == 15
    return False


class CreditCardRecognizer(LogRecognizer):
    """Detect card numbers of 13-19 digits, bare or grouped by spaces or dashes.

    A match counts when it passes Luhn (python-stdnum) and its issuer prefix allows its
    length. Not a card: ``blk_-1608999687919862906`` (preceded by ``-``/``_``), numbers
    glued to letters (``ORD20240501123456``), epochs (``1700000000000``).
    """

    ENTITY: ClassVar[str] = "CREDIT_CARD"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("card (bare)", r"(?<![\w\-.])[1-8]\d{11,18}(?![\w\-]|\.\d)", 0.5),
        Pattern(
            "card (grouped)",
            # 4-4-4-4(-3) groups, Amex 4-6-5, Diners 4-6-4; `5015 150454 240` is no card.
            r"(?<![\w\-.])[1-8]\d{3}(?P<sep>[ \-])(?:\d{4}(?:(?P=sep)\d{4}){1,2}"
            r"(?:(?P=sep)\d{1,4})?|\d{6}(?P=sep)\d{4,5})(?![\w\-]|\.\d)",
            0.5,
        ),
        # The 6-digit BIN set apart (`621700 9517884042`), as some bank systems print it.
        Pattern("card (bin-grouped)", r"(?<![\w\-.])[1-8]\d{5}[ \-]\d{7,13}(?![\w\-]|\.\d)", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "card",
        "credit",
        "debit",
        "cc",
        "pan",
        "cardno",
        "cardnumber",
        "bankcard",
        "visa",
        "mastercard",
        "amex",
        "unionpay",
        "卡号",
        "银行卡",
        "信用卡",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "cardno",
            "cardnumber",
            "cardnum",
            "creditcard",
            "creditcardnumber",
            "ccnumber",
            "ccnum",
            "pan",
            "bankcard",
            "bankcardno",
            "bankcardnumber",
            "debitcard",
            "paymentcard",
            "card",
            "银行卡号",
            "银行卡",
            "卡号",
            "信用卡号",
            "信用卡",
            "借记卡号",
        }
    )
    MIN_DIGITS: ClassVar[int] = 12
    # Long numbers that pass Luhn by chance (1 in 10) under these names are not cards.
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = RECORD_NUMBER_WORDS
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_12,)
    WINDOW: ClassVar[tuple[int, int]] = (8, 16)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return whether the digits pass Luhn and fit a card brand's length."""
        digits = _NON_DIGITS.sub("", pattern_text)
        if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
            return False
        return _brand_length_ok(digits) and luhn.is_valid(digits)

    def normalize(self, value: str) -> str:
        """Return the digits only."""
        return _NON_DIGITS.sub("", value)
