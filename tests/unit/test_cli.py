"""The `logscrub` command as a user runs it: a real subprocess, real files."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CONFIGS, TEST_SECRET


def run(*args, input_bytes=None, env_extra=None, key=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_")}
    if key:
        env["LOGSCRUB_KEY"] = TEST_SECRET
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        input=input_bytes,
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_scrub_stdin_to_stdout_one_line_per_line():
    lines = (
        b'{"user": {"email": "alice@example.com"}, "level": "INFO"}\n'
        b"sshd[1]: Failed password for root from 203.0.113.9 port 22\n"
    )
    r = run("scrub", input_bytes=lines)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode().splitlines()
    assert len(out) == 2
    assert "alice@example.com" not in r.stdout.decode()
    assert "203.0.113.9" not in r.stdout.decode()
    assert json.loads(out[0])["level"] == "INFO"
    assert "records: 2" in r.stderr.decode()


def test_scrub_files(tmp_path):
    src = tmp_path / "in.log"
    dst = tmp_path / "out.log"
    src.write_bytes(b'{"phone": "13800138000"}\n' * 3)
    r = run("scrub", "--input", str(src), "--output", str(dst))
    assert r.returncode == 0, r.stderr.decode()
    assert len(dst.read_bytes().splitlines()) == 3
    assert b"13800138000" not in dst.read_bytes()


def test_when_no_key_then_exit_2_with_how_to():
    r = run("scrub", input_bytes=b'{"a": 1}\n', key=False)
    assert r.returncode == 2
    assert b"LOGSCRUB_KEY" in r.stderr
    assert r.stdout == b""


def test_when_input_unreadable_then_exit_3(tmp_path):
    r = run("scrub", "--input", str(tmp_path / "missing.log"))
    assert r.returncode == 3
    assert b"cannot read input" in r.stderr


def test_when_policy_invalid_then_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\n")
    r = run("scrub", "--policy", str(bad), input_bytes=b"")
    assert r.returncode == 2
    assert b"unknown_fields" in r.stderr


def test_check_reports_three_errors_in_one_run(tmp_path):
    bad = tmp_path / "three.yaml"
    bad.write_text(
        "version: 1\nname: three\nunknown_fields: scan\nfields:\n"
        "  user.email: {type: hashh}\n  user.phone: {type: mask, keep_last: 99}\n"
        "scan:\n  entities:\n    NOT_AN_ENTITY: {type: redact}\n"
    )
    r = run("check", str(bad), key=False)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.count(str(bad)) == 3
    assert "3 error(s)" in err


def test_check_shipped_configs_ok():
    r = run("check", str(CONFIGS), key=False)
    assert r.returncode == 0, r.stderr.decode()


def test_reveal_round_trip_and_refusal(tmp_path):
    policy = tmp_path / "enc.yaml"
    policy.write_text(
        "version: 1\nname: enc\nunknown_fields: keep\nfields:\n"
        "  uid: {type: encrypt, entity: USER_ID}\n"
    )
    r = run("scrub", "--policy", str(policy), input_bytes=b'{"uid": "u-778899"}\n')
    token = json.loads(r.stdout)["uid"]
    assert "u-778899" not in token
    log = tmp_path / "audit.log"
    ok = run("reveal", token, "--reason", "INC-1", "--audit-log", str(log))
    assert ok.returncode == 0
    assert ok.stdout.decode().strip() == "USER_ID\tu-778899"
    assert b"u-778899" not in log.read_bytes()
    refused = run("reveal", token, "--reason", "INC-1", "--audit-log", str(log), key=False)
    assert refused.returncode == 2
    assert b"u-778899" not in refused.stdout + refused.stderr


@pytest.mark.parametrize("bad", ["bad key id!"])
def test_invalid_key_id_is_a_config_error(bad):
    r = run("scrub", input_bytes=b"", env_extra={"LOGSCRUB_KEY_ID": bad})
    assert r.returncode == 2


def test_own_logs_and_summary_hold_no_record_values(tmp_path):
    values = ["alice@example.com", "13800138000", "203.0.113.9", "490154203237518", "sunny_day_88"]
    lines = [
        '{"email": "alice@example.com", "phone": "13800138000", "nickname": "sunny_day_88"}',
        "GET /x?imei=490154203237518 from 203.0.113.9",
        '{"email": "alice@example.com"',  # broken JSON
        '["13800138000"]',
    ]
    r = run("-vv", "scrub", input_bytes=("\n".join(lines) + "\n").encode() + b"\xff\n")
    assert r.returncode == 0
    for v in values:
        assert v.encode() not in r.stderr
        assert v.encode() not in r.stdout
    assert b"bad lines" in r.stderr


def _run_in_pty(args, env):
    """Run the CLI with stdout on a pseudo-terminal, as a person at a terminal would."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode(), proc.stderr.read().decode()


