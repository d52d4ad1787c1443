import orjson
import pytest

from pipeline.core.json_codec import decode_line, max_depth_exceeded
from pipeline.exceptions import RecordError

LIMITS = {"max_bytes": 1 << 20, "max_depth": 64}

# testcase, raw, expect_obj, issue
CASES = [
    ("json-object", b'{"a": 1}', True, None),
    ("text-line", b"Jun 14 15:16:01 combo sshd[19939]: ok", False, None),
    ("broken-json", b'{"a": 1', False, "invalid_json"),
    ("array", b"[1, 2]", True, None),
    ("string-scalar", b'"just a string"', False, None),
    ("bracketed-text", b"[2024-05-01 10:00:00] ERROR db down", False, None),
    ("quoted-text", b'"GET / HTTP/1.1" 200 512', False, None),
    ("bad-utf8-text", b"user \xff\xfe from 10.0.0.1", False, "invalid_utf8"),
    ("bad-utf8-json", b'{"a": "\xff"}', True, "invalid_utf8"),
    ("deep-10000", b"[" * 10_000 + b"]" * 10_000, False, "too_deep"),
    ("deep-object-100", b'{"a":' * 100 + b"1" + b"}" * 100, False, "too_deep"),
]


@pytest.mark.parametrize(("case", "raw", "is_obj", "issue"), CASES, ids=[c[0] for c in CASES])
def test_decode(case, raw, is_obj, issue):
    d = decode_line(raw, **LIMITS)
    assert (d.obj is not None) is is_obj
    assert (d.text is not None) is (not is_obj)
    assert d.issue == issue


def test_when_line_is_too_large_then_record_error_without_value():
    raw = b'{"email": "' + b"x" * 2_000_000 + b'"}'
    with pytest.raises(RecordError) as exc:
        decode_line(raw, **LIMITS)
    assert exc.value.reason == "record_too_large"
    assert "xxxx" not in str(exc.value)


def test_invalid_utf8_bytes_do_not_survive_decoding():
    d = decode_line(b"id \xff\xfe end", **LIMITS)
    assert d.text == "id \ufffd\ufffd end"


def test_depth_check_is_iterative():
    deep = current = {}
    for _ in range(5000):
        current["a"] = {}
        current = current["a"]
    assert max_depth_exceeded(deep, 64)
    assert not max_depth_exceeded(orjson.loads(b'{"a":{"b":[1,{"c":2}]}}'), 64)
