"""The fast scanner's contract: API shape, overlaps, tokens, context, lists, fields."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from detectors import RECOGNIZERS, DeviceIdRecognizer, EmailAddressRecognizer
from pipeline.detection.ner import NerDetector
from pipeline.detection.scanner import CONTEXT_BOOST, Finding, Scanner
from tests.detectors.conftest import Found


def test_finding_is_frozen_with_slots() -> None:
    finding = Finding(0, 3, "EMAIL_ADDRESS", 1.0, "EmailAddressRecognizer")
    assert not hasattr(finding, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.start = 1  # type: ignore[misc]


def test_findings_are_sorted_and_do_not_overlap(scanner: Scanner) -> None:
    text = (
        "mail bob@example.com 203.0.113.9 +86 138 0013 8000 card 4111 1111 1111 1111 "
        "mac 00:1a:2b:3c:4d:5e idfa=6d92078a-8246-4ba4-ae5b-76104861e7dc"
    )
    findings = scanner.scan(text)
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    for left, right in zip(findings, findings[1:], strict=False):
        assert left.end <= right.start
    assert {f.entity for f in findings} >= {
        "EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "MAC_ADDRESS", "DEVICE_ID",
    }


def test_when_overlap_then_higher_score_wins(scanner: Scanner) -> None:
    # A 15-digit Luhn number is an IMEI (reporting body 49) and looks like an IMSI-length id.
    findings = scanner.scan("imei=490154203237518")
    assert [(f.entity, f.score) for f in findings] == [("IMEI", 1.0)]


def test_when_text_holds_logscrub_tokens_then_nothing_inside_is_found(scanner: Scanner) -> None:
    text = (
        "from <EMAIL_ADDRESS:k1:9f86d081884c7d65> and <PHONE_NUMBER> "
        "ip <IP_ADDRESS:k1:00ff00ff00ff00ff> nickname=<NICKNAME:k1:abcdef0123456789>"
    )
    assert scanner.scan(text) == []


def test_when_token_and_raw_value_then_only_raw_value_found(found: Found) -> None:
    assert found("<EMAIL_ADDRESS> cc bob@example.com") == [("EMAIL_ADDRESS", "bob@example.com")]


def test_when_key_is_context_then_score_is_boosted(scanner: Scanner) -> None:
    [with_key] = scanner.scan("wifi_mac=001a2b3c4d5e")
    assert with_key.score == pytest.approx(0.2 + CONTEXT_BOOST)
    assert scanner.scan("value 001a2b3c4d5e") == []


def test_when_field_is_context_then_context_required_value_found(scanner: Scanner) -> None:
    uuid = "6d92078a-8246-4ba4-ae5b-76104861e7dc"
    assert [f.entity for f in scanner.scan(uuid, "idfa")] == ["DEVICE_ID"]
    assert [f.entity for f in scanner.scan(uuid, "deviceInfo.androidId")] == ["DEVICE_ID"]
    assert scanner.scan(uuid, "trace_id") == []
    assert scanner.scan(uuid, "request_id") == []
    assert scanner.scan(uuid) == []


@pytest.mark.parametrize(
    ("field", "entity"),
    [
        ("client_ip", "IP_ADDRESS"),
        ("X-Real-IP", "IP_ADDRESS"),
        ("x_forwarded_for", "IP_ADDRESS"),
        ("remote_addr", "IP_ADDRESS"),
        ("addr", "ADDRESS"),
        ("shipping_address", "ADDRESS"),
        ("email", "EMAIL_ADDRESS"),
        ("deviceInfo.IMEI", "IMEI"),
        ("imsi", "IMSI"),
        ("msisdn", "PHONE_NUMBER"),
        ("customer_mobile_no", "PHONE_NUMBER"),
        ("user_agent", "USER_AGENT"),
        ("nickname", "NICKNAME"),
        ("userName", "USERNAME"),
        ("birthday", "BIRTHDAY"),
        ("dob", "BIRTHDAY"),
        ("sex", "GENDER"),
        ("wifi_mac", "MAC_ADDRESS"),
        ("bssid", "MAC_ADDRESS"),
        ("idfa", "DEVICE_ID"),
        ("android_id", "DEVICE_ID"),
        ("openudid", "DEVICE_ID"),
        ("serial", "SERIAL_NUMBER"),
        ("iccid", "ICCID"),
        ("lat", "GPS_COORDINATES"),
        ("longitude", "GPS_COORDINATES"),
        ("alipay", "PAYMENT_ACCOUNT"),
        ("cardNo", "CREDIT_CARD"),
        ("password", "SECRET"),
        ("user_id", "USER_ID"),
        ("real_name", "PERSON"),
        ("id_card", "CN_RESIDENT_ID"),
    ],
)
def test_field_entity(scanner: Scanner, field: str, entity: str) -> None:
    assert scanner.field_entity(field) == entity


@pytest.mark.parametrize(
    "field",
    [
        "trace_id", "span_id", "request_id", "order_id", "ts", "level", "service", "status",
        "duration_ms", "path", "host", "id", "name", "version", "build",
    ],
)
def test_field_entity_none_for_analytics_fields(scanner: Scanner, field: str) -> None:
    assert scanner.field_entity(field) is None


def test_allow_list_values_are_never_flagged() -> None:
    scanner = Scanner(allow_list=["support@example.com", "10.0.0.1"])
    findings = scanner.scan("from support@example.com via 10.0.0.1 to bob@example.com")
    assert [f.entity for f in findings] == ["EMAIL_ADDRESS"]


def test_deny_list_values_are_always_flagged() -> None:
    scanner = Scanner(deny_list={"PERSON": ["Zhang San"], "USERNAME": ["bobby"]})
    findings = scanner.scan("ticket by zhang san, assigned to bobby; bobbyx is a bot")
    assert [(f.entity, f.score, f.recognizer) for f in findings] == [
        ("PERSON", 1.0, "deny_list"),
        ("USERNAME", 1.0, "deny_list"),
    ]
    assert "PERSON" in scanner.entities


def test_entities_filter_and_property() -> None:
    scanner = Scanner(entities={"EMAIL_ADDRESS"})
    assert scanner.entities == frozenset({"EMAIL_ADDRESS"})
    assert [f.entity for f in scanner.scan("bob@example.com 203.0.113.9")] == ["EMAIL_ADDRESS"]
    full = Scanner()
    assert full.entities == frozenset(cls.ENTITY for cls in RECOGNIZERS)


def test_threshold_drops_weak_findings() -> None:
    strict = Scanner(threshold=0.9)
    assert strict.scan("nickname=bob") == []  # keyed: 0.4 + context 0.35
    assert [f.entity for f in strict.scan("bob@example.com")] == ["EMAIL_ADDRESS"]


def test_custom_recognizer_list() -> None:
    scanner = Scanner([EmailAddressRecognizer(), DeviceIdRecognizer()])
    assert scanner.entities == {"EMAIL_ADDRESS", "DEVICE_ID"}
    assert scanner.scan("203.0.113.9") == []


def test_normalize_unknown_entity_strips() -> None:
    assert Scanner().normalize("SOMETHING", "  x ") == "x"


def test_short_and_empty_values(scanner: Scanner) -> None:
    for value in ["", "a", "INFO", "order-service", "2024-05-01T12:00:00Z", "200", "35.5"]:
        assert scanner.scan(value) == []


def test_when_ner_model_missing_then_one_warning_and_no_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ner = NerDetector(model="no_such_model_package_xyz")
    assert not ner.available()
    with caplog.at_level(logging.WARNING, logger="pipeline.detection.scanner"):
        scanner = Scanner(ner=ner)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "name detection (NER) is off: model no_such_model_package_xyz not installed" in (
        warnings[0].getMessage()
    )
    # NER is off; only the gazetteer of frequent names (pipeline.detection.names) still answers.
    assert [f.recognizer for f in scanner.scan("Alice Smith paid", ner=True)] == ["names"]
    assert scanner.scan("Zorblat Quux paid", ner=True) == []


def test_scanner_logs_no_values(caplog: pytest.LogCaptureFixture, scanner: Scanner) -> None:
    with caplog.at_level(logging.DEBUG):
        scanner.scan("bob@example.com 13800138000 password=hunter2")
    assert "bob@example.com" not in caplog.text
    assert "hunter2" not in caplog.text


@pytest.mark.parametrize(
    ("with_trigger", "without_trigger"),
    [
        # Same shape (`e` and `a` are both hex letters), same field: only the first holds
        # the trigger word `exp` of the card-expiry recognizer.
        ("card exp 04/29 ok", "card axp 04/29 ok"),
    ],
)
def test_plan_cached_per_shape_still_reads_trigger_words(
    with_trigger: str, without_trigger: str
) -> None:
    """Short texts share a scan plan per (shape, field); the words in them still count."""
    shared = Scanner()
    first = [(f.entity, with_trigger[f.start : f.end]) for f in shared.scan(with_trigger)]
    second = [(f.entity, without_trigger[f.start : f.end]) for f in shared.scan(without_trigger)]
    assert first == [("CARD_EXPIRY", "04/29")]
    assert second == []
    # And the other way round: a plan made for the text without the word.
    other = Scanner()
    other.scan(without_trigger)
    assert [(f.entity, with_trigger[f.start : f.end]) for f in other.scan(with_trigger)] == first


def test_field_signature_is_shared_by_spellings_with_the_same_meaning(scanner: Scanner) -> None:
    """Callers memoize scans per (text, signature): spellings must not change results."""
    same = {scanner.field_signature(f) for f in ("hostName", "host_name", "HOST_NAME")}
    assert len(same) == 1
    assert scanner.field_signature("deviceImei") != scanner.field_signature("hostName")
    assert scanner.field_signature(None) == 0
