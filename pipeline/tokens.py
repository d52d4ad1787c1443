"""The text form of logscrub's replacement tokens, and how to recognise them again.

* redaction:  ``<EMAIL_ADDRESS>``
* pseudonym:  ``<EMAIL_ADDRESS:k1:9f86d081884c7d65>``   (HMAC-SHA256, truncated hex)
* ciphertext: ``<EMAIL_ADDRESS:k1:enc:AbC...>``         (AES-SIV, URL-safe base64)

Tokens carry the entity type (analysts see what was there) and the key id (keys rotate).
The scanner skips anything shaped like a token, so scrubbing twice is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TOKEN_RE = re.compile(r"<[A-Z][A-Z0-9_]*(?::[A-Za-z0-9_\-]+){0,3}>")
_ENC_RE = re.compile(
    r"^<(?P<entity>[A-Z][A-Z0-9_]*):(?P<kid>[A-Za-z0-9_-]{1,16}):enc:(?P<data>[A-Za-z0-9_-]+)>$"
)


def pseudonym_token(entity: str, key_id: str, digest_hex: str) -> str:
    """Format a pseudonym token."""
    return f"<{entity}:{key_id}:{digest_hex}>"


def encrypted_token(entity: str, key_id: str, data_b64: str) -> str:
    """Format a ciphertext token."""
    return f"<{entity}:{key_id}:enc:{data_b64}>"


@dataclass(frozen=True)
class EncryptedToken:
    """The parts of a ciphertext token."""

    entity: str
    key_id: str
    data_b64: str


def parse_encrypted(token: str) -> EncryptedToken | None:
    """Parse a ciphertext token; None if ``token`` is not one."""
    m = _ENC_RE.match(token.strip())
    if m is None:
        return None
    return EncryptedToken(m["entity"], m["kid"], m["data"])
