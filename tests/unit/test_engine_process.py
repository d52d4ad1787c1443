"""The engine child (pipeline.stream.engine_process): real child processes, real engines,
Faust's own record class; the broker-side tests are the Faust runner's e2e tests
(engine_process on).

What must hold: the outputs are those of the engine in one process, the parent's metrics and
drift listing say what the child did, a reloaded policy reaches the child, a dead child costs
a restart and never an output (a record that keeps killing it becomes an ``engine_crash``
entry, nothing raw), and the child ignores SIGTERM/SIGINT and ends with its pipe.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from faust.types.tuples import Message

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.shipped import shipped
from pipeline.stream.engine_process import ENGINE_CRASH, EngineProcess
from pipeline.stream.manifest import find_manifest
from pipeline.stream.metrics import StreamMetrics
from pipeline.stream.processor import RouteProcessor, build_processors
from pipeline.stream.quarantine import decrypt_entry
from pipeline.stream.reload import ConfigWatcher
from pipeline.stream.routes import Route
from pipeline.stream.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
ROUTE = Route(
    name="service",
    source="logs.raw.service",
    policy="default",
    sink="logs.clean.service",
    quarantine="logs.quarantine.service",
)
EMAIL = b"li.wei@example.com"
PHONE = b"13912345678"
LINES = [
    b'{"msg":"login li.wei@example.com","ip":"203.0.113.7","user":{"phone":"13912345678"}}',
    b'{"level":"info","path":"/api/v1/orders","status":200,"took_ms":12}',
    b'{"device":{"imei":"490154203237518"},"note":"call 13912345678"}',
    b"\xff\xfe not utf-8 li.wei@example.com",  # quarantined (payload encrypted)
    b"plain text from li.wei@example.com at 203.0.113.7",
    b'{"a":[{"b":1},{"c":"x"}],"new_field":"v"}',
]


def message(value: Any, offset: int, key: Any = None, headers: Any = None) -> Message:
    """As Faust's aiokafka driver builds it (timestamps in seconds)."""
    return Message(
        "logs.raw.service", offset % 3, offset, 1_700_000_000.123, 0, headers, key, value, None
    )


def records(n: int) -> list[Message]:
    out = []
    for i in range(n):
        headers = [("trace", None), ("user", EMAIL)] if i % 4 == 0 else None
        key = None if i % 3 else b"user-%d" % i
        value = None if i % 17 == 16 else LINES[i % len(LINES)]
        out.append(message(value, i, key=key, headers=headers))
    return out


def processor(keys: Any, metrics: StreamMetrics | None = None) -> RouteProcessor:
    policy = load_policy()
    return RouteProcessor(
        ROUTE,
        policy,
        Engine(policy, keys=keys, ner=False),
        metrics or StreamMetrics(),
        record_time_budget_s=5.0,
        drift_warmup_records=10,
    )


@pytest.fixture
def child(keys):
    metrics = StreamMetrics()
    proc = processor(keys, metrics)
    offload = EngineProcess(proc, ner=False)
    yield offload, proc, metrics
    offload.close()


def take_all(take: Any, recs: list[Any], slice_s: float | None = None) -> list[Any]:
    """Hand ``recs`` over until each has an output (a batch may be cut short)."""
    out: list[Any] = []
    while len(out) < len(recs):
        got = take(recs[len(out) : len(out) + 64], timestamp_unit=1000.0, slice_s=slice_s)
        out.extend(got)
    return out


def same(a: Any, b: Any, keys: Any) -> bool:
    if a is None or b is None:
        return a is b
    if (a.kind, a.topic, a.reason, a.stage, a.source.offset) != (
        b.kind,
        b.topic,
        b.reason,
        b.stage,
        b.source.offset,
    ):
        return False
    if a.kind == "quarantine":  # encrypted payloads differ by nonce: compare what they hold
        return decrypt_entry(orjson.loads(a.value), keys) == decrypt_entry(
            orjson.loads(b.value), keys
        )
    return (a.value, a.key, a.headers, a.timestamp_ms, a.entities) == (
        b.value,
        b.key,
        b.headers,
        b.timestamp_ms,
        b.entities,
    )


