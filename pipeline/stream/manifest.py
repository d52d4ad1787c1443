"""The ``logscrub`` header on every cleaned record: which policy and key cleaned it, and how much.

An analyst (or an audit job) reads it to know which policy version and key id a record
went through, and how many values of each entity type were changed, without seeing any
of them.

Security: the manifest holds names, digests, a key id and counts; never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

HEADER: Final = "logscrub"
VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Manifest:
    """What cleaned one record: policy name and digest (its version), key id, entity counts."""

    policy: str
    digest: str
    key_id: str | None
    entities: Mapping[str, int] = field(default_factory=dict)
    route: str | None = None

    def encode(self) -> bytes:
        """The header value: compact JSON with sorted keys (stable bytes for equal manifests)."""
        doc: dict[str, Any] = {
            "v": VERSION,
            "policy": self.policy,
            "policy_digest": self.digest,
            "key_id": self.key_id,
            "entities": dict(sorted(self.entities.items())),
        }
        if self.route is not None:
            doc["route"] = self.route
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def decode(cls, raw: bytes) -> Manifest:
        """Parse a header value written by :meth:`encode`.

        Raises:
            ValueError: not a logscrub manifest (the message holds no header content).
        """
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            msg = "the logscrub header is not JSON"
            raise ValueError(msg) from None
        if not isinstance(doc, dict) or doc.get("v") != VERSION:
            msg = "the logscrub header has an unknown version"
            raise ValueError(msg)
        entities = doc.get("entities") or {}
        if not isinstance(entities, dict) or not all(
            isinstance(k, str) and isinstance(n, int) for k, n in entities.items()
        ):
            msg = "the logscrub header has malformed entity counts"
            raise ValueError(msg)
        return cls(
            policy=str(doc.get("policy")),
            digest=str(doc.get("policy_digest")),
            key_id=doc.get("key_id"),
            entities=entities,
            route=doc.get("route"),
        )


def with_manifest(
    headers: list[tuple[str, bytes | None]] | None, manifest: Manifest
) -> list[tuple[str, bytes | None]]:
    """Headers of a cleaned record: the scrubbed input headers plus the manifest.

    An incoming ``logscrub`` header (a record cleaned once already, or a forged one) is
    replaced, so a record never carries two manifests.
    """
    out = [(k, v) for k, v in (headers or []) if k != HEADER]
    out.append((HEADER, manifest.encode()))
    return out


def find_manifest(headers: list[tuple[str, bytes]] | None) -> Manifest | None:
    """The manifest among a record's headers, or None when there is none."""
    for key, value in headers or []:
        if key == HEADER:
            return Manifest.decode(value)
    return None
