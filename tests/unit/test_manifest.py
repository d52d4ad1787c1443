"""The ``logscrub`` manifest header: names, digests, a key id and counts; never a value."""

from __future__ import annotations

import orjson
import pytest

from pipeline.stream.manifest import HEADER, Manifest, find_manifest, with_manifest

MANIFEST = Manifest(
    policy="default",
    digest="7e0130b79f63",
    key_id="k1",
    entities={"PHONE_NUMBER": 2, "EMAIL_ADDRESS": 1},
    route="service",
)


def test_round_trip():
    assert Manifest.decode(MANIFEST.encode()) == MANIFEST


def test_encoding_is_stable_and_compact():
    again = Manifest(
        "default", "7e0130b79f63", "k1", {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 2}, "service"
    )
    assert MANIFEST.encode() == again.encode()
    assert b" " not in MANIFEST.encode()
    assert orjson.loads(MANIFEST.encode()) == {
        "v": 1,
        "policy": "default",
        "policy_digest": "7e0130b79f63",
        "key_id": "k1",
        "entities": {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 2},
        "route": "service",
    }


def test_without_key_or_route():
    m = Manifest("default", "abc", None)
    assert Manifest.decode(m.encode()) == m
    assert "route" not in orjson.loads(m.encode())


def test_with_manifest_appends_and_replaces_an_incoming_one():
    forged = (HEADER, b'{"v":1,"policy":"nothing-to-see"}')
    headers = with_manifest([("trace", b"abc"), forged], MANIFEST)
    assert headers[0] == ("trace", b"abc")
    assert [k for k, _ in headers].count(HEADER) == 1
    assert find_manifest(headers) == MANIFEST


def test_with_manifest_on_no_headers():
    assert with_manifest(None, MANIFEST) == [(HEADER, MANIFEST.encode())]
    assert find_manifest(None) is None
    assert find_manifest([("trace", b"abc")]) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"v":2}',
        b'{"v":1,"entities":{"EMAIL":"x"}}',
        b'{"v":1,"entities":[1]}',
    ],
)
def test_when_header_is_not_a_manifest_then_value_error_without_content(raw):
    with pytest.raises(ValueError) as err:
        Manifest.decode(raw)
    assert raw.decode() not in str(err.value)
