"""Measure an anonymizer: leaks and damage on labelled lines, span scores on NER data.

Nothing here imports the engine: every function takes a plain callable, so the same
measurement runs against the engine, stock Presidio, a baseline regex or a stub.

Leak and damage (:func:`leak_damage`), per labelled line:

* A **leak** is a PII label whose value survives in the output as a whole token (not glued
  to a letter or digit on a side where the value itself starts or ends with one; this is
  what stops ``10.1.2.3`` from "surviving" inside ``10.1.2.30``). When ``partial_forms`` is
  on (the default) a few stricter forms also count as the value surviving: the national
  part of a phone number (``138 1234 5678`` left behind when only ``+86`` was removed), the
  embedded IPv4 of ``::ffff:203.0.113.9``, the decoded form of a URL-encoded value, and
  each name part of 3+ characters of a ``PERSON`` (a surviving surname is a leak).
* **Damage** is a ``KEEP:`` label that no longer survives: the output holds fewer whole
  token occurrences of the value than the input did. Counting input occurrences means that
  a port ``8080`` is not "saved" by ``http-nio-8080-exec-7`` when the port field is gone.
* For JSON lines the output is searched as written and, if it parses, also as orjson
  re-serializes it, so an engine that writes ASCII-only unicode escapes or adds spaces is
  judged on its content, not its formatting.
* A partial form counts only for its occurrences beyond those in the line with every
  personal value blanked out (the surname ``Sun`` of ``Sun Wei`` also stands in the
  weekday of ``Sun, 28 Apr 2024``, which is not the person leaking).
* A dropped line (``scrub`` returned ``None``) leaks nothing and damages every keep value.
* When a line holds ``n`` labels with the same value and ``k`` surviving occurrences, the
  first ``min(n, k)`` labels count as leaked (PII) and ``min(n, max(0, before - k))`` keep
  labels count as damaged.
* Exceptions raised by ``scrub`` propagate: a measurement must not hide a crash.

Span scores (:func:`span_scores`), for Presidio-research style data: overlap matching per
entity type. A gold span is a true positive if at least one predicted span of the same
(mapped) type overlaps it by at least one character, otherwise a false negative; a
predicted span that overlaps no gold span of its type is a false positive. Precision is
computed over predicted spans (overlapping predictions / all predictions), recall over
gold spans (``tp / (tp + fn)``), so one prediction covering two adjacent gold names is not
punished twice and two half-name predictions covering one gold name are not false
positives. ``F2 = 5PR / (4P + R)`` weighs recall four times as much as precision, which
suits anonymization: a miss is a leak, a false alarm is only damage.

Security: reports carry entity types, kinds and counts, never a label value.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import orjson

from pipeline.tools.corpus import KEEP_PREFIX, Label, LabelledLine

__all__ = [
    "IGNORE",
    "Counts",
    "LeakDamageReport",
    "LineKindCounts",
    "Span",
    "SpanExample",
    "WorstCase",
    "count_tokens",
    "f2_score",
    "leak_damage",
    "load_conll",
    "load_presidio_research",
    "outside_changed",
    "span_scores",
]

#: Map an entity type to this in ``entity_map`` to leave it out of span scoring
#: (the Presidio-research convention).
IGNORE: Final = "O"

Scrub = Callable[[str], str | None]
Detect = Callable[[str], list[tuple[int, int, str]]]

_WORST_N: Final = 5
_PHONE_PREFIX = re.compile(r"^(?:\(\+\d{1,3}\)|\+|00)")


# ---------------------------------------------------------------------------------------
# token matching
# ---------------------------------------------------------------------------------------


def count_tokens(text: str, value: str) -> int:
    """Count occurrences of ``value`` in ``text`` that are whole tokens.

    An occurrence is a whole token unless it is glued to a letter or digit on a side where
    ``value`` itself starts or ends with a letter or digit. Occurrences may overlap.

    Args:
        text: The text to search.
        value: The value to look for; an empty value never matches.

    Returns:
        The number of whole-token occurrences.
    """
    if not value:
        return 0
    check_left = value[0].isalnum()
    check_right = value[-1].isalnum()
    n = 0
    size = len(value)
    i = text.find(value)
    while i >= 0:
        left_ok = not check_left or i == 0 or not text[i - 1].isalnum()
        j = i + size
        right_ok = not check_right or j == len(text) or not text[j].isalnum()
        if left_ok and right_ok:
            n += 1
        i = text.find(value, i + 1)
    return n


def _leak_forms(value: str, entity: str) -> list[str]:
    """The value plus stricter forms whose survival also means the value leaked."""
    forms = [value]
    if "%" in value:
        decoded = unquote(value)
        if decoded != value:
            forms.append(decoded)
    for v in list(forms):
        if entity == "PHONE_NUMBER":
            forms.extend(_national_forms(v))
        elif entity == "IP_ADDRESS" and v.lower().startswith("::ffff:") and "." in v:
            forms.append(v[7:])
        elif entity == "PERSON" and " " in v:
            forms.extend(part for part in v.split() if len(part) >= 3)
    return list(dict.fromkeys(forms))


def _background(item: LabelledLine) -> str:
    """The line with every personal value blanked out: what a partial form (a surname,
    a national number) may legitimately match outside the values themselves."""
    text = item.line
    for value in sorted({lb.value for lb in item.pii}, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _national_forms(phone: str) -> list[str]:
    """Remainders of ``phone`` after an international prefix, for 1-3 digit country codes."""
    m = _PHONE_PREFIX.match(phone)
    if m is None:
        return []
    rest = phone[m.end() :]
    if m.group().startswith("(+"):
        candidates = [rest]
    else:
        candidates = [rest[k:] for k in (1, 2, 3) if rest[:k].isdigit()]
    out = []
    for c in candidates:
        c = c.lstrip(" -")
        if sum(ch.isdigit() for ch in c) >= 7:
            out.append(c)
    return out


def _canonical_json(text: str) -> str | None:
    try:
        return orjson.dumps(orjson.loads(text)).decode()
    except orjson.JSONDecodeError:
        return None


# ---------------------------------------------------------------------------------------
# leak / damage report
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many labels of one entity or kind were seen and how many failed.

    Attributes:
        total: Labels seen.
        failed: Labels leaked (PII) or damaged (keep).
    """

    total: int
    failed: int

    @property
    def rate(self) -> float:
        """``failed / total``, or 0.0 when nothing was seen."""
        return self.failed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"total", "failed", "rate"}``."""
        return {"total": self.total, "failed": self.failed, "rate": self.rate}


@dataclass(frozen=True)
class LineKindCounts:
    """Totals for one line kind (``json``, ``nginx``, ...)."""

    lines: int
    dropped: int
    pii: Counts
    keep: Counts

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "lines": self.lines,
            "dropped": self.dropped,
            "pii": self.pii.to_dict(),
            "keep": self.keep.to_dict(),
        }


@dataclass(frozen=True)
class WorstCase:
    """One of the worst (line kind, entity or keep kind) cells; types only, never values."""

    line_kind: str
    label: str
    failed: int
    total: int

    def __str__(self) -> str:
        """Return e.g. ``IMEI in logcat (12 of 40)``."""
        return f"{self.label} in {self.line_kind} ({self.failed} of {self.total})"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "line_kind": self.line_kind,
            "label": self.label,
            "failed": self.failed,
            "total": self.total,
        }


@dataclass(frozen=True)
class LeakDamageReport:
    """Result of :func:`leak_damage`.

    Guarantees: holds counts, entity types and kinds only, never a label value, so it can
    be logged, printed in CI and committed.

    Attributes:
        lines: Lines scrubbed.
        dropped: Lines for which ``scrub`` returned ``None``.
        pii: All PII labels and how many leaked.
        keep: All keep labels and how many were damaged.
        by_entity: PII counts per entity type.
        by_keep_kind: Keep counts per kind (``trace_id``, ``timestamp`` ...).
        by_line_kind: Counts per line kind.
        worst_leaks: Up to five (line kind, entity) cells with the most leaks.
        worst_damage: Up to five (line kind, keep kind) cells with the most damage.
    """

    lines: int
    dropped: int
    pii: Counts
    keep: Counts
    by_entity: Mapping[str, Counts]
    by_keep_kind: Mapping[str, Counts]
    by_line_kind: Mapping[str, LineKindCounts]
    worst_leaks: tuple[WorstCase, ...]
    worst_damage: tuple[WorstCase, ...]

    @property
    def leak_rate(self) -> float:
        """Fraction of PII labels that leaked."""
        return self.pii.rate

    @property
    def damage_rate(self) -> float:
        """Fraction of keep labels that were damaged."""
        return self.keep.rate

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (orjson/json serializable)."""
        return {
            "lines": self.lines,
            "dropped": self.dropped,
            "leak_rate": self.leak_rate,
            "damage_rate": self.damage_rate,
            "pii": self.pii.to_dict(),
            "keep": self.keep.to_dict(),
            "by_entity": {k: v.to_dict() for k, v in self.by_entity.items()},
            "by_keep_kind": {k: v.to_dict() for k, v in self.by_keep_kind.items()},
            "by_line_kind": {k: v.to_dict() for k, v in self.by_line_kind.items()},
            "worst_leaks": [w.to_dict() for w in self.worst_leaks],
            "worst_damage": [w.to_dict() for w in self.worst_damage],
        }

    def to_table(self) -> str:
        """Return a plain-text table for terminals and CI logs."""
        out = [
            f"lines {self.lines}  dropped {self.dropped}",
            f"leak   {self.pii.failed}/{self.pii.total} PII values   ({self.leak_rate:.2%})",
            f"damage {self.keep.failed}/{self.keep.total} keep values ({self.damage_rate:.2%})",
            "",
        ]
        out += _rate_table("PII entity", "leaked", self.by_entity)
        out.append("")
        out += _rate_table("keep kind", "damaged", self.by_keep_kind)
        out.append("")
        w = max([len("line kind")] + [len(k) for k in self.by_line_kind])
        out.append(f"{'line kind':<{w}}  {'lines':>7} {'dropped':>7}  {'leak':>7}  {'damage':>7}")
        for kind, c in sorted(self.by_line_kind.items()):
            out.append(
                f"{kind:<{w}}  {c.lines:>7} {c.dropped:>7}  {c.pii.rate:>7.2%}  {c.keep.rate:>7.2%}"
            )
        out.append("")
        out.append("worst leaks:  " + ("; ".join(map(str, self.worst_leaks)) or "none"))
        out.append("worst damage: " + ("; ".join(map(str, self.worst_damage)) or "none"))
        return "\n".join(out)


