"""Key rotation (a ring of keys by id) and the hash-chained audit log of re-identification."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.audit import AuditError, append, verify_log
from pipeline.core.engine import Engine
from pipeline.core.policy import parse_policy
from pipeline.exceptions import ConfigError, KeyMissingError
from pipeline.keys import KeyRing, add_to_ring
from pipeline.operators.encrypt import reveal
from pipeline.stream.quarantine import SourceRef, build_entry, decrypt_entry

ENC_POLICY = (
    "version: 1\nname: enc\nunknown_fields: keep\nfields:\n"
    "  uid: {type: encrypt, entity: USER_ID}\n"
)
PSEUDO_POLICY = (
    "version: 1\nname: ps\nunknown_fields: keep\nfields:\n"
    "  uid: {type: pseudonymize, entity: USER_ID}\n"
)


def _clean(keys: KeyRing, policy: str, uid: str) -> str:
    out = Engine(parse_policy(policy), keys=keys, ner=False).apply(orjson.dumps({"uid": uid}))
    return str(orjson.loads(out.value)["uid"])


def test_generate_makes_a_private_ring_and_list_never_shows_a_secret(tmp_path):
    ring = tmp_path / "ring.yaml"
    assert add_to_ring(ring) == ("k1", ["k1"])
    assert add_to_ring(ring) == ("k2", ["k1", "k2"])
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    loaded = KeyRing.load(ring)
    assert loaded is not None and loaded.ids == ["k2", "k1"]
    done = subprocess.run(  # noqa: S603 — this package's own command
        [sys.executable, "-m", "pipeline", "keys", "list", "--key-file", str(ring)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["k2\tactive", "k1\tolder: reveal and decrypt only"]
    for line in ring.read_text().splitlines():
        if line.strip().startswith(("k1:", "k2:")):
            assert line.split(":", 1)[1].strip() not in done.stdout + done.stderr


def test_tokens_of_the_old_and_the_new_key_both_reveal_with_the_ring(tmp_path):
    ring = tmp_path / "ring.yaml"
    add_to_ring(ring)
    before = KeyRing.load(ring)
    assert before is not None
    old_token = _clean(before, ENC_POLICY, "u_1001")
    old_pseudonym = _clean(before, PSEUDO_POLICY, "u_1001")
    add_to_ring(ring)
    after = KeyRing.load(ring)
    assert after is not None
    new_token = _clean(after, ENC_POLICY, "u_2002")
    assert ":k1:enc:" in old_token and ":k2:enc:" in new_token
    assert reveal(old_token, after) == ("USER_ID", "u_1001")
    assert reveal(new_token, after) == ("USER_ID", "u_2002")
    # Pseudonyms change at rotation (the README's runbook says what analysts do).
    new_pseudonym = _clean(after, PSEUDO_POLICY, "u_1001")
    assert new_pseudonym != old_pseudonym and ":k2:" in new_pseudonym


def test_quarantine_entries_sealed_before_a_rotation_still_decrypt(tmp_path):
    ring = tmp_path / "ring.yaml"
    add_to_ring(ring)
    old = KeyRing.load(ring)
    sealed = build_entry(
        reason="invalid_utf8",
        source=SourceRef("logs.raw", 0, 7, None),
        route="r",
        policy_name="default",
        policy_digest="d",
        keys=old,
        value=b"\xffraw",
    )
    add_to_ring(ring)
    rotated = KeyRing.load(ring)
    assert rotated is not None and rotated.key_id == "k2"
    assert decrypt_entry(sealed, rotated).value == b"\xffraw"


def test_a_one_secret_file_becomes_a_ring_keeping_its_key(tmp_path, monkeypatch):
    monkeypatch.delenv("LOGSCRUB_KEY_ID", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text("single-secret-0123456789-abcdefghijklmnop\n")
    single = KeyRing.load(key_file)
    token = _clean(single, ENC_POLICY, "u_7")  # type: ignore[arg-type]
    add_to_ring(key_file)
    ring = KeyRing.load(key_file)
    assert ring is not None and ring.ids == ["k2", "k1"]
    assert reveal(token, ring) == ("USER_ID", "u_7")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "active: k9\nkeys:\n  k1: single-secret-0123456789-abcdefghijklmnop\n",
            "'k9' is not in the ring",
        ),
        ("active: k1\nkeys:\n  k1: short\n", "key k1: the secret key is too short"),
        ("active: k1\nkeys: [a, b]\n", "'keys' must map key ids to secrets"),
        ("keys:\n  k1: single-secret-0123456789-abcdefghijklmnop\n", "'active' must name"),
    ],
)
def test_a_broken_ring_is_named_without_its_secrets(tmp_path, text, message):
    ring = tmp_path / "ring.yaml"
    ring.write_text(text)
    with pytest.raises(KeyMissingError) as err:
        KeyRing.load(ring)
    assert message in str(err.value)
    assert "abcdefghij" not in str(err.value)


def test_a_duplicate_or_invalid_new_id_is_refused(tmp_path):
    ring = tmp_path / "ring.yaml"
    add_to_ring(ring, "2026q1")
    with pytest.raises(ConfigError):
        add_to_ring(ring, "2026q1")
    with pytest.raises(ConfigError):
        add_to_ring(ring, "no spaces allowed")


# ------------------------------------------------------------------ audit log


def _log(tmp_path: Path, n: int = 3) -> Path:
    log = tmp_path / "audit.log"
    for i in range(n):
        append(log, command="reveal", key_ids=["k1"], items=[f"d{i}"], reason=f"INC-{i}")
    return log


def test_a_log_as_written_verifies_with_its_head(tmp_path):
    log = _log(tmp_path)
    verified = verify_log(log)
    assert verified.records == 3
    assert verified.head == orjson.loads(log.read_bytes().splitlines()[-1])["hash"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_an_edited_record_fails_verification(tmp_path):
    log = _log(tmp_path)
    log.write_bytes(log.read_bytes().replace(b"INC-1", b"INC-9"))
    with pytest.raises(AuditError, match=r"audit.log:2: the record was changed"):
        verify_log(log)


def test_a_removed_record_fails_verification(tmp_path):
    log = _log(tmp_path)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[2])
    with pytest.raises(AuditError, match=r"audit.log:2: does not follow"):
        verify_log(log)


def test_reordered_records_fail_verification(tmp_path):
    log = _log(tmp_path)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[1] + lines[0] + lines[2])
    with pytest.raises(AuditError, match=r"audit.log:1"):
        verify_log(log)


def test_a_reason_is_required(tmp_path):
    with pytest.raises(AuditError, match="reason"):
        append(tmp_path / "audit.log", command="reveal", key_ids=[], items=[], reason="  ")


def test_reveal_writes_the_audit_record_first_and_never_the_value(tmp_path):
    ring = tmp_path / "ring.yaml"
    add_to_ring(ring)
    keys = KeyRing.load(ring)
    token = _clean(keys, ENC_POLICY, "u_31337")  # type: ignore[arg-type]
    log = tmp_path / "audit.log"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 — this package's own command
            [sys.executable, "-m", "pipeline", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                "PATH": os.environ["PATH"],
                "LOGSCRUB_KEY_FILE": str(ring),
                "LOGSCRUB_AUDIT_LOG": str(log),
            },
        )

    assert cli("reveal", token).returncode == 2  # no --reason
    assert not log.exists()
    done = cli("reveal", token, "--reason", "INC-31337 fraud review")
    assert done.returncode == 0 and done.stdout.strip() == "USER_ID\tu_31337"
    record = orjson.loads(log.read_bytes())
    assert record["reason"] == "INC-31337 fraud review" and record["key_ids"] == ["k1"]
    assert record["user"] and record["command"] == "reveal"
    assert b"u_31337" not in log.read_bytes() and token.encode() not in log.read_bytes()
    assert cli("audit", "verify").returncode == 0
    log.write_bytes(log.read_bytes().replace(b"fraud", b"audit"))
    failed = cli("audit", "verify")
    assert failed.returncode == 1 and "changed" in failed.stderr
    # An audit log that cannot be written: nothing is revealed.
    blocked = tmp_path / "file"
    blocked.write_text("x")
    done = subprocess.run(  # noqa: S603
        [
            sys.executable, "-m", "pipeline", "reveal", token,
            "--reason", "r", "--audit-log", str(blocked / "a.log"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"], "LOGSCRUB_KEY_FILE": str(ring)},
    )
    assert done.returncode == 1 and "u_31337" not in done.stdout
