"""`logscrub check`: validate every config file given, collecting all issues."""

from __future__ import annotations

from pathlib import Path

from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.policy import load_policy


def _kind(path: Path) -> str:
    if path.name in ("routes.yaml", "routes.yml"):
        return "routes"
    if path.name.endswith((".cases.yaml", ".cases.yml")):
        return "cases"
    if path.name.startswith("settings"):
        return "settings"
    if path.name in ("recognizers.yaml", "analyzer.yaml"):
        return "other"
    return "policy"


def check_paths(targets: list[str]) -> tuple[int, list[ConfigIssue]]:
    """Validate files and directories of configs; return (files checked, issues)."""
    from pipeline.routes import load_routes
    from pipeline.settings import check_settings_file

    files: list[Path] = []
    issues: list[ConfigIssue] = []
    for t in targets:
        p = Path(t)
        if p.is_dir():
            files += sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml"))
        elif p.exists():
            files.append(p)
        else:
            issues.append(ConfigIssue(str(p), None, "", "no such file or directory"))
    checked = 0
    for f in files:
        kind = _kind(f)
        if kind in ("other", "cases"):
            continue
        checked += 1
        if kind == "settings":
            issues.extend(check_settings_file(f))
            continue
        try:
            if kind == "routes":
                load_routes(f)
            else:
                load_policy(f)
        except ConfigError as exc:
            # A route names policies that are also checked on their own: report once.
            issues.extend(i for i in exc.issues if i not in issues)
    return checked, issues
