"""Long Luhn-valid numbers that name a record, not a person's card or SIM.

`"orderno": 8963173173452369009` starts with 89 and passes Luhn, the shape of an ICCID; the
field says it is an order number (the generated corpus's last damage: 1-2 order numbers
per 5,000 lines). The same words already kept order numbers from being cards.
"""

from __future__ import annotations

import pytest

from pipeline.core.engine import Engine


@pytest.mark.parametrize(
    "line",
    [
        '{"orderno":8963173173452369009,"state":"PAID"}',
        '{"OrderNo":8937078411600141122}',
        '{"trace_id":"8986001234567890123"}',
    ],
)
def test_order_and_trace_numbers_shaped_like_iccids_stay(
    default_engine: Engine, line: str
) -> None:
    assert default_engine.scrub_line(line) == line


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ('{"iccid":"8986001234567890123"}', "8986001234567890123"),
        ('{"sim_iccid":8986001234567890123}', "8986001234567890123"),
        ("sim 89860012345678901238 inserted", "89860012345678901238"),
    ],
)
def test_iccids_are_still_found(default_engine: Engine, line: str, raw: str) -> None:
    out = default_engine.scrub_line(line)
    assert out is not None and raw not in out and "ICCID" in out
