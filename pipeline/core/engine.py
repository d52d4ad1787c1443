"""The pure anonymization core: one raw record in, one anonymized record out.

No Kafka, no Faust, no I/O: the CLI's file mode and the stream agents call the same
:meth:`Engine.apply`, so everything can be tested with a string.

Security: the engine never logs and never raises with a value. A record that cannot be
processed structurally is scanned as text; a record that cannot be scanned at all
becomes a marked placeholder. Callers decide what goes where (the stream sends every
``Outcome`` with an ``issue`` to quarantine), but nothing raw is ever returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson

from detectors.base import field_name_tokens
from detectors.encoded_text_recognizer import ENCODED_TEXT, decode_base64_text, encode_like
from pipeline.core.broken_json import read_pieces, unquote
from pipeline.core.json_codec import decode_line, dumps, max_depth_exceeded
from pipeline.core.paths import ARRAY, PathPattern, PathPatternList, format_path, join_path
from pipeline.core.policy import OperatorSpec, Policy
from pipeline.detection.findings import OWN_TOKEN, Finding, mask_spans
from pipeline.detection.fold import fold_with_offsets, has_ambiguous_break
from pipeline.detection.percent import decode_with_offsets, has_escapes
from pipeline.detection.prefilter import UntranslatableError
from pipeline.detection.record_gate import (
    CONTAINER_KEEP,
    CONTAINER_PYTHON,
    CONTAINER_WALK,
    LEAF_KEEP,
    LEAF_PYTHON,
    LEAF_SCAN,
    RecordGate,
)
from pipeline.detection.scanner import Scanner
from pipeline.exceptions import KeyMissingError, RecordError
from pipeline.keys import KeyRing
from pipeline.operators.base import DROP, Operator, OperatorContext
from pipeline.operators.tokens import own_token_re

if TYPE_CHECKING:
    from pipeline.core.drift import PathLog

# Field values that say "no value" and are left alone even in a field named `imei`.
PLACEHOLDER_VALUES: Final = frozenset(
    {
        "",
        "-",
        "--",
        "null",
        "none",
        "nil",
        "n/a",
        "na",
        "unknown",
        "undefined",
        "0",
        "false",
        "true",
    }
)
_DECISION_CACHE_LIMIT = 16_384
_MEMO_LIMIT = 65_536
# Gated records between two reports of the gate's path counts to the drift log.
_PATH_COUNT_EVERY = 1024
_KEEP: Final = "keep"
_DROP: Final = "drop"
_SCAN: Final = "scan"
UNKNOWN_QUARANTINE: Final = "quarantine"
UNKNOWN_FIELD: Final = "unknown_field"  # the issue of a record with a field no rule lists
_SCAN_NER: Final = "scan+ner"
# Batched NER's walk skips a string without a capital letter, a Han character or a percent
# escape before deciding its path: the NER pre-filter wants one of them. Speed only: a text
# this passes over is run through the model when its record is cleaned.
_JSON_HEADS: Final = frozenset({b"{", b"[", "{", "["})
_MAY_NAME = re.compile(r"[^\W\d_a-z\u00df-\u00ff]|%[0-9A-Fa-f]{2}")
TOO_SLOW: Final = "too_slow"  # reason code: the record's time budget ran out


@dataclass(slots=True)
class Outcome:
    """The result of one record.

    ``value`` is the anonymized record (UTF-8 bytes), or None when the policy dropped it
    on purpose. ``issue`` is a reason code when the input was malformed (``invalid_json``,
    ``invalid_utf8``, ``too_deep``, ``record_too_large``, ``too_slow``,
    ``engine_error``); the value is then the line scrubbed as text, or, when even that was
    impossible, a placeholder (``placeholder`` is True).
    """

    value: bytes | None
    kind: str  # "json" | "text" | "placeholder"
    issue: str | None = None
    dropped: bool = False
    key: bytes | None = None
    headers: list[tuple[str, bytes | None]] | None = None
    entities: dict[str, int] = field(default_factory=dict)
    operators: dict[str, int] = field(default_factory=dict)

    @property
    def placeholder(self) -> bool:
        """True when the record could not be scrubbed and ``value`` is a placeholder."""
        return self.kind == "placeholder"


def placeholder(reason: str, size: int) -> bytes:
    """The marked stand-in for a record that could not be scrubbed at all."""
    return orjson.dumps({"logscrub_error": reason, "bytes": size})


@dataclass(frozen=True, slots=True)
class _Decision:
    """What happens at one concrete path: a rule index or keep/drop/scan, and the field hint."""

    action: int | str
    hint: str | None
    unknown: bool = False  # no rule and no free-text entry lists it


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one value changed: for `logscrub explain` only, never logged.

    Security: holds the original value; it exists so a security engineer can see a
    decision on their own terminal. Nothing in the stream or the file mode creates one.
    """

    path: str
    entity: str
    detector: str
    score: float
    operator: str
    before: str
    after: str | None
    span: tuple[int, int] | None = None  # where ``before`` is in the value as written


