"""``cryptopan``: prefix-preserving IP pseudonyms, so subnet analysis still works."""

from __future__ import annotations

from typing import ClassVar

from pipeline.operators.base import NoParams, Operator, OperatorContext
from pipeline.operators.cryptopan import CryptoPAn

_CACHE_LIMIT = 65_536


class CryptoPAnOperator(Operator[NoParams]):
    """Map each IP to another IP such that shared prefixes stay shared (CryptoPAn).

    Two addresses in one /24 map into one /24, so per-network analytics still work, yet
    the mapping is keyed: without the key it cannot be inverted. Values that are not IP
    addresses become ``<ENTITY>`` (fail closed).
    """

    name: ClassVar[str] = "cryptopan"
    needs_key: ClassVar[bool] = True

    def __init__(self, params: NoParams, ctx: OperatorContext) -> None:
        super().__init__(params, ctx)
        self._pan = CryptoPAn(ctx.require_keys().cryptopan_key)
        self._cache: dict[str, str] = {}

    def apply(self, value: str, entity: str) -> str:
        out = self._cache.get(value)
        if out is None:
            try:
                out = self._pan.anonymize(value.strip())
            except ValueError:
                return f"<{entity}>"
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = out
        return out
