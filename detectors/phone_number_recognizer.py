"""Recognizer for phone numbers: Chinese mobiles in every common format, and international."""

from __future__ import annotations

import functools
import re
from typing import ClassVar

import phonenumbers
from presidio_analyzer import Pattern

from detectors.base import DIGITS_7, LogRecognizer, keyed_pattern

# Chinese mobile prefixes in service (13x-19x); the third digit is checked by
# phonenumbers' CN metadata in validate_result.
_CN_MOBILE = r"1[3-9]\d(?:[ \-]?\d{4}){2}"
_NON_DIGITS = re.compile(r"\D")
# Chinese mobile number ranges in service (MIIT allocations: 13x, 145-149, 150-153,
# 155-159, 162, 165-167, 170-178, 18x, 190-193, 195-199); checked without phonenumbers,
# which costs ~15 us per call.
_CN_MOBILE_RANGE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")
_KEYS = [
    "phone",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "cellphone",
    "msisdn",
    "fax",
    "phone_number",
    "phonenumber",
    "phone_no",
    "phoneno",
    "mobile_no",
    "mobileno",
    "mobile_phone",
    "mobilephone",
    "contact_phone",
    "contact",
    "tel_no",
    "telno",
    "手机",
    "手机号",
    "电话",
    "联系电话",
    "联系方式",
]
_NANP = re.compile(r"\([2-9]\d{2}\) ?[2-9]\d{2}-\d{4}")
_NANP_SHAPE = re.compile(
    r"(?:(?:\+?1|001)[ \-.])?(?:\(\d{3}\) ?|\d{3}[\-.])\d{3}[\-.]\d{4}(?:\s?x\d{1,5})?"
)
# `455-99-6622` is the shape of a US social security number, not of a phone number.
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
# Regions tried for a number written without a country code (context-only pattern).
_NATIONAL_REGIONS = ("CN", "US", "GB", "DE", "FR", "IN", "JP", "HK", "TW", "SG")