class _Counts:
    """Per-record counters, cheap to create (one per record in the hot path)."""

    __slots__ = ("entities", "operators", "trace", "where", "events", "deadline", "unknown")

    def __init__(
        self, trace: list[Explanation] | None = None, deadline: float | None = None
    ) -> None:
        self.deadline = deadline  # time.monotonic() after which the record is given up
        self.entities: dict[str, int] = {}
        self.operators: dict[str, int] = {}
        self.events: list[tuple[str, str]] = []  # (entity, operator) in order, for the memo
        self.trace = trace  # only `explain` sets it
        self.where = ""
        self.unknown = False  # a leaf no rule lists, under `unknown_fields: quarantine`

    def check_time(self) -> None:
        """Give the record up (``too_slow``) once its time budget is spent."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RecordError(TOO_SLOW)

    def add(self, entity: str, operator: str) -> None:
        self.entities[entity] = self.entities.get(entity, 0) + 1
        self.operators[operator] = self.operators.get(operator, 0) + 1
        self.events.append((entity, operator))


class Engine:
    """Applies one :class:`Policy` to records. Build once per worker; reuse for every record.

    Args:
        policy: the compiled policy.
        keys: the key ring; required when the policy pseudonymizes or encrypts.
        scanner: the detector scanner (built from the detector pack when omitted).
        ner: override the policy's name detection (False turns NER off everywhere).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        keys: KeyRing | None = None,
        scanner: Scanner | None = None,
        ner: bool | None = None,
        paths: PathLog | None = None,
    ) -> None:
        if policy.needs_key and keys is None:
            raise KeyMissingError(f"policy {policy.name!r} pseudonymizes or encrypts")
        self.policy = policy
        self.keys = keys
        scan = policy.model.scan
        self.scanner = scanner or Scanner(
            threshold=scan.score_threshold,
            allow_list=scan.allow_list,
            deny_list=scan.deny_list,
            ner=_make_ner(policy) if ner is not False else None,
        )
        self._allow = frozenset(scan.allow_list)
        ctx = OperatorContext(keys=keys, normalize=self.scanner.normalize)
        self._ctx = ctx
        self._ops: dict[int, Operator[Any]] = {}
        self._entity_ops: dict[str, tuple[Operator[Any], str]] = {
            entity: (self._op(spec), spec.name) for entity, spec in policy.entity_specs.items()
        }
        self._default_op = (self._op(policy.default_spec), policy.default_spec.name)
        self._rules: list[tuple[PathPattern, Operator[Any], OperatorSpec]] = [
            (r.pattern, self._op(r.spec), r.spec) for r in policy.field_rules
        ]
        self._free_text = policy.free_text
        self._rule_list = PathPatternList([pattern for pattern, _op, _spec in self._rules])
        self._free_text_list = PathPatternList(self._free_text)
        self._default = policy.model.unknown_fields
        # `quarantine`: a field no rule lists is scanned (the output is clean either way)
        # and the record is marked (issue unknown_field): the stream quarantines it.
        self._quarantine_unknown = self._default == UNKNOWN_QUARANTINE
        if self._quarantine_unknown:
            self._default = _SCAN
        # The native record gate (pipeline.detection.record_gate): which values of a JSON record
        # Python must see. Not with drop rules (they read the whole record) or when a
        # pattern has no native form (then every value would go to Python anyway).
        self._gate: RecordGate | None = None
        self._gated = 0
        sets = getattr(self.scanner, "native_sets", None)
        if sets is not None and not policy.drop_rules:
            try:
                self._gate = RecordGate(
                    sets,
                    self.scanner.deny_patterns,
                    max_depth=policy.model.limits.max_depth,
                    max_bytes=policy.model.limits.max_bytes,
                )
            except UntranslatableError:
                self._gate = None
        # The field paths walked, for the schema drift guard (pipeline.core.drift); None: off.
        self._decisions: dict[tuple[tuple[str, ...], str, str | None], _Decision] = {}
        self._paths: PathLog | None = None
        self.paths = paths
        self._plain_keys: set[str] = set()  # object keys and header names with nothing found
        self._key_memo: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._memo: dict[
            tuple[str, int, bool, bool, str | None], tuple[str, tuple[tuple[str, str], ...]]
        ] = {}
        self._limits = policy.model.limits
        self._text_action = policy.model.text.action
        self._text_ner = policy.model.text.ner
        self._key_op = (
            self._op(policy.key_spec) if isinstance(policy.key_spec, OperatorSpec) else None
        )
        # A value that is already one of our tokens is not personal data: field rules and
        # field-name hints leave it (scrubbing twice changes nothing).
        self._own_token = own_token_re(
            {*self.scanner.entities, *policy.entity_specs, "PII", "FIELD"}
            | {r.spec.entity for r in policy.field_rules if r.spec.entity}
        ).fullmatch

    @property
    def paths(self) -> PathLog | None:
        """The drift log told every field path walked (None: schema drift is off)."""
        return self._paths

    @paths.setter
    def paths(self, log: PathLog | None) -> None:
        self._paths = log
        if log is not None and self._gate is not None:
            # Paths the native gate walked are counted there and reported in bulk. Every
            # path is walked by Python once with the log attached (its first sighting,
            # which decides whether it is new), so what the gate was taught before goes.
            log.before_listing = self.report_path_counts
            self._decisions.clear()
            self._gate.forget_paths()

    def report_path_counts(self) -> None:
        """Hand the native gate's path counts to the drift log (see :attr:`paths`)."""
        if self._gate is not None and self._paths is not None:
            self._gate.take_path_counts(self._paths.saw_many)

    def _op(self, spec: OperatorSpec) -> Operator[Any]:
        op = self._ops.get(id(spec))
        if op is None:
            op = spec.cls(spec.params, self._ctx)
            self._ops[id(spec)] = op
        return op

    # ------------------------------------------------------------------ public API

    def apply(
        self,
        value: bytes | str,
        key: bytes | str | None = None,
        headers: Sequence[tuple[str, bytes | None]] | None = None,
        *,
        deadline: float | None = None,
    ) -> Outcome:
        """Anonymize one record (and its Kafka key and headers, when given).

        ``deadline`` (a :func:`time.monotonic` value) is the record's time budget: past
        it, the record is given up as a placeholder with the issue ``too_slow`` (the
        stream quarantines it) instead of holding up the partition.
        """
        counts = _Counts(deadline=deadline)
        outcome = None
        if self._gate is not None and type(value) is bytes:
            outcome = self._apply_gated(value, counts)
            if outcome is None:
                counts = _Counts(deadline=deadline)  # a gated attempt leaves no counts
        if outcome is None:
            outcome = self._apply_value(value, counts)
        if self._paths is not None:
            self._paths.record_done()
        if not outcome.dropped:
            try:
                outcome.key = self._apply_key(key, counts)
                outcome.headers = self._apply_headers(headers, counts)
            except RecordError as exc:
                size = len(value)
                return Outcome(placeholder(exc.reason, size), "placeholder", issue=exc.reason)
        outcome.entities = counts.entities
        outcome.operators = counts.operators
        return outcome

    def apply_many(
        self,
        values: Sequence[bytes | str],
        keys: Sequence[bytes | str | None] | None = None,
        headers: Sequence[Sequence[tuple[str, bytes | None]] | None] | None = None,
        *,
        budget_s: float | None = None,
    ) -> list[Outcome]:
        """:meth:`apply` for many records at once, with batched NER (:meth:`prime_ner`).

        The outcomes are the ones :meth:`apply` gives each record alone, in order.
        ``budget_s`` is each record's time budget (its deadline is set when its turn
        comes, as the stream does); the batched NER phase gets the batch's budget.
        """
        started = time.monotonic()
        batch_deadline = None if budget_s is None else started + budget_s * max(1, len(values))
        self.prime_ner(values, headers, deadline=batch_deadline)
        try:
            out: list[Outcome] = []
            for i, value in enumerate(values):
                out.append(
                    self.apply(
                        value,
                        None if keys is None else keys[i],
                        None if headers is None else headers[i],
                        deadline=None if budget_s is None else time.monotonic() + budget_s,
                    )
                )
            return out
        finally:
            self.forget_ner()

    def prime_ner(
        self,
        values: Sequence[bytes | str | None],
        headers: Sequence[Sequence[tuple[str, bytes | None]] | None] | None = None,
        *,
        deadline: float | None = None,
    ) -> int:
        """Batched NER: run the name model once over the free text of many records.

        Walks the records with the engine's own path decisions, collects every free-text
        value they will send to NER (values already in the memo of scanned values left
        out) and hands them to :meth:`NerDetector.prime <pipeline.detection.ner.NerDetector.prime>`:
        the cheap pre-filter, then one ``nlp.pipe`` over the texts that may hold a name.
        The records are then cleaned one by one with :meth:`apply` (or
        :meth:`apply_many`), whose NER calls are answered from the prime. Findings are
        the same either way; a text the walk did not foresee is run through the model
        when its record is cleaned. ``headers`` is accepted for symmetry (header values
        do not go to NER). Returns the number of texts run through the model.

        Never raises for a record: a record that cannot be read is left to :meth:`apply`.
        """
        ner = self._ner_detector()
        if ner is None:
            return 0
        texts: list[str] = []
        for raw in values:
            if raw is None:
                continue
            try:
                self._collect_ner_texts(raw, texts)
            except Exception:  # noqa: BLE001, S112 — only speed is at stake: apply() decides
                continue
        if not texts:
            ner.forget()
            return 0
        return int(ner.prime(texts, deadline=deadline))

    @property
    def batches_ner(self) -> bool:
        """Whether :meth:`prime_ner` can speed records up (NER is on for this engine)."""
        return self._ner_detector() is not None

    def forget_ner(self) -> None:
        """Drop what the last :meth:`prime_ner` remembered (record texts, bounded)."""
        ner = self._ner_detector()
        if ner is not None:
            ner.forget()

    def _ner_detector(self) -> Any:
        """The scanner's name detector when it can be primed (NerDetector), else None."""
        ner = getattr(self.scanner, "_ner", None)
        return ner if ner is not None and hasattr(ner, "prime") else None

    def explain(
        self, value: bytes | str, *, deadline: float | None = None
    ) -> tuple[Outcome, list[Explanation]]:
        """Anonymize one record and say, per changed value, what caught it and what it became
        (``deadline`` as in :meth:`apply`)."""
        trace: list[Explanation] = []
        counts = _Counts(trace, deadline)
        outcome = self._apply_value(value, counts)
        outcome.entities = counts.entities
        outcome.operators = counts.operators
        return outcome, trace

    def key_is_plain(self, key: str) -> bool:
        """Whether the scanner finds no personal data in an object key (remembered)."""
        if key in self._plain_keys:
            return True
        local = _Counts()
        self._scan_text(key, None, False, local, names=True)
        return not local.events

    def operator_for(self, entity: str) -> tuple[Operator[Any], str]:
        """The operator (and its name) the policy applies to a finding of ``entity``."""
        return self._entity_ops.get(entity, self._default_op)

    def forget_values(self) -> None:
        """Empty the memos of scanned values, the engine's and the native gate's
        (benchmarks: each timed pass starts cold)."""
        self._memo.clear()
        if self._gate is not None:
            self._gate.forget_values()

    def scrub_line(self, line: str) -> str | None:
        """Anonymize one line of text; None when the policy drops it (evaluation helper)."""
        out = self.apply(line)
        return None if out.value is None else out.value.decode("utf-8")

    def scrub_text(self, text: str, field_name: str | None = None, *, ner: bool = False) -> str:
        """Scan free text and replace every finding with its entity's operator."""
        return self._scan_text(text, field_name, ner, _Counts())

    # ------------------------------------------------------------------ records

    def _apply_value(self, raw: bytes | str, counts: _Counts) -> Outcome:
        try:
            decoded = decode_line(
                raw, max_bytes=self._limits.max_bytes, max_depth=self._limits.max_depth
            )
        except RecordError as exc:
            return Outcome(placeholder(exc.reason, len(raw)), "placeholder", issue=exc.reason)
        try:
            if isinstance(decoded.obj, dict):
                if self._drop_record(decoded.obj):
                    return Outcome(None, "json", issue=decoded.issue, dropped=True)
                cleaned: Any = self._walk_dict(decoded.obj, (), None, counts)
                return Outcome(dumps(cleaned), "json", issue=decoded.issue or _unknown(counts))
            if decoded.obj is not None:  # a JSON array: its items are records or values
                cleaned = self._node(decoded.obj, (), "", None, counts)
                return Outcome(dumps(cleaned), "json", issue=decoded.issue or _unknown(counts))
            assert decoded.text is not None  # noqa: S101 — Decoded sets exactly one
            if decoded.issue is not None and decoded.text.lstrip().startswith("{"):
                # An object that does not parse (cut, garbled, too deep, bad UTF-8).
                text = self._scan_broken_json(decoded.text, counts)
                return Outcome(text.encode("utf-8"), "text", issue=decoded.issue)
            if self._text_action == _DROP and decoded.issue is None:
                return Outcome(None, "text", dropped=True)
            text = self._scan_text(decoded.text, None, self._text_ner, counts, names=True)
            return Outcome(text.encode("utf-8"), "text", issue=decoded.issue)
        except RecordError as exc:
            return Outcome(placeholder(exc.reason, len(raw)), "placeholder", issue=exc.reason)
        except Exception:  # noqa: BLE001 — fail closed: a bug must never pass a raw record
            return self._fallback_as_text(decoded, raw, counts)

    def _apply_gated(self, raw: bytes, counts: _Counts) -> Outcome | None:
        """Clean a JSON record through the native gate: Python sees only the values the
        gate hands it; the rest stays as written (a record where nothing changes leaves
        byte for byte). None when the gate cannot vouch for the record (the caller then
        walks it the usual way and the gate learns from that walk).

        Values at paths or under keys the gate was not taught yet (*untaught*) come whole
        and are walked as :meth:`_apply_value` walks a record, their keys cleaned as
        :meth:`_walk_dict` cleans them, which teaches the gate. Such a record is written
        as that walk writes every record (serialized again, changed or not): its bytes
        are those it had when an untaught value made the whole record go the usual way.
        """
        assert self._gate is not None  # noqa: S101 — the caller checked
        found = self._gate.scan(raw)
        if found is None:
            return None
        where, untaught = found
        self._gated += 1
        if self._paths is not None and self._gated % _PATH_COUNT_EVERY == 0:
            self.report_path_counts()
        if not where:
            return Outcome(raw, "json")
        try:
            if self._gate.plain_json:
                # The gate checked what decode_line checks (size, UTF-8, depth, no long
                # integer to keep exact): orjson alone, without decode_line's depth walk
                # and long-integer search over the text (~8 µs a record).
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return None  # not what the gate read: the usual way decides
                if not isinstance(obj, dict):
                    return None
            else:
                decoded = decode_line(
                    raw, max_bytes=self._limits.max_bytes, max_depth=self._limits.max_depth
                )
                obj = decoded.obj
                if not isinstance(obj, dict) or decoded.issue is not None:
                    return None  # not what the gate read: the usual way decides
            changed = False
            drops: list[tuple[Any, str | int]] = []
            for segments in where:
                container, key, path, name, parent = _locate(obj, segments)
                old = container[key]
                new = self._node(old, path, name, parent, counts)
                if new is DROP:
                    drops.append((container, key))
                    changed = True
                    continue
                if new is not old and (type(new) is not type(old) or new != old):
                    container[key] = new
                    changed = True
                if untaught and type(key) is str and self._clean_key(key, {}, counts) != key:
                    # A key with personal data in it (the gate is taught only keys without):
                    # the usual walk rebuilds its object around the new key.
                    return None
            for container, key in reversed(drops):  # later items first: indices hold
                del container[key]
        except RecordError as exc:
            return Outcome(placeholder(exc.reason, len(raw)), "placeholder", issue=exc.reason)
        except Exception:  # noqa: BLE001 — the usual way has its own last resort
            return None
        if not changed and not untaught:
            return Outcome(raw, "json", issue=_unknown(counts))
        return Outcome(dumps(obj), "json", issue=_unknown(counts))

    def _fallback_as_text(self, decoded: Any, raw: bytes | str, counts: _Counts) -> Outcome:
        """Last resort after an unexpected error: scan the whole line as text."""
        text = decoded.text if decoded.text is not None else None
        if text is None:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            scrubbed = self._scan_text(text, None, False, counts)
        except Exception:  # noqa: BLE001 — even text scanning failed: emit a placeholder
            return Outcome(
                placeholder("engine_error", len(raw)), "placeholder", issue="engine_error"
            )
        return Outcome(scrubbed.encode("utf-8"), "text", issue="engine_error")

    # ------------------------------------------------------------------ batched NER

    def _collect_ner_texts(self, raw: bytes | str, texts: list[str]) -> None:
        """Append the texts that :meth:`apply` on ``raw`` will hand to NER (mirrors
        :meth:`_apply_value` and :meth:`_node`, without scanning anything)."""
        if len(raw) > self._limits.max_bytes:
            return  # a placeholder: nothing of it is scanned
        if raw.lstrip()[:1] in _JSON_HEADS:
            # A lighter parse than decode_line (no depth or long-integer pass): numbers
            # do not go to NER, and a record too deep to walk here is only not primed.
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                if self.policy.drop_rules and self._drop_record(obj):
                    return
                for k, v in obj.items():
                    self._collect_node(v, (k.lower(),), k, None, texts)
                return
            if isinstance(obj, list):
                self._collect_node(obj, (), "", None, texts)
                return
        if not self._text_ner:
            return
        decoded = decode_line(
            raw, max_bytes=self._limits.max_bytes, max_depth=self._limits.max_depth
        )
        if decoded.text is None:
            return
        if decoded.issue is not None and decoded.text.lstrip().startswith("{"):
            return  # broken JSON: its text pieces are scanned without NER
        if self._text_action == _DROP and decoded.issue is None:
            return
        self._collect_ner_text(decoded.text, None, None, True, texts)

    def _collect_node(
        self, v: Any, p: tuple[str, ...], name: str, parent: str | None, texts: list[str]
    ) -> None:
        if isinstance(v, str):
            if _MAY_NAME.search(v) is None:
                return
        elif not isinstance(v, dict | list):
            return  # numbers, booleans and nulls never go to NER
        decision = self._decide(p, name, parent)
        action = decision.action
        if type(action) is int:
            return
        if isinstance(v, dict):
            for k, x in v.items():
                self._collect_node(x, (*p, k.lower()), k, name, texts)
        elif isinstance(v, list):
            pa = (*p, ARRAY)
            for item in v:
                self._collect_node(item, pa, name, parent, texts)
        elif action == _SCAN_NER and isinstance(v, str) and v not in self._allow:
            self._collect_ner_text(v, name, decision.hint, False, texts)

    def _collect_ner_text(
        self, text: str, name: str | None, hint: str | None, names: bool, texts: list[str]
    ) -> None:
        """The text NER will see for ``text`` (as :meth:`_scan_text_uncached` and the
        scanner prepare it), unless the memo of scanned values already has the result."""
        if (text, self.scanner.field_signature(name), True, names, hint) in self._memo:
            return
        scanned = decode_with_offsets(text)[0] if has_escapes(text) else text
        folded, fold_starts = fold_with_offsets(scanned)
        if fold_starts is not None:
            scanned = folded
        if len(scanned) < 2:
            return
        # The scanner's mask of our own tokens, so primed NER texts are the ones NER sees.
        if "<" in scanned and ">" in scanned:
            tokens = [m.span() for m in OWN_TOKEN.finditer(scanned)]
            if tokens:
                scanned = mask_spans(scanned, tokens)
        texts.append(scanned)

    def _drop_record(self, obj: dict[str, Any]) -> bool:
        for rule in self.policy.drop_rules:
            values = _values_at(obj, rule.pattern)
            if rule.exists is not None:
                if bool(values) == rule.exists:
                    return True
                continue
            for value in values:
                text = value if isinstance(value, str) else orjson.dumps(value).decode()
                if rule.equals is not None and text in rule.equals:
                    return True
                if rule.matches is not None and rule.matches.search(text):
                    return True
        return False

    def _decide(self, path: tuple[str, ...], name: str, parent: str | None) -> _Decision:
        """The rule for a concrete path and the entity its field name implies (cached)."""
        # Per path *and* spelling: the hint reads the field name as written (`netBssid`
        # names a MAC address, `netbssid` does not), so a decision made for one spelling
        # must not answer for another (it made the outcome depend on which came first).
        memo_key = (path, name, parent)
        found = self._decisions.get(memo_key)
        if found is not None:
            return found
        action: int | str = self._default
        unknown = False
        joined = join_path(path)
        rule = self._rule_list.first(path, joined)
        if rule is not None:
            action = rule
        else:
            for q in _free_text_paths(path):
                if self._free_text_list.first(q, join_path(q)) is not None:
                    action = _SCAN_NER
                    break
            else:
                unknown = True
        hint = self.scanner.field_entity(name)
        if hint is None and parent:
            # `user.id`, `device.sn`: a generic name is qualified by its parent's name.
            hint = self.scanner.field_entity(f"{parent}_{name}")
        found = _Decision(action, hint, unknown)
        if len(self._decisions) >= _DECISION_CACHE_LIMIT:
            self._decisions.clear()
        self._decisions[memo_key] = found
        if self._gate is not None:
            self._gate.teach_path(path, name, parent, *self._gate_classes(found))
        return found

    def _gate_classes(self, decision: _Decision) -> tuple[int, int]:
        """What the native gate does at a path with ``decision`` (leaf, container)."""
        action = decision.action
        if type(action) is int:
            if self._rules[action][2].name == "keep":
                return LEAF_KEEP, CONTAINER_KEEP
            return LEAF_PYTHON, CONTAINER_PYTHON
        if action == _KEEP:
            return LEAF_KEEP, CONTAINER_WALK
        plain = decision.hint is None and not (decision.unknown and self._quarantine_unknown)
        if action == _SCAN and plain:
            return LEAF_SCAN, CONTAINER_WALK
        return LEAF_PYTHON, CONTAINER_WALK

    def _scan_broken_json(self, text: str, counts: _Counts) -> str:
        """Scrub JSON that does not parse, using the field names that can still be read.

        Each value that sits under a field name gets that field's rule and hint, as in a
        valid record (a bare ``"id":"u_10293"`` under ``user`` is a user id); keys are
        cleaned like keys, anything unreadable is scanned as text, punctuation stays.
        """
        parts: list[str] = []
        for piece in read_pieces(text, self._limits.max_depth):
            chunk = text[piece.start : piece.end]
            if piece.kind == "punct":
                parts.append(chunk)
            elif piece.kind == "key":
                parts.append(dumps(self._clean_key(unquote(chunk), {}, counts)).decode("utf-8"))
            elif piece.kind == "text":
                parts.append(self._scan_text(chunk, None, False, counts, names=True))
            else:
                value: Any = unquote(chunk) if chunk.startswith('"') else _scalar(chunk)
                new = self._node(value, piece.path, piece.name, piece.parent, counts)
                parts.append("null" if new is DROP else dumps(new).decode("utf-8"))
        return "".join(parts)

    def _walk_dict(
        self, obj: dict[str, Any], path: tuple[str, ...], parent: str | None, counts: _Counts
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            new = self._node(v, (*path, k.lower()), k, parent, counts)
            if new is not DROP:
                out[self._clean_key(k, out, counts)] = new
        return out

    def _clean_key(self, key: str, siblings: Mapping[str, Any], counts: _Counts) -> str:
        """An object key, or a header name, with personal data in it replaced.

        Producers key maps by email, phone, IP or device id (``{"alice@example.com": 3}``);
        the key is scanned like text and replaced, the structure kept. Keys repeat in
        every record, so the result is remembered per key (bounded).
        """
        if key in self._plain_keys:
            return key
        found = self._key_memo.get(key)
        if found is None:
            local = _Counts(deadline=counts.deadline)
            found = (self._scan_text(key, None, False, local, names=True), tuple(local.events))
            if not found[1]:
                if len(self._plain_keys) >= _MEMO_LIMIT:
                    self._plain_keys.clear()
                self._plain_keys.add(key)
                if self._gate is not None:
                    self._gate.teach_key(key, *self.scanner.field_bits(key))
                return key
            if len(self._key_memo) >= _MEMO_LIMIT:
                self._key_memo.clear()
            self._key_memo[key] = found
        new, events = found
        for entity, op_name in events:
            counts.add(entity, op_name)
        if new in siblings:
            # Two keys replaced by the same token (redact) must not overwrite each other.
            n = 2
            while f"{new}#{n}" in siblings:
                n += 1
            new = f"{new}#{n}"
        return new

    def _node(
        self, v: Any, p: tuple[str, ...], name: str, parent: str | None, counts: _Counts
    ) -> Any:
        decision = self._decide(p, name, parent)
        if self.paths is not None:
            self.paths.saw(p)
        if counts.deadline is not None:
            counts.check_time()
        if counts.trace is not None:
            counts.where = format_path(p)
        action = decision.action
        if type(action) is int:
            _pattern, op, spec = self._rules[action]
            return self._apply_rule(v, op, spec, decision.hint, counts)
        if isinstance(v, dict):
            return self._walk_dict(v, p, name, counts)
        if isinstance(v, list):
            # Array elements take the array's name: `x_forwarded_for[]` items are IPs.
            pa = (*p, ARRAY)
            items = (self._node(item, pa, name, parent, counts) for item in v)
            return [item for item in items if item is not DROP]
        if action == _KEEP:
            return v
        if action == _DROP:
            counts.add("FIELD", "drop")
            return DROP
        if decision.unknown and self._quarantine_unknown:
            counts.unknown = True
        if type(v) is str and len(v) > 1 and v[0] in "{[" and v[-1] in "}]":
            embedded = self._embedded_json(v, p, name, parent, counts)
            if embedded is not None:
                return embedded
        return self._scan_leaf(v, name, decision.hint, action == _SCAN_NER, counts)

    def _embedded_json(
        self, v: str, p: tuple[str, ...], name: str, parent: str | None, counts: _Counts
    ) -> str | None:
        """A string holding a JSON object or array (`"payload": "{\\"phone\\": ...}"`),
        cleaned as the record's own fields would be, under the same path; ``None`` when it
        is not one. Its keys name its values as a record's do: scanned as one string, a
        `"name": "Li Lei"` inside it would be text without a field. Unchanged, it stays
        as written; changed, it is written compact."""
        try:
            obj = orjson.loads(v)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict | list) or max_depth_exceeded(obj, self._limits.max_depth):
            return None
        cleaned = self._node(obj, p, name, parent, counts)
        return v if cleaned == obj else dumps(cleaned).decode()

    def _apply_rule(
        self, v: Any, op: Operator[Any], spec: OperatorSpec, hint: str | None, counts: _Counts
    ) -> Any:
        """A `fields:` rule: the value (every leaf, for a container) IS personal data."""
        if spec.name == "keep":
            return v
        if spec.name == "drop":
            counts.add(spec.entity or hint or "FIELD", "drop")
            if counts.trace is not None:
                counts.trace.append(
                    Explanation(
                        counts.where,
                        spec.entity or hint or "FIELD",
                        "fields rule",
                        1.0,
                        "drop",
                        str(v)[:200],
                        None,
                    )
                )
            return DROP
        if isinstance(v, dict):
            pairs = ((k, self._apply_rule(x, op, spec, hint, counts)) for k, x in v.items())
            return {k: x for k, x in pairs if x is not DROP}
        if isinstance(v, list):
            items = (self._apply_rule(i, op, spec, hint, counts) for i in v)
            return [x for x in items if x is not DROP]
        if v is None or isinstance(v, bool):
            return v
        entity = spec.entity or hint or "PII"
        text = v if isinstance(v, str) else str(v)
        if text.strip().lower() in PLACEHOLDER_VALUES or self._own_token(text):
            return v
        out = op.apply(text, entity)
        counts.add(entity, spec.name)
        if counts.trace is not None:
            counts.trace.append(
                Explanation(
                    counts.where,
                    entity,
                    "fields rule",
                    1.0,
                    spec.name,
                    text,
                    str(out),
                    (0, len(text)),
                )
            )
        return _same_type(v, out)

    def _scan_leaf(self, v: Any, name: str, hint: str | None, ner: bool, counts: _Counts) -> Any:
        if isinstance(v, str):
            if v in self._allow:
                return v
            return self._scan_text(v, name, ner, counts, hint=hint)
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            # Numbers carry phone numbers, IMEIs, uids and coordinates too. Only a field
            # name or a long digit run makes them worth a scan: epoch times and counters
            # stay numbers. Integers of any size (an ICCID has 20 digits) keep every digit.
            if hint is None and abs(v) < 1_000_000:
                return v
            return _same_type(v, self._scan_text(str(v), name, False, counts, hint=hint))
        if isinstance(v, float):
            if hint is None and not abs(v) >= 1_000_000:
                return v
            if hint is None and v.is_integer():
                # `13800138000.0`: a phone number written by a producer that had a float.
                digits = str(int(v))
                out = self._scan_text(digits, name, False, counts)
                return v if out == digits else out
            return _same_type(v, self._scan_text(repr(v), name, False, counts, hint=hint))
        return v

    def _scan_text(
        self,
        text: str,
        name: str | None,
        ner: bool,
        counts: _Counts,
        *,
        hint: str | None = None,
        names: bool = False,
    ) -> str:
        if counts.trace is None:
            # Logs repeat values (levels, service names, hosts, user agents, device ids):
            # a bounded memo of (value, field, mode) -> result skips the scan entirely.
            # Keyed by what the scan reads from the field name (its signature), so one
            # value under `hostName`, `host_name` and `HOSTNAME` is scanned once.
            memo_key = (text, self.scanner.field_signature(name), ner, names, hint)
            hit = self._memo.get(memo_key)
            if hit is not None:
                out, events = hit
                for entity, op_name in events:
                    counts.add(entity, op_name)
                return out
            local = _Counts(deadline=counts.deadline)
            out = self._scan_text_uncached(text, name, ner, local, hint, names)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            events = tuple(local.events)
            self._memo[memo_key] = (out, events)
            for entity, op_name in events:
                counts.add(entity, op_name)
            return out
        return self._scan_text_uncached(text, name, ner, counts, hint, names)

    def _scan_text_uncached(
        self,
        text: str,
        name: str | None,
        ner: bool,
        counts: _Counts,
        hint: str | None,
        names: bool = False,
    ) -> str:
        # Percent-encoded values (`email=jane%40example.com`) are detected in a decoded
        # view; the encoded span of the original is what gets replaced.
        decoded, decode_starts = decode_with_offsets(text) if has_escapes(text) else (text, None)
        # Full-width and other scripts' digits, look-alike signs and invisible characters
        # are folded for detection; the span of the original is what gets replaced.
        scanned, starts = self._fold_view(decoded, decode_starts, breaks=True)
        findings = self.scanner.scan(scanned, name, ner=ner, names=names)
        if has_ambiguous_break(decoded):
            # `CORP\tom`: a written-out tab to the view above, an account in this one.
            # Both views are scanned; a value either finds is replaced.
            alt, alt_starts = self._fold_view(decoded, decode_starts, breaks=False)
            alt_findings = self.scanner.scan(alt, name, ner=ner, names=names)
        else:
            alt_findings = []
        if counts.deadline is not None:
            counts.check_time()
        if hint is not None and (
            not any(f.entity == hint for f in findings)
            or (hint in _WHOLE_VALUE_HINTS and _leaves_words(scanned, findings))
        ):
            if text.strip().lower() in PLACEHOLDER_VALUES or self._own_token(text):
                return text
            # The field name says the whole value is personal data and no detector
            # matched its shape (an IMEI with odd separators, a nickname), or matched only
            # part of an address or a name (`北京市朝阳区建国路88号` of
            # `...88号SOHO现代城2号楼1201`: the building and flat would stay): treat it whole.
            return self._replace(text, hint, counts, "field name", 1.0, (0, len(text)))
        if not findings and not alt_findings:
            return text
        placed = _place(findings, scanned, starts)
        if alt_findings:
            placed = _union(placed, _place(alt_findings, alt, alt_starts))
        parts: list[str] = []
        pos = 0
        for i, (start, end, value, f) in enumerate(placed):
            if counts.deadline is not None and i % 1024 == 1023:
                counts.check_time()
            parts.append(text[pos:start])
            if f.entity == ENCODED_TEXT:
                parts.append(self._encoded(value, name, counts))
            else:
                parts.append(
                    self._replace(value, f.entity, counts, f.recognizer, f.score, (start, end))
                )
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def _encoded(self, blob: str, name: str | None, counts: _Counts) -> str:
        """A base64 blob that holds text (``EncodedTextRecognizer`` found it): the text is
        cleaned as a value of the same field (JSON as fields under it) and encoded again
        as the blob was; the blob is left as written when nothing in it changed."""
        text = decode_base64_text(blob)
        if text is None:
            return blob
        cleaned: str | None = None
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            cleaned = self._embedded_json(stripped, (), name or "", None, counts)
        if cleaned is None:
            cleaned = self._scan_text(text, name, False, counts)
        elif cleaned == stripped:
            cleaned = text
        return blob if cleaned == text else encode_like(blob, cleaned)

    @staticmethod
    def _fold_view(
        decoded: str, decode_starts: list[int] | None, *, breaks: bool
    ) -> tuple[str, list[int] | None]:
        """The folded view of ``decoded`` and its offsets in the original text."""
        folded, fold_starts = fold_with_offsets(decoded, breaks=breaks)
        if fold_starts is None:
            return decoded, decode_starts
        if decode_starts is None:
            return folded, fold_starts
        return folded, [decode_starts[i] for i in fold_starts]

    def _replace(
        self,
        value: str,
        entity: str,
        counts: _Counts,
        detector: str,
        score: float,
        span: tuple[int, int],
    ) -> str:
        op, op_name = self.operator_for(entity)
        out = op.apply(value, entity)
        counts.add(entity, op_name)
        replaced = "" if out is DROP else str(out)
        if counts.trace is not None:
            counts.trace.append(
                Explanation(
                    counts.where or "<text>",
                    entity,
                    detector,
                    score,
                    op_name,
                    value,
                    replaced,
                    span,
                )
            )
        return replaced

    # ------------------------------------------------------------------ key and headers

    def _apply_key(self, key: bytes | str | None, counts: _Counts) -> bytes | None:
        if key is None:
            return None
        spec = self.policy.key_spec
        if spec == _KEEP:
            return key if isinstance(key, bytes) else key.encode()
        if spec == _DROP:
            return None
        text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if self._key_op is not None and isinstance(spec, OperatorSpec):
            out = self._key_op.apply(text, spec.entity or "KEY")
            counts.add(spec.entity or "KEY", spec.name)
            return None if out is DROP else str(out).encode()
        return self._scan_text(text, "key", False, counts).encode()

    def _apply_headers(
        self, headers: Sequence[tuple[str, bytes | None]] | None, counts: _Counts
    ) -> list[tuple[str, bytes | None]] | None:
        if headers is None:
            return None
        mode = self.policy.model.headers
        if mode == _DROP:
            return []
        if mode == _KEEP:
            return list(headers)
        out: list[tuple[str, bytes | None]] = []
        names: dict[str, None] = {}
        for name, raw in headers:
            clean_name = self._clean_key(name, names, counts)
            names[clean_name] = None
            if raw is None:  # the protocol allows a header without a value: it stays so
                out.append((clean_name, None))
                continue
            out.append((clean_name, self._header_value(name, raw, counts)))
        return out

    def _header_value(self, name: str, raw: bytes, counts: _Counts) -> bytes:
        """A header value: JSON objects and arrays are cleaned as records, the rest as text."""
        text = raw.decode("utf-8", "replace")
        if text[:1] in ("{", "["):
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict | list) and not max_depth_exceeded(obj, self._limits.max_depth):
                cleaned = self._node(obj, (name.lower(),), name, None, counts)
                return b"null" if cleaned is DROP else dumps(cleaned)
        hint = self.scanner.field_entity(name)
        return self._scan_text(text, name, False, counts, hint=hint).encode()


