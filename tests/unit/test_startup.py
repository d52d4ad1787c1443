"""What `logscrub scrub` with NER off loads and does before its first line (issue 13).

No timing here (benchmarks/startup_bench.py measures it): these tests pin the changes that
made start-up cheaper, so that they are not undone by accident.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]

# The scrub command as `python -m pipeline scrub -i /dev/null --no-ner -q` runs it, in a
# fresh interpreter; then what it imported and the collector's state.
_PROBE = """
import gc, json, sys
from pipeline.cli.main import main
try:
    main(["scrub", "-i", sys.argv[1], "--no-ner", "-q"], standalone_mode=False)
finally:
    print(json.dumps({
        "modules": sorted(sys.modules),
        "gc_enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
    }))
"""


def _probe(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_")}
    env["LOGSCRUB_KEY"] = TEST_SECRET
    env["LOGSCRUB_CACHE"] = str(tmp_path / "cache")
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, os.devnull],
        cwd=ROOT, env=env, capture_output=True, timeout=120, check=False,
    )
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout.decode().splitlines()[-1])


def test_scrub_without_ner_does_not_import_what_it_does_not_use(tmp_path: Path) -> None:
    state = _probe(tmp_path)
    modules = set(state["modules"])
    # The engine is built (the detectors and the scanner are loaded) ...
    assert {"pipeline.core.engine", "pipeline.detection.scanner", "detectors"} <= modules
    # ... but the user-agent parser is imported only when a user agent is generalized,
    # the stream commands only when one is run (or listed), and the stream's clients and
    # the NER module never by the file mode without NER.
    for name in (
        "ua_parser",
        "pipeline.cli.stream",
        "pipeline.detection.ner",
        "faust",
        "confluent_kafka",
        "aiokafka",
    ):
        assert name not in modules, f"{name} imported by a NER-off scrub"


def test_scrub_builds_its_engine_with_the_collector_paused_then_frozen(tmp_path: Path) -> None:
    state = _probe(tmp_path)
    assert state["gc_enabled"], "the collector must be on again once the engine is built"
    assert state["frozen"] > 10_000, "start-up objects are frozen, out of later collections"


def test_detector_regex_flags_are_plain_ints() -> None:
    # The stdlib `re` compiler converts only its own RegexFlag; the regex module's enum
    # made every flag test a Python-level Flag.__and__ call (engine build 12% slower).
    from detectors import RECOGNIZERS

    for cls in RECOGNIZERS:
        assert type(cls().global_regex_flags) is int, cls.__name__


def test_policy_yaml_uses_libyaml_when_available() -> None:
    from pipeline.core import policy

    if getattr(yaml, "__with_libyaml__", False):
        assert policy._YAML_LOADER is yaml.CSafeLoader
    else:
        assert policy._YAML_LOADER is yaml.SafeLoader
