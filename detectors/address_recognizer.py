"""Recognizer for postal addresses, found by their key."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "address",
    "addr",
    "home_address",
    "homeaddress",
    "shipping_address",
    "shippingaddress",
    "delivery_address",
    "deliveryaddress",
    "billing_address",
    "billingaddress",
    "postal_address",
    "postaladdress",
    "street",
    "street_address",
    "mailing_address",
    "receiver_address",
    "consignee_address",
    "detail_address",
    "detailaddress",
    # Forms split an address into numbered lines: `address_line1`, `addr1`, `street2`.
    "address_line1",
    "address_line2",
    "addressline1",
    "addressline2",
    "address1",
    "address2",
    "addr1",
    "addr2",
    "addr_line1",
    "addr_line2",
    "street1",
    "street2",
    "地址",
    "收货地址",
    "详细地址",
    "住址",
]
# `addr=10.0.0.1:8080`, `address: [::1]:443`, `addr=db-1.internal:5432`: network
# addresses are not postal ones (the IP recognizer takes the IP itself).
_NETWORK = re.compile(
    r"^(?:\[?[0-9a-f:.]+\]?(?::\d{1,5})?|[\w\-]+(?:\.[\w\-]+)*:\d{1,5}|(?:0x)?[0-9a-f]+"
    r"|[\w\-]+(?:\.[\w\-]+)+|\w+)$",
    re.IGNORECASE,
)


_URL = re.compile(r"(?:https?|ftp)://|www\.", re.IGNORECASE)


# A Chinese street address: [province] city [district] street + number 号 [building,
# unit, room]. The house number makes it an address, not a place name.
_HAN = "\u4e00-\u9fff"
# It starts after a non-Han character or, inside a Chinese sentence, after a word that
# introduces a place (`地址为上海市...`, `寄到北京市...`, `住在江苏省...`); a clause before
# the place in the same run of Han characters (`请送到北京市...`, `包裹已寄到...`) is
# matched but not reported (the `value` group is the address).
_INTRO = "为至到在往于址送寄住"
_CN_ADDRESS = (
    rf"(?:(?<![{_HAN}])|(?<=[{_INTRO}]))(?:[{_HAN}]{{0,6}}?[{_INTRO}])?(?![{_INTRO}])"
    rf"(?P<value>(?:[{_HAN}]{{2,7}}?(?:省|自治区))?[{_HAN}]{{2,7}}?(?:市|州|盟)"
    rf"(?:[{_HAN}]{{1,7}}?(?:区|县|旗))?[{_HAN}]{{1,12}}?(?:路|街|道|巷|弄|胡同)"
    r"\d{1,5}号(?:\d{1,4}(?:栋|幢|号楼|座))?(?:\d{1,3}单元)?(?:\d{1,5}室)?)"
)
# A US-style street address with city, state and ZIP: `994 Pine Lane, Fairview, TX 80773`.
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|"
    r"Pl|Terrace|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq)"
)
_US_ADDRESS = (
    r"(?<![\w.])\d{1,6}[ \t](?:[A-Z][a-z]+[ \t]){1,3}" + _STREET + r"\.?"
    r"(?:,?[ \t](?:Apt|Apartment|Suite|Ste|Unit|#)\.?[ \t]?[\w\-]{1,6})?"
    r",[ \t](?:[A-Z][a-z]+[ \t]?){1,3},[ \t][A-Z]{2}[ \t]\d{5}(?:-\d{4})?(?![\w])"
)

# A street line without the state and ZIP: `742 Evergreen Terrace, Springfield`, `lives at
# 42 Elm Street`. Capitalized words and a street word, followed by a city or preceded by
# a word that introduces an address (a number and capitalized words alone are often a
# product or a count).
_STREET_WORD = (
    r"(?-i:Street|Avenue|Road|Lane|Drive|Boulevard|Court|Place|Terrace|Parkway|Circle"
    r"|Highway|Square|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Pkwy|Hwy)(?=[.,]|[ \t]*$))\.?"
)
_STREET_LINE = rf"\d{{1,6}}[ \t](?-i:(?:[A-Z][a-z]+[ \t]){{1,3}}){_STREET_WORD}(?![\w])"
_CITY = r"(?-i:[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2})(?![\w])"
_STREET_GATE = (
    r"\d [A-Z][a-z]+ (?:[A-Z][a-z]+ ){0,2}(?:Street|Avenue|Road|Lane|Drive|Boulevard|Court"
    r"|Place|Terrace|Parkway|Circle|Highway|Square|St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Pkwy|Hwy)\b"
)
_STREET_WITH_CITY = rf"(?<![\w.])(?P<value>{_STREET_LINE},[ \t]{_CITY})"
_STREET_AFTER_CUE = (
    r"(?<![\w])(?:at|to|address|addr|located at|lives at|ship to|deliver to)[ \t]*:?[ \t]+"
    rf"(?P<value>{_STREET_LINE})"
)


class AddressRecognizer(LogRecognizer):
    """Detect a postal address after its key: ``"address": "1 Main St, Springfield"``.

    A value that looks like a network address or a single word is not taken.
    """

    ENTITY: ClassVar[str] = "ADDRESS"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern(
            "address (keyed)", _KEYS, r"[^\"'&\n|;=]{3,160}?(?=$|[\"'&\n|;]|\s\w+=)", 0.4
        ),
        # Full street addresses stand on their own anywhere in free text.
        Pattern("cn street address", _CN_ADDRESS, 0.85),
        Pattern("us street address", _US_ADDRESS, 0.85),
        Pattern("street and city", _STREET_WITH_CITY, 0.85),
        Pattern("street after cue", _STREET_AFTER_CUE, 0.85),
    ]
    # The keyed pattern carries its key; the street patterns are evidence themselves.
    CONTEXT_REQUIRED: ClassVar[bool] = False
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = ("号",)
    # `, TX 80773` (state letters are hex or not: see text_shape).
    # A number, capitalized words and a street word.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "street and city": _STREET_GATE,
        "street after cue": _STREET_GATE,
    }
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "us street address": (rb", [ax][ax] 00000",),
        "cn street address": (rb"0\?",),
    }
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + ["home", "postal"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS}
        | {"useraddress", "contactaddress", "zipcode", "postcode", "postalcode", "zip"}
    )
    WINDOW: ClassVar[tuple[int, int]] = (120, 200)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for network addresses, URLs, single words and placeholders."""
        value = pattern_text.strip()
        if _URL.match(value):
            # `地址：http://t.cn/8kNf4qV`: a web address after the word for address.
            return True
        if any("\u4e00" <= ch <= "\u9fff" for ch in value):
            return len(value) < 4
        return bool(_NETWORK.match(value)) or value.lower() in {"null", "none", "unknown"}