# Entities a field name gives to its whole value even when a detector found a part.
_WHOLE_VALUE_HINTS = frozenset({"ADDRESS", "PERSON"})
# Two letters or digits in a row, of any script.
_WORD_RUN = re.compile(r"[^\W_]{2}")


def _leaves_words(text: str, findings: list[Finding]) -> bool:
    """Whether a word of ``text`` lies outside every finding."""
    pos = 0
    for f in findings:
        if _WORD_RUN.search(text, pos, f.start) is not None:
            return True
        pos = max(pos, f.end)
    return _WORD_RUN.search(text, pos) is not None


def _place(
    findings: list[Finding], scanned: str, starts: list[int] | None
) -> list[tuple[int, int, str, Finding]]:
    """Findings of one detection view as ``(start, end)`` in the original text, with the
    value the operator sees (the view's: folded, decoded)."""
    if starts is None:
        return [(f.start, f.end, scanned[f.start : f.end], f) for f in findings]
    return [(starts[f.start], starts[f.end], scanned[f.start : f.end], f) for f in findings]


def _union(
    first: list[tuple[int, int, str, Finding]], second: list[tuple[int, int, str, Finding]]
) -> list[tuple[int, int, str, Finding]]:
    """The findings of two views of one text: all of the first view's, and those of the
    second that overlap none of them (`\\tjane@example.com` stays an email after a tab,
    not `tjane@...`; `CORP\\tom` is found only by the second)."""
    extra = [p for p in second if all(p[1] <= s or p[0] >= e for s, e, _, _ in first)]
    if not extra:
        return first
    return sorted(first + extra, key=lambda p: p[0])


