"""PHONE_NUMBER: Chinese mobiles in every common format, international, context-only."""

from __future__ import annotations

import pytest

from tests.detectors.conftest import Found

POSITIVE = [
    ("cn bare", "call 13800138000 now", "13800138000"),
    ("cn spaced", "tel 138 0013 8000", "138 0013 8000"),
    ("cn dashed", "138-0013-8000 registered", "138-0013-8000"),
    ("cn +86 spaced", "mobile +86 138 0013 8000", "+86 138 0013 8000"),
    ("cn +86 dash", "+86-13912345678", "+86-13912345678"),
    ("cn 0086", "0086 13912345678", "0086 13912345678"),
    ("cn 0086 glued", "008613912345678", "008613912345678"),
    ("cn (+86)", "(+86)13912345678", "(+86)13912345678"),
    ("cn json", '{"mobile":"15012345678"}', "15012345678"),
    ("us e164", "sms to +14155552671 sent", "+14155552671"),
    ("us spaced", "+1 415 555 2671", "+1 415 555 2671"),
    ("uk", "ring +44 20 7946 0958", "+44 20 7946 0958"),
    ("national with key", "phone=(415) 555-2671", "(415) 555-2671"),
    ("cn landline with key", "tel: 010-6552-1234", "010-6552-1234"),
    # Any number written with `+` and a country code, whatever its range.
    ("uk drama range", "sms to +44 7700 900123 failed", "+44 7700 900123"),
    ("short with +", "forwarded to +49 30 1234", "+49 30 1234"),
    ("extension", "fax +1-743-438-6774x62406 ok", "+1-743-438-6774x62406"),
    # Two groups and bare runs count next to a phone word (before or after).
    ("two groups after answering", "They're not answering at 449 4898", "449 4898"),
    ("two groups after call", "You can call 9320 7126", "9320 7126"),
    ("run before fax", "3732695155-Fax", "3732695155"),
    ("five groups after key", "Phone: 02.27.96.63.08", "02.27.96.63.08"),
]
NEGATIVE = [
    ("epoch millis", "ts 1700000000000 done"),
    ("epoch seconds", "ts=1700000000"),
    ("order id", "order ORD20240501123456 paid"),
    ("bare order digits", "order 20240501123456 paid"),
    ("hdfs block", "blk_-1608999687919862906 replicated"),
    ("digits in hex id", "req 4bf92f3577b34da6a3ce929d0e0e4736"),
    ("11 digits inside hex", "tenant 9d0e0e47361380013800a"),
    ("not a mobile range", "id 12345678901"),
    ("national without key", "count 4155552671"),
    ("invalid international", "+1 000 000 0000"),
    ("date", "2024-05-01 12:00:00"),
    ("two groups without phone word", "took 4491 4898 ms"),
    ("placeholder with +", "+44 000 000 0000"),
    ("timezone offset", "2024-05-01T12:00:00+08:00"),
]


@pytest.mark.parametrize(("case", "text", "value"), POSITIVE, ids=[c[0] for c in POSITIVE])
def test_positive(found: Found, case: str, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in found(text)


@pytest.mark.parametrize(("case", "text"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_negative(found: Found, case: str, text: str) -> None:
    assert [f for f in found(text) if f[0] == "PHONE_NUMBER"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086-138-0013-8000", "+8613800138000"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_normalize_to_e164(scanner, value: str, expected: str) -> None:  # noqa: ANN001
    assert scanner.normalize("PHONE_NUMBER", value) == expected
