"""Recognizer for MAC addresses (EUI-48)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import mac

from detectors.base import LogRecognizer

_HEX2 = r"[0-9a-f]{2}"


class MacAddressRecognizer(LogRecognizer):
    """Detect MAC addresses: ``00:1a:2b:3c:4d:5e``, ``00-1A-2B-3C-4D-5E``, ``001a.2b3c.4d5e``.

    The bare 12-hex form (``001a2b3c4d5e``) is everywhere in ids, so it needs context
    (``mac=``, a ``wifi_mac`` field). The all-zero and broadcast addresses identify
    nobody and are left as they are.
    """

    ENTITY: ClassVar[str] = "MAC_ADDRESS"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "mac (colon or dash)",
            rf"(?<![\w:\-.]){_HEX2}(?P<sep>[:\-]){_HEX2}(?:(?P=sep){_HEX2}){{4}}(?![\w:\-])",
            0.6,
        ),
        Pattern(
            "mac (dotted)",
            r"(?<![\w.])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}(?![\w.])",
            0.5,
        ),
        Pattern("mac (bare)", r"(?<![\w\-:])[0-9a-f]{12}(?![\w\-:])", 0.2),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "mac", "macaddr", "macaddress", "wifimac", "bssid", "hwaddr", "ether", "lladdr",
        "btmac", "bluetooth", "wlan",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset({
        "mac", "macaddr", "macaddress", "wifimac", "wlanmac", "btmac", "bluetoothmac",
        "bssid", "hwaddr", "hwaddress", "ethmac", "devicemac", "clientmac", "stamac",
        "apmac", "routermac",
    })
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        rb":[0a][0a]:[0a][0a]:",
        rb"-[0a][0a]-[0a][0a]-",
        rb"\.[0a][0a][0a][0a]\.",
    )
    WINDOW: ClassVar[tuple[int, int]] = (6, 40)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return False for invalid, all-zero or broadcast addresses; True for the
        separated forms, None (context needed) for the bare form."""
        if not mac.is_valid(pattern_text):
            return False
        compact = mac.compact(pattern_text).replace(":", "")
        if compact in ("000000000000", "ffffffffffff"):
            return False
        if len(pattern_text) == 12:
            return None
        return True

    def normalize(self, value: str) -> str:
        """Return the lowercase colon form."""
        try:
            return str(mac.compact(value))
        except Exception:  # noqa: BLE001 - stdnum's ValidationError and friends
            return value.strip().lower()
