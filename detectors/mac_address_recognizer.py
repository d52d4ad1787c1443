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
            # A colon or dash may end or start a sentence (`mac：00:1A:2B:3C:4D:5E: up`),
            # not go on with more hex (an IPv6 address or a longer id).
            rf"(?<![\w\-.])(?<![0-9A-Fa-f:]:){_HEX2}(?P<sep>[:\-]){_HEX2}(?:(?P=sep){_HEX2}){{4}}"
            r"(?![\w]|[:\-][0-9A-Fa-f])",
            0.6,
        ),
        Pattern(
            "mac (dotted)",
            r"(?<![\w.])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}(?![\w.])",
            0.5,
        ),
        Pattern("mac (bare)", r"(?<![\w\-:])[0-9a-f]{12}(?![\w\-:])", 0.2),
        # Netfilter (iptables/UFW) `MAC=` holds the frame's destination MAC, source MAC and
        # EtherType run together: `MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00`.
        Pattern(
            "netfilter mac (destination)",
            rf"(?<![\w])MAC=(?P<value>{_HEX2}(?::{_HEX2}){{5}})(?=(?::{_HEX2}){{8}}(?![\w:]))",
            0.8,
        ),
        Pattern(
            "netfilter mac (source)",
            rf"(?<![\w])MAC=(?:{_HEX2}:){{6}}(?P<value>{_HEX2}(?::{_HEX2}){{5}})"
            rf"(?=:{_HEX2}:{_HEX2}(?![\w:]))",
            0.8,
        ),
        # dhcpd / dnsmasq write the client MAC bare: `DHCPACK on 10.0.0.5 to d46e0eac0d94`.
        Pattern(
            "mac (dhcp)",
            r"dhcp[a-z]*(?:\(\w+\))?[ \t][^\n]{0,60}?[ \t](?P<value>[0-9a-f]{12})(?![\w\-:])",
            0.8,
        ),
    ]
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = ("dhcp",)
    CONTEXT: ClassVar[list[str]] = [
        "mac",
        "macaddr",
        "macaddress",
        "wifimac",
        "bssid",
        "hwaddr",
        "ether",
        "lladdr",
        "btmac",
        "bluetooth",
        "wlan",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "mac",
            "macaddr",
            "macaddress",
            "wifimac",
            "wlanmac",
            "btmac",
            "bluetoothmac",
            "bssid",
            "hwaddr",
            "hwaddress",
            "ethmac",
            "devicemac",
            "clientmac",
            "stamac",
            "apmac",
            "routermac",
        }
    )
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        rb":[0a][0a]:[0a][0a]:",
        rb"-[0a][0a]-[0a][0a]-",
        rb"\.[0a][0a][0a][0a]\.",
    )
    WINDOW: ClassVar[tuple[int, int]] = (6, 40)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Validate with python-stdnum.

        Returns:
            False for invalid, all-zero or broadcast addresses; True for the separated
            forms; None (context needed) for the bare 12-hex form.
        """
        canonical = _canonical(pattern_text)
        if canonical is None or canonical in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return False
        if len(pattern_text) == 12:
            return None
        return True

    def normalize(self, value: str) -> str:
        """Return the lowercase colon form (``00:1a:2b:3c:4d:5e``)."""
        canonical = _canonical(value.strip())
        return canonical if canonical is not None else value.strip().lower()


def _canonical(value: str) -> str | None:
    """Return the lowercase colon form of a MAC in any notation, or None if invalid.

    python-stdnum's ``mac`` understands ``:`` and ``-`` separators; the bare and Cisco
    dotted forms are regrouped first.
    """
    digits = value.replace(".", "").replace(":", "").replace("-", "")
    if len(digits) != 12:
        return None
    grouped = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    # No OUI check: python-stdnum's bundled IEEE table lags behind real devices, and a
    # MAC with an unlisted vendor is still a device identifier.
    if not mac.is_valid(grouped, validate_manufacturer=False):
        return None
    return str(mac.compact(grouped))
