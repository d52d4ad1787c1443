"""Secret key handling: one master secret, purpose-bound subkeys derived with HKDF.

Security: the master secret and the derived keys are never printed, logged or put in an
exception message. ``repr()`` of a :class:`KeyRing` shows only the key id.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

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
    """The derived keys of one master secret, tagged with a key id for rotation.

    The key id is part of every pseudonym and ciphertext token, so tokens made under an
    old key stay recognisable after rotation and ``reveal`` can pick the right key.
    """

    key_id: str
    pseudonym_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)  # 64 bytes: AES-256-SIV
    cryptopan_key: bytes = field(repr=False)  # 32 bytes: AES-128 key + pad, as CryptoPAn
    quarantine_key: bytes = field(repr=False)  # 64 bytes; quarantine payloads use [:32], AES-256-GCM

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
            return cls.from_secret(_read_key_file(Path(path)), kid)
        secret = env.get(ENV_KEY)
        if secret:
            return cls.from_secret(secret, kid)
        return None


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
