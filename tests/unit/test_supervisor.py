"""``--processes``: parsing, and what each child is given (no processes started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.stream.settings import load_settings
from pipeline.stream.supervisor import child_env, parse_processes


def test_processes_is_a_count_or_auto():
    assert parse_processes("3") == 3
    assert parse_processes("auto") == max(1, os.cpu_count() or 1)
    with pytest.raises(ValueError):
        parse_processes("0")


def test_each_child_gets_the_effective_settings_its_own_instance_id_and_no_web_port(
    monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("LOGSCRUB_KEY", "child-test-secret-0123456789-abcdefghijkl")
    settings = load_settings(brokers="10.0.0.1:9092", guarantee="exactly_once", web_port=7000)
    env = child_env(settings, 1, "base", tmp_path)
    assert env["LOGSCRUB_BROKERS"] == "10.0.0.1:9092"
    assert env["LOGSCRUB_GUARANTEE"] == "exactly_once"
    assert env["LOGSCRUB_INSTANCE_ID"] == "base-1"
    assert env["LOGSCRUB_WEB_PORT"] == "0" and env["LOGSCRUB_PROCESSES"] == "1"
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    assert env["LOGSCRUB_KEY"] == "child-test-secret-0123456789-abcdefghijkl"
    # The rebuilt settings are the same settings (what the child will load).
    monkeypatch.delenv("LOGSCRUB_KEY")
    for k, v in env.items():
        if k.startswith("LOGSCRUB_") and k not in ("LOGSCRUB_KEY", "LOGSCRUB_PROCESSES"):
            monkeypatch.setenv(k, v)
    again = load_settings()
    assert again.brokers == settings.brokers and again.instance_id == "base-1"
    assert again.transaction_timeout_s == settings.transaction_timeout_s
