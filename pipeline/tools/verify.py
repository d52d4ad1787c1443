"""The residual-PII verifier: does personal data survive in logs that were already cleaned?

``logscrub verify`` reads clean records (a file, or a clean topic) and looks for personal
data with a stricter profile than the cleaning policy's: every detector, a lower score
threshold, the name gazetteer on every string and NER on every string that reads like
prose. It reports what it finds by entity and field path, never the value (at most a
keyed fingerprint, so two reports can say "the same value" without showing it).

What counts as residual: a finding whose text is not already anonymized. logscrub's own
tokens (``<EMAIL_ADDRESS:k1:...>``) are skipped by the scanner; a finding that the
policy's operator for its entity would leave as it is (an IP already generalized to its
/24, a coordinate already rounded, a masked card) is anonymized output, not a leak.

Field-name rules are not applied here: they fire on any value under a name, so on a clean
record they would "find" the tokens and generalized values the policy put there. The
verifier looks at content only, which is what an auditor reading the topic sees.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.engine import Engine
from pipeline.core.json_codec import decode_line
from pipeline.core.paths import ARRAY, format_path
from pipeline.core.policy import Policy
from pipeline.detection.scanner import Scanner
from pipeline.exceptions import RecordError
from pipeline.keys import KeyRing
from pipeline.operators.base import DROP

__all__ = ["DEFAULT_THRESHOLD", "Report", "Residual", "Verifier"]

#: Score threshold of the strict profile (the shipped policies clean at 0.5 and above).
DEFAULT_THRESHOLD = 0.35
# Prose worth running NER on: at least three words with letters.
_PROSE = re.compile(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}\W+[A-Za-z]{2,}")


@dataclass(frozen=True)
class Residual:
    """One piece of personal data found in a clean record (no value, by design)."""

    entity: str
    path: str  # field path (array indices folded), ``<text>`` for a plain line
    detector: str
    fingerprint: str | None  # keyed digest of the value; None without a key


@dataclass
class Report:
    """What a verification run saw."""

    records: int = 0
    unreadable: int = 0  # not JSON nor UTF-8 text: counted, not checked
    with_residual: int = 0
    by_place: Counter[tuple[str, str]] = field(default_factory=Counter)  # (entity, path)
    by_entity: Counter[str] = field(default_factory=Counter)
    fingerprints: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @property
    def leak_rate(self) -> float:
        """Records with at least one residual finding, over the records checked."""
        return self.with_residual / self.records if self.records else 0.0

    def add(self, found: list[Residual]) -> None:
        self.records += 1
        if not found:
            return
        self.with_residual += 1
        for r in found:
            place = (r.entity, r.path)
            self.by_place[place] += 1
            self.by_entity[r.entity] += 1
            if r.fingerprint is not None:
                kept = self.fingerprints.setdefault(place, set())
                if len(kept) < 3:
                    kept.add(r.fingerprint)

    def lines(self) -> Iterator[str]:
        """The report as text: totals, then each (entity, path) by count."""
        yield (
            f"records checked: {self.records}; with residual personal data: "
            f"{self.with_residual} ({self.leak_rate:.2%}); unreadable: {self.unreadable}"
        )
        for (entity, path), n in self.by_place.most_common():
            prints = sorted(self.fingerprints.get((entity, path), ()))
            extra = f"  e.g. {', '.join(prints)}" if prints else ""
            yield f"  {entity:<16} {path:<36} {n:>6}{extra}"


class Verifier:
    """Checks clean records with a strict detection profile.

    Args:
        policy: the policy the records were cleaned with (its operators decide what is
            already anonymized; its allow and deny lists apply).
        keys: the key, for fingerprints; None: no fingerprints.
        threshold: the strict profile's score threshold.
        ner: run NER on prose strings (needs the spaCy model; off when it is missing).
    """

    def __init__(
        self,
        policy: Policy,
        keys: KeyRing | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ner: bool = True,
    ) -> None:
        scan = policy.model.scan
        ner_detector = None
        if ner:
            from pipeline.detection.ner import NerDetector

            ner_detector = NerDetector()
        self.scanner = Scanner(
            threshold=threshold,
            allow_list=scan.allow_list,
            deny_list=scan.deny_list,
            ner=ner_detector,
        )
        # The engine only lends its operators (what the policy turns each entity into);
        # a throwaway key when none is given, as fingerprints are then off anyway.
        self._engine = Engine(
            policy,
            keys=keys or KeyRing.from_secret(_throwaway_secret(), "verify"),
            scanner=self.scanner,
            ner=False,
        )
        self._limits = policy.model.limits
        self._fingerprint_key = (
            hmac.new(keys.pseudonym_key, b"logscrub-verify", hashlib.sha256).digest()
            if keys is not None
            else None
        )
        self._ner = ner_detector is not None and ner_detector.available()

    @property
    def ner_available(self) -> bool:
        """Whether names are also looked for by NER (the spaCy model is installed)."""
        return self._ner

    @property
    def max_bytes(self) -> int:
        """The policy's largest record."""
        return int(self._limits.max_bytes)

    def check(self, raw: bytes | str) -> list[Residual] | None:
        """The residual findings of one clean record; None when it cannot be read."""
        try:
            decoded = decode_line(
                raw, max_bytes=self._limits.max_bytes, max_depth=self._limits.max_depth
            )
        except RecordError:
            return None
        found: list[Residual] = []
        if decoded.obj is not None:
            self._walk(decoded.obj, (), None, found)
        elif decoded.text is not None and decoded.issue is None:
            self._check_text(decoded.text, None, "<text>", found)
        else:
            return None
        return found

    def run(self, records: Iterable[bytes | str | None], report: Report | None = None) -> Report:
        """Check every record (None: one that could not be read, too large say); returns
        the report (``report`` extended when given)."""
        report = report or Report()
        for raw in records:
            found = None if raw is None else self.check(raw)
            if found is None:
                report.unreadable += 1
                continue
            report.add(found)
        return report

    def _walk(
        self, obj: Any, path: tuple[str, ...], name: str | None, out: list[Residual]
    ) -> None:
        """Check every string, number and object key. ``path`` is the path as reported: a
        key with personal data in it shows as ``<ENTITY>``, never as itself."""
        if isinstance(obj, dict):
            for key, value in obj.items():
                key = str(key)
                where = format_path(path) or "<root>"
                found = self._check_text(key, None, f"{where} (key)", out)
                shown = f"<{found[0].entity}>" if found else key
                self._walk(value, (*path, shown), key, out)
        elif isinstance(obj, list):
            for item in obj:
                self._walk(item, (*path, ARRAY), name, out)
        elif isinstance(obj, str):
            self._check_text(obj, name, format_path(path) or "<root>", out)
        elif isinstance(obj, int | float) and not isinstance(obj, bool):
            self._check_text(str(obj), name, format_path(path) or "<root>", out)

    def _check_text(
        self, text: str, name: str | None, path: str, out: list[Residual]
    ) -> list[Residual]:
        ner = self._ner and _PROSE.search(text) is not None
        added: list[Residual] = []
        for f in self.scanner.scan(text, name, ner=ner, names=True):
            value = text[f.start : f.end]
            if self._already_anonymized(f.entity, value):
                continue
            added.append(Residual(f.entity, path, f.recognizer, self._fingerprint(value)))
        out.extend(added)
        return added

    def _already_anonymized(self, entity: str, value: str) -> bool:
        op, _name = self._engine.operator_for(entity)
        try:
            out = op.apply(value, entity)
        except Exception:  # noqa: BLE001 — an operator that cannot take it: not its output
            return False
        return out is not DROP and str(out) == value

    def _fingerprint(self, value: str) -> str | None:
        if self._fingerprint_key is None:
            return None
        return hmac.new(self._fingerprint_key, value.encode(), hashlib.sha256).hexdigest()[:12]


def _throwaway_secret() -> str:
    import secrets

    return secrets.token_urlsafe(48)
