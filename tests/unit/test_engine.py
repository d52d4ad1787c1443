"""The pure engine: a record in, a record out; no broker."""

import json

import orjson
import pytest

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy, parse_policy
from tests.conftest import CONFIGS

BASE = "version: 1\nname: t\n"


def engine_for(yaml_text, keys, **kw):
    return Engine(parse_policy(BASE + yaml_text), keys=keys, ner=False, **kw)


def out_obj(engine, record):
    return orjson.loads(engine.apply(orjson.dumps(record)).value)


def test_json_keeps_structure_key_order_and_non_pii(default_engine):
    rec = {"ts": "2024-05-01T12:00:00.123Z", "level": "INFO", "service": "order-service",
           "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "status": 200, "latency_ms": 12.5,
           "user": {"email": "alice@example.com", "tags": ["a", "b"]}, "ok": True, "none": None}
    out = out_obj(default_engine, rec)
    assert list(out) == list(rec)
    for k in ("ts", "level", "service", "trace_id", "status", "latency_ms", "ok", "none"):
        assert out[k] == rec[k]
    assert out["user"]["tags"] == ["a", "b"]
    assert out["user"]["email"].startswith("<EMAIL_ADDRESS:t1:")


def test_text_stays_text(default_engine):
    line = (
        "Jun 14 15:16:01 combo sshd[19939]: Failed password for root from 203.0.113.9 "
        "port 52311 ssh2"
    )
    out = default_engine.apply(line.encode())
    assert out.kind == "text"
    text = out.value.decode()
    assert text.startswith("Jun 14 15:16:01 combo sshd[19939]: Failed password for ")
    assert "203.0.113.9" not in text and text.endswith("port 52311 ssh2")


def test_same_value_same_pseudonym_across_fields_and_formats(default_engine):
    out = out_obj(default_engine, {"a": "alice@example.com", "b": {"mail": "Alice@Example.com"}})
    assert out["a"] == out["b"]["mail"]


def test_field_rules_with_wildcards(keys):
    e = engine_for(
        "unknown_fields: keep\nfields:\n  '**.secret': {type: drop}\n"
        "  'ips[]': {type: generalize, entity: IP_ADDRESS}\n"
        "  'items[].card': {type: mask, keep_last: 4, entity: CREDIT_CARD}\n"
        "  user: {type: redact, entity: USER}\n",
        keys,
    )
    out = out_obj(
        e,
        {
            "a": {"b": {"secret": "s3cr3t"}},
            "ips": ["203.0.113.5", "198.51.100.7"],
            "items": [{"card": "4111111111111111", "sku": "X1"}],
            "user": {"name": "Bob", "age": 40},
            "other": "alice@example.com",
        },
    )
    assert out["a"] == {"b": {}}
    assert out["ips"] == ["203.0.113.0", "198.51.100.0"]
    assert out["items"] == [{"card": "************1111", "sku": "X1"}]
    assert out["user"] == {"name": "<USER>", "age": "<USER>"}
    assert out["other"] == "alice@example.com"  # unknown_fields: keep, written out on purpose


def test_unknown_fields_drop(keys):
    e = engine_for("unknown_fields: drop\nfields:\n  level: {type: keep}\n", keys)
    assert out_obj(e, {"level": "INFO", "msg": "x", "n": {"a": 1}}) == {"level": "INFO", "n": {}}


def test_field_name_hint_anonymizes_whole_value(default_engine):
    out = out_obj(
        default_engine, {"nickname": "sunny_day_88", "deviceInfo": {"IMEI": "35-209900-176148-1"}}
    )
    assert "sunny_day_88" not in json.dumps(out)
    assert "176148" not in json.dumps(out)


def test_placeholder_values_are_left_alone(default_engine):
    assert out_obj(default_engine, {"imei": "", "phone": "-", "email": None}) == {
        "imei": "",
        "phone": "-",
        "email": None,
    }


def test_numbers_with_pii_names_are_scanned(default_engine):
    out = out_obj(
        default_engine,
        {"phone": 13800138000, "count": 13800138000, "lat": 31.230416, "pid": 4242},
    )
    assert out["phone"] != 13800138000
    assert out["pid"] == 4242
    assert out["lat"] == 31.23


def test_drop_rules_count_as_intentional_drops(keys):
    e = engine_for(
        "unknown_fields: scan\ndrop_records:\n  - {path: level, equals: [DEBUG]}\n"
        "  - {path: http.path, matches: '^/healthz'}\n  - {path: '**.probe', exists: true}\n",
        keys,
    )
    assert e.apply(b'{"level": "DEBUG"}').dropped
    assert e.apply(b'{"LEVEL": "DEBUG"}').dropped
    assert e.apply(b'{"http": {"path": "/healthz"}}').dropped
    assert e.apply(b'{"a": [{"probe": 1}]}').dropped
    kept = e.apply(b'{"level": "INFO", "http": {"path": "/api"}}')
    assert not kept.dropped and kept.value is not None


def test_key_and_headers_follow_the_policy(keys):
    policy = load_policy(CONFIGS / "policies" / "web_access.yaml")
    e = Engine(policy, keys=keys, ner=False)
    out = e.apply(
        b'{"level": "INFO"}',
        key=b"user-42",
        headers=[("X-Real-IP", b"203.0.113.9"), ("trace", b"abc")],
    )
    assert out.key.startswith(b"<USER_ID:t1:")
    assert dict(out.headers)["trace"] == b"abc"
    assert b"203.0.113.9" not in dict(out.headers)["X-Real-IP"]


def test_counts_by_entity_and_operator(default_engine):
    out = default_engine.apply(
        b'{"msg": "mail alice@example.com and bob@example.org from 203.0.113.9"}'
    )
    assert out.entities["EMAIL_ADDRESS"] == 2
    assert out.operators["pseudonymize"] >= 2
    assert out.entities["IP_ADDRESS"] == 1


def test_scrubbing_twice_changes_nothing_more(default_engine):
    once = default_engine.apply(
        b'{"m": "call 13800138000 or mail a@example.com", "ip": "203.0.113.9"}'
    ).value
    twice = default_engine.apply(once).value
    assert once == twice


def test_allow_list_values_are_kept(keys):
    e = engine_for("unknown_fields: scan\nscan:\n  allow_list: ['support@example.com']\n", keys)
    out = out_obj(e, {"to": "support@example.com", "from": "alice@example.com"})
    assert out["to"] == "support@example.com"
    assert out["from"] != "alice@example.com"


def test_engine_without_key_refuses_policies_that_need_one():
    from pipeline.exceptions import KeyMissingError

    with pytest.raises(KeyMissingError):
        Engine(load_policy(), keys=None, ner=False)
