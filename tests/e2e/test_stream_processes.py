"""``logscrub worker --processes 2`` against a real broker: two batch-runner processes in one
group under one supervisor, one of them SIGKILLed mid-stream and started again; one
/metrics for both; SIGTERM stops all.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.test_stream_support import (
    Feed,
    Workers,
    account,
    accounted,
    assert_nothing_raw,
    drop_policy,
    group_id,
    is_debug,
    make_route,
    read_all,
    report,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

N = 2000
DROPS = frozenset(s for s in range(N) if is_debug(s))


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path):
    ws = Workers(kafka_bootstrap, tmp_path)
    yield ws
    ws.close()


def _children(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children() if "pipeline" in " ".join(p.cmdline())]


def test_two_processes_under_one_supervisor_exactly_once_a_child_killed_and_restarted(
    kafka_bootstrap: str, topic_factory, tmp_path: Path, workers: Workers
) -> None:
    route = make_route(tmp_path, topic_factory, partitions=4, policy=drop_policy(tmp_path))
    label = "processes 2/batch/exactly_once"
    w = workers.start(
        route,
        group_id("processes"),
        guarantee="exactly_once",
        runner="batch",
        extra_env={"LOGSCRUB_PROCESSES": "2"},
    )
    w.wait_healthy(timeout=120)
    children = _children(w.proc.pid)
    assert len(children) == 2, children
    feed = Feed(kafka_bootstrap, route.raw)
    try:
        feed.send_in_background(list(range(N)), chunk=20, pause_s=0.1, poison_every=50)
        deadline = time.monotonic() + 120
        while w.counter("logscrub_stream_records_in") < N * 0.3:
            assert time.monotonic() < deadline, w.log_tail()
            time.sleep(0.2)
        children[0].kill()  # SIGKILL one child: the supervisor starts it again
        report(f"[{label}] SIGKILLed child pid {children[0].pid}")
        feed.join(timeout=180)
        records = read_all(
            kafka_bootstrap,
            [route.clean, route.quarantine],
            accounted(feed, route, N, DROPS),
            timeout=150,
        )
    finally:
        feed.close()
    acc = account(feed, route, records, DROPS)
    text = w.metrics_text()
    restarts = w.counter("logscrub_stream_child_restarts", text)
    report(acc.figures(label) + f" child_restarts={restarts:.0f}")
    assert acc.lost == [], f"lost inputs: {acc.lost[:20]}"
    assert acc.duplicates == 0
    assert acc.unknown == 0 and acc.both == 0 and acc.leaked_drops == 0
    assert restarts >= 1
    assert len(_children(w.proc.pid)) == 2  # the killed child runs again
    # One /metrics for both children: every input counted once or more (a killed child's
    # aborted batch is read again, and counted again).
    assert w.counter("logscrub_stream_records_in", text) >= N
    rc, took = w.terminate(timeout=120)
    report(f"[{label}] SIGTERM: exit {rc} in {took:.1f}s")
    assert rc == 0
    assert_nothing_raw(workers.logs(), range(N), "worker logs")


def test_faust_runner_two_processes_from_the_command_line_and_children_die_with_the_supervisor(
    kafka_bootstrap: str, topic_factory, tmp_path: Path, workers: Workers
) -> None:
    """The Faust runner (at-least-once), `--processes 2` given on the command line: a killed
    child is restarted and nothing is lost; a SIGKILLed supervisor leaves no child behind."""
    route = make_route(tmp_path, topic_factory, partitions=4)
    label = "processes 2/faust/at_least_once"
    w = workers.start(route, group_id("processes-faust"), args=["--processes", "2"])
    w.wait_healthy(timeout=180)
    children = _children(w.proc.pid)
    assert len(children) == 2, children
    feed = Feed(kafka_bootstrap, route.raw)
    try:
        feed.send_in_background(list(range(N)), chunk=100, pause_s=0.05)
        deadline = time.monotonic() + 180
        while w.counter("logscrub_stream_records_out") < N * 0.25:
            assert time.monotonic() < deadline, w.log_tail()
            time.sleep(0.2)
        # The children's per-process gauges reach the supervisor's /metrics: between them
        # they hold the 4 partitions (each child refreshes its gauges on a timer).
        deadline = time.monotonic() + 60
        while w.gauge("logscrub_stream_assigned_partitions") != 4:
            assert time.monotonic() < deadline, w.metrics_text()
            time.sleep(0.5)
        children[0].kill()
        feed.join(timeout=180)
        records = read_all(
            kafka_bootstrap, [route.clean, route.quarantine], accounted(feed, route, N), timeout=180
        )
    finally:
        feed.close()
    acc = account(feed, route, records)
    report(
        acc.figures(label)
        + f" child_restarts={w.counter('logscrub_stream_child_restarts'):.0f}"
    )
    assert acc.lost == []
    assert w.counter("logscrub_stream_child_restarts") >= 1
    assert_nothing_raw((r.value for r in records), range(N), "clean/quarantine topics")
    survivors = _children(w.proc.pid)
    assert len(survivors) == 2
    w.kill()  # SIGKILL the supervisor itself: its children get SIGTERM (PR_SET_PDEATHSIG)
    gone, alive = psutil.wait_procs(survivors, timeout=90)
    assert alive == [], f"children outlived their supervisor: {[p.pid for p in alive]}"
