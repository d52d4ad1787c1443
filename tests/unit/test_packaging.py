"""The package carries its configs: the shipped folder, the packages list, policy lookup.

The wheel itself is built, installed and run in tests/install/test_wheel_install.py.
"""

import tomllib

import pytest
from setuptools import find_packages

from pipeline.exceptions import ConfigError
from pipeline.shipped import shipped, shipped_configs, yaml_files
from pipeline.stream.routes import load_routes
from pipeline.tools.configcheck import check_paths
from pipeline.tools.golden import default_case_files
from tests.conftest import CONFIGS, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]

ROUTES = """\
routes:
  - name: service
    source: logs.raw.service
    policy: {policy}
    sink: logs.clean.service
    quarantine: logs.quarantine.service
"""


def test_every_python_package_is_listed_for_the_wheel():
    found = set(find_packages(where=str(ROOT), include=["pipeline*", "detectors*"]))
    assert found <= set(SETUPTOOLS["packages"])


def test_configs_are_mapped_into_the_package_from_the_single_top_level_folder():
    assert SETUPTOOLS["package-dir"] == {"pipeline.configs": "configs"}
    folders = [CONFIGS, *(p for p in CONFIGS.rglob("*") if p.is_dir())]
    for folder in folders:
        package = ".".join(["pipeline", *folder.relative_to(ROOT).parts])
        assert package in SETUPTOOLS["packages"]
        assert SETUPTOOLS["package-data"][package] == ["*.yaml"]
    assert not [p for p in CONFIGS.rglob("*") if p.is_file() and p.suffix != ".yaml"], (
        "configs/ holds YAML only"
    )


def test_shipped_configs_are_the_repository_configs():
    names = {f.name for f, _ in yaml_files(shipped_configs())}
    assert names == {p.name for p in CONFIGS.rglob("*.yaml")}
    assert shipped("policies", "default.yaml").read_text(encoding="utf-8") == (
        CONFIGS / "policies" / "default.yaml"
    ).read_text(encoding="utf-8")


def test_every_shipped_policy_has_shipped_golden_cases():
    policies = {f.name.removesuffix(".yaml") for f in shipped("policies").iterdir()}
    assert policies <= {f.name.split(".")[0] for f in default_case_files()}


def test_check_accepts_the_shipped_folder():
    checked, issues = check_paths([shipped_configs()])
    assert (checked, issues) == (4, [])  # two policies, the routes, the example settings


def test_shipped_routes_load_with_their_policies():
    routes, policies = load_routes()
    assert [r.name for r in routes] == ["service"]
    assert policies["service"].name == "default"


def test_when_own_routes_name_a_policy_it_lacks_then_the_shipped_one_is_used(tmp_path):
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(policy="web_access"), encoding="utf-8")
    _, policies = load_routes(routes)
    assert policies["service"].name == "web_access"


def test_when_own_routes_have_the_policy_then_it_wins_over_the_shipped_one(tmp_path):
    (tmp_path / "policies").mkdir()
    own = (CONFIGS / "policies" / "web_access.yaml").read_text(encoding="utf-8")
    (tmp_path / "policies" / "default.yaml").write_text(own, encoding="utf-8")
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(policy="default"), encoding="utf-8")
    _, policies = load_routes(str(routes))
    assert policies["service"].name == "web_access"


def test_when_a_policy_name_is_nowhere_then_the_error_names_the_local_file(tmp_path):
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(policy="nosuch"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_routes(routes)
    assert str(tmp_path / "policies" / "nosuch.yaml") in str(exc.value)
