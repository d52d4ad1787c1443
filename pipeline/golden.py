"""Golden cases: ``<policy>.cases.yaml`` files of ``{id, raw, expected}`` run with a fixed key.

The fixed test key makes pseudonyms reproducible in the expected outputs; it is public and
must never be used for real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.keys import KeyRing
from pipeline.policy import PACKAGE_CONFIGS, load_policy

# Public by design: golden files must reproduce anywhere. Never use it on real logs.
GOLDEN_TEST_SECRET = "logscrub-golden-test-key-public-not-secret"  # noqa: S105
GOLDEN_KEY_ID = "test"


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one golden case."""

    case_id: str
    ok: bool
    expected: str | None
    got: str | None


def default_case_files() -> list[Path]:
    """Case files next to the project's tests (``tests/policies/*.cases.yaml``)."""
    return sorted((PACKAGE_CONFIGS.parent / "tests" / "policies").glob("*.cases.yaml"))


def load_cases(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Return (policy name, cases) of a case file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", f"cannot load cases ({type(exc).__name__})")]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise ConfigError([ConfigIssue(str(path), None, "", "expected {policy: NAME, cases: [...]}")])
    policy = doc.get("policy") or path.name.split(".")[0]
    return str(policy), doc["cases"]


def run_case_file(path: Path, policies_dir: Path | None = None) -> list[CaseResult]:
    """Run every case of one file against its policy."""
    from pipeline.engine import Engine

    policy_name, cases = load_cases(path)
    pdir = policies_dir or PACKAGE_CONFIGS / "policies"
    policy = load_policy(pdir / f"{policy_name}.yaml")
    keys = KeyRing.from_secret(GOLDEN_TEST_SECRET, GOLDEN_KEY_ID)
    # NER off: golden outputs must not depend on whether the spaCy model is installed.
    engine = Engine(policy, keys=keys, ner=False)
    results = []
    for case in cases:
        got = engine.scrub_line(str(case["raw"]))
        expected = case.get("expected")
        results.append(CaseResult(str(case.get("id")), got == expected, expected, got))
    return results
