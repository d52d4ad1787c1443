"""Secret key handling: master secrets by key id, purpose-bound subkeys derived with HKDF.

A key file holds one secret, or a key ring (YAML) of several by id, one of them active::

    # logscrub key ring (mode 0600)
    active: k2
    keys:
      k1: "...older secret: still reveals and decrypts what was made under k1..."
      k2: "...the secret new pseudonyms and tokens are made with..."

Tokens carry their key id, so ``reveal``, ``quarantine-decrypt`` and the verifier pick the
key a token was made under (:meth:`KeyRing.for_id`); new tokens use the active key.

Security: the master secret and the derived keys are never printed, logged or put in an
exception message. ``repr()`` of a :class:`KeyRing` shows only the key id.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipeline.exceptions import ConfigError, ConfigIssue, KeyMissingError

MIN_SECRET_CHARS = 32
# A secret of 32 identical characters (or a short word repeated) has the length and
# none of the entropy: its HMAC pseudonyms are as reversible as a bare hash. Random
# keys clear this easily (32 random hex characters have fewer than 8 distinct ones
# with a probability below 10^-6; token_urlsafe keys have ~30).
MIN_DISTINCT_CHARS = 8
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
ENV_KEY = "LOGSCRUB_KEY"
ENV_KEY_FILE = "LOGSCRUB_KEY_FILE"
ENV_KEY_ID = "LOGSCRUB_KEY_ID"
DEFAULT_KEY_ID = "k1"


def _derive(secret: bytes, purpose: bytes, length: int) -> bytes:
    # HKDF gives independent keys per purpose: leaking the CryptoPAn key (whose output is
    # structurally revealing) tells nothing about the pseudonym or encryption keys.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"logscrub/v1", info=purpose).derive(
        secret
    )


@dataclass(frozen=True)
class KeyRing:
    """The derived keys of the active master secret, tagged with its key id, and the
    older keys of a ring by id (for tokens made before a rotation).

    The key id is part of every pseudonym and ciphertext token, so tokens made under an
    old key stay recognisable after rotation and ``reveal`` can pick the right key.
    """

    key_id: str
    pseudonym_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)  # 64 bytes: AES-256-SIV
    cryptopan_key: bytes = field(repr=False)  # 32 bytes: AES-128 key + pad, as CryptoPAn
    quarantine_key: bytes = field(
        repr=False
    )  # 64 bytes; quarantine payloads use [:32], AES-256-GCM
    older: Mapping[str, KeyRing] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ids(self) -> list[str]:
        """Every key id this ring can decrypt with, the active one first."""
        return [self.key_id, *sorted(self.older)]

    def for_id(self, key_id: str) -> KeyRing | None:
        """The keys of ``key_id`` (the active ones or an older key's); None if not held."""
        return self if key_id == self.key_id else self.older.get(key_id)

    @classmethod
    def from_secret(cls, secret: str, key_id: str = DEFAULT_KEY_ID) -> KeyRing:
        """Derive a key ring from a master secret.

        Raises:
            KeyMissingError: the secret is shorter than 32 characters.
            ConfigError: the key id is not 1-16 of ``[A-Za-z0-9_-]``.
        """
        secret = secret.strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise KeyMissingError(
                f"the secret key is too short ({len(secret)} characters, "
                f"at least {MIN_SECRET_CHARS} needed)"
            )
        distinct = len(set(secret))
        if distinct < MIN_DISTINCT_CHARS:
            raise KeyMissingError(
                f"the secret key is too predictable ({distinct} distinct characters, at "
                f"least {MIN_DISTINCT_CHARS} needed); generate one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if not KEY_ID_RE.match(key_id):
            raise ConfigError(
                [ConfigIssue(ENV_KEY_ID, None, "key_id", "must be 1-16 of A-Z a-z 0-9 _ -")]
            )
        raw = secret.encode()
        return cls(
            key_id=key_id,
            pseudonym_key=_derive(raw, b"pseudonym", 32),
            encryption_key=_derive(raw, b"encrypt", 64),
            cryptopan_key=_derive(raw, b"cryptopan", 32),
            quarantine_key=_derive(raw, b"quarantine", 64),
        )

    @classmethod
    def from_ring(
        cls, secrets_by_id: Mapping[str, str], active: str, source: str = "key ring"
    ) -> KeyRing:
        """The ring of several secrets by id, ``active`` making new tokens.

        Raises:
            KeyMissingError: ``active`` is not in the ring, or a secret is too weak (the
                message names its key id, never the secret).
            ConfigError: a key id is not 1-16 of ``[A-Za-z0-9_-]``.
        """
        if active not in secrets_by_id:
            raise KeyMissingError(
                f"{source}: the active key id {active!r} is not in the ring "
                f"(ids: {', '.join(sorted(secrets_by_id)) or 'none'})"
            )
        rings: dict[str, KeyRing] = {}
        for kid, secret in secrets_by_id.items():
            try:
                rings[kid] = cls.from_secret(secret, kid)
            except KeyMissingError as exc:
                raise KeyMissingError(f"{source}: key {kid}: {exc}") from None
        head = rings.pop(active)
        return cls(
            key_id=head.key_id,
            pseudonym_key=head.pseudonym_key,
            encryption_key=head.encryption_key,
            cryptopan_key=head.cryptopan_key,
            quarantine_key=head.quarantine_key,
            older=rings,
        )

    @classmethod
    def load(
        cls,
        key_file: str | Path | None = None,
        key_id: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> KeyRing | None:
        """Load the key from ``key_file``, else ``$LOGSCRUB_KEY_FILE``, else ``$LOGSCRUB_KEY``.

        Returns None when no key is configured anywhere; callers that need one raise
        :class:`KeyMissingError`.
        """
        env = os.environ if environ is None else environ
        kid = key_id or env.get(ENV_KEY_ID) or DEFAULT_KEY_ID
        path = key_file or env.get(ENV_KEY_FILE)
        if path:
            text = _read_key_file(Path(path))
            ring = _parse_ring(text, str(path))
            if ring is not None:
                active, secrets_by_id = ring
                return cls.from_ring(
                    secrets_by_id, key_id or env.get(ENV_KEY_ID) or active, str(path)
                )
            return cls.from_secret(text, kid)
        secret = env.get(ENV_KEY)
        if secret:
            return cls.from_secret(secret, kid)
        return None


def _parse_ring(text: str, source: str) -> tuple[str, dict[str, str]] | None:
    """``(active id, secrets by id)`` of a key ring file; None for a one-secret file.

    Raises:
        KeyMissingError: it reads as a ring (a ``keys:`` mapping) but is not a valid one.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # a secret with YAML-special characters: a one-secret file
    if not isinstance(doc, dict) or "keys" not in doc:
        return None
    keys = doc.get("keys")
    active = doc.get("active")
    if (
        not isinstance(keys, dict)
        or not keys
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items())
    ):
        raise KeyMissingError(f"{source}: 'keys' must map key ids to secrets (text)")
    if not isinstance(active, str):
        raise KeyMissingError(f"{source}: 'active' must name the key id new tokens use")
    return active, dict(keys)


def new_secret() -> str:
    """A fresh random master secret (64 URL-safe characters, 384 bits)."""
    return secrets.token_urlsafe(48)


def add_to_ring(path: Path, key_id: str | None = None) -> tuple[str, list[str]]:
    """Add a new random key to the ring file ``path`` (created when missing, or converted
    from a one-secret file, whose secret keeps ``$LOGSCRUB_KEY_ID`` or ``k1``) and make it
    active. Written atomically with mode 0600. Returns (new id, all ids).

    Raises:
        KeyMissingError: the file exists and is not a valid key file.
        ConfigError: ``key_id`` is invalid or already in the ring.
    """
    secrets_by_id: dict[str, str] = {}
    if path.exists():
        text = _read_key_file(path)
        ring = _parse_ring(text, str(path))
        if ring is not None:
            secrets_by_id = ring[1]
        else:
            old_id = os.environ.get(ENV_KEY_ID) or DEFAULT_KEY_ID
            KeyRing.from_secret(text, old_id)  # refuses a weak or bad one
            secrets_by_id = {old_id: text.strip()}
    if key_id is None:
        n = len(secrets_by_id) + 1
        while f"k{n}" in secrets_by_id:
            n += 1
        key_id = f"k{n}"
    if not KEY_ID_RE.match(key_id) or key_id in secrets_by_id:
        why = (
            "is already in the ring"
            if key_id in secrets_by_id
            else "must be 1-16 of A-Z a-z 0-9 _ -"
        )
        raise ConfigError([ConfigIssue(str(path), None, "key_id", f"{key_id!r} {why}")])
    secrets_by_id[key_id] = new_secret()
    body = yaml.safe_dump({"active": key_id, "keys": secrets_by_id}, sort_keys=False)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# logscrub key ring: keep it secret. New tokens use 'active'; older keys\n")
        f.write("# still reveal and decrypt what was made under them (logscrub keys list).\n")
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return key_id, sorted(secrets_by_id)


def _read_key_file(path: Path) -> str:
    """The text of a key file, which must be a regular file.

    A FIFO (or a terminal, a socket) would block the read until someone writes to it:
    the worker would hang at start-up without a word. Opened non-blocking and checked
    on the open descriptor, so a file swapped in between cannot slip through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise KeyMissingError(f"the key file {path} cannot be read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KeyMissingError(
                f"the key file {path} is not a regular file (a FIFO, device or directory); "
                "put the key in a plain file"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError as exc:
        raise KeyMissingError(f"the key file {path} cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyMissingError(f"the key file {path} is not UTF-8 text") from None
