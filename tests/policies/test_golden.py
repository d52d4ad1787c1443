"""Golden cases for every shipped policy (the same runner as `logscrub test-policies`), one
test per case, named ``<policy>::<case id>``."""

import functools

import pytest

from pipeline.tools.golden import CaseResult, case_runner, default_case_files, load_cases
from tests.conftest import CONFIGS

CASE_FILES = default_case_files()
CASES = [(policy, case) for f in CASE_FILES for policy, cases in [load_cases(f)] for case in cases]


@functools.cache
def _runner(policy: str):  # one engine per policy for all its cases
    return case_runner(policy)


def test_every_shipped_policy_has_golden_cases():
    policies = {p.stem for p in (CONFIGS / "policies").glob("*.yaml")}
    with_cases = {policy for policy, _case in CASES}
    assert policies <= with_cases


def test_case_ids_are_unique_per_policy():
    ids = [(policy, case.get("id")) for policy, case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("policy", "case"), CASES, ids=[f"{policy}::{case.get('id')}" for policy, case in CASES]
)
def test_golden_case(policy, case):
    result: CaseResult = _runner(policy)(case)
    assert result.got == result.expected