def _rate_table(title: str, verb: str, rows: Mapping[str, Counts]) -> list[str]:
    w = max([len(title)] + [len(k) for k in rows])
    lines = [f"{title:<{w}}  {'total':>7}  {verb:>7}  {'rate':>7}"]
    # Worst first: that is what a reader of the table is looking for.
    for name, c in sorted(rows.items(), key=lambda kv: (-kv[1].rate, -kv[1].total, kv[0])):
        lines.append(f"{name:<{w}}  {c.total:>7}  {c.failed:>7}  {c.rate:>7.2%}")
    return lines


class _Tally:
    __slots__ = ("failed", "total")

    def __init__(self) -> None:
        self.total = 0
        self.failed = 0

    def freeze(self) -> Counts:
        return Counts(self.total, self.failed)


def _group(labels: Sequence[Label]) -> dict[str, list[Label]]:
    groups: dict[str, list[Label]] = {}
    for lb in labels:
        groups.setdefault(lb.value, []).append(lb)
    return groups


def leak_damage(
    items: Iterable[LabelledLine], scrub: Scrub, *, partial_forms: bool = True
) -> LeakDamageReport:
    """Run ``scrub`` over labelled lines and count leaked PII and damaged keep values.

    See the module docstring for the exact matching rules.

    Args:
        items: Labelled lines, e.g. from :func:`pipeline.tools.corpus.generate_labelled`.
        scrub: One raw line in, the anonymized line out, or ``None`` for an intentional drop.
        partial_forms: Also count stricter partial forms (phone without country code,
            surname alone, ...) as leaks.

    Returns:
        The report.
    """
    lines = dropped = 0
    pii_all, keep_all = _Tally(), _Tally()
    by_entity: defaultdict[str, _Tally] = defaultdict(_Tally)
    by_keep: defaultdict[str, _Tally] = defaultdict(_Tally)
    cell_leak: defaultdict[tuple[str, str], _Tally] = defaultdict(_Tally)
    cell_damage: defaultdict[tuple[str, str], _Tally] = defaultdict(_Tally)
    kind_lines: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    kind_pii: defaultdict[str, _Tally] = defaultdict(_Tally)
    kind_keep: defaultdict[str, _Tally] = defaultdict(_Tally)

    for item in items:
        lines += 1
        out = scrub(item.line)
        kind_lines[item.kind][0] += 1
        if out is None:
            dropped += 1
            kind_lines[item.kind][1] += 1
            texts: list[str] = []
        else:
            texts = [out]
            if item.kind == "json":
                canonical = _canonical_json(out)
                if canonical is not None and canonical != out:
                    texts.append(canonical)

        def occurrences(value: str, texts: list[str] = texts) -> int:
            return max((count_tokens(t, value) for t in texts), default=0)

        background: str | None = None
        for value, group in _group(item.pii).items():
            forms = _leak_forms(value, group[0].entity) if partial_forms else [value]
            surviving = occurrences(value)
            for form in forms[1:]:
                if background is None:
                    background = _background(item)
                # `Sun` of `Sun Wei` also stands in `Sun, 28 Apr 2024`: only occurrences
                # beyond those in the rest of the line are the person's.
                surviving = max(surviving, occurrences(form) - count_tokens(background, form))
            for i, lb in enumerate(group):
                failed = i < surviving
                for t in (
                    pii_all,
                    by_entity[lb.entity],
                    cell_leak[(item.kind, lb.entity)],
                    kind_pii[item.kind],
                ):
                    t.total += 1
                    t.failed += failed

        for value, group in _group(item.keep).items():
            # The labels promise at least len(group) occurrences; trust the line if it has more.
            before = max(count_tokens(item.line, value), len(group))
            lost = before if out is None else max(0, before - occurrences(value))
            for i, lb in enumerate(group):
                failed = i < lost
                kind = lb.entity.removeprefix(KEEP_PREFIX)
                for t in (
                    keep_all,
                    by_keep[kind],
                    cell_damage[(item.kind, kind)],
                    kind_keep[item.kind],
                ):
                    t.total += 1
                    t.failed += failed

    return LeakDamageReport(
        lines=lines,
        dropped=dropped,
        pii=pii_all.freeze(),
        keep=keep_all.freeze(),
        by_entity={k: v.freeze() for k, v in sorted(by_entity.items())},
        by_keep_kind={k: v.freeze() for k, v in sorted(by_keep.items())},
        by_line_kind={
            k: LineKindCounts(v[0], v[1], kind_pii[k].freeze(), kind_keep[k].freeze())
            for k, v in sorted(kind_lines.items())
        },
        worst_leaks=_worst(cell_leak),
        worst_damage=_worst(cell_damage),
    )


