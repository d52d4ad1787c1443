"""`logscrub verify`: raw logs fail it, logscrub's own output of them passes, no value shown.

Real files and the real engine; the topic mode runs against a real broker in
tests/e2e/test_verify_topic.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.tools.verify import Verifier

SECRET = "verify-test-secret-0123456789-abcdefghijklm"
SAMPLE = Path(__file__).resolve().parents[2] / "pipeline" / "data" / "sample.log"
RAW_VALUES = ("13800138000", "a.b@example.com", "490154203237518")


@pytest.fixture(scope="module")
def keys() -> KeyRing:
    return KeyRing.from_secret(SECRET, "k1")


@pytest.fixture(scope="module")
def verifier(keys: KeyRing) -> Verifier:
    return Verifier(load_policy(None), keys, ner=False)


@pytest.fixture(scope="module")
def cleaned(keys: KeyRing) -> list[bytes]:
    engine = Engine(load_policy(None), keys=keys, ner=False)
    out = []
    for line in SAMPLE.read_bytes().splitlines():
        value = engine.apply(line).value
        if value is not None:
            out.append(value)
    return out


def test_raw_sample_logs_hold_residual_data_in_every_record(verifier):
    report = verifier.run(SAMPLE.read_bytes().splitlines())
    assert report.records == 10
    assert report.with_residual == 10
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "IMEI"} <= set(report.by_entity)
    assert ("EMAIL_ADDRESS", "user.email") in report.by_place


def test_logscrub_output_of_the_same_logs_has_none(verifier, cleaned):
    report = verifier.run(cleaned)
    assert report.records == len(cleaned) > 0
    assert report.with_residual == 0, list(report.lines())


def test_generalized_values_are_anonymized_output_not_leaks(verifier):
    # An IP generalized to its /24 and a coordinate rounded as the policy does.
    found = verifier.check(b'{"client_ip":"203.0.113.0","msg":"from 198.51.100.0"}')
    assert found == []
    found = verifier.check(b'{"client_ip":"203.0.113.7"}')
    assert [r.entity for r in found or []] == ["IP_ADDRESS"]


def test_personal_data_in_a_key_is_found_and_the_path_never_shows_it(verifier):
    found = verifier.check(b'{"contacts":{"li.wei@example.com":"13800138000"}}')
    assert found is not None
    assert [(r.entity, r.path) for r in found] == [
        ("EMAIL_ADDRESS", "contacts (key)"),
        ("PHONE_NUMBER", "contacts.<EMAIL_ADDRESS>"),
    ]


def test_the_report_never_holds_a_value_and_fingerprints_need_the_key(keys):
    raw = SAMPLE.read_bytes().splitlines()
    with_key = Verifier(load_policy(None), keys, ner=False).run(raw)
    text = "\n".join(with_key.lines())
    for value in RAW_VALUES:
        assert value not in text
    assert "e.g." in text
    without = Verifier(load_policy(None), None, ner=False).run(raw)
    assert "e.g." not in "\n".join(without.lines())
    assert without.by_place == with_key.by_place


def test_unreadable_records_are_counted_apart(verifier):
    report = verifier.run([b"\xff\xfe broken", None, b'{"ok":1}'])
    assert report.unreadable == 2 and report.records == 1


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 — this package's own command
        [sys.executable, "-m", "pipeline", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
        env={"LOGSCRUB_KEY": SECRET, "PATH": "/usr/bin:/bin"},
    )


def test_cli_raw_fails_and_scrubbed_passes(tmp_path):
    failed = _cli("verify", "--no-ner", "-i", str(SAMPLE))
    assert failed.returncode == 1
    assert b"100.00%" in failed.stdout
    scrubbed = _cli("scrub", "-q", "-i", str(SAMPLE))
    assert scrubbed.returncode == 0
    passed = _cli("verify", "--no-ner", "-i", "-", stdin=scrubbed.stdout)
    assert passed.returncode == 0, passed.stdout.decode() + passed.stderr.decode()
    for value in RAW_VALUES:
        assert value.encode() not in failed.stdout + failed.stderr


def test_cli_threshold_of_leaks_decides_the_exit_code(tmp_path):
    lines = [orjson.dumps({"msg": f"request {i} ok"}) for i in range(99)]
    lines.append(b'{"msg":"call 13800138000"}')
    f = tmp_path / "mixed.log"
    f.write_bytes(b"\n".join(lines) + b"\n")
    assert _cli("verify", "--no-ner", "-i", str(f), "--max-leak-rate", "0.02").returncode == 0
    assert _cli("verify", "--no-ner", "-i", str(f), "--max-leak-rate", "0.005").returncode == 1


def test_cli_usage_errors_exit_2():
    assert _cli("verify").returncode == 2
    assert _cli("verify", "-i", "-", "--topic", "x").returncode == 2
    missing = _cli("verify", "-i", "/nonexistent/file")
    assert missing.returncode == 3 and b"cannot read input" in missing.stderr
