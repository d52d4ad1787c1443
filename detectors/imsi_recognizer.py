"""Recognizer for IMSI subscriber identities."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from presidio_analyzer import Pattern
from stdnum import imsi, numdb

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
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "imsi",
            "imsi1",
            "imsi2",
            "simimsi",
            "subscriberid",
            "deviceimsi",
        }
    )
    MIN_DIGITS: ClassVar[int] = 15
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (DIGITS_15,)
    WINDOW: ClassVar[tuple[int, int]] = (2, 2)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a Chinese IMSI, None for another known operator, else False.

        The verdict depends only on the MCC and MNC, so it is remembered per MCC+MNC
        prefix when python-stdnum's table has no deeper levels: its lookup walks the whole
        table in Python on every call (~30 µs).
        """
        deciding = _deciding_digits()
        if deciding is not None and len(pattern_text) == 15 and pattern_text.isdigit():
            return _verdict_of_prefix(pattern_text[: deciding[pattern_text[:3]]])
        return _verdict(pattern_text)

    def normalize(self, value: str) -> str:
        """Return the digits only."""
        return "".join(ch for ch in value if ch.isdigit())


def _verdict(pattern_text: str) -> bool | None:
    """:meth:`ImsiRecognizer.validate_result`, computed."""
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


def _table_depth(prefixes: list[Any]) -> int:
    return 0 if not prefixes else 1 + max(_table_depth(children) for *_, children in prefixes)


@functools.cache
def _deciding_digits() -> dict[str, int] | None:
    """Per MCC (all 1,000 three-digit strings), how many leading digits decide the
    verdict: 3 and the longest MNC of that MCC in python-stdnum's table (its lookup
    reads no further: the MSIN has no entries). None when the table has deeper levels
    (then every number is looked up). Built on the first IMSI candidate (~10 ms)."""
    prefixes = numdb.get("imsi").prefixes
    if _table_depth(prefixes) > 2:
        return None
    out: dict[str, int] = {}
    for code in range(1000):
        mcc = f"{code:03d}"
        lengths = [
            length
            for top, low, high, _props, children in prefixes
            if top == 3 and low <= mcc <= high
            for length, *_ in children
        ]
        out[mcc] = 3 + max(lengths, default=0)
    return out


@functools.lru_cache(maxsize=16_384)
def _verdict_of_prefix(prefix: str) -> bool | None:
    """The verdict of every 15-digit number starting with ``prefix``."""
    return _verdict(prefix + "0" * (15 - len(prefix)))
