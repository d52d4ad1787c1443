"""``keep``: leave the value as it is (must be written out; never a silent default)."""

from __future__ import annotations

from typing import ClassVar

from pipeline.operators.base import NoParams, Operator


class Keep(Operator[NoParams]):
    """Return the value unchanged."""

    name: ClassVar[str] = "keep"

    def apply(self, value: str, entity: str) -> str:
        return value
