"""Routes: raw topic → policy → clean topic (+ quarantine topic), from ``configs/routes.yaml``."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.core.policy import Policy, load_policy
from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.shipped import as_config, shipped, shipped_configs

# The shipped routes, inside the installed package (pipeline/shipped.py).
DEFAULT_ROUTES_PATH = shipped("routes.yaml")
_TOPIC = r"^[A-Za-z0-9._-]{1,249}$"


class Route(BaseModel):
    """One route. Topics follow ``logs.<raw|clean|quarantine>.<source>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    source: str = Field(pattern=_TOPIC, description="Raw topic consumed.")
    policy: str = Field(
        description="Policy name (policies/<name>.yaml here, else the shipped one) or a path."
    )
    sink: str = Field(pattern=_TOPIC, description="Clean topic produced.")
    quarantine: str = Field(pattern=_TOPIC, description="Where records that fail go.")
    partitions: int = Field(default=3, ge=1, le=1000)
    replication: int = Field(default=1, ge=1, le=5)


class RoutesFile(BaseModel):
    """The routes document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(min_length=1)


def policy_path(route: Route, base: Traversable) -> Traversable:
    """Resolve a route's policy to its file.

    A path (``*.yaml``) is taken relative to the routes file's folder ``base``. A name is
    ``<base>/policies/<name>.yaml`` when that file exists, else the shipped policy of that
    name when there is one (so a routes file of one's own can use the shipped policies);
    otherwise the local path, which then fails to load with its name in the error.
    """
    if route.policy.endswith((".yaml", ".yml")):
        p = Path(route.policy)
        return p if p.is_absolute() else base.joinpath(route.policy)
    local = base.joinpath("policies", f"{route.policy}.yaml")
    if local.is_file():
        return local
    packaged = shipped("policies", f"{route.policy}.yaml")
    return packaged if packaged.is_file() else local


def load_routes(
    path: str | Path | Traversable | None = None, *, base: Traversable | None = None
) -> tuple[list[Route], dict[str, Policy]]:
    """Load and validate routes and every policy they name; all issues at once.

    Args:
        path: a user's routes file; default: the shipped ``routes.yaml``.
        base: where policy names and relative paths resolve (default: the routes file's
            folder; the shipped configs for the shipped routes).

    Raises:
        ConfigError: invalid routes file, clashing topics, or invalid policies.
    """
    p = as_config(path) if path else DEFAULT_ROUTES_PATH
    if base is None:
        base = p.parent if isinstance(p, Path) else shipped_configs()
    issues: list[ConfigIssue] = []
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(p), None, "", f"cannot read ({exc.strerror})")]
        ) from None
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
                issues.append(
                    ConfigIssue(
                        str(p), None, f"routes[{i}].{role}", f"topic already used as {seen[topic]}"
                    )
                )
            seen[topic] = f"{r.name}.{role}"
        if r.sink in sources:
            issues.append(
                ConfigIssue(
                    str(p), None, f"routes[{i}].sink", "a clean topic must not be a raw topic"
                )
            )
        try:
            policies[r.name] = load_policy(policy_path(r, base))
        except ConfigError as exc:
            issues.extend(exc.issues)
    if issues:
        raise ConfigError(issues)
    return doc.routes, policies
