"""Recognizer for advertising and device identifiers (IDFA, GUID, OpenUDID, Android ID...)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_KEYS = [
    "device_id",
    "deviceid",
    "device-id",
    "did",
    "udid",
    "openudid",
    "open_udid",
    "idfa",
    "idfv",
    "oaid",
    "gaid",
    "adid",
    "aaid",
    "android_id",
    "androidid",
    "advertising_id",
    "advertisingid",
    "ad_id",
    "guid",
    "device_uuid",
    "deviceuuid",
    "device_token",
    "devicetoken",
    "push_token",
    "client_device_id",
    "hardware_id",
    "hwid",
    "vaid",
    "utdid",
    "device_fingerprint",
    "fingerprint",
    # Android's ANDROID_ID is Settings.Secure "SSAID"; push registration ids (JPush,
    # FCM, APNs tokens) identify one install.
    "ssaid",
    "aid",
    "registration_id",
    "registrationid",
    "reg_id",
    "regid",
    "push_id",
    "pushid",
    "fcm_token",
    "apns_token",
]


class DeviceIdRecognizer(LogRecognizer):
    """Detect device identifiers where the key or the field says "device".

    UUID-shaped values (IDFA/IDFV/GUID/OAID), 40-hex OpenUDIDs and 16-hex Android ids look
    exactly like trace ids, span ids and commit hashes, so every pattern needs context: a
    key such as ``idfa=`` / ``"android_id":`` right before it, or a field named like that.
    A UUID in a ``trace_id`` or ``request_id`` field is never taken.
    """

    ENTITY: ClassVar[str] = "DEVICE_ID"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("uuid", rf"(?<![\w\-]){_UUID}(?![\w\-])", 0.2),
        Pattern("openudid (40 hex)", r"(?<![\w\-])[0-9a-f]{40}(?![\w\-])", 0.2),
        Pattern("android id (16 hex)", r"(?<![\w\-])[0-9a-f]{16}(?![\w\-])", 0.2),
        keyed_pattern("device id (keyed)", _KEYS, r"[\w\-:.]{6,128}", 0.3),
        Pattern(
            # Prose names the device right before its id, without `=` or `:`: `token for
            # device 9774d56d682e549c`, `android id 9774d56d682e549c`, `IDFA <uuid>`.
            "device id after its word",
            r"(?<![\w\-])(?:device|android[ _\-]?id|ssaid|idfa|idfv|oaid|openudid"
            r"|device[ _\-]?id)[ \t]+(?:id[ \t]+)?(?:is[ \t]+)?"
            rf"(?P<value>{_UUID}|[0-9a-f]{{40}}|[0-9a-f]{{16}})(?![\w\-])",
            0.8,
        ),
        Pattern(
            # REST paths name the device they act on: `/api/v1/devices/9774d56d682e549c/bind`.
            "device id in a path",
            rf"/devices?/(?P<value>{_UUID}|[0-9a-f]{{40}}|[0-9a-f]{{16}})(?=[/?#\s\"';,]|$)",
            0.8,
        ),
        Pattern(
            # Apple devices are named after their owner, and logs carry the name as the
            # host or the device: `Johns-MacBook-Pro.local`, `Lucy's iPhone`.
            "device named after its owner",
            # (The characters around it are part of the match: the shape is its own context.)
            r"(?:^|[\s\"'=:,;(\[{<>@/])"
            r"(?!(?:apple|my|the|new|old|test|work|office|home|shared|company|windows|android|google)"
            r"(?:'s|\u2019s|s)?[\- ])"
            # A name and `s-` (host names have no apostrophe) or `'s ` (device names).
            # `Zhang Wei's iPad`: a capitalized first name may come before the owner's.
            r"(?P<value>(?:(?-i:[A-Z][a-z]{1,15}) (?=[a-z]{2,16}(?:'s|\u2019s) ))?"
            r"[a-z][a-z]{1,15}(?:(?:'s|\u2019s) |s?-)"
            r"(?:macbook(?:[\- ](?:pro|air))?|imac|iphone|ipad|mac[\- ]mini|mac[\- ]pro)"
            r"(?:-\d{1,3})?(?:\.local)?)(?:[^\w\-]|$)",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "").replace("-", "") for k in _KEYS] + [
        "device",
        "advertising",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "").replace("-", "") for k in _KEYS} - {"fingerprint"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "device id in a path": r"(?i)/devices?/[0-9a-f]",
        "device id after its word": (
            r"(?i)(?:device|android[ _\-]?id|ssaid|idf[av]|oaid|openudid)[ \t]"
        ),
        "device named after its owner": r"(?i:[\- ](?:macbook|imac|iphone|ipad|mac[\- ]))",
    }
    WINDOW: ClassVar[tuple[int, int]] = (0, 96)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholder values (all zeros, ``null``, ``unknown``)."""
        compact = pattern_text.replace("-", "").lower()
        return compact in _PLACEHOLDERS or set(compact) <= {"0"}

    def normalize(self, value: str) -> str:
        """Return the id lowercased (IDFAs are logged in both cases)."""
        return value.strip().lower()


_PLACEHOLDERS = frozenset({"null", "none", "unknown", "undefined", "nil", "empty", ""})
