"""Recognizer for postal addresses, found by their key."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "address", "addr", "home_address", "homeaddress", "shipping_address",
    "shippingaddress", "delivery_address", "deliveryaddress", "billing_address",
    "billingaddress", "postal_address", "postaladdress", "street", "street_address",
    "mailing_address", "receiver_address", "consignee_address", "detail_address",
    "detailaddress", "地址", "收货地址", "详细地址", "住址",
]
# `addr=10.0.0.1:8080`, `address: [::1]:443`, `addr=db-1.internal:5432`: network
# addresses are not postal ones (the IP recognizer takes the IP itself).
_NETWORK = re.compile(
    r"^(?:\[?[0-9a-f:.]+\]?(?::\d{1,5})?|[\w\-]+(?:\.[\w\-]+)*:\d{1,5}|(?:0x)?[0-9a-f]+"
    r"|[\w\-]+(?:\.[\w\-]+)+|\w+)$",
    re.IGNORECASE,
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
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + ["home", "postal"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS}
        | {"useraddress", "contactaddress", "zipcode",
           "postcode", "postalcode", "zip"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    WINDOW: ClassVar[tuple[int, int]] = (24, 200)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for network addresses, single words and placeholders."""
        value = pattern_text.strip()
        if any("\u4e00" <= ch <= "\u9fff" for ch in value):
            return len(value) < 4
        return bool(_NETWORK.match(value)) or value.lower() in {"null", "none", "unknown"}
