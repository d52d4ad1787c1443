"""Tests for pipeline.operators.cryptopan: reference vectors, prefix preservation, error hygiene."""

from __future__ import annotations

import ipaddress
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pipeline.operators import cryptopan
from pipeline.operators.cryptopan import CryptoPAn

# Restated from node-cryptopan's test data (MIT); source and license are in the file.
_VECTORS_PATH = Path(__file__).parent.parent / "fixtures" / "cryptopan_vectors.json"
_VECTORS: dict[str, Any] = json.loads(_VECTORS_PATH.read_text(encoding="utf-8"))
_ORIGINAL_SAMPLE_KEY = "original_cryptopan_sample_key"


def _vector_cases() -> list[Any]:
    cases = []
    for key_set in _VECTORS["key_sets"]:
        for family in ("ipv4", "ipv6"):
            for index, (original, expected) in enumerate(key_set[family]):
                case_id = f"{key_set['name']}-{family}-{index}"
                cases.append(pytest.param(key_set["key_hex"], original, expected, id=case_id))
    return cases


@pytest.fixture(scope="module")
def sample() -> CryptoPAn:
    """The instance for the original Crypto-PAn sample key."""
    (key_set,) = [k for k in _VECTORS["key_sets"] if k["name"] == _ORIGINAL_SAMPLE_KEY]
    return CryptoPAn(bytes.fromhex(key_set["key_hex"]))


@pytest.mark.parametrize(("key_hex", "original", "expected"), _vector_cases())
def test_reference_vectors(key_hex: str, original: str, expected: str) -> None:
    assert CryptoPAn(bytes.fromhex(key_hex)).anonymize(original) == expected


def test_fixture_holds_all_original_sample_key_pairs() -> None:
    # Guards the fixture itself: the 77 IPv4 pairs of the original sample trace.
    (key_set,) = [k for k in _VECTORS["key_sets"] if k["name"] == _ORIGINAL_SAMPLE_KEY]
    assert len(key_set["ipv4"]) == 77
    assert sum(len(k["ipv4"]) + len(k["ipv6"]) for k in _VECTORS["key_sets"]) == 144


def _common_prefix(a: int, b: int, width: int) -> int:
    return width - (a ^ b).bit_length()


def _address_text(value: int, version: int) -> str:
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


@pytest.mark.parametrize(
    ("testcase", "width", "version"),
    [
        ("ipv4", 32, 4),
        ("ipv6", 128, 6),
    ],
    ids=["ipv4", "ipv6"],
)
def test_prefix_preserved(sample: CryptoPAn, testcase: str, width: int, version: int) -> None:
    rng = random.Random(2002)  # fixed seed: reproducible pairs
    for _ in range(300):
        a = rng.getrandbits(width)
        # Flip one random bit, so every shared-prefix length gets exercised.
        b = a ^ (1 << rng.randrange(width))
        text_a, text_b = (_address_text(x, version) for x in (a, b))
        out_a = int(ipaddress.ip_address(sample.anonymize(text_a)))
        out_b = int(ipaddress.ip_address(sample.anonymize(text_b)))
        assert _common_prefix(out_a, out_b, width) == _common_prefix(a, b, width), testcase


def test_when_many_distinct_ipv4_then_pseudonyms_distinct(sample: CryptoPAn) -> None:
    inputs = [f"10.{i // 256}.{i % 256}.{(i * 7) % 256}" for i in range(2000)]
    outputs = {sample.anonymize(ip) for ip in inputs}
    assert len(outputs) == len(set(inputs))
    assert all(ipaddress.ip_address(out).version == 4 for out in outputs)


def test_when_prefix_cache_cleared_then_same_results(sample: CryptoPAn) -> None:
    addresses = ["198.51.100.7", "198.51.200.9", "2001:db8:1:2::7", "2001:db8:1:2::8"]
    warm = [sample.anonymize(ip) for ip in addresses]
    fresh = CryptoPAn(bytes.fromhex(_VECTORS["key_sets"][0]["key_hex"]))
    assert [fresh.anonymize(ip) for ip in addresses] == warm