def counts(metrics: StreamMetrics) -> dict[str, float]:
    t = metrics.totals()
    return {
        name: t.get(name, 0.0)
        for name in (
            "logscrub_stream_records_in",
            "logscrub_stream_records_dropped",
            "logscrub_stream_new_field_paths",
        )
    }


def test_outputs_metrics_and_drift_are_those_of_the_engine_in_one_process(keys, child):
    offload, proc, metrics = child
    local_metrics = StreamMetrics()
    local = processor(keys, local_metrics)
    recs = [*records(300), message(b'{"brand_new":{"field":1}}', 300)]
    expected = take_all(local.take_batch, recs)
    got = take_all(offload.take_batch, recs, slice_s=0.01)
    assert len(got) == len(expected) == 301
    assert all(same(a, b, keys) for a, b in zip(expected, got, strict=True))
    assert {e.kind for e in got if e is not None} == {"clean", "quarantine"}
    assert all(
        EMAIL not in e.value and PHONE not in e.value for e in got if e and e.kind == "clean"
    )
    # Each output's source is the parent's own record (acks, positions, fallbacks use it).
    assert [e.source.offset for e in got if e is not None] == [
        e.source.offset for e in expected if e is not None
    ]
    assert counts(metrics) == counts(local_metrics)
    hist = metrics.processing_seconds.labels(route="service")._sum.get()  # noqa: SLF001
    assert hist > 0
    # /drift reads the parent's log, which asks the child for its listing.
    mine, theirs = proc.drift.listing(), local.drift.listing()
    assert mine["records"] == theirs["records"] == 301
    assert [(r["path"], r["count"], r["new"]) for r in mine["items"]] == [
        (r["path"], r["count"], r["new"]) for r in theirs["items"]
    ]
    assert [r["path"] for r in mine["items"] if r["new"]] == ["brand_new", "brand_new.field"]
    assert counts(metrics)["logscrub_stream_new_field_paths"] == 2
    assert b"li.wei" not in orjson.dumps(mine)


def test_a_record_the_parent_cannot_read_gets_its_metadata_only_entry(keys, child):
    offload, _proc, _metrics = child

    class Unreadable:
        topic, partition, offset, timestamp, key, headers = "logs.raw.service", 2, 99, 1.0, None, ()

        @property
        def value(self) -> bytes:
            raise OSError("cannot read")

    got = take_all(
        offload.take_batch, [message(LINES[1], 98), Unreadable(), message(LINES[0], 100)]
    )
    assert [e.kind for e in got] == ["clean", "quarantine", "clean"]
    assert got[1].reason == "unreadable_record" and orjson.loads(got[1].value)["payload"] is None


def _app_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, StreamMetrics, Any, Path, str]:
    """One route `app` on a copy of the default policy (a file a test can rewrite to
    reload): its settings, metrics, processor, the policy file and the policy's text."""
    monkeypatch.setenv("LOGSCRUB_KEY", "reload-test-secret-0123456789-abcdefghijklm")
    (tmp_path / "policies").mkdir()
    policy = tmp_path / "policies" / "app.yaml"
    text = shipped("policies").joinpath("default.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("name: default", "name: app", 1))
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n  - name: app\n    source: logs.raw.app\n    policy: policies/app.yaml\n"
        "    sink: logs.clean.app\n    quarantine: logs.quarantine.app\n"
    )
    settings = load_settings(None, routes=str(routes), ner=False)
    metrics = StreamMetrics()
    (proc,) = build_processors(settings, metrics)
    return settings, metrics, proc, policy, text


