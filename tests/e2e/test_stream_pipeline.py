"""The stream pipeline against a real broker: records, keys, manifests, poison, scaling out.

Every test runs ``logscrub worker`` as a subprocess on its own topics and consumer group.
"""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from pipeline.stream.manifest import HEADER, Manifest
from pipeline.stream.quarantine import decrypt_entry
from tests.e2e.test_stream_support import (
    KEYS,
    TEST_KEY_ID,
    Feed,
    Workers,
    account,
    accounted,
    assert_nothing_raw,
    drop_policy,
    email,
    group_id,
    is_debug,
    make_route,
    producer,
    read_all,
    record,
    report,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path):
    ws = Workers(kafka_bootstrap, tmp_path)
    yield ws
    ws.close()


# Both runners, one contract: the same outputs, manifest, metrics and shutdown.
RUNNERS = pytest.mark.parametrize(
    ("guarantee", "runner"),
    [("at_least_once", "faust"), ("at_least_once", "batch"), ("exactly_once", "batch")],
    ids=["at_least_once", "batch-at_least_once", "exactly_once"],
)


@RUNNERS
def test_json_and_text_records_come_out_clean_with_keys_and_manifest(
    kafka_bootstrap: str,
    topic_factory,
    tmp_path: Path,
    workers: Workers,
    guarantee: str,
    runner: str,
) -> None:
    route = make_route(tmp_path, topic_factory, policy=drop_policy(tmp_path))
    feed = Feed(kafka_bootstrap, route.raw)
    n = 200
    drops = {s for s in range(n) if is_debug(s)}
    try:
        feed.send(range(n))
        w = workers.start(
            route, group_id(f"basic-{guarantee}"), guarantee=guarantee, runner=runner
        )
        w.wait_healthy()
        records = read_all(
            kafka_bootstrap,
            [route.clean, route.quarantine],
            accounted(feed, route, n, drops),
            timeout=60,
        )
    finally:
        feed.close()
    acc = account(feed, route, records, drops)
    report(acc.figures(f"json+text/{runner}/{guarantee}"))
    assert acc.lost == [] and acc.quarantined == 0 and acc.unknown == 0
    assert acc.cleaned == n - len(drops) and acc.leaked_drops == 0 and acc.duplicates == 0

    clean = [r for r in records if r.topic == route.clean]
    # Nothing raw on the clean topic: not in values, keys or headers.
    assert_nothing_raw([r.value for r in clean], range(n), "clean values")
    assert_nothing_raw([r.key or b"" for r in clean], range(n), "clean keys")
    assert_nothing_raw(
        [b"".join(v for _, v in r.headers) for r in clean], range(n), "clean headers"
    )

    by_seq = {}
    for r in clean:
        doc = orjson.loads(r.value) if r.value.startswith(b"{") else None
        seq = doc["seq"] if doc else int(r.value.split(b" ")[0].split(b"=")[1])
        by_seq[seq] = r
    # JSON keeps its shape; text lines stay lines; values are pseudonymized under the key id.
    even = orjson.loads(by_seq[0].value)
    assert not drops & set(by_seq)
    assert set(even) == {"seq", "level", "user", "msg"}
    assert even["user"]["email"].startswith(f"<EMAIL_ADDRESS:{TEST_KEY_ID}:")
    assert by_seq[1].value.startswith(b"seq=1 user=<EMAIL_ADDRESS:")
    # Keys are pseudonymized, consistently with the same value inside the record.
    assert by_seq[0].key.decode() == even["user"]["email"]
    # The same key pseudonym always lands on the same partition (per-user order kept).
    assert len({(r.key, r.partition) for r in clean}) == len({r.key for r in clean})
    # Every cleaned record carries the manifest: policy, version, key id, counts, no values.
    for r in clean:
        manifest = Manifest.decode(dict(r.headers)[HEADER])
        assert manifest.policy == "e2e_drops" and manifest.key_id == TEST_KEY_ID
        assert manifest.entities.get("EMAIL_ADDRESS", 0) >= 1
    # The log time of the record is kept.
    assert all(r.timestamp > 0 for r in clean)

    text = w.metrics_text()
    assert w.counter("logscrub_stream_records_in", text) == n
    assert w.counter("logscrub_stream_records_out", text) == n - len(drops)
    assert w.counter("logscrub_stream_records_dropped", text) == len(drops)
    assert 'logscrub_stream_entities_total{entity="EMAIL_ADDRESS",route="e2e"}' in text
    assert 'logscrub_stream_consumer_lag{route="e2e"} 0.0' in text
    assert 'logscrub_stream_assigned_partitions{route="e2e"} 3.0' in text
    assert 'logscrub_stream_processing_seconds_count{route="e2e"} 200.0' in text
    assert_nothing_raw([text.encode()], range(n), "/metrics")
    rc, took = w.terminate()
    report(f"[json+text/{runner}/{guarantee}] SIGTERM: exit {rc} in {took:.1f}s")
    assert rc == 0
    assert_nothing_raw(workers.logs(), range(n), "worker log")


