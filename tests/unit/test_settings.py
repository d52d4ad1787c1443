"""Runtime settings: defaults, environment, YAML file, precedence, errors, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.exceptions import ConfigError
from pipeline.stream.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("LOGSCRUB_"):
            monkeypatch.delenv(name)


def test_defaults():
    s = load_settings()
    assert s.brokers == "127.0.0.1:9092" and s.broker_list == ["127.0.0.1:9092"]
    assert s.group_id == "logscrub" and s.web_host == "127.0.0.1" and s.web_port == 6066
    assert s.guarantee == "at_least_once" and s.concurrency == 1 and s.ner is None
    assert s.routes is None and s.key_file is None and s.key_id is None


def test_environment_with_prefix(monkeypatch):
    monkeypatch.setenv("LOGSCRUB_BROKERS", "10.0.0.1:9092, 10.0.0.2:9093")
    monkeypatch.setenv("LOGSCRUB_GUARANTEE", "exactly_once")
    monkeypatch.setenv("LOGSCRUB_NER", "false")
    monkeypatch.setenv("LOGSCRUB_WEB_PORT", "0")
    s = load_settings()
    assert s.broker_list == ["10.0.0.1:9092", "10.0.0.2:9093"]
    assert s.guarantee == "exactly_once" and s.ner is False and s.web_port == 0


def test_precedence_overrides_then_env_then_file(tmp_path, monkeypatch):
    f = tmp_path / "s.yaml"
    f.write_text("brokers: file:1\ngroup_id: from-file\nconcurrency: 4\n", encoding="utf-8")
    monkeypatch.setenv("LOGSCRUB_GROUP_ID", "from-env")
    s = load_settings(f, brokers="cli:2", concurrency=None)
    assert s.brokers == "cli:2"  # override wins
    assert s.group_id == "from-env"  # env beats the file
    assert s.concurrency == 4  # the file beats the default; a None override is ignored


def test_the_shipped_example_is_valid():
    s = load_settings(ROOT / "configs" / "settings.example.yaml")
    assert s.web_port == 6066 and s.guarantee == "at_least_once"


def test_all_errors_at_once_naming_settings_not_values(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "brokers: nohost\nweb_port: 99999\nguarantee: maybe\ncolour: blue\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    paths = {issue.path for issue in err.value.issues}
    assert paths == {"brokers", "web_port", "guarantee", "colour"}
    assert "nohost" not in str(err.value) and "blue" not in str(err.value)


def test_a_key_in_the_file_is_refused_with_a_hint(tmp_path):
    f = tmp_path / "secret.yaml"
    f.write_text("key: hunter2-hunter2-hunter2-hunter2-hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert "LOGSCRUB_KEY" in str(err.value) and "hunter2" not in str(err.value)


def test_the_secret_key_never_reaches_settings(monkeypatch):
    monkeypatch.setenv("LOGSCRUB_KEY", "super-secret-value-0123456789-abcdefgh")
    s = load_settings()
    assert "super-secret" not in repr(s) and "super-secret" not in s.model_dump_json()


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("brokers: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_settings(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(scalar)


def test_settings_are_frozen():
    s = load_settings()
    with pytest.raises(ValidationError):
        s.group_id = "other"  # type: ignore[misc]
    assert isinstance(s, Settings)


# --- the stream commands refuse bad settings before touching a broker ---------------------------


def test_worker_with_invalid_settings_exits_2_without_a_broker(monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli.stream import worker

    monkeypatch.setenv("LOGSCRUB_WEB_PORT", "not-a-port")
    result = CliRunner().invoke(worker, ["--brokers", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "web_port" in result.output


def test_tail_refuses_a_raw_topic(monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli.stream import tail

    result = CliRunner().invoke(tail, ["logs.raw.service", "--brokers", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "raw topic" in result.output


def test_runner_defaults_by_guarantee_and_faust_has_no_exactly_once():
    assert load_settings().effective_runner == "faust"
    assert load_settings(guarantee="exactly_once").effective_runner == "batch"
    assert load_settings(runner="batch").effective_runner == "batch"
    with pytest.raises(ConfigError) as err:
        load_settings(runner="faust", guarantee="exactly_once")
    assert "runner faust has no exactly_once" in str(err.value)
