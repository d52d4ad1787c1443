"""Quarantine entries: what the stream writes instead of a record it could not clean.

An entry says why (a reason code), where the record came from (topic, partition, offset,
timestamp), which policy failed on it, and, when the engine managed to scrub the line as
text, that scrubbed text. The raw record (value, key and headers) is kept only encrypted:
AES-256-GCM under the key ring's quarantine key, a fresh random nonce per entry, and the
source coordinates as associated data, so a ciphertext cannot be moved to another entry.
Without a key, or when the record is larger than the payload budget, the payload is left
out and the source coordinates are what a replay starts from.

:func:`decrypt_entry` is the replay path: whoever holds the key gets the raw record back.

Security: nothing in an entry is readable personal data. The error type is a class name,
never an exception message (messages can quote values). Pure: no Kafka, no I/O.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipeline.keys import KeyRing

VERSION: Final = 1
ALGORITHM: Final = "AES-256-GCM"
_NONCE_BYTES: Final = 12
_FRAME = struct.Struct(">iI")  # key length (-1: no key), headers-JSON length

#: Reason codes the stream adds to the engine's own (invalid_json, invalid_utf8,
#: too_deep, record_too_large, engine_error, too_slow).
ENGINE_EXCEPTION: Final = "engine_exception"  # Engine.apply raised
CLEAN_SEND_FAILED: Final = "clean_send_failed"  # the broker refused the cleaned record


class QuarantineDecryptError(ValueError):
    """A payload cannot be decrypted: wrong key, wrong key id, or a tampered entry."""


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a record came from; enough to find it again in the source topic."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A decrypted quarantine payload: the record exactly as it arrived."""

    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes | None]]


def _aad(source: SourceRef) -> bytes:
    # Binds the ciphertext to its coordinates: copying a payload into another entry (to
    # have it replayed as a different record) fails authentication.
    return (
        f"logscrub-quarantine/v{VERSION}|{source.topic}|{source.partition}|{source.offset}".encode()
    )


def _frame(
    value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> bytes:
    # A header value may be null (the protocol allows it): kept as JSON null, so the
    # decrypted record is the record exactly as it arrived.
    hdrs = (
        orjson.dumps([[k, None if v is None else base64.b64encode(v).decode()] for k, v in headers])
        if headers
        else b""
    )
    return b"".join(
        (
            _FRAME.pack(-1 if key is None else len(key), len(hdrs)),
            key or b"",
            hdrs,
            value or b"",
        )
    )


def _unframe(blob: bytes) -> RawRecord:
    key_len, hdr_len = _FRAME.unpack_from(blob)
    pos = _FRAME.size
    key = None if key_len < 0 else blob[pos : pos + key_len]
    pos += max(key_len, 0)
    hdrs_raw = blob[pos : pos + hdr_len]
    pos += hdr_len
    headers = (
        [(k, None if v is None else base64.b64decode(v)) for k, v in orjson.loads(hdrs_raw)]
        if hdrs_raw
        else []
    )
    return RawRecord(value=blob[pos:], key=key, headers=headers)


def payload_size(
    value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes | None]] | None
) -> int:
    """Bytes of the raw record, as counted against the payload budget."""
    return (
        len(value or b"")
        + len(key or b"")
        + sum(len(k) + len(v or b"") for k, v in headers or [])
    )


