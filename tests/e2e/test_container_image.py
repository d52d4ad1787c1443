"""The container image, built for real with podman from docker/Dockerfile, run on the test broker.

``docker/podman-setup build`` installs podman when it is missing (apt, as root), builds the
Debian bookworm base image once (cached) and builds the project image with
``--format docker``. The containers run with ``--network host`` so the worker reaches the
broker on the host's loopback. What this proves: the image scrubs with the shipped default
policy, its worker cleans records with the shipped routes, ``podman stop`` ends the worker
through SIGTERM (exit 0, well before the 10 s kill), and the image's HEALTHCHECK is there
and passes against the running worker.

Skipped, with the reason, only where podman cannot be installed (no apt-get, not root).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.tools.local_kafka import free_port
from tests.e2e.conftest import produce
from tests.e2e.test_stream_support import (
    TEST_KEY_ID,
    TEST_SECRET,
    group_id,
    record,
    report,
    secrets_of,
    seq_of_clean,
)

pytestmark = [pytest.mark.kafka, pytest.mark.container]

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "docker" / "podman-setup"
IMAGE = "localhost/logscrub:e2e"
SOURCE, SINK = "logs.raw.service", "logs.clean.service"  # configs/routes.yaml
HEALTH_TIMEOUT_S = 240  # loaded 2-core machine: the worker loads Presidio and spaCy first
RECORDS = 6
CANNOT_INSTALL = 3  # docker/podman-setup's exit code when podman cannot be had here


@dataclass
class Podman:
    env: dict[str, str]

    def run(
        self, *args: str, stdin: bytes | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # noqa: S603 — podman with fixed arguments
            ["podman", *args],  # noqa: S607 — installed by docker/podman-setup
            input=stdin,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def logscrub(
        self, *args: str, stdin: bytes | None = None, **env: str
    ) -> subprocess.CompletedProcess[bytes]:
        """``logscrub ARGS`` in a throwaway container of the image."""
        envs = [
            x
            for k, v in {"LOGSCRUB_KEY": TEST_SECRET, "LOGSCRUB_KEY_ID": TEST_KEY_ID, **env}.items()
            for x in ("-e", f"{k}={v}")
        ]
        return self.run(
            "run",
            "--rm",
            "-i",
            "--network",
            "host",
            "--no-healthcheck",
            *envs,
            IMAGE,
            "logscrub",
            *args,
            stdin=stdin,
        )


def _setup(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — the repository's own script
        [str(SETUP), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def podman() -> Podman:
    started = time.monotonic()
    ready = _setup("setup", timeout=1200)
    if ready.returncode == CANNOT_INSTALL:
        pytest.skip(f"CONTAINER TEST SKIPPED: {ready.stderr.strip().splitlines()[-1]}")
    assert ready.returncode == 0, ready.stderr[-3000:]
    setup_s = time.monotonic() - started
    started = time.monotonic()
    built = _setup("build", IMAGE, timeout=1200)
    assert built.returncode == 0, built.stderr[-3000:]
    report(f"podman ready in {setup_s:.0f}s; image built in {time.monotonic() - started:.0f}s")
    name, _, value = _setup("env", timeout=30).stdout.strip().partition("=")
    return Podman(env={**os.environ, name: value})


def test_image_has_the_health_check_an_init_and_a_non_root_user(podman: Podman):
    done = podman.run("image", "inspect", IMAGE)
    assert done.returncode == 0, done.stderr.decode()
    image = json.loads(done.stdout)[0]
    # Kept only in the Docker image format (--format docker); podman reports it at top level.
    assert image["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert "/health" in " ".join(image["Healthcheck"]["Test"])
    config = image["Config"]
    assert config["Entrypoint"] == ["dumb-init", "--"]
    assert config["Cmd"] == ["logscrub", "worker"]
    assert config["User"] == "10001:10001"


def test_scrub_check_and_golden_cases_in_the_image(podman: Podman):
    done = podman.logscrub("scrub", stdin=b'{"email":"a.b@example.com"}\n')
    assert done.returncode == 0, done.stderr.decode()
    assert orjson.loads(done.stdout)["email"].startswith(f"<EMAIL_ADDRESS:{TEST_KEY_ID}:")
    assert b"a.b@example.com" not in done.stdout + done.stderr
    done = podman.logscrub("check")
    # Two policies, the routes and the example settings.
    assert done.returncode == 0 and done.stdout.strip() == b"ok: 4 file(s) valid", done.stderr
    done = podman.logscrub("test-policies")
    assert done.returncode == 0 and done.stdout.strip().endswith(b" 0 failed"), done.stderr


def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        assert tps, f"{topic} has no partitions"
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def _read_from(
    bootstrap: str, starts: dict[TopicPartition, int], want: set[int], timeout: float
) -> list[bytes]:
    """Values written after ``starts`` until every sequence number in ``want`` was seen."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    values: list[bytes] = []
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        while not want <= {seq_of_clean(v) for v in values}:
            assert time.monotonic() < deadline, (
                f"{len(values)} of {len(want)} cleaned in {timeout}s"
            )
            for records in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in records]
        return values
    finally:
        consumer.close()


