"""Why the exactly-once mode does not use Faust's ``processing_guarantee="exactly_once"``.

A plain Faust agent (raw bytes in, ``await topic.send(value=...)`` out) under Faust's
exactly-once guarantee, killed with SIGKILL mid-stream and restarted: a read_committed
consumer of its output sees duplicates, because Faust publishes agent output through its
non-transactional producer (``Topic.publish_message`` never passes a transactional id;
faust-streaming #177, #517). Measured with faust-streaming 0.15.3, 3,000 inputs: 4,536
and 4,235 committed outputs in two runs (1,536 and 1,235 duplicates, none lost).

Opt-in (about 15 s): ``LOGSCRUB_E2E_FAUST_EOS=1 pytest -m kafka -s
tests/e2e/test_stream_faust_eos.py``. Marked xfail(strict): if a Faust upgrade fixes it,
the test passes, which fails the run and says that the choice can be revisited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.e2e.test_stream_support import group_id, producer, report

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not os.environ.get("LOGSCRUB_E2E_FAUST_EOS"),
        reason="opt-in: set LOGSCRUB_E2E_FAUST_EOS=1 (documents a Faust bug)",
    ),
]

N = 3000
APP = textwrap.dedent(
    """
    import os
    import faust

    app = faust.App(
        os.environ["GID"],
        broker="kafka://" + os.environ["B"],
        processing_guarantee="exactly_once",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        store="memory://",
        datadir=os.environ["DATADIR"],
        broker_session_timeout=6,
        broker_heartbeat_interval=2,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
    )
    src = app.topic(os.environ["SRC"], key_type=bytes, value_type=bytes,
                    key_serializer="raw", value_serializer="raw")
    dst = app.topic(os.environ["DST"], key_type=bytes, value_type=bytes,
                    key_serializer="raw", value_serializer="raw")

    @app.agent(src)
    async def forward(stream):
        async for value in stream:
            await dst.send(value=value)

    if __name__ == "__main__":
        app.main()
    """
)


def _outputs(bootstrap: str, topic: str, isolation_level: str) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list = []
        idle = time.monotonic()
        while time.monotonic() - idle < 3:
            for rs in consumer.poll(timeout_ms=300).values():
                records.extend(rs)
                idle = time.monotonic()
        return records
    finally:
        consumer.close()


def _end_total(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return int(sum(consumer.end_offsets(tps).values()))
    finally:
        consumer.close()


@pytest.mark.xfail(strict=True, reason="Faust's exactly_once duplicates output after a kill")
def test_faust_exactly_once_has_no_duplicates_after_a_kill(
    kafka_bootstrap: str, topic_factory, tmp_path: Path
) -> None:
    src = topic_factory(partitions=3, prefix="e2e.faust-eos.src")
    dst = topic_factory(partitions=3, prefix="e2e.faust-eos.dst")
    app = tmp_path / "faust_eos_app.py"
    app.write_text(APP, encoding="utf-8")
    p = producer(kafka_bootstrap)
    try:
        for i in range(N):
            p.send(src, str(i).encode())
        p.flush(timeout=60)
    finally:
        p.close(timeout=10)
    env = {
        **os.environ,
        "B": kafka_bootstrap,
        "SRC": src,
        "DST": dst,
        "GID": group_id("faust-eos"),
        "DATADIR": str(tmp_path / "data"),
    }

    def start(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 — this interpreter, a file of this test
            [sys.executable, str(app), "worker", "-l", "info", "--without-web"],
            env=env,
            stdout=(tmp_path / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=str(tmp_path),
        )

    w1 = start("w1")
    try:
        deadline = time.monotonic() + 90
        while _end_total(kafka_bootstrap, dst) < N * 0.3:
            assert w1.poll() is None and time.monotonic() < deadline, "faust worker 1 failed"
            time.sleep(0.2)
        w1.kill()
        w1.wait(timeout=10)
        w2 = start("w2")
        try:
            deadline = time.monotonic() + 120
            while True:
                committed = _outputs(kafka_bootstrap, dst, "read_committed")
                values = Counter(int(r.value) for r in committed)
                if len(values) >= N or time.monotonic() > deadline:
                    break
        finally:
            w2.terminate()
            w2.wait(timeout=60)
    finally:
        if w1.poll() is None:
            w1.kill()
    duplicates = sum(n - 1 for n in values.values() if n > 1)
    report(
        f"[faust exactly_once] sent={N} committed outputs={sum(values.values())} "
        f"distinct={len(values)} duplicates={duplicates} lost={N - len(values)}"
    )
    assert duplicates == 0