def _worst(cells: Mapping[tuple[str, str], _Tally]) -> tuple[WorstCase, ...]:
    failing = [(k, t) for k, t in cells.items() if t.failed]
    # Most failures first; ties broken by rate, then by name for a stable report.
    failing.sort(key=lambda kt: (-kt[1].failed, -kt[1].failed / kt[1].total, kt[0]))
    return tuple(WorstCase(k[0], k[1], t.failed, t.total) for k, t in failing[:_WORST_N])


# ---------------------------------------------------------------------------------------
# span-level scores
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A character span ``text[start:end]`` labelled with an entity type."""

    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class SpanExample:
    """A text with its gold spans."""

    text: str
    spans: tuple[Span, ...]


def load_presidio_research(path: str | PathLike[str]) -> list[SpanExample]:
    """Load a Presidio-research generated dataset (``generated_large.json`` format).

    The file is a JSON array of ``{"full_text", "spans": [{"entity_type",
    "start_position", "end_position", ...}], ...}``.

    Args:
        path: The JSON file.

    Returns:
        One example per record, in file order.

    Raises:
        ValueError: If a record is malformed or a span lies outside its text (the message
            gives the record index, never text).
    """
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, list):
        msg = f"{path}: expected a JSON array of records"
        raise ValueError(msg)
    examples = []
    for idx, rec in enumerate(data):
        try:
            text = rec["full_text"]
            spans = tuple(
                Span(int(s["start_position"]), int(s["end_position"]), str(s["entity_type"]))
                for s in rec["spans"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{path}: record {idx} is malformed ({type(exc).__name__})"
            raise ValueError(msg) from exc
        for s in spans:
            if not 0 <= s.start < s.end <= len(text):
                msg = f"{path}: record {idx} has a span outside its text ({s.start}-{s.end})"
                raise ValueError(msg)
        examples.append(SpanExample(text, spans))
    return examples


# Weibo NER writes each character with its position in its word (`口0`, `腔1`).
# (A few tokens are emoji of two code points: `<emoji><variation selector>0`.)
_SEGMENT_SUFFIX = re.compile(r"^(.{1,2}?)\d$")


def load_conll(path: str | PathLike[str]) -> list[SpanExample]:
    """Load a CoNLL-style BIO (or BIOES) file: one token and its tag per line, the tag in
    the last column, a blank line between sentences.

    Tokens are joined without a space when every token is one character (character-level
    Chinese corpora such as Weibo NER, whose ``char+position`` tokens (``口0``) are read as
    the character), else with one space. The entity type is the tag without its ``B-``/
    ``I-``/``E-``/``S-`` prefix (``PER.NAM``); map it with ``span_scores``' ``entity_map``.

    Args:
        path: The CoNLL file (UTF-8).

    Returns:
        One example per sentence, in file order.

    Raises:
        ValueError: If a line has no tag column (the message gives the line number only).
    """
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    with Path(path).open(encoding="utf-8") as src:
        for lineno, raw in enumerate(src, 1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                msg = f"{path}: line {lineno} has no tag column"
                raise ValueError(msg)
            current.append((parts[0], parts[-1].strip()))
    if current:
        sentences.append(current)
    tokens = [tok for sent in sentences for tok, _ in sent]
    weibo = (
        bool(tokens)
        and all(_SEGMENT_SUFFIX.match(t) for t in tokens)
        and any(_is_han(t[0]) for t in tokens)
    )
    joined = weibo or all(len(t) == 1 for t in tokens)
    examples = []
    for sent in sentences:
        words = [_SEGMENT_SUFFIX.sub(r"\1", t) if weibo else t for t, _ in sent]
        sep = "" if joined else " "
        offsets = []
        pos = 0
        for w in words:
            offsets.append((pos, pos + len(w)))
            pos += len(w) + len(sep)
        spans: list[Span] = []
        open_type: str | None = None
        open_start = 0
        for i, (_tok, tag) in enumerate(sent):
            prefix, _, etype = tag.partition("-")
            if open_type is not None and (prefix in ("B", "S", "O") or etype != open_type):
                spans.append(Span(open_start, offsets[i - 1][1], open_type))
                open_type = None
            if prefix in ("B", "S") or (prefix in ("I", "E") and open_type is None and etype):
                open_type, open_start = etype, offsets[i][0]
            if prefix in ("E", "S") and open_type is not None:
                spans.append(Span(open_start, offsets[i][1], open_type))
                open_type = None
        if open_type is not None:
            spans.append(Span(open_start, offsets[-1][1], open_type))
        examples.append(SpanExample(sep.join(words), tuple(spans)))
    return examples


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def outside_changed(
    examples: Iterable[SpanExample], detect: Detect, entity: str, *, han_only: bool = True
) -> tuple[int, int]:
    """Count characters outside the gold spans of ``entity`` that a prediction covers.

    This is the collateral damage of a name detector on running text: the other words of
    a sentence changed with the names. Gold spans of other types count as outside (a
    place name that was changed is damage for a person-name detector).

    Args:
        examples: Texts with gold spans.
        detect: Text in, ``[(start, end, entity_type), ...]`` out (any type counts).
        entity: The gold type whose characters are inside (``PER.NAM``).
        han_only: Count only Han characters (the measure for Chinese text).

    Returns:
        ``(changed, total)`` outside characters.
    """
    changed = total = 0
    for ex in examples:
        inside = bytearray(len(ex.text))
        for s in ex.spans:
            if s.entity == entity:
                inside[s.start : s.end] = b"\x01" * (s.end - s.start)
        covered = bytearray(len(ex.text))
        for start, end, _etype in detect(ex.text):
            covered[start:end] = b"\x01" * (end - start)
        for i, ch in enumerate(ex.text):
            if inside[i] or ch.isspace() or (han_only and not _is_han(ch)):
                continue
            total += 1
            changed += covered[i]
    return changed, total


def f2_score(precision: float, recall: float) -> float:
    """Return ``F2 = 5PR / (4P + R)``, or 0.0 when both are zero."""
    denom = 4 * precision + recall
    return 5 * precision * recall / denom if denom else 0.0


class _SpanTally:
    __slots__ = ("fn", "fp", "pred_tp", "tp")

    def __init__(self) -> None:
        self.tp = self.fn = self.fp = self.pred_tp = 0

    def add(self, other: _SpanTally) -> None:
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        self.pred_tp += other.pred_tp

    def row(self) -> dict[str, float]:
        n_pred = self.pred_tp + self.fp
        precision = self.pred_tp / n_pred if n_pred else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "pred_tp": self.pred_tp,
            "precision": precision,
            "recall": recall,
            "f2": f2_score(precision, recall),
        }


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _match(
    gold: Sequence[Span],
    pred: Sequence[Span],
    tallies: defaultdict[str, _SpanTally],
    *,
    typed: bool,
) -> None:
    for g in gold:
        hit = any(_overlaps(g, p) and (not typed or p.entity == g.entity) for p in pred)
        t = tallies[g.entity]
        if hit:
            t.tp += 1
        else:
            t.fn += 1
    for p in pred:
        hit = any(_overlaps(g, p) and (not typed or p.entity == g.entity) for g in gold)
        t = tallies[p.entity]
        if hit:
            t.pred_tp += 1
        else:
            t.fp += 1


def span_scores(
    examples: Iterable[SpanExample],
    detect: Detect,
    entity_map: Mapping[str, str] | None = None,
) -> dict[str, dict[str, float]]:
    """Score a detector against gold spans with overlap matching (see module docstring).

    Args:
        examples: Texts with gold spans, e.g. from :func:`load_presidio_research`.
        detect: Text in, ``[(start, end, entity_type), ...]`` out.
        entity_map: Renames applied to both gold and predicted types before matching
            (e.g. ``{"CREDIT_CARD": "CARD", "CN_BANK_CARD": "CARD"}``); types not in the map
            are kept; a type mapped to :data:`IGNORE` (``"O"``) is left out entirely.

    Returns:
        ``{entity: {"tp", "fp", "fn", "pred_tp", "precision", "recall", "f2"}}`` for every
        type seen in gold or predictions, plus ``"micro"`` (summed over types) and
        ``"any_type"`` (types ignored: was the span found at all, under any label).

    Raises:
        ValueError: If ``detect`` returns a span outside the text or an empty span.
    """
    mapping = entity_map or {}
    per_type: defaultdict[str, _SpanTally] = defaultdict(_SpanTally)
    untyped: defaultdict[str, _SpanTally] = defaultdict(_SpanTally)
    for idx, ex in enumerate(examples):
        gold = [Span(s.start, s.end, mapping.get(s.entity, s.entity)) for s in ex.spans]
        gold = [s for s in gold if s.entity != IGNORE]
        pred = []
        for start, end, entity in detect(ex.text):
            if not 0 <= start < end <= len(ex.text):
                msg = f"detector returned an invalid span ({start}-{end}) for example {idx}"
                raise ValueError(msg)
            mapped = mapping.get(entity, entity)
            if mapped != IGNORE:
                pred.append(Span(start, end, mapped))
        _match(gold, pred, per_type, typed=True)
        _match(gold, pred, untyped, typed=False)

    result = {name: t.row() for name, t in sorted(per_type.items())}
    micro, any_type = _SpanTally(), _SpanTally()
    for t in per_type.values():
        micro.add(t)
    for t in untyped.values():
        any_type.add(t)
    result["micro"] = micro.row()
    result["any_type"] = any_type.row()
    return result
