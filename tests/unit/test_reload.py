"""Hot reload of routes and policies (pipeline.stream.reload): real files, real engines, the route
processor both runners use; the broker-side test is tests/e2e/test_stream_reload.py."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest
from faust.types.tuples import Message

from pipeline.shipped import shipped
from pipeline.stream.manifest import find_manifest
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.processor import RouteProcessor, build_processors
from pipeline.stream.reload import ConfigWatcher
from pipeline.stream.settings import load_settings

SECRET = "reload-test-secret-0123456789-abcdefghijklm"
DEFAULT = shipped("policies").joinpath("default.yaml").read_text(encoding="utf-8")
ROUTES = """routes:
  - name: app
    source: logs.raw.app
    policy: policies/app.yaml
    sink: logs.clean.app
    quarantine: logs.quarantine.app
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOGSCRUB_KEY", SECRET)
    (tmp_path / "policies").mkdir()
    policy = tmp_path / "policies" / "app.yaml"
    policy.write_text(DEFAULT.replace("name: default", "name: app", 1))
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    settings = load_settings(None, routes=str(routes), reload_interval_s=0.2, ner=False)
    metrics = StreamMetrics()
    processors = build_processors(settings, metrics)
    return settings, metrics, processors, policy, routes


def _clean(processor: RouteProcessor, offset: int) -> tuple[str, bytes]:
    record = Message(
        "logs.raw.app", 0, offset, 1.0, 0, None, None, b'{"msg":"hi","ip":"203.0.113.7"}', None
    )
    (emit,) = processor.take_batch([record], timestamp_unit=1000.0)
    assert emit is not None and emit.kind == "clean"
    manifest = find_manifest(emit.headers)
    assert manifest is not None
    return manifest.digest, emit.value


def _reloads(metrics: StreamMetrics, result: str) -> float:
    return metrics.config_reloads.labels(result=result)._value.get()  # noqa: SLF001


def test_a_changed_policy_applies_from_the_next_batch(setup):
    settings, metrics, (processor,), policy, _ = setup
    watcher = ConfigWatcher(settings, [processor], metrics)
    old_digest, old_value = _clean(processor, 1)
    assert watcher.reload() == "unchanged"
    # The IP is generalized under the shipped policy; the new one drops it.
    text = policy.read_text()
    generalize = "IP_ADDRESS:      {type: generalize}"
    assert generalize in text
    policy.write_text(text.replace(generalize, "IP_ADDRESS:      {type: redact}", 1))
    assert watcher.reload() == "applied"
    new_digest, new_value = _clean(processor, 2)
    assert new_digest != old_digest
    assert b"203.0.113" in old_value and b"203.0.113" not in new_value
    assert processor.policy.digest == new_digest
    active = {
        s.labels["digest"]: s.value
        for s in metrics.policy_active.collect()[0].samples
        if s.labels["route"] == "app"
    }
    assert active == {old_digest: 0.0, new_digest: 1.0}


def test_an_invalid_policy_is_refused_with_every_issue_and_the_running_one_stays(setup, caplog):
    settings, metrics, (processor,), policy, _ = setup
    watcher = ConfigWatcher(settings, [processor], metrics)
    digest, _ = _clean(processor, 1)
    policy.write_text(policy.read_text().replace("version: 1", "version: 3") + "\nbogus: 1\n")
    with caplog.at_level(logging.ERROR, logger="pipeline.stream.reload"):
        assert watcher.reload() == "invalid"
    text = caplog.text
    assert "app.yaml:" in text and "version" in text and "bogus" in text
    assert "203.0.113.7" not in text
    assert _clean(processor, 2)[0] == digest
    assert _reloads(metrics, "invalid") == 1


def test_a_change_of_topics_needs_a_restart_and_is_refused(setup):
    settings, metrics, (processor,), _, routes = setup
    watcher = ConfigWatcher(settings, [processor], metrics)
    routes.write_text(ROUTES.replace("logs.clean.app", "logs.clean.other"))
    assert watcher.reload() == "restart_needed"
    assert processor.route.sink == "logs.clean.app"


def test_the_watcher_notices_a_file_change_and_sighup(setup):
    settings, metrics, (processor,), policy, _ = setup
    watcher = ConfigWatcher(settings, [processor], metrics)
    previous = signal.getsignal(signal.SIGHUP)
    watcher.start(sighup=True)
    try:
        policy.write_text(policy.read_text().replace("name: app", "name: app\n# edited", 1))
        os.utime(policy, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        deadline = time.monotonic() + 60
        while _reloads(metrics, "applied") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _reloads(metrics, "applied") == 1
        os.kill(os.getpid(), signal.SIGHUP)
        while _reloads(metrics, "unchanged") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _reloads(metrics, "unchanged") >= 1
    finally:
        watcher.stop()
        signal.signal(signal.SIGHUP, previous)


def test_a_file_changed_while_a_reload_is_applied_is_reloaded_too(setup):
    """The e2e reload test wrote the next policy as soon as /metrics showed the last one
    applied; a change landing between the watcher reading the files and remembering what it
    read must not be taken as already seen (it was never refused, never applied)."""
    settings, metrics, (processor,), policy, _ = setup
    watcher = ConfigWatcher(settings, [processor], metrics)
    second = policy.read_text().replace("name: app", "name: app\n# second", 1)
    invalid = second.replace("version: 1", "version: 3") + "\nbogus: 1\n"
    count = watcher._count  # noqa: SLF001

    def count_then_edit(result: str) -> str:
        got = count(result)
        if result == "applied":  # what a reader of /metrics can do from here on
            policy.write_text(invalid)
        return got

    watcher._count = count_then_edit  # type: ignore[method-assign]  # noqa: SLF001
    watcher.start(sighup=False)
    try:
        policy.write_text(second)
        deadline = time.monotonic() + 30
        while _reloads(metrics, "invalid") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _reloads(metrics, "applied") == 1
        assert _reloads(metrics, "invalid") == 1, "a change made during a reload went unseen"
    finally:
        watcher.stop()
