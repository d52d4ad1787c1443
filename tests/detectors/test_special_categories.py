"""BIOMETRIC and PHOTO: by field name and, for base64 images, by shape."""

from __future__ import annotations

import pytest

from pipeline.detection.scanner import Scanner

_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_JPEG = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4n"


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


@pytest.mark.parametrize(
    ("field", "entity"),
    [
        ("face_feature", "BIOMETRIC"),
        ("faceFeature", "BIOMETRIC"),
        ("face_image", "BIOMETRIC"),
        ("fingerprint_template", "BIOMETRIC"),
        ("voiceprint", "BIOMETRIC"),
        ("iris_code", "BIOMETRIC"),
        ("user_face_embedding", "BIOMETRIC"),
        ("人脸特征", "BIOMETRIC"),
        ("avatar_url", "PHOTO"),
        ("avatar", "PHOTO"),
        ("photos", "PHOTO"),
        ("headimgurl", "PHOTO"),
        ("profile_photo", "PHOTO"),
        ("selfie", "PHOTO"),
        ("头像", "PHOTO"),
    ],
)
def test_when_a_field_names_a_special_category_then_its_value_is_that_entity(
    scanner: Scanner, field: str, entity: str
) -> None:
    assert scanner.field_entity(field) == entity


@pytest.mark.parametrize(
    "field",
    # A container image, a UI icon, a TLS or key fingerprint, a call's voice data.
    ["image", "icon", "fingerprint", "cert_fingerprint", "voice_data", "product_image_url", "logo"],
)
def test_when_a_field_only_looks_related_then_it_is_no_special_category(
    scanner: Scanner, field: str
) -> None:
    assert scanner.field_entity(field) not in ("BIOMETRIC", "PHOTO")


@pytest.mark.parametrize(
    "text",
    [
        f"selfie uploaded data:image/png;base64,{_PNG} for review",
        f"face check payload {_JPEG}",
        f'{{"img":"{_PNG}"}}',
    ],
)
def test_when_a_base64_image_stands_anywhere_then_it_is_a_photo(
    scanner: Scanner, text: str
) -> None:
    found = [(text[f.start : f.end], f.entity) for f in scanner.scan(text)]
    assert any(entity == "PHOTO" and len(value) > 40 for value, entity in found)


@pytest.mark.parametrize(
    "text",
    [
        "GET /static/img/logo.png 200",
        "pulled image nginx:1.25 in 3s",
        "upload https://cdn.example.com/p/9912.png done",  # a URL in prose: no field says whose
        "token=/9j/short",
    ],
)
def test_when_no_picture_of_a_person_is_there_then_no_photo(scanner: Scanner, text: str) -> None:
    assert all(f.entity != "PHOTO" for f in scanner.scan(text))


def test_when_a_biometric_key_stands_in_a_line_then_its_value_is_found(scanner: Scanner) -> None:
    text = "enroll ok face_feature=AAECAwQFBgcICQoLDA0ODxAREhM= uid=7"
    found = [(text[f.start : f.end], f.entity) for f in scanner.scan(text)]
    assert ("AAECAwQFBgcICQoLDA0ODxAREhM=", "BIOMETRIC") in found
