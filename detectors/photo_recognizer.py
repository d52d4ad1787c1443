"""Recognizer for personal photos and avatars: image URLs in photo fields, base64 images."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer

# Fields whose value is a picture of a person (or its URL). Not `image` or `icon` alone:
# in logs those are container images and UI assets.
FIELD_NAMES_PHOTO = frozenset(
    {
        "avatar",
        "avatars",
        "avatarurl",
        "avatarimg",
        "avatarimage",
        "avatarpath",
        "avatarkey",
        "photo",
        "photos",
        "photourl",
        "photourls",
        "photoid",
        "userphoto",
        "profilephoto",
        "profileimage",
        "profileimg",
        "profilepic",
        "profilepicture",
        "profilepicurl",
        "headimg",
        "headimgurl",
        "headimage",
        "headpic",
        "headphoto",
        "headurl",
        "headicon",
        "portrait",
        "portraiturl",
        "selfie",
        "selfieurl",
        "selfieimage",
        "userpic",
        "userimage",
        "userimg",
        "picture",
        "pictureurl",
        "pic",
        "picurl",
        "pics",
        "idphoto",
        "idcardphoto",
        "idcardfront",
        "idcardback",
        "idcardimage",
        "licensephoto",
        "passportphoto",
        "personphoto",
        "memberphoto",
        "头像",
        "照片",
        "自拍",
        "证件照",
    }
)
# Base64 image payloads: a data URI, or the base64 of a JPEG/PNG/GIF/WebP/HEIC header.
_DATA_URI = r"data:image/[a-z0-9.+\-]{2,20};base64,[A-Za-z0-9+/]{16,}={0,2}"
_B64_IMAGE = (
    r"(?<![A-Za-z0-9+/])(?:/9j/|iVBORw0KGgo|R0lGOD[dl]h|UklGR[A-Za-z0-9+/]|AAAAGGZ0eXBoZWlj"
    r"|AAAAIGZ0eXBoZWlj)[A-Za-z0-9+/]{60,}={0,2}(?![A-Za-z0-9+/=])"
)


class PhotoRecognizer(LogRecognizer):
    """Detect pictures of people: base64 images anywhere, and the whole value of a photo
    or avatar field (``avatar_url``, ``photos[]``, ``headimgurl``, ``selfie``).

    A base64 image is taken wherever it stands (a face in a log is a face); an image URL
    only in such a field, because product and UI images are not personal data.
    """

    ENTITY: ClassVar[str] = "PHOTO"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("image data uri", _DATA_URI, 0.9),
        Pattern("base64 image", _B64_IMAGE, 0.8),
    ]
    CONTEXT: ClassVar[list[str]] = ["avatar", "photo", "photos", "selfie", "portrait", "headimgurl"]
    FIELD_NAMES: ClassVar[frozenset[str]] = FIELD_NAMES_PHOTO
    # `data:image/` and the base64 magic are their own triggers (see text_shape: letters
    # are `a`/`x`, digits `0`; the literal words are cheaper as trigger words).
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = (
        "data:image/",
        "/9j/",
        "ivborw0kggo",
        "r0lgod",
        "uklgr",
        "ftyphei",
    )
    WINDOW: ClassVar[tuple[int, int]] = (0, 0)
