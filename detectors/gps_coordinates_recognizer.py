"""Recognizer for precise GPS positions (latitude/longitude pairs and keyed coordinates)."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_LAT = r"[+\-]?(?:[1-8]?\d|90)\.\d{3,10}"
_LON = r"[+\-]?(?:1[0-7]\d|0?\d{1,2}|180)\.\d{3,10}"
_KEYS = [
    "lat",
    "lng",
    "lon",
    "long",
    "latitude",
    "longitude",
    "gps_lat",
    "gps_lng",
    "gps_lon",
    "geo_lat",
    "geo_lng",
    "loc_lat",
    "loc_lng",
]


# Hemisphere letters, degrees-minutes-seconds: `40.7128 N, 74.0060 W`, `N 40.7128 W 74.0060`,
# `39°54'15"N 116°24'27"E`. The letters are capitals (`(?-i:...)`: patterns are compiled
# case-insensitive) so that `5.123 n` in prose is not a latitude.
_NS = r"(?-i:[NS])"
_EW = r"(?-i:[EW])"
_LAT_ABS = r"(?:[1-8]?\d|90)\.\d{3,10}"
_LON_ABS = r"(?:1[0-7]\d|0?\d{1,2}|180)\.\d{3,10}"
_DMS = r"\d{1,3}°[ \t]?\d{1,2}['′][ \t]?\d{1,2}(?:\.\d{1,4})?(?:[\"″]|'')"
_PAIR_SEP = r"[ \t]?[,;/]?[ \t]{0,3}"
_HEMISPHERE_PAIR = (
    rf"(?<![\w.]){_LAT_ABS}°?[ \t]?{_NS}{_PAIR_SEP}{_LON_ABS}°?[ \t]?{_EW}(?![\w])"
    rf"|(?<![\w]){_NS}[ \t]?{_LAT_ABS}°?{_PAIR_SEP}{_EW}[ \t]?{_LON_ABS}°?(?![\w.])"
    rf"|(?<![\w.]){_DMS}[ \t]?{_NS}{_PAIR_SEP}{_DMS}[ \t]?{_EW}(?![\w])"
    rf"|(?<![\w]){_NS}[ \t]?{_DMS}{_PAIR_SEP}{_EW}[ \t]?{_DMS}"
)
# Written forms the operators cannot round: validated by their pattern alone.
_WRITTEN_FORM = re.compile(r"[NSEW°纬经]")


class GpsCoordinatesRecognizer(LogRecognizer):
    """Detect coordinates precise enough to locate a person.

    * A pair ``31.2304,121.4737`` (optionally ``31.2304, 121.4737`` or ``lat,lon`` in
      parentheses) with both parts in range and at least 3 decimals. Pairs with 4+
      decimals stand alone; 3 decimals need context (``location=``, ``gps``).
    * Single values after a coordinate key: ``lat=31.2304``, ``"lng": 121.4737``.
    """

    ENTITY: ClassVar[str] = "GPS_COORDINATES"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "lat,lon pair",
            rf"(?<![\w.\-+]){_LAT}\s?,\s?{_LON}(?![\w.]|,\d)",
            0.45,
        ),
        keyed_pattern("keyed coordinate", _KEYS, rf"{_LON}(?![\w.])", 0.5, quoted=False),
        # Chinese: `北纬39.9042 东经116.4074`, `南纬33.86°，东经151.21°`.
        Pattern(
            "chinese hemisphere words",
            r"[北南]纬[:：]?[ \t]{0,2}\d{1,2}(?:\.\d{1,8})?°?[ \t]{0,2}[,，]?[ \t]{0,2}"
            r"[东西]经[:：]?[ \t]{0,2}\d{1,3}(?:\.\d{1,8})?°?",
            0.85,
        ),
        Pattern("hemisphere letters", _HEMISPHERE_PAIR, 0.85),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "gps",
        "location",
        "loc",
        "geo",
        "coordinates",
        "coord",
        "coords",
        "position",
        "latlng",
        "latlon",
        "lnglat",
        "point",
        "坐标",
        "位置",
        "定位",
    ] + [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "lat",
            "lng",
            "lon",
            "latitude",
            "longitude",
            "gps",
            "location",
            "geo",
            "coordinates",
            "coords",
            "latlng",
            "latlon",
            "lnglat",
            "geolocation",
            "gpslocation",
            "position",
            "gpslat",
            "gpslng",
            "gpslon",
            "userlocation",
            "geopoint",
            "loc",
        }
    )
    MIN_DIGITS: ClassVar[int] = 5
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (rb"0\.000",)
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "chinese hemisphere words": r"[北南]纬",
        "hemisphere letters": r"\d\.\d{3,}°?[ \t]?[NS]|[NS][ \t]?\d{1,2}\.\d{3}|°",
    }
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = frozenset(
        {
            "version",
            "versions",
            "ver",
            "ratio",
            "ratios",
            "score",
            "scores",
            "weight",
            "weights",
            "probability",
            "prob",
            "loss",
            "accuracy",
            "range",
            "bounds",
            "min",
            "max",
            "avg",
            "mean",
            "p50",
            "p90",
            "p99",
            "latency",
            "duration",
            "cpu",
            "mem",
            "load",
            "rate",
            "price",
            "amount",
            "balance",
        }
    )
    WINDOW: ClassVar[tuple[int, int]] = (24, 36)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return True for a 4+ decimal pair, None for less precise values."""
        if _WRITTEN_FORM.search(pattern_text):
            return True
        parts = pattern_text.split(",")
        if len(parts) == 2:
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                return False
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
                return False
            decimals = min(len(p.strip().split(".")[1]) for p in parts)
            return True if decimals >= 4 else None
        return None

    def normalize(self, value: str) -> str:
        """Return the value without spaces."""
        return "".join(value.split())
