"""Schema drift against a real broker: a new field appears mid-stream, `logscrub drift`
names its path (never a value), and under `unknown_fields: quarantine` no record holding it
reaches the clean topic."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from tests.e2e.test_stream_support import Workers, group_id, make_route, read_all

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

POLICY = """version: 1
name: e2e_listed
unknown_fields: quarantine
fields:
  seq: {type: keep}
  level: {type: keep}
  msg: {type: keep}
  user.email: {type: pseudonymize, entity: EMAIL_ADDRESS}
"""
BEFORE, AFTER = 300, 100  # records without, then with, the new field
IMEI = "490154203237518"


def _value(seq: int) -> bytes:
    doc: dict[str, object] = {
        "seq": seq,
        "level": "INFO",
        "msg": "login ok",
        "user": {"email": f"user{seq}@example.com"},
    }
    if seq >= BEFORE:
        doc["device"] = {"imei": IMEI}
    return orjson.dumps(doc)


def test_a_new_field_is_reported_by_path_and_never_reaches_the_clean_topic(
    kafka_bootstrap: str, topic_factory, tmp_path: Path
) -> None:
    policy = tmp_path / "e2e_listed.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    route = make_route(tmp_path, topic_factory, partitions=2, policy=policy)
    workers = Workers(kafka_bootstrap, tmp_path)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        w = workers.start(
            route, group_id("drift"), extra_env={"LOGSCRUB_DRIFT_WARMUP_RECORDS": "50"}
        )
        w.wait_healthy(timeout=120)
        for seq in range(BEFORE + AFTER):
            producer.send(route.raw, value=_value(seq))
            if seq == BEFORE - 1:
                producer.flush(timeout=60)
                time.sleep(1.0)  # the baseline records first, so the warm-up is behind
        producer.flush(timeout=60)
        records = read_all(
            kafka_bootstrap,
            [route.clean, route.quarantine],
            lambda rs: len(rs) >= BEFORE + AFTER,
            timeout=180,
        )
        done = subprocess.run(  # noqa: S603 — this package's own command
            [sys.executable, "-m", "pipeline", "drift", "--url", w.url("")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        producer.close(timeout=10)
        workers.close()
    clean = [r for r in records if r.topic == route.clean]
    quarantined = [orjson.loads(r.value) for r in records if r.topic == route.quarantine]
    assert len(clean) == BEFORE and len(quarantined) == AFTER
    assert all(b'"device"' not in r.value for r in clean)
    assert {q["reason"] for q in quarantined} == {"unknown_field"}
    assert all(IMEI.encode() not in r.value for r in records)
    assert done.returncode == 0, done.stderr
    new_lines = [
        line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("new ")
    ]
    assert new_lines == ["device", "device.imei"], done.stdout
    assert IMEI not in done.stdout and "@example.com" not in done.stdout