@RUNNERS
def test_poison_records_are_quarantined_with_nothing_raw_anywhere(
    kafka_bootstrap: str,
    topic_factory,
    tmp_path: Path,
    workers: Workers,
    guarantee: str,
    runner: str,
) -> None:
    big = 8 * 1_048_576
    route = make_route(
        tmp_path,
        topic_factory,
        partitions=1,
        raw_configs={"max.message.bytes": str(big)},
        # Small enough that a valid 150 kB record is refused there: the fallback path.
        clean_configs={"max.message.bytes": "100000"},
    )
    secret = email(7).encode()
    inputs = {
        "invalid_utf8": b"\xff\xfe login " + secret + b" \xc3\x28",
        "invalid_json": orjson.dumps({"user": {"id": "u_10293", "email": email(7)}})[:-2],
        "record_too_large": b'{"user":"' + secret + b'","blob":"' + b"x" * (5 * 1_048_576) + b'"}',
        "too_deep": b'{"a":' * 10_000 + b'"' + secret + b'"' + b"}" * 10_000,
        "clean_send_failed": orjson.dumps({"user": email(7), "pad": "y" * 150_000}),
        "fine": record(8)[1],
    }
    p = producer(kafka_bootstrap, max_request_size=big)
    where = {}
    try:
        for name, value in inputs.items():
            meta = p.send(route.raw, value=value, key=secret).get(timeout=30)
            where[meta.offset] = name
    finally:
        p.close(timeout=10)
    w = workers.start(
        route,
        group_id(f"poison-{runner}-{guarantee}"),
        guarantee=guarantee,
        runner=runner,
        extra_env={"LOGSCRUB_MAX_REQUEST_BYTES": str(big)},
    )
    w.wait_healthy()
    records = read_all(
        kafka_bootstrap,
        [route.clean, route.quarantine],
        lambda rs: len(rs) >= len(inputs),
        timeout=60,
    )
    clean = [r for r in records if r.topic == route.clean]
    entries = [orjson.loads(r.value) for r in records if r.topic == route.quarantine]
    reasons = {where[e["source"]["offset"]]: e for e in entries}
    report(
        f"[poison/{runner}/{guarantee}] sent={len(inputs)} cleaned={len(clean)} "
        f"quarantined={len(entries)} "
        f"reasons={ {k: v['reason'] for k, v in reasons.items()} }"
    )
    assert len(clean) == 1
    assert set(reasons) == set(inputs) - {"fine"}
    expected = {k: k for k in inputs}
    for name, entry in reasons.items():
        assert entry["reason"] == expected[name], name
        assert entry["policy"]["name"] == "default" and entry["key_id"] == TEST_KEY_ID
        assert entry["source"]["topic"] == route.raw
    # Scrubbed text where the engine could scan the line; the email is a pseudonym there.
    assert "<EMAIL_ADDRESS:" in reasons["invalid_utf8"]["scrubbed"]
    # Broken JSON keeps its field names' evidence: the user id is a pseudonym too.
    assert "<EMAIL_ADDRESS:" in reasons["invalid_json"]["scrubbed"]
    assert "<USER_ID:" in reasons["invalid_json"]["scrubbed"]
    assert reasons["record_too_large"]["scrubbed"] is None
    assert reasons["record_too_large"]["payload_omitted"] == "too_large"
    assert reasons["clean_send_failed"]["error_type"] == "MessageSizeTooLargeError"
    # Raw payloads are only encrypted, and the key holder gets them back byte for byte.
    for name in ("invalid_utf8", "invalid_json", "clean_send_failed"):
        raw = decrypt_entry(reasons[name], KEYS)
        assert raw.value == inputs[name] and raw.key == secret
    # Nothing raw anywhere: clean topic, quarantine topic (every byte), worker log.
    blobs = [r.value for r in records] + [r.key or b"" for r in records] + workers.logs()
    for blob in blobs:
        assert secret not in blob
        assert base64.b64encode(secret) not in blob
    assert w.counter("logscrub_stream_records_quarantined") == len(inputs) - 1
    assert w.proc.poll() is None, "the worker keeps going after poison records"


def test_two_workers_in_one_group_share_the_partitions(
    kafka_bootstrap: str, topic_factory, tmp_path: Path, workers: Workers
) -> None:
    route = make_route(tmp_path, topic_factory, partitions=4)
    gid = group_id("share")
    w1 = workers.start(route, gid, name="w1")
    w2 = workers.start(route, gid, name="w2")
    w1.wait_healthy()
    w2.wait_healthy()
    n = 400
    feed = Feed(kafka_bootstrap, route.raw)
    try:
        feed.send(range(n))
        records = read_all(
            kafka_bootstrap, [route.clean, route.quarantine], accounted(feed, route, n), timeout=90
        )
    finally:
        feed.close()
    acc = account(feed, route, records)
    assigned = [w.health()[1].get("assigned_partitions") for w in (w1, w2)]
    processed = [w.counter("logscrub_stream_records_in") for w in (w1, w2)]
    report(acc.figures("two workers") + f" assigned={assigned} processed={processed}")
    assert acc.lost == [] and acc.unknown == 0
    assert sum(assigned) == 4 and min(assigned) >= 1
    assert min(processed) > 0 and sum(processed) >= n
    assert_nothing_raw([r.value for r in records], range(n), "outputs")