def test_explain_shows_every_finding_on_a_terminal():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_")}
    env["LOGSCRUB_KEY"] = TEST_SECRET
    line = (
        '{"user": {"email": "alice@example.com"}, "msg": "from 203.0.113.9", '
        '"imei": "490154203237518"}'
    )
    rc, out, err = _run_in_pty(["explain", "--no-ner", line], env)
    assert rc == 0, err
    for fragment in (
        "user.email",
        "EMAIL_ADDRESS",
        "IP_ADDRESS",
        "IMEI",
        "pseudonymize",
        "generalize",
        "before:",
        "after:",
    ):
        assert fragment in out
    assert "alice@example.com" not in err


def test_explain_refuses_to_write_into_a_pipe():
    r = run("explain", '{"email": "alice@example.com"}')
    assert r.returncode == 2
    assert b"alice@example.com" not in r.stdout + r.stderr
    assert b"terminal only" in r.stderr


def test_scrub_on_several_processes_gives_the_same_output_and_counts(tmp_path):
    from pipeline.tools.corpus import generate_lines

    lines = [line.encode() for line in generate_lines(1_500, seed=5, density=0.3)]
    # Odd lines among them: bad UTF-8, a cut object, an oversize line, an empty line.
    lines[100:100] = [
        b"\xff\xfe login alice@example.com",
        b'{"user": {"id": "u_1"',
        b"",
        b"x" * 1_100_000,
    ]
    src = tmp_path / "in.log"
    src.write_bytes(b"\n".join(lines) + b"\n")
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.log"
        r = run("scrub", "--no-ner", "--jobs", jobs, "-i", str(src), "-o", str(out))
        assert r.returncode == 0, r.stderr.decode()
        outputs[jobs] = (out.read_bytes(), r.stderr.decode())
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][0].count(b"\n") == len(lines)
    assert "records: 1504  written: 1504" in outputs["1"][1]
    assert b"alice@example.com" not in outputs["1"][0]


# --- stream commands that must refuse before touching a broker ----------------------------


@pytest.mark.parametrize("topic", ["logs.raw.service", "some.other.topic"])
def test_tail_refuses_a_topic_the_routes_do_not_name_as_clean(topic):
    # Port 1: nothing listens there; the refusal comes before any connection.
    r = run("tail", topic, "--brokers", "127.0.0.1:1", "-n", "1", "--timeout", "1")
    assert r.returncode == 2, r.stderr.decode()
    assert b"--raw-ok" in r.stderr and b"Traceback" not in r.stderr


def test_tail_refuses_everything_when_the_routes_file_cannot_be_read(tmp_path):
    r = run(
        "tail", "logs.clean.service", "--brokers", "127.0.0.1:1",
        env_extra={"LOGSCRUB_ROUTES": str(tmp_path / "missing.yaml")},
    )
    assert r.returncode == 2 and b"--raw-ok" in r.stderr


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_worker_with_its_web_port_taken_says_so_in_one_line_and_exits_2(guarantee):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = run(
            "worker", "--brokers", "127.0.0.1:1", "--web-port", str(port),
            "--guarantee", guarantee, env_extra={"LOGSCRUB_NER": "false"},
        )
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert "Traceback" not in err and f"127.0.0.1:{port}" in err and "--web-port" in err
    assert len(err.strip().splitlines()) == 1, err


def test_web_server_start_on_a_taken_port_raises_a_clear_error():
    import asyncio
    import socket

    from pipeline.stream.metrics import Health, StreamMetrics, WebPortError, WebServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = WebServer("127.0.0.1", port, StreamMetrics(), Health())
        with pytest.raises(WebPortError, match=f"127.0.0.1:{port}"):
            asyncio.run(server.start())


def test_check_reports_a_broken_settings_file_and_exits_2(tmp_path):
    f = tmp_path / "settings.yaml"
    f.write_text("brokers: not a broker\nweb_port: 99999999\nbogus: 1\n", encoding="utf-8")
    r = run("check", str(f), key=False, env_extra={"LOGSCRUB_WEB_PORT": "6066"})
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert f"{f}:1: brokers" in err and f"{f}:2: web_port" in err and f"{f}:3: bogus" in err
    assert "not a broker" not in err  # never a value
    assert b"ok:" not in r.stdout


def test_check_validates_the_shipped_settings_example_whatever_the_environment():
    r = run("check", str(CONFIGS / "settings.example.yaml"), key=False,
            env_extra={"LOGSCRUB_WEB_PORT": "not-a-port"})
    assert r.returncode == 0, r.stderr.decode()
    assert b"ok: 1 file(s) valid" in r.stdout
