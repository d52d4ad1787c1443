"""``mask``: hide all but the last N characters."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.operators.base import Operator


class MaskParams(BaseModel):
    """Parameters of ``mask`` (``masking_char`` is Presidio's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_last: int = Field(default=4, ge=0, le=8, description="Trailing characters kept.")
    masking_char: str = Field(default="*", min_length=1, max_length=1)
    min_masked: int = Field(
        default=4,
        ge=1,
        description="At least this many characters are masked; short values are masked "
        "entirely so that 'keep last 4' never shows a whole short value.",
    )


class Mask(Operator[MaskParams]):
    """Replace every character but the last ``keep_last`` with ``masking_char``.

    Separators are masked too: ``138-0013-8000`` becomes ``*********8000``.
    """

    name: ClassVar[str] = "mask"
    params_model: ClassVar[type[BaseModel]] = MaskParams

    def apply(self, value: str, entity: str) -> str:
        keep = self.params.keep_last
        if len(value) - keep < self.params.min_masked:
            keep = 0
        masked = len(value) - keep
        return self.params.masking_char * masked + value[masked:]
