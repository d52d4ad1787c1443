"""Recognizer for biometric data: face, fingerprint, voiceprint and iris features,
templates and images, found by the field or key that holds them."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

# What is measured, and what of it is stored. Every combination is a field name
# (`face_feature`, `faceTemplate`, `fingerprint_image`, `iris_code`), compared the scanner's
# way (case, `_`, `-` and `.` ignored; a longer name ending in one counts too).
TRAITS = (
    "face",
    "fingerprint",
    "voiceprint",
    "voice",
    "iris",
    "palmprint",
    "palmvein",
    "fingervein",
    "retina",
)
STORED = (
    "feature",
    "features",
    "template",
    "templates",
    "image",
    "images",
    "img",
    "photo",
    "pic",
    "picture",
    "data",
    "embedding",
    "embeddings",
    "vector",
    "encoding",
    "code",
    "token",
    "minutiae",
    "sample",
    "scan",
    "video",
)
# Names that need no second word. A bare `fingerprint` is left out: in logs it is mostly a
# TLS certificate, key or browser fingerprint (the device-id and secret detectors' job);
# so is `voice` with anything but feature/template (`voice_data` of a call is not a print).
ALONE = (
    "voiceprint",
    "voiceprints",
    "palmprint",
    "biometric",
    "biometrics",
    "biometric_data",
    "biometric_template",
    "biometric_feature",
    "liveness_image",
    "liveness_video",
    "liveness_photo",
    "人脸特征",
    "人脸图片",
    "人脸照片",
    "指纹",
    "声纹",
    "虹膜",
    "掌纹",
    "生物特征",
)
FIELD_NAMES_BIOMETRIC = frozenset(
    {
        f"{t}{s}"
        for t in TRAITS
        for s in STORED
        if t != "voice" or s in ("feature", "features", "template", "templates")
    }
    | {a.replace("_", "") for a in ALONE}
)
_KEYS = sorted(
    {
        f"{t}_{s}"
        for t in ("face", "fingerprint", "voiceprint", "iris", "palmprint")
        for s in ("feature", "features", "template", "image", "embedding", "vector", "data", "code")
    }
    | {"voiceprint", "palmprint", "biometric", "biometric_data", "人脸特征", "指纹", "声纹", "虹膜"}
)
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nil", "-", "", "[]", "{}"})


class BiometricRecognizer(LogRecognizer):
    """Detect biometric data by the field or key that holds it.

    ``"face_feature": "<base64>"``, ``fingerprintTemplate=...``, ``voiceprint: ...``,
    ``"face_image": "https://.../faces/8812.jpg"``: the whole value is biometric data,
    whatever its shape (a vector, base64, a URL of the image). The default policy drops it.
    """

    ENTITY: ClassVar[str] = "BIOMETRIC"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("biometric (keyed)", _KEYS, r"[^\s\"'&,;|}\]]{1,4096}", 0.4),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = FIELD_NAMES_BIOMETRIC
    CONTEXT_REQUIRED: ClassVar[bool] = True
    WINDOW: ClassVar[tuple[int, int]] = (2, 4200)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for empty placeholders."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
