"""Golden cases: ``<policy>.cases.yaml`` files of ``{id, raw, expected}`` run with a fixed key.

The fixed test key makes pseudonyms reproducible in the expected outputs; it is public and
must never be used for real data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from pipeline.core.policy import load_policy
from pipeline.exceptions import ConfigError, ConfigIssue
from pipeline.keys import KeyRing
from pipeline.shipped import shipped

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


def default_case_files() -> list[Traversable]:
    """The shipped case files (``configs/golden/*.cases.yaml``, installed with the package)."""
    folder = shipped("golden")
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith(".cases.yaml")), key=lambda f: f.name
    )


def load_cases(path: Traversable) -> tuple[str, list[dict[str, Any]]]:
    """Return (policy name, cases) of a case file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            [ConfigIssue(str(path), None, "", f"cannot load cases ({type(exc).__name__})")]
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise ConfigError(
            [ConfigIssue(str(path), None, "", "expected {policy: NAME, cases: [...]}")]
        )
    policy = doc.get("policy") or path.name.split(".")[0]
    return str(policy), doc["cases"]


def case_runner(
    policy_name: str, policies_dir: Traversable | None = None
) -> Callable[[dict[str, Any]], CaseResult]:
    """A function that runs one case against ``policy_name`` (default: the shipped policy
    of that name) with the public golden key; the engine is built once."""
    from pipeline.core.engine import Engine

    pdir = policies_dir or shipped("policies")
    policy = load_policy(pdir.joinpath(f"{policy_name}.yaml"))
    keys = KeyRing.from_secret(GOLDEN_TEST_SECRET, GOLDEN_KEY_ID)
    # NER off: golden outputs must not depend on whether the spaCy model is installed.
    engine = Engine(policy, keys=keys, ner=False)

    def run(case: dict[str, Any]) -> CaseResult:
        got = engine.scrub_line(str(case["raw"]))
        expected = case.get("expected")
        return CaseResult(str(case.get("id")), got == expected, expected, got)

    return run


def run_case_file(path: Traversable, policies_dir: Traversable | None = None) -> list[CaseResult]:
    """Run every case of one file against its policy (default: the shipped policy of its name)."""
    policy_name, cases = load_cases(path)
    run = case_runner(policy_name, policies_dir)
    return [run(case) for case in cases]