def test_a_reloaded_policy_reaches_the_child_from_the_next_batch(tmp_path, monkeypatch):
    settings, metrics, proc, policy, text = _app_route(tmp_path, monkeypatch)
    offload = EngineProcess(proc, ner=False)
    try:
        line = b'{"msg":"hi","ip":"203.0.113.7"}'

        def clean(offset: int) -> tuple[str, bytes]:
            rec = Message("logs.raw.app", 0, offset, 1.0, 0, None, None, line, None)
            (emit,) = offload.take_batch([rec], timestamp_unit=1000.0)
            manifest = find_manifest(emit.headers)
            assert emit.kind == "clean" and manifest is not None
            return manifest.digest, emit.value

        old_digest, old_value = clean(1)
        generalize = "IP_ADDRESS:      {type: generalize}"
        policy.write_text(
            policy.read_text().replace(generalize, "IP_ADDRESS:      {type: redact}", 1)
        )
        assert ConfigWatcher(settings, [proc], metrics).reload() == "applied"
        new_digest, new_value = clean(2)
        assert new_digest != old_digest
        assert b"203.0.113" in old_value and b"203.0.113" not in new_value
        # A restarted child starts with the policy in use, not the one it was first given.
        os.kill(offload._child.proc.pid, signal.SIGKILL)  # noqa: SLF001
        assert clean(3) == (new_digest, new_value)
    finally:
        offload.close()


def test_a_child_killed_mid_batch_is_restarted_and_the_batch_cleaned_again(keys, child, caplog):
    offload, _proc, metrics = child
    recs = records(64)
    offload.take_batch(recs[:1], timestamp_unit=1000.0)  # started
    first = offload._child.proc  # noqa: SLF001
    # A batch long enough to be killed in the middle of (no time slice).
    long = [message(LINES[i % 3], 1000 + i) for i in range(4000)]
    killer = threading.Timer(0.1, lambda: first.kill())
    killer.start()
    with caplog.at_level(logging.INFO):
        got = offload.take_batch(long, timestamp_unit=1000.0)
    killer.join()
    assert len(got) == 4000 and all(e is not None and e.kind == "clean" for e in got)
    assert offload.restarts == 1 and offload._child.proc.pid != first.pid  # noqa: SLF001
    restarts = offload.processor.metrics.engine_child_restarts.labels(route=offload.route.name)
    assert restarts._value.get() == 1  # noqa: SLF001 — prometheus_client's sample
    assert first.returncode == -signal.SIGKILL
    assert "li.wei" not in caplog.text and "203.0.113" not in caplog.text
    # Counted once per record handed back, not per attempt.
    assert counts(metrics)["logscrub_stream_records_in"] == 4001


def test_a_batch_that_keeps_killing_the_child_becomes_engine_crash_entries(keys, child, caplog):
    """Fail closed: nothing cleaned without an engine outcome, every record an entry, no
    value in an entry's readable fields or in the log."""
    offload, _proc, metrics = child
    stop = threading.Event()
    pids: set[int] = set()

    def kill_every_child() -> None:
        while not stop.is_set():
            c = offload._child  # noqa: SLF001
            if c is not None and c.proc.poll() is None:
                pids.add(c.proc.pid)
                c.proc.kill()
            time.sleep(0.01)

    slow = b" ".join(b"139%08d" % i for i in range(4000))  # seconds in the engine
    recs = [message(slow, i) for i in range(3)]
    killer = threading.Thread(target=kill_every_child)
    with caplog.at_level(logging.INFO):
        killer.start()
        try:
            got = offload.take_batch(recs, timestamp_unit=1000.0)
        finally:
            stop.set()
            killer.join()
    assert [e.kind for e in got] == ["quarantine"] * 3
    assert {e.reason for e in got} == {ENGINE_CRASH}
    for e in got:
        doc = orjson.loads(e.value)
        assert doc["source"]["offset"] == e.source.offset
        assert b"13900000001" not in e.value
        assert decrypt_entry(doc, keys).value == slow  # replayable under the key
    assert "li.wei" not in caplog.text and "203.0.113" not in caplog.text
    assert counts(metrics)["logscrub_stream_records_in"] == 3
    # Once the child lives again, records are cleaned as before.
    (emit,) = offload.take_batch([message(LINES[0], 10)], timestamp_unit=1000.0)
    assert emit.kind == "clean" and len(pids) >= 5