def test_when_ipv6_cache_full_then_cleared_and_results_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cryptopan, "_V6_CACHE_MAX", 2)
    key_set = next(k for k in _VECTORS["key_sets"] if k["name"] == "libanon_testing_passphrase")
    instance = CryptoPAn(bytes.fromhex(key_set["key_hex"]))
    for original, expected in key_set["ipv6"]:
        assert instance.anonymize(original) == expected
    assert len(instance._v6_cache) <= 2


def test_when_zone_id_present_then_zone_is_dropped(sample: CryptoPAn) -> None:
    assert sample.anonymize("fe80::1%eth0") == sample.anonymize("fe80::1")


def test_when_ipv4_mapped_then_anonymized_as_ipv6(sample: CryptoPAn) -> None:
    out = sample.anonymize("::ffff:192.0.2.1")
    assert ipaddress.ip_address(out).version == 6
    assert out == sample.anonymize("::ffff:c000:201")


def test_when_integer_api_used_then_matches_text_api(sample: CryptoPAn) -> None:
    assert sample.anonymize_v4_int(int(ipaddress.IPv4Address("128.11.68.132"))) == int(
        ipaddress.IPv4Address("135.242.180.132")
    )
    assert sample.anonymize_v6_int(1) == int(
        ipaddress.IPv6Address("78ff:f001:9fc0:20df:8380:b1f1:704:ed")
    )


def test_when_shared_between_threads_then_results_identical(sample: CryptoPAn) -> None:
    addresses = [f"203.0.{i % 256}.{i // 256}" for i in range(2000)]
    expected = [sample.anonymize(ip) for ip in addresses]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(sample.anonymize, addresses)) == expected


_INVALID = [
    # testcase, value
    ("empty", ""),
    ("three-octets", "192.0.2"),
    ("octet-over-255", "256.0.2.1"),
    ("leading-zero-octet", "192.0.02.1"),
    ("ipv4-with-port", "192.0.2.1:80"),
    ("bracketed-ipv6", "[2001:db8::1]"),
    ("hostname", "mail.example.com"),
    ("surrounding-space", " 192.0.2.1"),
    ("arabic-indic-digits", "\u0661\u0669\u0662.0.2.1"),
    ("empty-zone", "fe80::1%"),
    ("zone-on-ipv4", "192.0.2.1%eth0"),
    ("triple-colon", "2001:::1"),
    ("nul-byte", "192.0.2.1\x00"),
]


@pytest.mark.parametrize(("testcase", "value"), _INVALID, ids=[c[0] for c in _INVALID])
def test_invalid_input_raises_without_echo(sample: CryptoPAn, testcase: str, value: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        sample.anonymize(value)
    if value:
        assert value not in str(excinfo.value), testcase
    assert excinfo.value.__context__ is None, testcase


@pytest.mark.parametrize(
    ("testcase", "key", "error"),
    [
        ("too-short", b"k" * 16, ValueError),
        ("too-long", b"k" * 33, ValueError),
        ("str-key", "k" * 32, TypeError),
    ],
    ids=["too-short", "too-long", "str-key"],
)
def test_bad_key_rejected(testcase: str, key: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        CryptoPAn(key)


def test_when_repr_then_no_key_material() -> None:
    key = bytes(range(32))
    text = repr(CryptoPAn(key))
    assert key.hex() not in text
    assert "redacted" in text


@pytest.mark.parametrize(
    ("testcase", "method", "value"),
    [
        ("v4-negative", "anonymize_v4_int", -1),
        ("v4-too-big", "anonymize_v4_int", 1 << 32),
        ("v6-too-big", "anonymize_v6_int", 1 << 128),
    ],
    ids=["v4-negative", "v4-too-big", "v6-too-big"],
)
def test_integer_out_of_range_rejected(
    sample: CryptoPAn, testcase: str, method: str, value: int
) -> None:
    with pytest.raises(ValueError, match="out of range"):
        getattr(sample, method)(value)