def _locate(
    obj: dict[str, Any], segments: tuple[str | int, ...]
) -> tuple[Any, str | int, tuple[str, ...], str, str | None]:
    """The container of the value at ``segments`` (keys and indices from the root), its
    key there, and the path, name and parent the record walk gives that value: object
    members take their key as name and the object's name as parent; array items take
    the array's."""
    node: Any = obj
    container: Any = obj
    key: str | int = ""
    path: tuple[str, ...] = ()
    name: Any = None
    parent: str | None = None
    for segment in segments:
        container, key = node, segment
        if type(segment) is str:
            path, name, parent = (*path, segment.lower()), segment, name
        else:
            path = (*path, ARRAY)
        node = node[segment]
    return container, key, path, name, parent


def _unknown(counts: _Counts) -> str | None:
    return UNKNOWN_FIELD if counts.unknown else None


def _free_text_paths(path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The path, and the path ending in the last word of its field name: free-text rules
    name the word (`msg`), producers add to it (`errMsg`, `err.msg`, `error_message`,
    `log_2`)."""
    if not path or path[-1] == ARRAY:
        return [path]
    tokens = list(field_name_tokens(path[-1]))
    # A trailing number tells copies apart (`log_2`, `msg2`), not what they hold.
    while len(tokens) > 1 and tokens[-1].isdigit():
        tokens.pop()
    if tokens and tokens[-1][-1:].isdigit():
        tokens[-1] = tokens[-1].rstrip("0123456789") or tokens[-1]
    if not tokens or (len(tokens) == 1 and tokens[0] == path[-1]):
        return [path]
    return [path, (*path[:-1], tokens[-1])]


def _scalar(token: str) -> Any:
    """A JSON number or literal token as its value (the token itself if it is neither)."""
    try:
        return orjson.loads(token)
    except orjson.JSONDecodeError:
        return token


def _same_type(original: Any, out: Any) -> Any:
    """Keep a number a number when the operator returned a number-shaped string (GPS)."""
    if out is DROP or isinstance(original, str) or not isinstance(out, str):
        return out
    try:
        return type(original)(out)
    except ValueError:
        return out


def _values_at(obj: dict[str, Any], pattern: PathPattern) -> list[Any]:
    """Every value in ``obj`` whose path matches ``pattern`` (keys compared lowercase)."""
    if pattern.is_literal:
        # The common case (`level`, `http.path`): follow the keys, no full walk.
        node: Any = obj
        for seg in pattern.segments:
            if not isinstance(node, dict):
                return []
            if seg in node:
                node = node[seg]
                continue
            node = next((v for k, v in node.items() if k.lower() == seg), _MISSING)
            if node is _MISSING:
                return []
        return [node]
    found: list[Any] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(obj, ())]
    while stack:
        node, path = stack.pop()
        if path and pattern.matches(path):
            found.append(node)
        if isinstance(node, dict):
            stack.extend((v, (*path, k.lower())) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, ARRAY)) for v in node)
    return found


_MISSING: Final = object()


def _make_ner(policy: Policy) -> Any:
    """Build the NER detector only when the policy asks for it (the model is slow to load)."""
    model = policy.model
    if not ((model.scan.ner and policy.free_text) or model.text.ner):
        return None
    from pipeline.detection.ner import NerDetector

    return NerDetector()
