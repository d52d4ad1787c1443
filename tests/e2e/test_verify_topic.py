"""`logscrub verify --topic`: against a real broker, raw records fail, clean ones pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kafka

SECRET = "verify-test-secret-0123456789-abcdefghijklm"
SAMPLE = Path(__file__).resolve().parents[2] / "pipeline" / "data" / "sample.log"


def _logscrub(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 — this package's own command
        [sys.executable, "-m", "pipeline", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
        env={"LOGSCRUB_KEY": SECRET, "PATH": "/usr/bin:/bin"},
    )


def test_verify_reads_a_topic_raw_fails_clean_passes(kafka_bootstrap, topic_factory, produce):
    raw_topic, clean_topic = topic_factory(partitions=2), topic_factory(partitions=2)
    raw = SAMPLE.read_bytes().splitlines()
    scrubbed = _logscrub("scrub", "-q", "-i", str(SAMPLE))
    assert scrubbed.returncode == 0
    produce(kafka_bootstrap, raw_topic, raw)
    produce(kafka_bootstrap, clean_topic, scrubbed.stdout.splitlines())

    failed = _logscrub("verify", "--no-ner", "--brokers", kafka_bootstrap, "--topic", raw_topic)
    assert failed.returncode == 1, failed.stderr.decode()
    assert f"records checked: {len(raw)};".encode() in failed.stdout
    assert b"13800138000" not in failed.stdout + failed.stderr

    passed = _logscrub("verify", "--no-ner", "--brokers", kafka_bootstrap, "--topic", clean_topic)
    assert passed.returncode == 0, passed.stdout.decode() + passed.stderr.decode()
    assert f"records checked: {len(raw)};".encode() in passed.stdout

    recent = _logscrub(
        "verify", "--no-ner", "--brokers", kafka_bootstrap, "--topic", raw_topic, "--since", "1h",
        "--sample", "0.5",
    )
    assert recent.returncode == 1
    checked = int(recent.stdout.split(b"records checked: ")[1].split(b";")[0])
    assert 0 < checked < len(raw)


def test_verify_names_a_missing_topic(kafka_bootstrap):
    done = _logscrub("verify", "--brokers", kafka_bootstrap, "--topic", "no.such.topic.here")
    assert done.returncode == 2
    assert b"does not exist" in done.stderr


def test_verify_follows_a_topic_and_exports_its_figures(kafka_bootstrap, topic_factory, produce):
    import os
    import socket
    import time
    import urllib.request

    topic = topic_factory(partitions=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(  # noqa: S603 — this package's own command
        [sys.executable, "-m", "pipeline", "verify", "--no-ner", "--brokers", kafka_bootstrap,
         "--topic", topic, "--follow", "--web-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"LOGSCRUB_KEY": SECRET, "PATH": os.environ["PATH"]},
    )
    try:
        produce(kafka_bootstrap, topic, SAMPLE.read_bytes().splitlines())
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:  # noqa: S310
                    text = r.read().decode()
            except OSError:
                text = ""
            if "logscrub_verify_records 10.0" in text:
                break
            time.sleep(0.2)
        assert "logscrub_verify_records 10.0" in text, text[-2000:]
        assert "logscrub_verify_records_with_residual 10.0" in text
        assert 'logscrub_verify_residual{entity="EMAIL_ADDRESS"}' in text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
