"""A local Kafka broker and logscrub worker processes on loopback: one implementation for
the demo, the e2e tests and the stream benchmark (each had its own copy).

The broker is ``docker/kafka-local`` of a checkout (KRaft, 127.0.0.1 only), started in a
state directory of its own on free ports; an installed logscrub has no such script
(:data:`KAFKA_LOCAL` is then None) and needs a broker given by address.

Security: nothing here reads or prints a record; errors carry the tail of the broker's or
the worker's own log, which logscrub keeps free of values.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pipeline.exceptions import LogscrubError

_SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "kafka-local"
#: ``docker/kafka-local`` of this checkout, or None for an installed package.
KAFKA_LOCAL: Path | None = _SCRIPT if _SCRIPT.exists() else None

#: Runs the worker command in a subprocess (``python -c``), as ``logscrub worker`` would.
WORKER_CODE = "from pipeline.cli.stream import worker; worker(prog_name='logscrub worker')"


class BrokerStartError(LogscrubError):
    """``docker/kafka-local start`` failed; the message ends with the tail of its log."""


class WorkerFailedError(LogscrubError):
    """A worker exited, did not become healthy, or ignored SIGTERM; with its log's tail."""


def free_ports(count: int) -> list[int]:
    """Ports the kernel reports free right now (all sockets held at once, so distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """One port the kernel reports free right now on 127.0.0.1."""
    return free_ports(1)[0]


def port_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound right now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _script() -> Path:
    if KAFKA_LOCAL is None:
        msg = (
            "no docker/kafka-local here (logscrub is installed, not run from a checkout): "
            "give a running broker's address instead"
        )
        raise BrokerStartError(msg)
    return KAFKA_LOCAL


def _kafka_local(
    args: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — a fixed script of this repository
        [str(_script()), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class LocalBroker:
    """A broker at ``bootstrap``; ``started``: this process started it and stops it."""

    bootstrap: str
    started: bool = False
    env: dict[str, str] = field(default_factory=dict)  # kafka-local's (its state dir)
    state: Path | None = None

    @classmethod
    def start(
        cls,
        *,
        state: Path | None = None,
        port: int | None = None,
        controller_port: int | None = None,
        brokers: int = 1,
        extra_args: tuple[str, ...] = (),
        timeout: float = 300.0,
        attempts: int = 3,
    ) -> LocalBroker:
        """Start ``docker/kafka-local`` in ``state`` (default: a new temporary directory).

        Ports not given are chosen free; when another process takes one before the broker
        binds it, new ones are tried (up to ``attempts`` times). ``extra_args`` go to
        ``kafka-local start`` as they are (``--set broker.session.timeout.ms=4000``).

        Raises:
            BrokerStartError: no script (installed package), or the start failed.
        """
        _script()
        state = state or Path(tempfile.mkdtemp(prefix="logscrub-kafka-"))
        # kafka-local's protocol helper is stdlib-only: this interpreter will do.
        env = {
            **os.environ,
            "LOGSCRUB_KAFKA_STATE": str(state),
            "PYTHON": os.environ.get("PYTHON", sys.executable),
        }
        broker = cls(bootstrap="", started=True, env=env, state=state)
        started: subprocess.CompletedProcess[str] | None = None
        for _attempt in range(attempts):
            chosen = free_ports(2)
            args = ["start", "--port", str(port or chosen[0])]
            args += ["--controller-port", str(controller_port or chosen[1])]
            if brokers != 1:
                args += ["--brokers", str(brokers)]
            args += extra_args
            try:
                started = _kafka_local(args, env, timeout)
            except (OSError, subprocess.TimeoutExpired) as exc:
                broker.stop()
                raise BrokerStartError(f"docker/kafka-local start could not run: {exc}") from None
            fixed = port is not None and controller_port is not None
            if started.returncode == 0 or fixed or "already in use" not in started.stderr:
                break
        assert started is not None  # noqa: S101 — attempts >= 1
        if started.returncode != 0:
            broker.stop()
            msg = (
                f"docker/kafka-local start exited {started.returncode} (state {state}):\n"
                f"{_tail(started.stderr)}"
            )
            raise BrokerStartError(msg)
        broker.bootstrap = started.stdout.strip().splitlines()[-1]
        return broker

    @classmethod
    def running(cls) -> LocalBroker | None:
        """The broker ``docker/kafka-local`` already runs in its default state, if any
        (left running at the end)."""
        if KAFKA_LOCAL is None:
            return None
        env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
        if _kafka_local(["status"], env, timeout=60).returncode != 0:
            return None
        lines = _kafka_local(["bootstrap"], env, timeout=30).stdout.strip().splitlines()
        return cls(bootstrap=lines[-1]) if lines else None

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Another ``docker/kafka-local`` command on this broker's state directory
        (``stop-broker 1``, ``kill-broker 2``, ``start-broker 2``...)."""
        return _kafka_local(list(args), self.env, timeout)

    def pid(self) -> int | None:
        """The first broker's process id (for CPU and memory figures)."""
        if self.state is None:
            return None
        pid_file = self.state / "broker1" / "broker.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, *, remove_state: bool = True) -> None:
        """Stop a broker this process started (always safe: also after a failed start)."""
        if not self.started:
            return
        _kafka_local(["stop"], self.env, timeout=120)
        if remove_state and self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)


