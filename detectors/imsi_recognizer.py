"""Recognizer for IMSI subscriber identities."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern
from stdnum import imsi

from detectors.base import DIGITS_15, LogRecognizer

# MCCs of the test networks (001, 999): never a real subscriber, and a 15-digit id
# starting with 999 or 001 would otherwise pass.
_TEST_MCCS = frozenset({"001", "999"})


class ImsiRecognizer(LogRecognizer):
    """Detect 15-digit IMSIs whose MCC+MNC is a real operator in python-stdnum's table.

    A known MCC+MNC is only weak evidence on its own (many 15-digit ids start with a
    plausible MCC), so a bare IMSI scores 0.55 unless it has context (``imsi=``, an
    ``imsi`` field) or a Chinese MCC (460), the common case in this product's logs.
    """

    ENTITY: ClassVar[str] = "IMSI"
    KEY_WAIVES_CHECKSUM: ClassVar[bool] = True
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("imsi", r"(?<![\w\-.])\d{15}(?![\w\-]|\.\d)", 0.55),
    ]
    CONTEXT: ClassVar[list[str]] = ["imsi", "subscriber", "sim"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset({
        "imsi", "imsi1", "imsi2", "simimsi", "subscriberid", "deviceimsi",
    })
    MIN_DIGITS: ClassVar[int] = 15
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_15,)
    WINDOW: ClassVar[tuple[int, int]] = (2, 2)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a Chinese IMSI, None for another known operator, else False."""
        try:
            parts = imsi.split(pattern_text)
        except Exception:  # noqa: BLE001 - stdnum's numdb raises ValueError/others
            return False
        if len(parts) != 3 or parts[0] in _TEST_MCCS:
            return False
        try:
            info = imsi.info(pattern_text)
        except Exception:  # noqa: BLE001
            return False
        if "operator" not in info and "brand" not in info:
            return False
        return True if parts[0] == "460" else None

    def normalize(self, value: str) -> str:
        """Return the digits only."""
        return "".join(ch for ch in value if ch.isdigit())
