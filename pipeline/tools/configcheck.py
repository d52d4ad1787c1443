"""`logscrub check`: validate every config file given, collecting all issues."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

from pipeline.core.policy import load_policy
from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.shipped import as_config, yaml_files


def _kind(path: Traversable) -> str:
    if path.name in ("routes.yaml", "routes.yml"):
        return "routes"
    if path.name.endswith((".cases.yaml", ".cases.yml")):
        return "cases"
    if path.name.startswith("settings"):
        return "settings"
    if path.name in ("recognizers.yaml", "analyzer.yaml"):
        return "other"
    return "policy"


def check_paths(targets: list[str | Path | Traversable]) -> tuple[int, list[ConfigIssue]]:
    """Validate files and directories of configs; return (files checked, issues).

    A target is a user's path or a shipped folder or file (``pipeline.shipped``).
    """
    from pipeline.stream.routes import load_routes
    from pipeline.stream.settings import check_settings_file

    # (file, the folder its relative references resolve in)
    files: list[tuple[Traversable, Traversable | None]] = []
    issues: list[ConfigIssue] = []
    for t in targets:
        p = as_config(t)
        if p.is_dir():
            files += yaml_files(p)
        elif p.is_file():
            files.append((p, None))
        else:
            issues.append(ConfigIssue(str(p), None, "", "no such file or directory"))
    checked = 0
    for f, base in files:
        kind = _kind(f)
        if kind in ("other", "cases"):
            continue
        checked += 1
        if kind == "settings":
            issues.extend(check_settings_file(str(f)))
            continue
        try:
            if kind == "routes":
                load_routes(f, base=base)
            else:
                load_policy(f)
        except ConfigError as exc:
            # A route names policies that are also checked on their own: report once.
            issues.extend(i for i in exc.issues if i not in issues)
    return checked, issues
