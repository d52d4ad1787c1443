"""The scanner's timing calibrations are remembered between runs
(pipeline.detection.calibration)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.detection.calibration import Calibrations

CODE = """
import pipeline.detection.patterns as p
import pipeline.detection.scanner as s
timed = [0]
measure = p.search_cost
def counted(*args):
    timed[0] += 1
    return measure(*args)
p.search_cost = counted
s.Scanner()
print(timed[0])
"""


def test_answers_survive_a_restart_and_a_broken_file_is_ignored(tmp_path):
    path = tmp_path / "c.json"
    cal = Calibrations(path)
    key = Calibrations.key("engine", "(?a)\\d+", 0, "text")
    assert cal.get(key) is None
    cal.put(key, True)
    cal.save()
    assert Calibrations(path).get(key) is True
    path.write_text("{not json")
    assert Calibrations(path).get(key) is None


def test_an_unwritable_cache_is_quiet(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    cal = Calibrations(blocked / "sub" / "c.json")
    cal.put("k", False)
    cal.save()  # no exception: calibration just runs again next time


def test_a_second_start_measures_nothing(tmp_path):
    env = {"LOGSCRUB_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def start() -> int:
        done = subprocess.run(  # noqa: S603 — this interpreter, fixed code
            [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=300,
            check=True, cwd=Path(__file__).resolve().parents[2],
        )
        return int(done.stdout)

    assert start() > 0  # timed: the cache was empty
    assert list(tmp_path.glob("regex-calibration-*.json"))
    assert start() == 0  # every answer came from the file
