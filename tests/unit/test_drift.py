"""Schema drift: the paths a route's records hold, new ones after the warm-up, never a value;
and `unknown_fields: quarantine`, which never lets a field no rule lists pass silently."""

from __future__ import annotations

import orjson
import pytest
from faust.types.tuples import Message

from pipeline.core.drift import UNSHOWN, PathLog
from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy, parse_policy
from pipeline.keys import KeyRing
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.processor import RouteProcessor
from pipeline.stream.routes import Route

KEYS = KeyRing.from_secret("drift-test-secret-0123456789-abcdefghijklmn", "k1")
KEEP_POLICY = """version: 1
name: listed
unknown_fields: quarantine
fields:
  ts: {type: keep}
  msg: {type: keep}
  user.email: {type: pseudonymize, entity: EMAIL_ADDRESS}
"""
ROUTE = Route(name="app", source="raw", policy="listed", sink="clean", quarantine="q")


@pytest.fixture
def engine() -> Engine:
    return Engine(load_policy(None), keys=KEYS, ner=False)


def _log(engine: Engine, warmup: int = 2, limit: int = 100) -> PathLog:
    log = PathLog("app", engine.key_is_plain, warmup_records=warmup, limit=limit)
    engine.paths = log
    return log


def test_paths_first_seen_after_the_warm_up_are_new(engine):
    log = _log(engine)
    for _ in range(2):
        engine.apply(b'{"ts":1,"user":{"id":"u_1"},"tags":["a","b"]}')
    engine.apply(b'{"ts":2,"user":{"id":"u_2","nickname":"sunny"},"tags":[]}')
    listing = log.listing()
    by_path = {i["path"]: i for i in listing["items"]}
    assert by_path["tags[]"]["count"] == 4 and not by_path["tags[]"]["new"]
    assert by_path["user.nickname"]["new"] is True
    assert [i["path"] for i in log.listing(new_only=True)["items"]] == ["user.nickname"]
    assert listing["records"] == 3


@pytest.mark.parametrize(
    "key",
    ["li.wei@example.com", "13800138000", "u_10293847", "203.0.113.7", "key with spaces"],
)
def test_a_key_that_may_be_a_value_is_shown_as_key(engine, key):
    log = _log(engine, warmup=0)
    engine.apply(orjson.dumps({"contacts": {key: {"n": 1}}}))
    shown = [i["path"] for i in log.listing()["items"]]
    assert shown == ["contacts", f"contacts.{UNSHOWN}", f"contacts.{UNSHOWN}.n"]
    assert key not in orjson.dumps(log.listing()).decode()


def test_memory_is_bounded_and_the_rest_counted(engine):
    log = _log(engine, warmup=0, limit=5)
    engine.apply(orjson.dumps({f"field_{i}": i for i in range(20)}))
    assert log.listing()["paths"] == 5 and log.overflow == 15


def test_a_field_no_rule_lists_sends_the_record_to_quarantine_scanned(tmp_path):
    policy = parse_policy(KEEP_POLICY)
    listed = Engine(policy, keys=KEYS, ner=False)
    ok = listed.apply(b'{"ts":1,"msg":"hi","user":{"email":"a.b@example.com"}}')
    assert ok.issue is None and b"a.b@example.com" not in ok.value
    new = listed.apply(b'{"ts":1,"msg":"hi","device":{"imei":"490154203237518"}}')
    assert new.issue == "unknown_field"
    assert b"490154203237518" not in new.value  # scanned all the same

    metrics = StreamMetrics()
    processor = RouteProcessor(ROUTE, policy, listed, metrics, drift_warmup_records=1)
    emits = processor.take_batch(
        [
            Message("raw", 0, n, 1.0, 0, None, None, value, None)
            for n, value in enumerate(
                [
                    b'{"ts":1,"msg":"hi","user":{"email":"a.b@example.com"}}',
                    b'{"ts":2,"msg":"hi","device":{"imei":"490154203237518"}}',
                ]
            )
        ],
        timestamp_unit=1000.0,
    )
    assert [e.kind for e in emits] == ["clean", "quarantine"]
    entry = orjson.loads(emits[1].value)
    assert entry["reason"] == "unknown_field"
    assert b"490154203237518" not in emits[1].value
    assert [i["path"] for i in processor.drift.listing(new_only=True)["items"]] == [
        "device",
        "device.imei",
    ]
    assert metrics.new_field_paths.labels(route="app")._value.get() == 2  # noqa: SLF001