def test_when_no_child_can_start_the_batch_is_cleaned_in_this_process(keys, child, monkeypatch):
    offload, _proc, metrics = child
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    local = processor(keys)
    recs = records(20)
    expected = take_all(local.take_batch, recs)
    got = take_all(offload.take_batch, recs)
    assert all(same(a, b, keys) for a, b in zip(expected, got, strict=True))
    assert offload._child is None and counts(metrics)["logscrub_stream_records_in"] == 20  # noqa: SLF001


def test_the_child_ignores_sigterm_and_sigint_and_ends_after_its_pipe_closes(keys, child):
    offload, _proc, _metrics = child
    take_all(offload.take_batch, records(5))
    proc = offload._child.proc  # noqa: SLF001
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert proc.poll() is None
    assert len(take_all(offload.take_batch, records(5))) == 5
    assert offload.restarts == 0
    offload.close()
    assert proc.returncode == 0


PARENT = """
import os, sys
from pipeline.core.engine import Engine
from pipeline.stream.engine_process import EngineProcess
from pipeline.keys import KeyRing
from pipeline.stream.metrics import StreamMetrics
from pipeline.core.policy import load_policy
from pipeline.stream.routes import Route
from pipeline.stream.processor import RouteProcessor
keys = KeyRing.from_secret("unit-test-secret-0123456789-abcdefghijkl", "t1")
policy = load_policy()
route = Route(name="service", source="logs.raw.service", policy="default",
              sink="logs.clean.service", quarantine="logs.quarantine.service")
proc = RouteProcessor(route, policy, Engine(policy, keys=keys, ner=False), StreamMetrics())
offload = EngineProcess(proc, ner=False)
child = offload._ensure_child()
print(child.proc.pid, flush=True)
sys.stdin.read()
"""


