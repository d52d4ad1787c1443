"""Golden cases for every shipped policy (the same runner as `logscrub test-policies`)."""

import pytest

from pipeline.tools.golden import default_case_files, run_case_file
from tests.conftest import CONFIGS

CASE_FILES = default_case_files()


def test_every_shipped_policy_has_golden_cases():
    policies = {p.stem for p in (CONFIGS / "policies").glob("*.yaml")}
    covered = {f.name.split(".")[0] for f in CASE_FILES}
    assert policies <= covered


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[f.name for f in CASE_FILES])
def test_golden_cases(case_file):
    results = run_case_file(case_file)
    assert results, "a case file without cases tests nothing"
    failed = [(r.case_id, r.expected, r.got) for r in results if not r.ok]
    assert not failed
