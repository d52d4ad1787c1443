"""The built wheel, installed as a user installs it, run from a directory outside the repository.

The module builds the wheel (``pip wheel --no-deps``), installs it with the pinned
constraints into a fresh virtualenv in a temporary directory (dependencies from the
package index through the shared pip cache), and runs the installed ``logscrub`` command
from another temporary directory: nothing of the checkout is importable or readable
there, so the shipped policies, routes and golden cases must come from the package.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from pipeline.tools.local_kafka import free_port
from tests.e2e.conftest import consume_all, produce
from tests.e2e.test_stream_support import (
    TEST_KEY_ID,
    TEST_SECRET,
    group_id,
    make_route,
    record,
    report,
    secrets_of,
    seq_of_clean,
)

pytestmark = [pytest.mark.kafka, pytest.mark.install]

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 900  # a cold pip cache downloads ~80 wheels; warm: under a minute
HEALTH_TIMEOUT_S = 180  # loaded 2-core machine: the first start imports Presidio and spaCy
RECORDS = 6


@dataclass
class Installed:
    """The fresh virtualenv with the wheel, and a working directory outside the checkout."""

    bin: Path
    workdir: Path
    seconds: float

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LOGSCRUB_", "PYTHON")) and k != "VIRTUAL_ENV"
        }
        env.update({"LOGSCRUB_KEY": TEST_SECRET, "LOGSCRUB_KEY_ID": TEST_KEY_ID, **extra})
        return env

    def run(
        self, *args: str, stdin: bytes | None = None, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # noqa: S603 — the installed console script
            [str(self.bin / "logscrub"), *args],
            input=stdin,
            capture_output=True,
            cwd=self.workdir,
            env=self.env(**env),
            timeout=timeout,
            check=False,
        )


def _run(cmd: list[str], cwd: Path, timeout: float) -> None:
    done = subprocess.run(  # noqa: S603 — pip and venv of this interpreter
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        pytest.fail(f"{' '.join(cmd[:4])} ... failed ({done.returncode}):\n{tail}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("installed")
    dist, venv, workdir = base / "dist", base / "venv", base / "elsewhere"
    workdir.mkdir()
    assert ROOT not in base.parents, "the install must be outside the repository"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        cwd=base,
        timeout=INSTALL_TIMEOUT_S,
    )
    wheels = list(dist.glob("logscrub-*.whl"))
    assert len(wheels) == 1, wheels
    # The base interpreter, not this virtualenv's: a user's venv sees none of ours.
    python = getattr(sys, "_base_executable", sys.executable)
    _run([python, "-m", "venv", str(venv)], cwd=base, timeout=300)
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--constraint",
            str(ROOT / "constraints.txt"),
            str(wheels[0]),
        ],
        cwd=base,
        timeout=INSTALL_TIMEOUT_S,
    )
    seconds = time.monotonic() - started
    report(f"wheel built and installed into a fresh virtualenv in {seconds:.0f}s")
    return Installed(bin=venv / "bin", workdir=workdir, seconds=seconds)


def test_the_package_is_the_one_installed_not_the_checkout(installed: Installed):
    code = "import pipeline, pipeline.shipped as s; print(pipeline.__file__, s.shipped_configs())"
    done = subprocess.run(  # noqa: S603 — the installed interpreter
        [str(installed.bin / "python"), "-c", code],
        capture_output=True,
        text=True,
        cwd=installed.workdir,
        env=installed.env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    module, configs = done.stdout.split()
    assert "site-packages" in module and str(ROOT) not in module
    assert configs == str(Path(module).parent / "configs")


def test_scrub_with_the_default_policy(installed: Installed):
    done = installed.run("scrub", stdin=b'{"email":"a.b@example.com"}\n')
    assert done.returncode == 0, done.stderr.decode()
    out = orjson.loads(done.stdout)
    assert out["email"].startswith(f"<EMAIL_ADDRESS:{TEST_KEY_ID}:")
    assert b"a.b@example.com" not in done.stdout + done.stderr


def test_check_validates_the_shipped_configs(installed: Installed):
    done = installed.run("check")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "ok: 4 file(s) valid"  # 2 policies, routes, settings


def test_test_policies_runs_the_shipped_golden_cases(installed: Installed):
    done = installed.run("test-policies")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    passed, _, failed = done.stdout.decode().strip().partition(" passed, ")
    assert int(passed) >= 20 and failed == "0 failed"


def test_demo_file_only(installed: Installed):
    done = installed.run("demo", "--file-only")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.count(b"after:") == done.stdout.count(b"before:") > 0


def test_playground_serves_its_page_and_assets(installed: Installed):
    proc = subprocess.Popen(  # noqa: S603 — the installed console script
        [str(installed.bin / "logscrub"), "playground", "--port", "0", "--no-ner"],
        stderr=subprocess.PIPE,
        cwd=installed.workdir,
        env=installed.env(),
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()  # blocks until the address is printed
        url = line.split("open ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        base = url.split("/?", 1)[0]
        for address in (url, f"{base}/assets/app.js", f"{base}/assets/style.css"):
            with urllib.request.urlopen(address, timeout=60) as resp:  # noqa: S310 — loopback
                assert resp.status == 200 and len(resp.read()) > 500, address
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def test_worker_cleans_records_with_a_shipped_policy_named_in_own_routes(
    installed: Installed,
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
    tmp_path: Path,
):
    # Own routes (fresh topics) naming the policy `default`: there is no policies/ folder
    # next to the routes file, so the shipped one is used.
    route = make_route(tmp_path, topic_factory, partitions=1, policy="default")  # type: ignore[arg-type]
    port = free_port()
    worker_log = tmp_path / "worker.log"
    env = installed.env(
        LOGSCRUB_BROKERS=kafka_bootstrap,
        LOGSCRUB_GROUP_ID=group_id("installed"),
        LOGSCRUB_ROUTES=str(route.routes_file),
        LOGSCRUB_WEB_PORT=str(port),
        LOGSCRUB_NER="false",
    )
    with worker_log.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 — the installed console script
            [str(installed.bin / "logscrub"), "worker"],
            cwd=installed.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while _health(port) != 200:
            assert proc.poll() is None, worker_log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "worker not healthy in time"
            time.sleep(0.5)
        pairs = [record(seq) for seq in range(RECORDS)]
        produce(kafka_bootstrap, route.raw, [v for _, v in pairs], keys=[k for k, _ in pairs])
        clean = consume_all(kafka_bootstrap, route.clean, RECORDS, timeout=120)
        assert sorted(seq_of_clean(r.value) for r in clean) == list(range(RECORDS))
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        stop_s = time.monotonic() - started
        report(f"installed worker: {RECORDS} records cleaned, stopped in {stop_s:.1f}s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    secrets = [s for seq in range(RECORDS) for s in secrets_of(seq)]
    seen = b"".join((r.key or b"") + r.value for r in clean) + worker_log.read_bytes()
    assert not [s for s in secrets if s in seen]


def test_demo_against_the_broker(installed: Installed, kafka_bootstrap: str):
    done = installed.run("demo", timeout=600, LOGSCRUB_BROKERS=kafka_bootstrap)
    assert done.returncode == 0, (done.stdout + done.stderr).decode()[-3000:]
    assert b"group_id is None" not in done.stdout + done.stderr


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_when_the_web_port_is_taken_then_one_line_and_exit_2(
    installed: Installed,
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
    tmp_path: Path,
    guarantee: str,
):
    route = make_route(tmp_path, topic_factory, partitions=1, policy="default")  # type: ignore[arg-type]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = installed.run(
            "worker",
            timeout=300,
            LOGSCRUB_BROKERS=kafka_bootstrap,
            LOGSCRUB_ROUTES=str(route.routes_file),
            LOGSCRUB_WEB_PORT=str(port),
            LOGSCRUB_GUARANTEE=guarantee,
            LOGSCRUB_NER="false",
        )
    assert done.returncode == 2, done.stderr.decode()
    err = done.stderr.decode()
    assert "Traceback" not in err
    assert (
        f"logscrub: cannot serve /health and /metrics on 127.0.0.1:{port}: address already in use"
        in err
    )
