"""The text form of logscrub's replacement tokens, and how to recognise them again.

* redaction:  ``<EMAIL_ADDRESS>``
* pseudonym:  ``<EMAIL_ADDRESS:k1:9f86d081884c7d65>``   (HMAC-SHA256, truncated hex)
* ciphertext: ``<EMAIL_ADDRESS:k1:enc:AbC...>``         (AES-SIV, URL-safe base64)

Tokens carry the entity type (analysts see what was there) and the key id (keys rotate).
The scanner skips anything shaped like a token, and a field rule leaves a value that is
one of logscrub's own tokens as it is (:func:`own_token_re`), so scrubbing twice is a no-op:
a second pipeline stage, or ``logscrub verify`` on a clean topic, sees tokens, not values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN_RE = re.compile(r"<[A-Z][A-Z0-9_]*(?::[A-Za-z0-9_\-]+){0,3}>")
_ENC_RE = re.compile(
    r"^<(?P<entity>[A-Z][A-Z0-9_]*):(?P<kid>[A-Za-z0-9_-]{1,16}):enc:(?P<data>[A-Za-z0-9_-]+)>$"
)


def own_token_re(entities: Iterable[str]) -> re.Pattern[str]:
    """A pattern for a whole value that is a token logscrub makes for one of ``entities``:
    ``<ENTITY>``, ``<ENTITY:kid:hex>`` or ``<ENTITY:kid:enc:data>``.

    Only known entity names: ``<ALICE>`` in a name field is not a token, it is kept out.
    """
    names = "|".join(sorted((re.escape(e) for e in set(entities)), key=len, reverse=True))
    return re.compile(
        rf"<(?:{names})(?::[A-Za-z0-9_-]{{1,16}}:(?:[0-9a-f]{{8,64}}|enc:[A-Za-z0-9_-]+))?>"
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