def test_the_child_ends_when_its_parent_dies(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen(  # noqa: S603 — this interpreter, our own script
        [sys.executable, str(script)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        os.kill(pid, 0)  # alive
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # Not our child: reaped by init once it exits; a zombie means it exited.
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the engine child outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def _within(seconds: float, call: Any) -> Any:
    """``call()`` in a thread; fails the test (instead of hanging it) past ``seconds``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["out"] = call()
        except BaseException as exc:  # noqa: BLE001 — re-raised below
            box["err"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        return pytest.fail(f"still waiting on the engine child after {seconds:.0f} s")
    if "err" in box:
        raise box["err"]
    return box["out"]


def test_a_stopped_child_is_replaced_even_when_the_batch_does_not_fit_the_pipe(keys, child):
    """A hung child does not read: a batch larger than the pipe's buffer (64 KiB: 64 records
    of 2 KB) blocked the parent's write for ever, before any answer was waited for."""
    offload, _proc, _metrics = child
    offload._answer_s = 2.0  # noqa: SLF001
    take_all(offload.take_batch, records(3))
    stopped = offload._child.proc  # noqa: SLF001
    # Distinct values: pickle would send one value used 64 times only once.
    recs = [
        message(b'{"msg":"%d %s","ip":"203.0.113.7"}' % (i, b"x" * 2000), 100 + i)
        for i in range(64)
    ]
    os.kill(stopped.pid, signal.SIGSTOP)
    try:
        got = _within(60, lambda: offload.take_batch(recs, timestamp_unit=1000.0))
    finally:
        stopped.kill()
    assert len(got) == 64 and all(e is not None and e.kind == "clean" for e in got)
    assert offload.restarts == 1


STALLING_CHILD = """
import os, pickle, struct, sys, time
fd_in, fd_out = int(sys.argv[3]), int(sys.argv[4])
inp, out = os.fdopen(fd_in, "rb"), os.fdopen(fd_out, "wb")
def frame():
    (n,) = struct.unpack(">I", inp.read(4))
    return pickle.loads(inp.read(n))
frame()
data = pickle.dumps(("ready",))
out.write(struct.pack(">I", len(data)) + data)
out.flush()
frame()
out.write(struct.pack(">I", 1000) + b"0123456789")  # a part of an answer, then nothing
out.flush()
time.sleep(600)
"""


def test_a_child_that_stops_in_the_middle_of_an_answer_is_replaced(
    keys, child, tmp_path, monkeypatch
):
    """Waiting for an answer was bounded only until its first byte."""
    offload, _proc, _metrics = child
    offload._answer_s = 1.0  # noqa: SLF001
    stub = tmp_path / "stalling-child"
    stub.write_text(f"#!{sys.executable}\n{STALLING_CHILD}")
    stub.chmod(0o755)
    children: list[Any] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: Any) -> Any:
        if argv[1:3] == ["-m", "pipeline.stream.engine_process"]:
            argv = [str(stub), *argv[1:]]
        p = real_popen(argv, **kwargs)
        children.append(p)
        return p

    monkeypatch.setattr(subprocess, "Popen", popen)
    try:
        got = _within(60, lambda: offload.take_batch([message(LINES[0], 7)], timestamp_unit=1000.0))
    finally:
        for p in children:
            p.kill()
    assert [(e.kind, e.reason) for e in got] == [("quarantine", ENGINE_CRASH)]
    assert offload.restarts == 3


def test_a_drift_listing_given_up_on_leaves_no_answer_in_the_pipe(keys, child, monkeypatch):
    """/drift gave up on a slow child's listing and left the child to write it: a listing
    larger than the pipe's buffer then blocked the child while the next batch, larger too,
    blocked the parent: both pipes full, for ever."""
    import pipeline.stream.engine_process as ep

    offload, proc, _metrics = child
    wide = b"{%s}" % b",".join(b'"field_%04d_%s":1' % (i, b"p" * 40) for i in range(2000))
    take_all(offload.take_batch, [message(wide, 1), *records(20)])
    monkeypatch.setattr(ep, "_DRIFT_WAIT_S", 0.0)  # a child slower than /drift waits
    proc.drift.listing()
    monkeypatch.undo()
    recs = [
        message(b'{"msg":"%d %s","ip":"203.0.113.7"}' % (i, b"x" * 2000), 100 + i)
        for i in range(64)
    ]
    got = _within(30, lambda: offload.take_batch(recs, timestamp_unit=1000.0))
    assert len(got) == 64 and all(e is not None and e.kind == "clean" for e in got)
    assert offload.restarts == 1
    # The new child answers /drift (the listing the old one never gave is not in it).
    assert {"msg", "ip"} <= {row["path"] for row in proc.drift.listing()["items"]}


def test_after_a_reload_drift_still_lists_what_the_child_saw(tmp_path, monkeypatch):
    """A swapped-in engine pointed the drift log's hook at its own native gate, so /drift
    stopped asking the child after the first reload."""
    settings, metrics, proc, policy, text = _app_route(tmp_path, monkeypatch)
    offload = EngineProcess(proc, ner=False)
    try:

        def take(value: bytes, offset: int) -> None:
            rec = Message("logs.raw.app", 0, offset, 1.0, 0, None, None, value, None)
            offload.take_batch([rec], timestamp_unit=1000.0)

        take(b'{"before":1}', 1)
        policy.write_text(policy.read_text().replace("name: app", "name: app\n# edited", 1))
        assert ConfigWatcher(settings, [proc], metrics).reload() == "applied"
        take(b'{"after_the_reload":1}', 2)
        paths = [row["path"] for row in proc.drift.listing()["items"]]
        assert "before" in paths and "after_the_reload" in paths
    finally:
        offload.close()