@pytest.fixture
def container(podman: Podman) -> Iterator[str]:
    name = f"logscrub-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    podman.run("rm", "-f", name, timeout=60)


def test_worker_cleans_with_the_shipped_routes_and_stops_on_sigterm(
    podman: Podman, container: str, kafka_bootstrap: str
):
    made = podman.logscrub("topics", "create", LOGSCRUB_BROKERS=kafka_bootstrap)
    assert made.returncode == 0, made.stderr.decode()
    starts = _end_offsets(kafka_bootstrap, SINK)
    port = free_port()
    env = {
        "LOGSCRUB_KEY": TEST_SECRET,
        "LOGSCRUB_KEY_ID": TEST_KEY_ID,
        "LOGSCRUB_BROKERS": kafka_bootstrap,
        "LOGSCRUB_GROUP_ID": group_id("container"),
        "LOGSCRUB_WEB_PORT": str(port),  # host network: a free port of the host
    }
    envs = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
    started = podman.run("run", "-d", "--name", container, "--network", "host", *envs, IMAGE)
    assert started.returncode == 0, started.stderr.decode()

    # Healthy by the image's own HEALTHCHECK command, run inside the container.
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while podman.run("healthcheck", "run", container, timeout=60).returncode != 0:
        state = podman.run("inspect", "--format", "{{.State.Running}}", container).stdout.strip()
        logs = podman.run("logs", container).stdout.decode(errors="replace")
        assert state == b"true", f"the worker exited:\n{logs[-3000:]}"
        assert time.monotonic() < deadline, f"not healthy in {HEALTH_TIMEOUT_S}s:\n{logs[-3000:]}"
        time.sleep(1)

    first = (
        900_000 + uuid.uuid4().int % 90_000
    )  # this run's records among earlier runs' on the topic
    seqs = range(first, first + RECORDS)
    pairs = [record(seq) for seq in seqs]
    produce(kafka_bootstrap, SOURCE, [v for _, v in pairs], keys=[k for k, _ in pairs])
    cleaned = _read_from(kafka_bootstrap, starts, set(seqs), timeout=120)

    t0 = time.monotonic()
    stopped = podman.run("stop", "--time", "10", container, timeout=60)
    stop_s = time.monotonic() - t0
    assert stopped.returncode == 0, stopped.stderr.decode()
    code = podman.run("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    report(f"container worker: {RECORDS} cleaned; podman stop {stop_s:.1f}s, exit {code.decode()}")
    assert code == b"0", "the worker did not exit on SIGTERM (137: killed after the timeout)"
    assert stop_s < 8, f"podman stop took {stop_s:.1f}s (the kill comes at 10 s)"

    logged = podman.run("logs", container)
    logs = logged.stdout + logged.stderr
    secrets = [s for seq in seqs for s in secrets_of(seq)]
    assert not [s for s in secrets if s in b"".join(cleaned) + logs]
