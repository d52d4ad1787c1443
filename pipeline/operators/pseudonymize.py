"""``pseudonymize``: keyed, deterministic pseudonyms (HMAC-SHA256) that keep joins working."""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.operators.base import Operator, OperatorContext
from pipeline.operators.tokens import pseudonym_token

_CACHE_LIMIT = 65_536


class PseudonymizeParams(BaseModel):
    """Parameters of ``pseudonymize``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    length: int = Field(default=16, ge=8, le=64, description="Hex characters of digest kept.")


class Pseudonymize(Operator[PseudonymizeParams]):
    """Replace a value by ``<ENTITY:keyid:hmac>``.

    The HMAC input is the normalized value (phone numbers in E.164, emails lowercased,
    MACs in one notation), so the same person or device gets the same pseudonym in every
    topic, worker and run, while another key gives unrelated pseudonyms.

    Security: a bare hash of a phone number (~10^10 values) is reversed by enumeration in
    minutes; the HMAC key is what makes the pseudonym one-way for whoever lacks it. The
    entity type is not part of the HMAC input, so an id seen as ``USER_ID`` in one field and
    as ``PHONE_NUMBER`` in another still joins.
    """

    name: ClassVar[str] = "pseudonymize"
    params_model: ClassVar[type[BaseModel]] = PseudonymizeParams
    needs_key: ClassVar[bool] = True

    def __init__(self, params: PseudonymizeParams, ctx: OperatorContext) -> None:
        super().__init__(params, ctx)
        keys = ctx.require_keys()
        self._key_id = keys.key_id
        # hmac.copy() of a keyed template skips re-deriving the inner/outer pads per value.
        self._template = hmac.new(keys.pseudonym_key, digestmod=hashlib.sha256)
        self._cache: dict[tuple[str, str], str] = {}

    def digest(self, value: str, entity: str) -> str:
        """Return the truncated hex HMAC of the normalized value."""
        mac = self._template.copy()
        mac.update(self.ctx.normalize(entity, value).encode("utf-8", "surrogatepass"))
        return mac.hexdigest()[: self.params.length]

    def apply(self, value: str, entity: str) -> str:
        cache_key = (entity, value)
        token = self._cache.get(cache_key)
        if token is None:
            token = pseudonym_token(entity, self._key_id, self.digest(value, entity))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # bounded: wipe rather than track recency
            self._cache[cache_key] = token
        return token
