"""The playground's server: the token, loopback only, limits, and what its API answers.

A real aiohttp server on 127.0.0.1 in the test process (the API), and ``logscrub
playground`` as a subprocess (the command: its address, its socket, its refusals).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from pipeline.keys import KeyRing
from pipeline.shipped import shipped
from pipeline.tools.golden import run_case_file
from pipeline.tools.playground import (
    MAX_BODY_BYTES,
    MAX_LINES,
    Playground,
    check_loopback,
    make_app,
)
from tests.playground_support import served_playground

DEFAULT_POLICY = shipped("policies").joinpath("default.yaml").read_text(encoding="utf-8")
EMAIL = "li.wei@example.com"
LINE = '{"level":"INFO","client_ip":"203.0.113.7","user":{"email":"' + EMAIL + '"},"msg":"ok"}'


@pytest.fixture(scope="module")
def playground() -> Playground:
    return Playground(None, ner=False)


def call(pg: Playground, method: str, path: str, *, token: str | None = "", body: Any = None):
    """(status, headers, body bytes) of one request to a real server on 127.0.0.1."""

    async def go() -> tuple[int, dict[str, str], bytes]:
        async with TestClient(TestServer(make_app(pg), host="127.0.0.1")) as client:
            headers = {}
            if token is not None:
                headers["X-Playground-Token"] = token or pg.token
            data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
            response = await client.request(method, path, headers=headers, data=data)
            return response.status, dict(response.headers), await response.read()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api/state"),
        ("POST", "/api/run"),
        ("POST", "/api/check"),
        ("POST", "/api/cases"),
    ],
)
def test_every_page_and_api_refuses_a_request_without_the_token(playground, method, path):
    body = {"policy": DEFAULT_POLICY, "lines": [LINE]}
    status, headers, text = call(
        playground, method, path, token=None, body=body if method == "POST" else None
    )
    assert status == 403
    assert EMAIL.encode() not in text
    assert "default-src 'none'" in headers["Content-Security-Policy"]  # on refusals too
    status, _, _ = call(
        playground,
        method,
        path,
        token="not-the-token",
        body=body if method == "POST" else None,
    )
    assert status == 403


def test_the_page_with_its_token_is_served_with_a_strict_content_security_policy(playground):
    status, headers, text = call(playground, "GET", f"/?t={playground.token}", token=None)
    assert status == 200
    assert b"<script src=\"/assets/app.js\"" in text
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_page_loads_nothing_from_elsewhere():
    page = Path(__file__).resolve().parents[2] / "pipeline" / "tools" / "playground_page"
    for f in page.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), f.name
        assert "@import" not in text and "url(" not in text, f.name
        assert "innerHTML" not in text, f.name  # values go into the page as text only


def test_a_run_explains_each_finding_and_never_returns_the_raw_value_as_output(playground):
    status, _, text = call(
        playground, "POST", "/api/run", body={"policy": DEFAULT_POLICY, "lines": [LINE, "", "x"]}
    )
    assert status == 200
    data = orjson.loads(text)
    assert len(data["results"]) == 2  # blank lines are not records
    first = data["results"][0]
    assert EMAIL not in first["after"] and "203.0.113.7" not in first["after"]
    by_entity = {f["entity"]: f for f in first["findings"]}
    assert by_entity["EMAIL_ADDRESS"]["path"] == "user.email"
    assert by_entity["EMAIL_ADDRESS"]["before"] == EMAIL
    assert by_entity["IP_ADDRESS"]["operator"] == "generalize"
    # Each mark covers its finding's value in the line before.
    for start, end, index in first["marks_before"]:
        assert first["before"][start:end] == first["findings"][index]["before"]
    assert len(first["marks_before"]) == len(first["findings"])
    assert data["entities"]["EMAIL_ADDRESS"] == 1
    assert data["policy"] == "default"


def test_a_dropped_record_is_reported_as_dropped(playground):
    assert "\ndrop_records:" not in DEFAULT_POLICY
    policy = DEFAULT_POLICY + "\ndrop_records:\n  - path: level\n    equals: [DEBUG]\n"
    line = '{"level":"DEBUG","msg":"cache warm"}'
    status, _, text = call(playground, "POST", "/api/run", body={"policy": policy, "lines": [line]})
    assert status == 200, text
    result = orjson.loads(text)["results"][0]
    assert result["dropped"] is True and result["after"] is None


def test_an_invalid_policy_gets_every_issue_with_its_line_and_path(playground):
    broken = DEFAULT_POLICY.replace("version: 1", "version: 7", 1) + "\nbogus_section: 1\n"
    status, _, text = call(playground, "POST", "/api/check", body={"policy": broken})
    assert status == 200
    issues = orjson.loads(text)["issues"]
    assert len(issues) >= 2
    assert all(i["line"] for i in issues)
    assert {i["path"] for i in issues} >= {"version", "bogus_section"}
    status, _, text = call(playground, "POST", "/api/run", body={"policy": broken, "lines": [LINE]})
    assert status == 422
    assert EMAIL.encode() not in text  # an error answer never carries a record value


def test_requests_over_the_limits_are_refused(playground):
    status, _, _ = call(
        playground,
        "POST",
        "/api/run",
        body={"policy": DEFAULT_POLICY, "lines": ["a"] * (MAX_LINES + 1)},
    )
    assert status == 413
    status, _, _ = call(playground, "POST", "/api/run", body=b"{" + b" " * MAX_BODY_BYTES + b"}")
    assert status == 413
    status, _, _ = call(playground, "POST", "/api/run", body=b"not json")
    assert status == 400
    status, _, _ = call(
        playground, "POST", "/api/run", body={"policy": DEFAULT_POLICY, "lines": "x"}
    )
    assert status == 400


def test_golden_cases_made_here_pass_test_policies_and_catch_a_changed_output(playground, tmp_path):
    status, _, text = call(
        playground,
        "POST",
        "/api/cases",
        body={"policy": DEFAULT_POLICY, "lines": [LINE, "call 13800138000"]},
    )
    assert status == 200
    data = orjson.loads(text)
    cases_file = tmp_path / f"{data['policy']}.cases.yaml"
    cases_file.write_text(data["cases_yaml"], encoding="utf-8")
    (tmp_path / "default.yaml").write_text(DEFAULT_POLICY, encoding="utf-8")
    results = run_case_file(cases_file, tmp_path)
    assert [r.ok for r in results] == [True, True]
    assert EMAIL not in (results[0].expected or "")
    doc = yaml.safe_load(data["cases_yaml"])
    doc["cases"][0]["expected"] = LINE  # as if the policy let the line through unchanged
    cases_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert [r.ok for r in run_case_file(cases_file, tmp_path)] == [False, True]


def test_pseudonyms_use_the_configured_key_or_say_the_key_is_ephemeral():
    secret = "playground-test-secret-0123456789-abcdefghijk"
    configured = Playground(KeyRing.from_secret(secret, "k7"), ner=False)
    _, _, text = call(configured, "GET", "/api/state")
    state = orjson.loads(text)
    assert state["ephemeral_key"] is False and state["key_id"] == "k7"
    _, _, text = call(
        configured, "POST", "/api/run", body={"policy": DEFAULT_POLICY, "lines": [LINE]}
    )
    assert ":k7:" in orjson.loads(text)["results"][0]["after"]
    ephemeral = Playground(None, ner=False)
    _, _, text = call(ephemeral, "GET", "/api/state")
    assert orjson.loads(text)["ephemeral_key"] is True
    assert ephemeral.token != configured.token


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])  # noqa: S104
def test_only_loopback_addresses_are_accepted(host):
    with pytest.raises(Exception, match="loopback"):
        check_loopback(host)


# ------------------------------------------------------------------ the command


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with served_playground() as running:
        yield running


def test_the_command_listens_on_loopback_only_and_refuses_without_the_token(served):
    proc, url = served
    assert url.startswith("http://127.0.0.1:")
    listening = [
        c.laddr for c in psutil.Process(proc.pid).net_connections() if c.status == "LISTEN"
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
    bare = url.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bare, timeout=30)  # noqa: S310 — loopback, our own server
    assert refused.value.code == 403
    with urllib.request.urlopen(url, timeout=30) as page:  # noqa: S310
        assert page.status == 200


def test_the_command_refuses_a_non_loopback_address():
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pipeline", "playground", "--host", "0.0.0.0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "loopback" in done.stderr
