"""Routes: raw topic → policy → clean topic (+ quarantine topic), from ``configs/routes.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.policy import PACKAGE_CONFIGS, Policy, load_policy

DEFAULT_ROUTES_PATH = PACKAGE_CONFIGS / "routes.yaml"
_TOPIC = r"^[A-Za-z0-9._-]{1,249}$"


class Route(BaseModel):
    """One route. Topics follow ``logs.<raw|clean|quarantine>.<source>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    source: str = Field(pattern=_TOPIC, description="Raw topic consumed.")
    policy: str = Field(description="Policy name (configs/policies/<name>.yaml) or a path.")
    sink: str = Field(pattern=_TOPIC, description="Clean topic produced.")
    quarantine: str = Field(pattern=_TOPIC, description="Where records that fail go.")
    partitions: int = Field(default=3, ge=1, le=1000)
    replication: int = Field(default=1, ge=1, le=5)


class RoutesFile(BaseModel):
    """The routes document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(min_length=1)


def policy_path(route: Route, base: Path) -> Path:
    """Resolve a route's policy name to its file."""
    if route.policy.endswith((".yaml", ".yml")):
        p = Path(route.policy)
        return p if p.is_absolute() else base / p
    return base / "policies" / f"{route.policy}.yaml"


def load_routes(path: str | Path | None = None) -> tuple[list[Route], dict[str, Policy]]:
    """Load and validate routes and every policy they name; all issues at once.

    Raises:
        ConfigError: invalid routes file, clashing topics, or invalid policies.
    """
    p = Path(path) if path else DEFAULT_ROUTES_PATH
    base = p.parent
    issues: list[ConfigIssue] = []
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(p), None, "", f"cannot read ({exc.strerror})")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [ConfigIssue(str(p), mark.line + 1 if mark else None, "", "YAML syntax error")]
        ) from None
    try:
        doc = RoutesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            ConfigIssue(str(p), None, ".".join(str(x) for x in e["loc"]), e["msg"])
            for e in exc.errors(include_input=False, include_url=False)
        ) from None
    sources = {r.source for r in doc.routes}
    seen: dict[str, str] = {}
    policies: dict[str, Policy] = {}
    for i, r in enumerate(doc.routes):
        for role in ("source", "sink", "quarantine"):
            topic = getattr(r, role)
            if topic in seen:
                issues.append(ConfigIssue(str(p), None, f"routes[{i}].{role}", f"topic already used as {seen[topic]}"))
            seen[topic] = f"{r.name}.{role}"
        if r.sink in sources:
            issues.append(ConfigIssue(str(p), None, f"routes[{i}].sink", "a clean topic must not be a raw topic"))
        try:
            policies[r.name] = load_policy(policy_path(r, base))
        except ConfigError as exc:
            issues.extend(exc.issues)
    if issues:
        raise ConfigError(issues)
    return doc.routes, policies