def build_entry(
    *,
    reason: str,
    source: SourceRef,
    route: str,
    policy_name: str,
    policy_digest: str,
    keys: KeyRing | None,
    value: bytes | None,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes | None]] | None = None,
    scrubbed: bytes | None = None,
    error_type: str | None = None,
    max_payload_bytes: int = 300_000,
    include_payload: bool = True,
    now: datetime | None = None,
) -> bytes:
    """Build one quarantine entry (JSON bytes).

    Args:
        reason: reason code (an ``Outcome.issue`` or one of this module's constants).
        source: where the record came from.
        route: the route name.
        policy_name: the policy that was applied.
        policy_digest: its version.
        keys: the key ring; without one the payload is omitted (``payload_omitted: no_key``).
        value: the raw record value, encrypted into the payload, never written as is.
        key: the raw Kafka key, encrypted with the value.
        headers: the raw Kafka headers, encrypted with the value.
        scrubbed: the record as the engine scrubbed it as text (safe to show), if any.
        error_type: the exception class name for ``engine_exception`` and send failures.
        max_payload_bytes: larger raw records are omitted (``payload_omitted: too_large``);
            the scrubbed text is cut to the same budget.
        include_payload: False writes the entry without the payload
            (``payload_omitted: send_failed``), the fallback when an entry was refused.
        now: the time of quarantine (for tests).

    Returns:
        The entry, compact JSON.
    """
    raw_size = payload_size(value, key, headers)
    payload: dict[str, Any] | None = None
    omitted: str | None = None
    if not include_payload:
        omitted = "send_failed"
    elif keys is None:
        omitted = "no_key"
    elif raw_size > max_payload_bytes:
        omitted = "too_large"
    else:
        payload = encrypt_payload(keys, source, value, key, headers or [])
    text: str | None = None
    truncated = False
    if scrubbed is not None and include_payload:
        # Scrubbed output is safe to show; cutting it (even mid-token) leaks nothing.
        budget = max(max_payload_bytes, 1024)
        truncated = len(scrubbed) > budget
        text = scrubbed[:budget].decode("utf-8", errors="replace")
    doc: dict[str, Any] = {
        "v": VERSION,
        "reason": reason,
        "error_type": error_type,
        "route": route,
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp_ms": source.timestamp_ms,
        },
        "policy": {"name": policy_name, "digest": policy_digest},
        "key_id": keys.key_id if keys is not None else None,
        "bytes": raw_size,
        "scrubbed": text,
        "scrubbed_truncated": truncated,
        "payload": payload,
        "payload_omitted": omitted,
        "quarantined_at": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
    }
    return orjson.dumps(doc)


def encrypt_payload(
    keys: KeyRing,
    source: SourceRef,
    value: bytes | None,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> dict[str, Any]:
    """Encrypt a raw record for a quarantine entry (AES-256-GCM, random nonce)."""
    nonce = os.urandom(_NONCE_BYTES)
    # The ring's quarantine key is 64 bytes (sized for AES-SIV); GCM takes the first 32.
    sealed = AESGCM(keys.quarantine_key[:32]).encrypt(
        nonce, _frame(value, key, headers), _aad(source)
    )
    return {
        "alg": ALGORITHM,
        "key_id": keys.key_id,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }


def decrypt_entry(
    entry: bytes | Mapping[str, Any], keys: KeyRing | Mapping[str, KeyRing]
) -> RawRecord:
    """Recover the raw record of a quarantine entry (the replay path, under key control).

    Args:
        entry: the entry as written by :func:`build_entry` (bytes or parsed).
        keys: the key ring, or key rings by key id (after a rotation).

    Returns:
        The raw value, key and headers, exactly as they arrived.

    Raises:
        QuarantineDecryptError: no payload, unknown key id, or authentication failed.
            Messages name the reason, never content.
    """
    doc = orjson.loads(entry) if isinstance(entry, bytes | bytearray | str) else entry
    payload = doc.get("payload") if isinstance(doc, Mapping) else None
    if not isinstance(payload, Mapping):
        omitted = doc.get("payload_omitted") if isinstance(doc, Mapping) else None
        msg = f"the entry has no payload ({omitted or 'not a quarantine entry'})"
        raise QuarantineDecryptError(msg)
    if payload.get("alg") != ALGORITHM:
        msg = "unknown payload algorithm"
        raise QuarantineDecryptError(msg)
    key_id = payload.get("key_id")
    ring = keys.for_id(str(key_id)) if isinstance(keys, KeyRing) else keys.get(str(key_id))
    if ring is None or ring.key_id != key_id:
        msg = f"the payload is sealed under key id {key_id!r}, which is not loaded"
        raise QuarantineDecryptError(msg)
    src = doc["source"]
    source = SourceRef(
        src["topic"], int(src["partition"]), int(src["offset"]), src.get("timestamp_ms")
    )
    try:
        blob = AESGCM(ring.quarantine_key[:32]).decrypt(
            base64.b64decode(payload["nonce"]),
            base64.b64decode(payload["ciphertext"]),
            _aad(source),
        )
    except (InvalidTag, ValueError, KeyError):
        msg = "the payload does not authenticate (wrong key, or the entry was altered)"
        raise QuarantineDecryptError(msg) from None
    return _unframe(blob)