def probe(bootstrap: str, timeout_s: float) -> str | None:
    """None when the cluster answers a metadata request within ``timeout_s``, else why not."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaConfigurationError, KafkaError

    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap,
                client_id="logscrub-probe",
                request_timeout_ms=5000,
                bootstrap_timeout_ms=5000,
            )
        except KafkaConfigurationError:
            raise  # our mistake, not the broker's: retrying would only hide it
        except KafkaError as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
            continue
        try:
            admin.list_topics()
            return None
        except KafkaError as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            admin.close()
        time.sleep(0.5)
    return last


class WorkerProcess:
    """A logscrub worker in a subprocess: its log in a file, /health and /metrics on a
    free loopback port (``LOGSCRUB_WEB_PORT`` is set here)."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        code: str = WORKER_CODE,
        cwd: Path | None = None,
        name: str = "worker",
    ) -> None:
        self.name = name
        self.web_port = free_port()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 — this interpreter, fixed code
            [sys.executable, "-c", code],
            env={**env, "LOGSCRUB_WEB_PORT": str(self.web_port)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        """Status and body of a GET on the worker's web port (errors are answers too)."""
        url = self.url(path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 — loopback
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def health(self) -> tuple[int, dict[str, Any]] | None:
        """``/health`` as (status, JSON body); None while nothing answers."""
        try:
            status, body = self.get("/health")
        except OSError:
            return None
        return status, orjson.loads(body or b"{}")

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        """Poll /health until it answers 200; its body.

        Raises:
            WorkerFailedError: the worker exited, or was not healthy within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                raise WorkerFailedError(msg)
            got = self.health()
            if got and got[0] == 200:
                return got[1]
            time.sleep(0.2)
        msg = f"{self.name} not healthy within {timeout:.0f}s:\n{self.log_tail()}"
        raise WorkerFailedError(msg)

    def metrics_text(self) -> str:
        return self.get("/metrics", timeout=5.0)[1].decode()

    def counter(self, name: str, text: str | None = None) -> float:
        """Sum of a counter's ``_total`` samples over all labels."""
        text = text if text is not None else self.metrics_text()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(f"{name}_total"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def gauge(self, name: str, text: str | None = None) -> float:
        """Sum of a gauge's samples over all labels."""
        text = text if text is not None else self.metrics_text()
        total = 0.0
        for line in text.splitlines():
            if line.startswith((f"{name}{{", f"{name} ")):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM and wait; (exit code, seconds to exit).

        Raises:
            WorkerFailedError: SIGTERM was ignored for ``timeout`` (the worker is then killed).
        """
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                msg = f"{self.name} ignored SIGTERM for {timeout:.0f}s:\n{self.log_tail()}"
                raise WorkerFailedError(msg) from None
        return self.proc.returncode, time.monotonic() - started

    def close(self) -> None:
        self.kill()
        self._log.close()

    def log_text(self) -> bytes:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_bytes()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_text().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
