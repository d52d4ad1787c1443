"""Policies: the YAML model, its validation, and the compiled form the engine runs.

A policy is validated completely at load time. Every problem is collected and raised as
one :class:`ConfigError` naming file, line and path, so a user fixes everything in one
pass. Messages never quote a value from the file (a policy could hold an allow-list entry
that is itself personal data).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.core.paths import PathPattern
from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.operators.registry import OperatorClass, get_operator, operator_names
from pipeline.shipped import as_config, shipped

DEFAULT_ENTITY = "DEFAULT"
# The shipped default policy, inside the installed package (pipeline/shipped.py).
DEFAULT_POLICY_PATH = shipped("policies", "default.yaml")

Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanConfig(_Model):
    """How free text and unlisted fields are scanned for personal data."""

    fields: list[str] = Field(
        default_factory=list,
        description="Free-text fields (dotted paths): also run name detection (NER) here.",
    )
    ner: bool = Field(default=False, description="Detect person names in `fields` with spaCy.")
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    entities: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {DEFAULT_ENTITY: {"type": "redact"}},
        description="Operator per entity type found; DEFAULT covers the rest.",
    )
    allow_list: list[str] = Field(
        default_factory=list, description="Literal values that are never treated as PII."
    )
    deny_list: dict[str, list[str]] = Field(
        default_factory=dict, description="Entity type -> literal values always treated as it."
    )


class TextConfig(_Model):
    """How lines that are not JSON objects (access logs, syslog, logcat) are handled."""

    action: Literal["scan", "drop"] = "scan"
    ner: bool = Field(default=False, description="Run name detection on text lines too.")


class DropRule(_Model):
    """Drop a whole record when the value at ``path`` meets one condition."""

    path: str
    equals: list[Scalar] | None = None
    matches: str | None = Field(default=None, description="Regular expression (search).")
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> DropRule:
        given = [c for c in (self.equals, self.matches, self.exists) if c is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, matches, exists")
        return self

    @field_validator("matches")
    @classmethod
    def _regex_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression ({exc.msg})") from None
        return v

    @field_validator("path")
    @classmethod
    def _path_parses(cls, v: str) -> str:
        PathPattern(v)
        return v


class Limits(_Model):
    """Size limits that keep one bad record from stalling a worker."""

    max_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    max_depth: int = Field(default=64, ge=2, le=512)


class PolicyModel(_Model):
    """The YAML document of one policy (``configs/policies/<name>.yaml``)."""

    version: Literal[1]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    unknown_fields: Literal["keep", "drop", "scan", "quarantine"] = Field(
        description=(
            "What happens to fields no rule lists. Required: `scan` is the safe choice; "
            "`quarantine` scans them and sends the record to quarantine (a new field never "
            "passes silently where a policy lists every field it expects)."
        )
    )
    fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Path pattern -> operator; the value IS personal data."
    )
    scan: ScanConfig = Field(default_factory=ScanConfig)
    text: TextConfig = Field(default_factory=TextConfig)
    key: Literal["keep", "scan", "drop"] | dict[str, Any] = Field(
        default="scan", description="The Kafka message key: keep, scan, drop or an operator."
    )
    headers: Literal["keep", "scan", "drop"] = "scan"
    drop_records: list[DropRule] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)


@dataclass(frozen=True)
class OperatorSpec:
    """A resolved operator: class, validated params, and the entity type it reports."""

    name: str
    cls: OperatorClass
    params: BaseModel
    entity: str | None = None


@dataclass(frozen=True)
class FieldRule:
    """One ``fields:`` entry, compiled."""

    pattern: PathPattern
    spec: OperatorSpec


@dataclass(frozen=True)
class CompiledDropRule:
    """One ``drop_records:`` entry, compiled."""

    pattern: PathPattern
    equals: frozenset[str] | None
    matches: re.Pattern[str] | None
    exists: bool | None


@dataclass(frozen=True)
class Policy:
    """A validated policy, ready for the engine."""

    name: str
    source: str
    digest: str  # first 12 hex of SHA-256 of the file: the policy version in manifests
    model: PolicyModel
    field_rules: tuple[FieldRule, ...]
    free_text: tuple[PathPattern, ...]
    entity_specs: dict[str, OperatorSpec]
    default_spec: OperatorSpec
    key_spec: OperatorSpec | Literal["keep", "scan", "drop"]
    drop_rules: tuple[CompiledDropRule, ...]

    @property
    def needs_key(self) -> bool:
        """Whether any operator of this policy needs the secret key."""
        specs: list[OperatorSpec] = [r.spec for r in self.field_rules]
        specs += list(self.entity_specs.values()) + [self.default_spec]
        if isinstance(self.key_spec, OperatorSpec):
            specs.append(self.key_spec)
        return any(s.cls.needs_key for s in specs)


# --------------------------------------------------------------------------- YAML + lines

# libyaml's safe loader when PyYAML was built with it (the same safe constructor and
# resolver, the parser in C): the shipped policy loads in ~1 ms instead of ~9 ms of the
# ~1 s `logscrub scrub` start-up.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_map(node: yaml.Node, issues: list[ConfigIssue], file: str) -> dict[tuple[Any, ...], int]:
    """Map every path in the YAML document to its 1-based line; report duplicate keys."""
    lines: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(node, ())]
    while stack:
        cur, path = stack.pop()
        lines[path] = cur.start_mark.line + 1
        if isinstance(cur, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in cur.value:
                key = key_node.value
                if key in seen:
                    issues.append(
                        ConfigIssue(
                            file,
                            key_node.start_mark.line + 1,
                            _fmt((*path, key)),
                            "duplicate key (the earlier entry would be ignored)",
                        )
                    )
                seen.add(key)
                lines[(*path, key)] = key_node.start_mark.line + 1
                stack.append((value_node, (*path, key)))
        elif isinstance(cur, yaml.SequenceNode):
            for i, item in enumerate(cur.value):
                stack.append((item, (*path, i)))
    return lines


def _fmt(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _resolve_operator(
    raw: Any, loc: tuple[Any, ...], add: Any, *, allow_entity: bool = True
) -> OperatorSpec | None:
    """Resolve ``{type: name, entity?: X, **params}``; report problems through ``add``."""
    if not isinstance(raw, dict):
        add(loc, "must be a mapping like {type: redact}")
        return None
    params = dict(raw)
    name = params.pop("type", None)
    entity = params.pop("entity", None) if allow_entity else None
    if not isinstance(name, str):
        add(loc, f"missing operator `type` (one of: {', '.join(operator_names())})")
        return None
    cls = get_operator(name)
    if cls is None:
        add((*loc, "type"), f"unknown operator (known: {', '.join(operator_names())})")
        return None
    if entity is not None and (
        not isinstance(entity, str) or not re.match(r"^[A-Z][A-Z0-9_]*$", entity)
    ):
        add((*loc, "entity"), "entity must be an UPPER_SNAKE entity type")
        entity = None
    try:
        model = cls.params_model.model_validate(params)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            add((*loc, *err["loc"]), f"{name}: {err['msg']}")
        return None
    return OperatorSpec(name=name, cls=cls, params=model, entity=entity)


def _known_entities() -> frozenset[str]:
    # Imported lazily: detectors pull in Presidio, which a bare `import pipeline` should not.
    from detectors import all_recognizers

    return frozenset(r.ENTITY for r in all_recognizers()) | {"PERSON", "LOCATION", DEFAULT_ENTITY}


def parse_policy(text: str, source: str = "<string>") -> Policy:
    """Validate and compile one policy document.

    Raises:
        ConfigError: with every issue found.
    """
    issues: list[ConfigIssue] = []

    def add(loc: tuple[Any, ...], message: str) -> None:
        issues.append(ConfigIssue(source, _line_for(lines, loc), _fmt(loc), message))

    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 — a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            [ConfigIssue(source, mark.line + 1 if mark else None, "", f"YAML syntax: {problem}")]
        ) from None
    if node is None or not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, 1, "", "a policy must be a YAML mapping")])
    lines = _line_map(node, issues, source)

    try:
        model = PolicyModel.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            add(tuple(err["loc"]), err["msg"])
        # Keep going with what is valid, so operator errors are reported in the same run.
        model = None

    field_rules: list[FieldRule] = []
    for pattern_text, raw in (
        (data.get("fields") or {}).items() if isinstance(data.get("fields"), dict) else []
    ):
        loc: tuple[Any, ...] = ("fields", pattern_text)
        try:
            pattern = PathPattern(str(pattern_text))
        except ValueError as exc:
            add(loc, f"invalid path pattern: {exc}")
            continue
        spec = _resolve_operator(raw, loc, add)
        if spec is not None:
            field_rules.append(FieldRule(pattern, spec))

    known = _known_entities()
    raw_scan = data.get("scan")
    scan: dict[Any, Any] = raw_scan if isinstance(raw_scan, dict) else {}
    entity_specs: dict[str, OperatorSpec] = {}
    raw_entities = scan.get("entities", {DEFAULT_ENTITY: {"type": "redact"}})
    if isinstance(raw_entities, dict):
        for entity, raw in raw_entities.items():
            loc = ("scan", "entities", entity)
            if entity not in known:
                add(loc, "no detector emits this entity type")
                continue
            spec = _resolve_operator(raw, loc, add, allow_entity=False)
            if spec is not None:
                entity_specs[str(entity)] = spec
    for entity in (scan.get("deny_list") or {}) if isinstance(scan.get("deny_list"), dict) else {}:
        if entity not in known:
            add(("scan", "deny_list", entity), "no detector emits this entity type")

    free_text: list[PathPattern] = []
    field_patterns = {r.pattern.segments for r in field_rules}
    for i, path_text in enumerate(
        scan.get("fields") or [] if isinstance(scan.get("fields"), list) else []
    ):
        try:
            pattern = PathPattern(str(path_text))
        except ValueError as exc:
            add(("scan", "fields", i), f"invalid path pattern: {exc}")
            continue
        if pattern.segments in field_patterns:
            add(
                ("scan", "fields", i),
                "this path also has a `fields:` rule; give it one or the other",
            )
        free_text.append(pattern)

    key_spec: OperatorSpec | Literal["keep", "scan", "drop"] = "scan"
    raw_key = data.get("key", "scan")
    if isinstance(raw_key, dict):
        spec = _resolve_operator(raw_key, ("key",), add)
        if spec is not None:
            key_spec = spec

    if issues or model is None:
        raise ConfigError(sorted(issues, key=lambda i: (i.line or 0, i.path)))

    if isinstance(raw_key, str):
        key_spec = model.key  # type: ignore[assignment]  # the Literal branch of the union
    redact = get_operator("redact")
    assert redact is not None  # noqa: S101 — a built-in operator
    default_spec = entity_specs.pop(DEFAULT_ENTITY, None) or OperatorSpec(
        "redact", redact, redact.params_model(), None
    )
    drop_rules = tuple(
        CompiledDropRule(
            pattern=PathPattern(rule.path),
            equals=frozenset(str(v) for v in rule.equals) if rule.equals is not None else None,
            matches=re.compile(rule.matches) if rule.matches is not None else None,
            exists=rule.exists,
        )
        for rule in model.drop_records
    )
    # Most specific rule first, so the first match wins (ties: file order).
    field_rules.sort(key=lambda r: r.pattern.specificity, reverse=True)
    return Policy(
        name=model.name,
        source=source,
        digest=hashlib.sha256(text.encode()).hexdigest()[:12],
        model=model,
        field_rules=tuple(field_rules),
        free_text=tuple(free_text),
        entity_specs=entity_specs,
        default_spec=default_spec,
        key_spec=key_spec,
        drop_rules=drop_rules,
    )


def load_policy(path: str | Path | Traversable | None = None) -> Policy:
    """Load one policy file (default: the shipped ``configs/policies/default.yaml``).

    Args:
        path: a user's policy file, or a shipped one (``pipeline.shipped``).

    Raises:
        ConfigError: unreadable file or invalid policy, with every issue found.
    """
    p = as_config(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(
            [ConfigIssue(str(p), None, "", f"cannot read policy ({reason})")]
        ) from None
    return parse_policy(text, str(p))


def policy_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand directories into their ``*.yaml`` policy files (sorted)."""
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            out += sorted(p.glob("**/*.yaml")) + sorted(p.glob("**/*.yml"))
        else:
            out.append(p)
    return out
