"""`logscrub worker --processes 2` against a real broker: two processes share the group's
partitions under one supervisor; a killed child is restarted and nothing is lost; one
/metrics for both; SIGTERM stops them all."""

from __future__ import annotations

import re
import signal
import time

import psutil
import pytest

from tests.e2e.test_stream_support import (
    Feed,
    Workers,
    account,
    accounted,
    assert_nothing_raw,
    group_id,
    make_route,
    read_all,
    report,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(400)]

N = 2000


def _value(w, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", w.metrics_text(), re.M)
    return float(found.group(1)) if found else 0.0


def _wait(what: str, ok, w, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout}s:\n{w.log_tail(80)}")


def _children(w) -> list[psutil.Process]:
    return psutil.Process(w.proc.pid).children()


def test_two_processes_share_the_work_survive_a_killed_child_and_stop_together(
    kafka_bootstrap: str, topic_factory, tmp_path
) -> None:
    route = make_route(tmp_path, topic_factory, partitions=4)
    workers = Workers(kafka_bootstrap, tmp_path)
    feed = Feed(kafka_bootstrap, route.raw)
    try:
        w = workers.start(route, group_id("processes"), args=["--processes", "2"])
        w.wait_healthy(timeout=180)
        assert len(_children(w)) == 2
        feed.send_in_background(list(range(N)), chunk=100, pause_s=0.05)
        _wait(
            "a quarter of the outputs",
            lambda: w.counter("logscrub_stream_records_out") >= N * 0.25,
            w,
        )
        victim = _children(w)[0]
        victim.send_signal(signal.SIGKILL)
        _wait("the killed child restarted", lambda: _value(w, "logscrub_supervisor_child_restarts_total") >= 1, w)
        _wait("two children again", lambda: len(_children(w)) == 2 and victim.pid not in {c.pid for c in _children(w)}, w)
        feed.join()
        records = read_all(
            kafka_bootstrap, [route.clean, route.quarantine], accounted(feed, route, N), timeout=180
        )
        # One /metrics for both: the counters add up over the processes (a replay after
        # the kill may count some records twice, never fewer).
        assert w.counter("logscrub_stream_records_out") >= N
        children = _children(w)
        code, seconds = w.terminate(timeout=120)
        assert code == 0
        assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    finally:
        feed.close()
        workers.close()
    acc = account(feed, route, records)
    report(acc.figures("processes=2, one child killed") + f" stop={seconds:.1f}s")
    assert acc.lost == []
    assert_nothing_raw((r.value for r in records), range(N), "clean/quarantine topics")
