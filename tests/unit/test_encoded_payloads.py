"""Personal data inside base64: decoded, cleaned as the field's own value, encoded again.

``"data": "eyJlbWFpbCI6ImJvYkB4Lm9yZyJ9"`` is ``{"email":"bob@x.org"}``: scanned as written,
nothing in it looks like an email. The engine decodes such a blob, cleans what it holds
(JSON as fields under the same path, text as the field's text) and writes it back in the
same alphabet; a blob with nothing personal in it stays byte for byte.
"""

from __future__ import annotations

import base64

import orjson
import pytest

from detectors.encoded_text_recognizer import decode_base64_text, encode_like
from pipeline.core.engine import Engine


def b64(text: str, *, urlsafe: bool = False, padded: bool = True) -> str:
    raw = text.encode()
    out = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return out if padded else out.rstrip("=")


def clean_field(engine: Engine, value: str) -> str:
    out = engine.apply(orjson.dumps({"level": "INFO", "data": value}))
    assert out.value is not None
    return str(orjson.loads(out.value)["data"])


@pytest.mark.parametrize(
    ("payload", "raws", "entity"),
    [
        ('{"email":"bob@x.org"}', ["bob@x.org"], "EMAIL_ADDRESS"),
        ('{"name":"Li Lei","phone":"13912345678"}', ["Li Lei", "13912345678"], "PERSON"),
        ('{"user":{"imei":"490154203237518"}}', ["490154203237518"], "IMEI"),
        ("email=bob@x.org&phone=13800138000", ["bob@x.org", "13800138000"], "EMAIL_ADDRESS"),
        ("login ok for jane.doe@example.com", ["jane.doe@example.com"], "EMAIL_ADDRESS"),
    ],
)
@pytest.mark.parametrize(("urlsafe", "padded"), [(False, True), (True, False)])
def test_personal_data_in_base64_is_cleaned_and_encoded_again(
    default_engine: Engine,
    payload: str,
    raws: list[str],
    entity: str,
    urlsafe: bool,
    padded: bool,
) -> None:
    blob = b64(payload, urlsafe=urlsafe, padded=padded)
    out = clean_field(default_engine, blob)
    assert out != blob
    text = decode_base64_text(out)
    assert text is not None, "still base64 of text, in the blob's alphabet"
    for raw in raws:
        assert raw not in text
    assert entity in text
    if payload.startswith("{"):
        assert isinstance(orjson.loads(text), dict)  # still JSON for whoever decodes it


def test_base64_in_a_plain_text_line(default_engine: Engine) -> None:
    blob = b64("email=bob@x.org")
    out = default_engine.scrub_line(f"msg=login data={blob} ok")
    assert out is not None and blob not in out
    token = out.split("data=")[1].split(" ")[0]
    decoded = decode_base64_text(token)
    assert decoded is not None and decoded.startswith("email=<EMAIL_ADDRESS:")


def test_base64_inside_base64(default_engine: Engine) -> None:
    inner = b64('{"phone":"13912345678"}')
    blob = b64(f'{{"wrapped":"{inner}"}}')
    out = clean_field(default_engine, blob)
    outer = decode_base64_text(out)
    assert outer is not None
    inner_out = decode_base64_text(orjson.loads(outer)["wrapped"])
    assert inner_out is not None and "13912345678" not in inner_out


@pytest.mark.parametrize(
    "value",
    [
        b64('{"alg":"HS256","typ":"JWT"}'),  # nothing personal: left as written
        b64("hello world config"),
        "AAECAwQFBgcICQoLDA0ODxAREhM=",  # binary (a face feature vector): not text
        "ca84ebca72470addaefba2aed5153664",  # a trace id
        "PixvUzwImeobPCMJdYYa",  # a request id
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ",  # PNG bytes
    ],
)
def test_blobs_without_personal_text_stay_byte_for_byte(
    default_engine: Engine, value: str
) -> None:
    assert clean_field(default_engine, value) == value


def test_a_jwt_stays_the_secret_recognizer_s(default_engine: Engine) -> None:
    header = b64('{"alg":"HS256"}', urlsafe=True, padded=False)
    body = b64('{"sub":"1234"}', urlsafe=True, padded=False)
    token = f"{header}.{body}.c2ln"
    out = default_engine.scrub_line(f"Authorization: Bearer {token}")
    assert out is not None and token not in out and "SECRET" in out


@pytest.mark.parametrize(
    ("blob", "text", "expected"),
    [
        ("aGVsbG8gd29ybGQ=", "new text, ok", "bmV3IHRleHQsIG9r"),  # no padding needed
        ("aGVsbG8gd29ybGQ=", "new texts", "bmV3IHRleHRz"),
        ("aGVsbG8gd29ybGQ=", "new text!!", "bmV3IHRleHQhIQ=="),  # padded in: padded out
        ("aGVsbG8gd29ybGQ", "new text!!", "bmV3IHRleHQhIQ"),  # unpadded in: unpadded out
        ("PDw_Pz4-Pj4-Pz8_", "<<??>>>?<?>", "PDw_Pz4-Pj88Pz4="),  # URL-safe alphabet kept
        ("PDw/Pz4+Pj4+Pz8/", "<<??>>>?<?>", "PDw/Pz4+Pj88Pz4="),
    ],
)
def test_encode_like_keeps_the_blob_s_alphabet_and_padding(
    blob: str, text: str, expected: str
) -> None:
    assert encode_like(blob, text) == expected
    urlsafe = "-" in expected or "_" in expected
    padded = expected + "=" * (-len(expected) % 4)
    raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded)
    assert raw.decode() == text
