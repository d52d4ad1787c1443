"""Quarantine entries, the per-record stream step (RouteProcessor) and at-least-once delivery.

No broker: the processor is fed Incoming records by hand, delivery gets a fake send.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from pipeline.core.engine import Engine
from pipeline.core.policy import DEFAULT_POLICY_PATH, load_policy
from pipeline.keys import KeyRing
from pipeline.stream.delivery import deliver, is_record_error
from pipeline.stream.manifest import HEADER, Manifest
from pipeline.stream.metrics import Health, StreamMetrics
from pipeline.stream.processor import Emit, Incoming, RouteProcessor
from pipeline.stream.quarantine import (
    CLEAN_SEND_FAILED,
    ENGINE_EXCEPTION,
    QuarantineDecryptError,
    SourceRef,
    build_entry,
    decrypt_entry,
)
from pipeline.stream.routes import Route

EMAIL = b"li.wei@example.com"
PHONE = b"13912345678"
RAW = b"\xff\xfe login " + EMAIL + b" phone " + PHONE
SOURCE = SourceRef("logs.raw.service", 2, 41, 1_700_000_000_000)
ROUTE = Route(
    name="service",
    source="logs.raw.service",
    policy="default",
    sink="logs.clean.service",
    quarantine="logs.quarantine.service",
)


def entry(keys: KeyRing | None, **kw) -> dict:
    args = {
        "reason": "invalid_utf8",
        "source": SOURCE,
        "route": "service",
        "policy_name": "default",
        "policy_digest": "abc123",
        "keys": keys,
        "value": RAW,
        "key": EMAIL,
        "headers": [("user", EMAIL)],
        "scrubbed": b"?? login <EMAIL_ADDRESS:t1:0011> phone <PHONE_NUMBER:t1:2233>",
    }
    args.update(kw)
    return orjson.loads(build_entry(**args))


def assert_no_raw(blob: bytes) -> None:
    for needle in (EMAIL, PHONE):
        assert needle not in blob
        assert base64.b64encode(needle) not in blob


# --- entries -------------------------------------------------------------------------------


def test_entry_holds_reason_coordinates_policy_and_scrubbed_text_but_nothing_raw(keys):
    doc = entry(keys)
    assert doc["reason"] == "invalid_utf8"
    assert doc["source"] == {
        "topic": "logs.raw.service",
        "partition": 2,
        "offset": 41,
        "timestamp_ms": 1_700_000_000_000,
    }
    assert doc["policy"] == {"name": "default", "digest": "abc123"}
    assert doc["key_id"] == keys.key_id and doc["payload"]["key_id"] == keys.key_id
    assert doc["scrubbed"].startswith("?? login <EMAIL_ADDRESS:")
    assert doc["bytes"] == len(RAW) + len(EMAIL) + len("user") + len(EMAIL)
    assert_no_raw(orjson.dumps(doc))


def test_payload_decrypts_to_the_raw_record_under_the_key(keys):
    raw = decrypt_entry(entry(keys), keys)
    assert raw.value == RAW and raw.key == EMAIL and raw.headers == [("user", EMAIL)]


def test_payload_without_key_or_headers_round_trips(keys):
    raw = decrypt_entry(entry(keys, key=None, headers=None), keys)
    assert raw.value == RAW and raw.key is None and raw.headers == []


def test_every_entry_gets_a_fresh_nonce(keys):
    assert entry(keys)["payload"]["nonce"] != entry(keys)["payload"]["nonce"]


def test_when_decrypted_with_another_key_then_it_fails_without_content(keys, other_keys):
    with pytest.raises(QuarantineDecryptError, match="not loaded"):
        decrypt_entry(entry(keys), other_keys)
    forged = KeyRing.from_secret("a-third-secret-0123456789-abcdefghijkl", keys.key_id)
    with pytest.raises(QuarantineDecryptError, match="does not authenticate") as err:
        decrypt_entry(entry(keys), forged)
    assert EMAIL.decode() not in str(err.value)


def test_when_payload_is_moved_to_other_coordinates_then_it_does_not_authenticate(keys):
    doc = entry(keys)
    doc["source"]["offset"] = 42
    with pytest.raises(QuarantineDecryptError, match="does not authenticate"):
        decrypt_entry(doc, keys)


def test_key_rings_by_id_pick_the_right_key(keys, other_keys):
    rings = {keys.key_id: keys, other_keys.key_id: other_keys}
    assert decrypt_entry(entry(other_keys), rings).value == RAW


def test_when_no_key_then_payload_is_omitted(keys):
    doc = entry(None)
    assert doc["payload"] is None and doc["payload_omitted"] == "no_key" and doc["key_id"] is None
    with pytest.raises(QuarantineDecryptError, match="no_key"):
        decrypt_entry(doc, keys)


def test_when_record_exceeds_budget_then_payload_is_omitted_and_text_cut(keys):
    big = b"x" * 5000
    doc = entry(keys, value=big, scrubbed=big, max_payload_bytes=2000)
    assert doc["payload"] is None and doc["payload_omitted"] == "too_large"
    assert len(doc["scrubbed"]) == 2000 and doc["scrubbed_truncated"] is True


def test_metadata_only_entry_has_neither_payload_nor_text(keys):
    doc = entry(keys, include_payload=False)
    assert doc["payload"] is None and doc["scrubbed"] is None
    assert doc["payload_omitted"] == "send_failed"


def test_quarantined_at_is_utc(keys):
    doc = entry(keys, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert doc["quarantined_at"] == "2026-01-02T03:04:05.000+00:00"


# --- the stream step -------------------------------------------------------------------------


def incoming(value: bytes | None, key: bytes | None = None, offset: int = 7) -> Incoming:
    return Incoming(
        "logs.raw.service", 1, offset, 1_700_000_000_123, key, value, [("trace", b"abc")]
    )


@pytest.fixture
def processor(keys) -> RouteProcessor:
    policy = load_policy()
    return RouteProcessor(ROUTE, policy, Engine(policy, keys=keys, ner=False), StreamMetrics())


def total(metrics: StreamMetrics, name: str) -> float:
    return metrics.totals().get(name, 0.0)


def test_clean_record_keeps_time_and_carries_manifest_and_cleaned_key(processor, keys):
    emit = processor.process(incoming(b'{"user":{"email":"li.wei@example.com"}}', key=EMAIL))
    assert emit is not None and emit.kind == "clean" and emit.topic == "logs.clean.service"
    assert emit.timestamp_ms == 1_700_000_000_123
    assert emit.key is not None and emit.key.startswith(b"<EMAIL_ADDRESS:")
    assert_no_raw(emit.value + emit.key)
    manifest = Manifest.decode(dict(emit.headers)[HEADER])
    assert manifest.policy == "default" and manifest.key_id == keys.key_id
    assert manifest.entities == {"EMAIL_ADDRESS": 2}
    assert dict(emit.headers)["trace"] == b"abc"


def test_malformed_record_becomes_quarantine_entry_with_scrubbed_text(processor, keys):
    emit = processor.process(incoming(RAW, key=EMAIL))
    assert (
        emit is not None and emit.kind == "quarantine" and emit.topic == "logs.quarantine.service"
    )
    assert emit.reason == "invalid_utf8" and emit.key is None
    doc = orjson.loads(emit.value)
    assert "<EMAIL_ADDRESS:" in doc["scrubbed"]
    assert doc["source"]["offset"] == 7
    assert_no_raw(emit.value)
    assert decrypt_entry(doc, keys).value == RAW


def test_placeholder_outcome_is_quarantined_without_text(processor):
    emit = processor.process(incoming(b'{"a":"' + b"x" * 2_000_000 + b'"}'))
    assert emit is not None and emit.kind == "quarantine" and emit.reason == "record_too_large"
    assert orjson.loads(emit.value)["scrubbed"] is None


class Exploding:
    keys = None

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def apply(self, value, key=None, headers=None, *, deadline=None):
        msg = f"boom on {value!r}"  # an exception that quotes the value: must not leak
        raise ValueError(msg)


def test_when_engine_raises_then_entry_names_the_class_only(keys, caplog):
    metrics = StreamMetrics()
    proc = RouteProcessor(ROUTE, load_policy(), Exploding(keys), metrics)  # type: ignore[arg-type]
    emit = proc.process(incoming(RAW, key=EMAIL))
    assert emit is not None and emit.kind == "quarantine" and emit.reason == ENGINE_EXCEPTION
    doc = orjson.loads(emit.value)
    assert doc["error_type"] == "ValueError" and doc["scrubbed"] is None
    assert_no_raw(emit.value)
    assert EMAIL.decode() not in caplog.text and "boom" not in caplog.text


def test_policy_drop_is_counted_and_sends_nothing(tmp_path, keys):
    path = tmp_path / "drops.yaml"
    path.write_text(
        DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
        + "\ndrop_records:\n  - {path: level, equals: [DEBUG]}\n",
        encoding="utf-8",
    )
    policy = load_policy(path)
    metrics = StreamMetrics()
    proc = RouteProcessor(ROUTE, policy, Engine(policy, keys=keys, ner=False), metrics)
    assert (
        proc.process(incoming(b'{"level":"DEBUG","user":"li.wei@example.com"}', offset=9)) is None
    )
    assert total(metrics, "logscrub_stream_records_dropped") == 1
    assert proc.positions == {1: 10}


def test_counters_move_only_on_delivery(processor):
    emit = processor.process(incoming(b'{"msg":"hello li.wei@example.com"}'))
    assert total(processor.metrics, "logscrub_stream_records_in") == 1
    assert total(processor.metrics, "logscrub_stream_records_out") == 0
    processor.delivered(emit)
    assert total(processor.metrics, "logscrub_stream_records_out") == 1
    assert total(processor.metrics, "logscrub_stream_entities") == 1
    assert processor.positions == {1: 8}


def test_refused_clean_record_falls_back_to_entry_then_to_metadata_only(processor):
    clean = processor.process(incoming(b'{"msg":"hello"}'))
    first = processor.rejected(clean, MessageSizeTooLargeError())
    assert first is not None and first.kind == "quarantine" and first.reason == CLEAN_SEND_FAILED
    doc = orjson.loads(first.value)
    assert doc["error_type"] == "MessageSizeTooLargeError" and doc["payload"] is not None
    second = processor.rejected(first, MessageSizeTooLargeError())
    assert second is not None and second.stage == 2
    assert orjson.loads(second.value)["payload"] is None
    assert processor.rejected(second, MessageSizeTooLargeError()) is None


def test_record_errors_are_told_apart_from_broker_trouble():
    wrapped = RuntimeError("send failed")
    wrapped.__cause__ = MessageSizeTooLargeError()
    assert is_record_error(wrapped)
    assert not is_record_error(KafkaTimeoutError())


# --- delivery ---------------------------------------------------------------------------------


def run_deliver(
    processor: RouteProcessor,
    emit: Emit,
    failures: list[BaseException],
    failed: BaseException | None = None,
) -> list[Emit]:
    sent: list[Emit] = []

    async def send(e: Emit) -> None:
        sent.append(e)
        if failures:
            raise failures.pop(0)

    async def main() -> None:
        import pipeline.stream.delivery as w

        original = w.backoff_s
        w.backoff_s = lambda attempt: 0.0  # no real pauses in a unit test
        try:
            await deliver(emit, send, processor, Health(consuming=True), failed=failed)
        finally:
            w.backoff_s = original

    asyncio.run(main())
    return sent


def test_deliver_retries_transient_errors_and_counts_once(processor):
    emit = processor.process(incoming(b'{"msg":"hi"}'))
    sent = run_deliver(processor, emit, [KafkaTimeoutError(), KafkaTimeoutError()])
    assert [e.kind for e in sent] == ["clean"] * 3
    assert total(processor.metrics, "logscrub_stream_send_retries") == 2
    assert total(processor.metrics, "logscrub_stream_records_out") == 1


def test_deliver_replaces_a_refused_record_with_an_entry(processor):
    emit = processor.process(incoming(b'{"msg":"hi"}'))
    sent = run_deliver(processor, emit, [MessageSizeTooLargeError()])
    assert [e.kind for e in sent] == ["clean", "quarantine"]
    assert total(processor.metrics, "logscrub_stream_records_out") == 0
    assert total(processor.metrics, "logscrub_stream_records_quarantined") == 1


def test_record_content_never_shows_in_a_repr(processor):
    # An event loop logs a failing callback with its arguments' reprs.
    raw = b'{"email":"li.wei@example.com","msg":"secret-token-123"}'
    msg = incoming(raw)
    emit = processor.process(msg)
    assert emit is not None
    for text in (repr(msg), repr(emit)):
        assert "li.wei" not in text and "secret-token" not in text
        assert "offset=" in text  # coordinates stay visible for debugging


def test_deliver_takes_over_a_send_that_already_failed(processor):
    # The agents send first themselves and hand a failed send to deliver().
    emit = processor.process(incoming(b'{"msg":"hi"}'))
    sent = run_deliver(processor, emit, [], failed=KafkaTimeoutError())
    assert [e.kind for e in sent] == ["clean"]  # the one retry
    assert total(processor.metrics, "logscrub_stream_send_retries") == 1
    assert total(processor.metrics, "logscrub_stream_records_out") == 1

    emit = processor.process(incoming(b'{"msg":"hi"}'))
    sent = run_deliver(processor, emit, [], failed=MessageSizeTooLargeError())
    assert [e.kind for e in sent] == ["quarantine"]  # straight to the smaller output
    assert total(processor.metrics, "logscrub_stream_records_quarantined") == 1


# --- quarantine-decrypt (the replay path on the command line) ----------------------------------


def test_quarantine_decrypt_command_gives_the_key_holder_the_raw_record(keys, tmp_path):
    from click.testing import CliRunner

    from pipeline.cli.stream import quarantine_decrypt
    from tests.conftest import TEST_SECRET

    entries = tmp_path / "entries.jsonl"
    sealed = orjson.dumps(entry(keys, value=b'{"user":"li.wei@example.com"}')).decode()
    entries.write_text(sealed + "\n", encoding="utf-8")
    env = {"LOGSCRUB_KEY": TEST_SECRET, "LOGSCRUB_KEY_ID": keys.key_id, "LOGSCRUB_KEY_FILE": ""}
    log = tmp_path / "audit.log"
    args = [str(entries), "--reason", "replay INC-7", "--audit-log", str(log)]
    result = CliRunner().invoke(quarantine_decrypt, args, env=env)
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert out["value"] == '{"user":"li.wei@example.com"}' and out["key"] == EMAIL.decode()
    assert out["source"]["offset"] == 41 and out["reason"] == "invalid_utf8"
    # One audit record, written first: the entry by a keyed digest, never its content.
    record = orjson.loads(log.read_bytes())
    assert record["command"] == "quarantine-decrypt" and record["reason"] == "replay INC-7"
    assert len(record["items"]) == 1 and record["key_ids"] == [keys.key_id]
    assert b"li.wei" not in log.read_bytes()


def test_quarantine_decrypt_needs_a_reason_and_a_writable_audit_log(keys, tmp_path):
    from click.testing import CliRunner

    from pipeline.cli.stream import quarantine_decrypt
    from tests.conftest import TEST_SECRET

    entries = tmp_path / "entries.jsonl"
    entries.write_text(orjson.dumps(entry(keys)).decode() + "\n", encoding="utf-8")
    env = {"LOGSCRUB_KEY": TEST_SECRET, "LOGSCRUB_KEY_ID": keys.key_id, "LOGSCRUB_KEY_FILE": ""}
    assert CliRunner().invoke(quarantine_decrypt, [str(entries)], env=env).exit_code == 2
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("x")
    args = [str(entries), "--reason", "r", "--audit-log", str(blocked / "audit.log")]
    result = CliRunner().invoke(quarantine_decrypt, args, env=env)
    assert result.exit_code != 0
    assert EMAIL.decode() not in result.stdout


def test_quarantine_decrypt_without_the_key_exits_2(tmp_path, keys):
    from click.testing import CliRunner

    from pipeline.cli.stream import quarantine_decrypt

    entries = tmp_path / "entries.jsonl"
    entries.write_text(orjson.dumps(entry(keys)).decode() + "\n", encoding="utf-8")
    env = {"LOGSCRUB_KEY": "", "LOGSCRUB_KEY_FILE": ""}
    args = [str(entries), "--reason", "r", "--audit-log", str(tmp_path / "audit.log")]
    result = CliRunner().invoke(quarantine_decrypt, args, env=env)
    assert result.exit_code == 2
    assert EMAIL.decode() not in result.output
