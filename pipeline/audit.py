"""The re-identification audit log: one hash-chained record per ``reveal`` or
``quarantine-decrypt`` call, written before anything is revealed.

Each line is a JSON object::

    {"seq": 3, "time": "2026-12-06T10:02:11Z", "user": "alice", "command": "reveal",
     "key_ids": ["k2"], "items": ["3f2a...", ...], "reason": "INC-4411 fraud case",
     "prev": "<hash of record 2>", "hash": "<SHA-256 of prev + this record>"}

``items`` are keyed digests (HMAC-SHA256 under a key derived from the active key) of the
tokens revealed or of the quarantine entries' source coordinates: an auditor holding the key
can tell which token was revealed, and the log itself reveals nothing. The revealed value
is never written.

The chain (each record's ``hash`` covers the previous record's hash) makes an edited or
removed record, or records out of order, fail :func:`verify_log`. Truncating the newest
records is only detected against a head hash kept elsewhere: ``logscrub audit verify``
prints it; keep it with the incident.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from pipeline.exceptions import LogscrubError
from pipeline.keys import KeyRing

__all__ = ["AuditError", "ENV_AUDIT_LOG", "append", "default_path", "digest", "verify_log"]

ENV_AUDIT_LOG = "LOGSCRUB_AUDIT_LOG"
_GENESIS = "0" * 64
_TAIL_BYTES = 1 << 16  # the last record is found in the file's last 64 KiB


class AuditError(LogscrubError):
    """The audit log cannot be written, or does not verify. Never holds a value."""


def default_path() -> Path:
    """``$LOGSCRUB_AUDIT_LOG``, else ``$XDG_STATE_HOME/logscrub/audit.log`` (``~/.local/state``)."""
    given = os.environ.get(ENV_AUDIT_LOG)
    if given:
        return Path(given)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "logscrub" / "audit.log"


def digest(keys: KeyRing, item: str) -> str:
    """The keyed digest of a token or an entry's coordinates (32 hex)."""
    audit_key = hmac.new(keys.pseudonym_key, b"logscrub-audit", hashlib.sha256).digest()
    return hmac.new(audit_key, item.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[
        :32
    ]


def _record_hash(prev: str, body: dict[str, object]) -> str:
    return hashlib.sha256(
        prev.encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def _last_record(f: object) -> dict[str, object] | None:
    fd = f.fileno()  # type: ignore[attr-defined]
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    lines = [line for line in tail.split(b"\n") if line.strip()]
    if not lines:
        return None
    try:
        last = orjson.loads(lines[-1])
    except orjson.JSONDecodeError:
        raise AuditError(
            "the audit log's last record is not JSON: run logscrub audit verify"
        ) from None
    if not isinstance(last, dict) or "hash" not in last or "seq" not in last:
        raise AuditError("the audit log's last record is not an audit record")
    return last


def append(
    path: Path, *, command: str, key_ids: Iterable[str], items: Iterable[str], reason: str
) -> int:
    """Append one record (under an exclusive lock) and flush it to disk; returns its seq.

    Raises:
        AuditError: the log cannot be created, locked or written; the caller must then
            reveal nothing.
    """
    if not reason.strip():
        raise AuditError("a reason is required (--reason: the case or ticket it is for)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise AuditError(f"cannot open the audit log {path} ({exc.strerror})") from None
    with os.fdopen(fd, "r+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            last = _last_record(f)
            body: dict[str, object] = {
                "seq": 1 if last is None else int(last["seq"]) + 1,  # type: ignore[call-overload]
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user": _os_user(),
                "command": command,
                "key_ids": sorted(set(key_ids)),
                "items": list(items),
                "reason": reason.strip(),
                "prev": _GENESIS if last is None else str(last["hash"]),
            }
            body["hash"] = _record_hash(str(body["prev"]), body)
            f.write(orjson.dumps(body) + b"\n")
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {path} ({exc.strerror})") from None
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    seq = body["seq"]
    assert isinstance(seq, int)  # noqa: S101 — set above
    return seq


@dataclass(frozen=True)
class Verified:
    """A log that verifies: its record count and the hash of its newest record."""

    records: int
    head: str


def verify_log(path: Path) -> Verified:
    """Check every record's hash and its link to the previous one.

    Raises:
        AuditError: naming the first line that does not verify (an edit, a removal, a
            reordering), or the file that cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"cannot read the audit log {path} ({exc.strerror})") from None
    prev = _GENESIS
    seq = 0
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise AuditError(f"{path}:{number}: not a JSON record") from None
        if not isinstance(record, dict):
            raise AuditError(f"{path}:{number}: not an audit record")
        stated = record.pop("hash", None)
        if record.get("prev") != prev:
            raise AuditError(
                f"{path}:{number}: does not follow the record before it "
                "(removed or reordered records)"
            )
        if record.get("seq") != seq + 1:
            raise AuditError(
                f"{path}:{number}: sequence number {record.get('seq')!r}, expected {seq + 1}"
            )
        if stated != _record_hash(prev, record):
            raise AuditError(f"{path}:{number}: the record was changed after it was written")
        prev, seq = str(stated), seq + 1
    return Verified(seq, prev)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"
