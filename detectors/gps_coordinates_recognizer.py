"""Recognizer for precise GPS positions (latitude/longitude pairs and keyed coordinates)."""

from __future__ import annotations

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
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {"chinese hemisphere words": r"[北南]纬"}
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
