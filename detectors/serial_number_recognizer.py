"""Recognizer for hardware serial numbers, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "serial",
    "serial_no",
    "serialno",
    "serial_number",
    "serialnumber",
    "sn",
    "device_sn",
    "devicesn",
    "hw_sn",
    "hwsn",
    "board_serial",
    "ro.serialno",
    "ro.boot.serialno",
    "product_serial",
    "machine_sn",
    "chip_id",
    "chipid",
    "序列号",
]


class SerialNumberRecognizer(LogRecognizer):
    """Detect device serial numbers after a serial key (``sn=C02XL0GZJGH5``, ``"serial": "..."``).

    Serial numbers have no common shape, so only the key says what they are.
    """

    ENTITY: ClassVar[str] = "SERIAL_NUMBER"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("serial (keyed)", _KEYS, r"[A-Za-z0-9][\w\-]{3,63}(?![\w\-])", 0.4),
        Pattern(
            "serial (text)",
            r"(?<![\w])(?:serial\s+(?:number|no\.?)|S/N)[ \t:#]{1,3}"
            r"(?P<value>[A-Za-z0-9][\w\-]{3,63})(?![\w\-])",
            0.4,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + ["s/n"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "").replace(".", "") for k in _KEYS}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = ("serial n", "s/n")
    WINDOW: ClassVar[tuple[int, int]] = (12, 100)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders (``unknown``, ``null``, all zeros)."""
        value = pattern_text.strip().lower()
        return value in {"null", "none", "unknown", "undefined", "n/a", "na"} or set(value) <= {"0"}