class PhoneNumberRecognizer(LogRecognizer):
    """Detect phone numbers.

    * Chinese mobiles: ``13800138000``, ``138 0013 8000``, ``138-0013-8000``,
      ``+86 138 0013 8000``, ``+86-13800138000``, ``008613800138000``, ``(+86)13800138000``.
      They stand alone (score 1.0 when phonenumbers' CN metadata says the range exists).
    * International numbers written with ``+`` or ``00``: valid per phonenumbers.
    * National numbers without a country code (``(415) 555-2671``, ``010-6552-1234``,
      ``4155552671``): only after a phone key (``phone=``, ``tel:``, ``"mobile": ``),
      because bare digit runs in logs are mostly ids, epochs and counters. (A field
      named ``phone`` is anonymized as a whole by the engine through ``field_entity``.)
    """

    ENTITY: ClassVar[str] = "PHONE_NUMBER"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "cn mobile",
            r"(?<![\w+])(?:(?:\(\+?86\)|(?:\+|00)86)[ \-]?|86[ \-])?" + _CN_MOBILE + r"(?![\w])",
            0.6,
        ),
        Pattern(
            "international",
            r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}[ \-.]?(?:\(\d{1,4}\)[ \-.]?)?"
            r"\d{1,4}(?:[ \-.]?\d{1,4}){1,4}(?:[ \t]?x\d{1,6})?(?![\w]|[.\-]\d)",
            0.4,
        ),
        Pattern(
            "national (context)",
            r"(?<![\w+\-.:/])(?:\(\d{2,4}\)[ \-]?\d{3,4}[ \-.]?\d{3,4}"
            r"|\d{2,5}[ \-.]\d{2,4}[ \-.]\d{2,4}(?:[ \-.]\d{2,4}){0,2})(?:\s?x\d{1,5})?"
            r"(?![\w]|[.\-:/]\d)",
            0.2,
        ),
        # Two groups (`449 4898`, `9320 7126`, `(32) 484-557`, `06-24312407`) or one run of
        # 10-11 digits (`3732695155-Fax`): phone-shaped only next to a phone word.
        Pattern(
            "short national (context)",
            r"(?<![\w+\-.:/])"
            r"(?:\(\d{2,4}\)[ \-]?\d{3}[ \-.]?\d{3,4}|\d{2,5}[ \-.]\d{4,8}|\d{10,11})"
            r"(?![\w]|[.\-:/]\d)",
            0.2,
        ),
        Pattern("nanp", r"(?<![\w+\-.:/])\([2-9]\d{2}\) ?[2-9]\d{2}-\d{4}(?![\w]|[.\-:/]\d)", 0.4),
        keyed_pattern(
            "national (keyed)",
            _KEYS,
            r"(?:\(\d{2,4}\)[ \-]?|\d{2,4}[ \-.])?\d{3,4}[ \-.]?\d{3,4}(?![\w]|[.\-:]\d)",
            0.4,
            quoted=False,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + [
        "tel.",
        "call",
        "called",
        "calling",
        "dial",
        "sms",
        "text",
        "whatsapp",
        "wechat",
        "number",
        "ph",
        "ring",
        "reach",
        "contact",
        "answering",
        "answer",
        "phoned",
        "dialled",
        "dialed",
        "hotline",
        "landline",
        "mob",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "phone",
            "tel",
            "telephone",
            "mobile",
            "cell",
            "cellphone",
            "msisdn",
            "phonenumber",
            "phoneno",
            "phonenum",
            "mobileno",
            "mobilephone",
            "mobilenumber",
            "telno",
            "contactphone",
            "userphone",
            "usermobile",
            "bindphone",
            "fax",
            "callerid",
            "callernumber",
            "phonenbr",
        }
    )
    # `Contact Olivia Fischer at 020 7946 0580`, `Sending SMS code to 020 ...`: in prose
    # the phone word is often four or five words before the number.
    CONTEXT_REACH: ClassVar[int] = 5
    # Address books and signatures name the line after the number: `166-684-7899 fax`.
    CONTEXT_AFTER: ClassVar[frozenset[str]] = frozenset(
        {
            "office",
            "fax",
            "mobile",
            "cell",
            "home",
            "work",
            "phone",
            "tel",
            "landline",
        }
    )
    MIN_DIGITS: ClassVar[int] = 7
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        DIGITS_7,
        rb"\+0",
        rb"\(000?0?\)",
    )
    CONTEXT_PATTERNS: ClassVar[frozenset[str]] = frozenset(
        {"national (context)", "short national (context)"}
    )
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "national (context)": (rb"\(00", rb"00[ \-.]00"),
        "short national (context)": (rb"\(00", rb"00[ \-.]0000", DIGITS_7),
        "nanp": (rb"\(000\) ?000-0000",),
        "cn mobile": (DIGITS_7,),
        "international": (rb"\+0", DIGITS_7),
    }
    WINDOW: ClassVar[tuple[int, int]] = (8, 8)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Check the number with phonenumbers.

        Returns:
            True for a valid number written with its country code or a valid Chinese
            mobile (standalone evidence), None for a number that is valid only as a
            national number somewhere (needs context), False otherwise.
        """
        digits = _NON_DIGITS.sub("", pattern_text.split("x", 1)[0])
        if not 7 <= len(digits) <= 15 or _SSN_SHAPE.fullmatch(pattern_text):
            return False
        stripped = pattern_text.lstrip("(")
        if stripped.startswith("+") or (stripped.startswith("00") and len(digits) > 10):
            international = digits if stripped.startswith("+") else digits[2:]
            if international.startswith("86") and len(international) == 13:
                return bool(_CN_MOBILE_RANGE.fullmatch(international[2:]))
            if _is_valid("+" + international, None):
                return True
            if len(set(international[1:])) <= 2:
                # (`+1 000 000 0000` is a placeholder, not a number.)
                return False
            if stripped.startswith("+") and _has_country_code(international):
                # Written with `+` and a country code, it is a phone number whatever its
                # national range (reserved, fictional, not yet allocated or unknown to
                # this phonenumbers release): fail closed.
                return True
            # Reserved or unassigned ranges after `00` are still phone-shaped: they count
            # with context.
            return None if _is_possible("+" + international) else False
        if _NANP.fullmatch(pattern_text.strip()) and _is_possible("+1" + digits):
            # `(617) 555-0183`: the North American way of writing a number.
            return True
        if len(digits) == 11 and digits[0] == "1":
            return True if _CN_MOBILE_RANGE.fullmatch(digits) else None
        if len(digits) == 13 and digits.startswith("861"):
            return True if _CN_MOBILE_RANGE.fullmatch(digits[2:]) else None
        if any(_is_valid(digits, region) for region in _NATIONAL_REGIONS):
            return None
        if _NANP_SHAPE.fullmatch(pattern_text.strip()):
            # `166-684-7899`, `(790)091-7442`, `001-846-853-9089x92556`: written the North
            # American way but in no allocated range (test data, fiction, typos). Still a
            # phone number when context says so.
            return None
        return False

    def normalize(self, value: str) -> str:
        """Return E.164 (``+8613800138000``); a number without country code is read as CN."""
        text = value.strip()
        digits = _NON_DIGITS.sub("", text)
        if text.lstrip("(").startswith("00"):
            text = "+" + digits[2:]
        try:
            parsed = phonenumbers.parse(text, "CN")
        except phonenumbers.NumberParseException:
            return digits
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1024)
def _has_country_code(digits: str) -> bool:
    """Return whether ``digits`` (after `+`) begin with an assigned country calling code."""
    return any(
        phonenumbers.region_code_for_country_code(int(digits[:k])) != "ZZ"
        or int(digits[:k]) in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
        for k in (1, 2, 3)
        if len(digits) > k
    )


@functools.lru_cache(maxsize=4096)
def _is_possible(number: str) -> bool:
    """Return whether ``number`` (with ``+``) has a possible length for its country."""
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


@functools.lru_cache(maxsize=4096)
def _is_valid(number: str, region: str | None) -> bool:
    """Return whether phonenumbers parses ``number`` as a valid number (cached: the same
    numbers recur in a log stream and a parse costs ~15 us)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, region)))
    except phonenumbers.NumberParseException:
        return False
