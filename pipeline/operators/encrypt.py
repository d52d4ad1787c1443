"""``encrypt``: deterministic, reversible encryption (AES-SIV) for the re-identification path."""

from __future__ import annotations

import base64
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from pipeline.exceptions import KeyMissingError, LogscrubError
from pipeline.keys import KeyRing
from pipeline.operators.base import NoParams, Operator, OperatorContext
from pipeline.operators.tokens import encrypted_token, parse_encrypted


class Encrypt(Operator[NoParams]):
    """Replace a value by ``<ENTITY:keyid:enc:…>``, decryptable only with the key.

    AES-SIV is deterministic: the same value gives the same token, so joins and distinct
    counts still work on encrypted columns. The entity type is bound as associated data,
    so a token cannot be passed off as another entity type.
    """

    name: ClassVar[str] = "encrypt"
    needs_key: ClassVar[bool] = True

    def __init__(self, params: NoParams, ctx: OperatorContext) -> None:
        super().__init__(params, ctx)
        keys = ctx.require_keys()
        self._key_id = keys.key_id
        self._siv = AESSIV(keys.encryption_key)

    def apply(self, value: str, entity: str) -> str:
        data = self._siv.encrypt(value.encode("utf-8", "surrogatepass"), [entity.encode()])
        return encrypted_token(
            entity, self._key_id, base64.urlsafe_b64encode(data).decode().rstrip("=")
        )


class RevealError(LogscrubError):
    """A token could not be decrypted (not a token, wrong key id, or wrong key)."""


def reveal(token: str, keys: KeyRing | None) -> tuple[str, str]:
    """Decrypt an ``encrypt`` token; return ``(entity, value)``.

    Raises:
        KeyMissingError: no key configured.
        RevealError: the token is malformed or was made under another key.
    """
    if keys is None:
        raise KeyMissingError("revealing a token needs the key it was encrypted with")
    parsed = parse_encrypted(token)
    if parsed is None:
        raise RevealError("not an encrypted logscrub token (expected <ENTITY:keyid:enc:...>)")
    ring = keys.for_id(parsed.key_id)
    if ring is None:
        raise RevealError(
            f"the token was made under key id {parsed.key_id!r}, which is not loaded "
            f"(keys: {', '.join(keys.ids)})"
        )
    data = base64.urlsafe_b64decode(parsed.data_b64 + "=" * (-len(parsed.data_b64) % 4))
    try:
        plain = AESSIV(ring.encryption_key).decrypt(data, [parsed.entity.encode()])
    except InvalidTag:
        raise RevealError("the token does not decrypt under the configured key") from None
    return parsed.entity, plain.decode("utf-8", "surrogatepass")
