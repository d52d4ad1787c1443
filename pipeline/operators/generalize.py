"""``generalize``: keep the analytic meaning of a value, drop what identifies a person.

IP → /24 (IPv4) or /48 (IPv6); GPS → about 1 km; dates → month or year; user agent →
browser/OS family and major version; IMEI → TAC (device model); IMSI → MCC-MNC (operator);
MAC → OUI (vendor). ``method: auto`` picks by the entity type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.operators import generalization as g
from pipeline.operators.base import Operator, OperatorContext

Method = Literal["auto", "ip", "gps", "month", "year", "user_agent", "imei", "imsi", "mac"]

# Which generalization fits which entity when ``method: auto``.
AUTO_METHOD: dict[str, Method] = {
    "IP_ADDRESS": "ip",
    "GPS_COORDINATES": "gps",
    "BIRTHDAY": "year",
    "DATE_TIME": "month",
    "USER_AGENT": "user_agent",
    "IMEI": "imei",
    "IMSI": "imsi",
    "MAC_ADDRESS": "mac",
}


class GeneralizeParams(BaseModel):
    """Parameters of ``generalize``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method = Field(default="auto", description="What to generalize to; auto = by entity.")
    ipv4_prefix: int = Field(default=24, ge=0, le=32)
    ipv6_prefix: int = Field(default=48, ge=0, le=128)
    gps_decimals: int = Field(default=2, ge=0, le=4, description="2 decimals ≈ 1.1 km.")


class Generalize(Operator[GeneralizeParams]):
    """Replace a value by a coarser one of the same kind.

    Fail closed: a value that is not of the expected kind (an "IP" that does not parse)
    is replaced by ``<ENTITY>``, never passed through.
    """

    name: ClassVar[str] = "generalize"
    params_model: ClassVar[type[BaseModel]] = GeneralizeParams

    def __init__(self, params: GeneralizeParams, ctx: OperatorContext) -> None:
        super().__init__(params, ctx)
        p = params
        self._methods: dict[str, Callable[[str], str]] = {
            "ip": lambda v: g.ip_prefix(v, p.ipv4_prefix, p.ipv6_prefix),
            "gps": self._gps,
            "month": lambda v: g.date_to(v, "month"),
            "year": lambda v: g.date_to(v, "year"),
            "user_agent": g.user_agent,
            "imei": g.imei_tac,
            "imsi": g.imsi_mcc_mnc,
            "mac": g.mac_oui,
        }

    def _gps(self, value: str) -> str:
        try:
            # A single coordinate (a `lat` or `lng` field on its own).
            return str(round(float(value), self.params.gps_decimals))
        except ValueError:
            return g.gps_text(value, self.params.gps_decimals)

    def apply(self, value: str, entity: str) -> str:
        method = self.params.method
        if method == "auto":
            method = AUTO_METHOD.get(entity, "auto")
        fn = self._methods.get(method)
        if fn is None:
            return f"<{entity}>"
        try:
            return fn(value)
        except (ValueError, TypeError, OverflowError):
            return f"<{entity}>"
