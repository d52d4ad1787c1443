"""Recognizer for Wi-Fi network names (SSIDs).

A home network's name often carries its owner's name or flat (``Zhang-Home``, ``Lucy's
iPhone``, ``Flat 12B``), and an SSID with its BSSID locates a device as well as GPS does:
the services of ../shared/seeds collect "Wi-Fi information" for location. An SSID has
no shape of its own (any 1-32 bytes), so it is found by what names it: a field name or
key (``ssid``, ``wifi_name``), wpa_supplicant's ``SSID 'HomeNet'`` and the
``associated to “HomeNet”`` of Apple's Wi-Fi log.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "ssid",
    "wifi_ssid",
    "wlan_ssid",
    "wifi_name",
    "wifiname",
    "wifissid",
    "wlanssid",
    "无线名称",
]
_PLACEHOLDERS = frozenset(
    {"null", "none", "undefined", "nil", "-", "", "unknown", "<unknown ssid>", "0x"}
)


class WifiSsidRecognizer(LogRecognizer):
    """Detect an SSID after its key, in wpa_supplicant lines and in Apple's Wi-Fi log."""

    ENTITY: ClassVar[str] = "WIFI_SSID"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("ssid (keyed)", _KEYS, r"[^\s\"',;|}\])=]{1,32}", 0.4),
        Pattern(
            # wpa_supplicant: `Trying to associate with SSID 'HomeNet'`.
            "ssid quoted",
            r"(?<![\w])SSID[ \t]+['\"\u201c](?P<value>[^'\"\u201d\n]{1,32})['\"\u201d]",
            0.8,
        ),
        Pattern(
            # Apple's wifi.log: `_doAutoJoin: Already associated to “CampusNet”.`
            "associated to network",
            r"(?<![\w])(?:[Aa]ssociated|[Cc]onnected|[Aa]ssociating|[Cc]onnecting) to "
            r"[\u201c\"](?P<value>[^\u201d\"\n]{1,32})[\u201d\"]",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["ssid", "wifi", "wlan", "无线"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} | {"networkssid", "apssid", "currentssid"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "ssid quoted": r"SSID[ \t]+['\"\u201c]",
        "associated to network": r"(?:ssociat|onnect)\w* to [\u201c\"]",
    }
    WINDOW: ClassVar[tuple[int, int]] = (8, 48)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders (``-``, ``null``, ``<unknown ssid>``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
