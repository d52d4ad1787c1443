"""`logscrub playground`: a local web page to try policies on log lines and see every decision.

One page (``pipeline/tools/playground_page/``: HTML, one script, one style sheet, no build step,
nothing fetched from elsewhere) and a small JSON API on an aiohttp server (aiohttp is
already installed for the stream runtime; one async server, request size limits and
middlewares without another framework).

Safe by construction:

* it binds to a loopback address only (another address is refused before binding);
* every request but the static assets needs the random token printed at start (in the
  URL for the page, in a header for the API), compared in constant time;
* nothing is stored or logged: no access log, no record value in any log line, no file
  written; results live in the browser tab only;
* a strict Content-Security-Policy (``default-src 'none'``, script and style from the page
  itself only, no inline script), ``no-store``, ``no-referrer`` (the token stays in the tab);
* request bodies are limited (:data:`MAX_BODY_BYTES`), as are the lines per request and
  the time per record (the engine's ``deadline``).

Pseudonyms use the configured key (``--key-file``/``$LOGSCRUB_KEY``) or, when none is
configured, an ephemeral random key that the page says is ephemeral. Golden cases are
computed with the public golden test key, as ``logscrub test-policies`` runs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

import orjson
import yaml
from aiohttp import web

from pipeline.core.engine import Engine, Explanation
from pipeline.core.policy import Policy, parse_policy
from pipeline.exceptions import ConfigError, ConfigIssue, KeyMissingError
from pipeline.keys import KeyRing
from pipeline.shipped import shipped
from pipeline.tools.golden import GOLDEN_KEY_ID, GOLDEN_TEST_SECRET

__all__ = ["MAX_BODY_BYTES", "MAX_LINES", "Playground", "make_app", "check_loopback"]

#: Largest request body accepted (policy text and lines together).
MAX_BODY_BYTES = 1 << 20
#: Lines run per request.
MAX_LINES = 500
#: Time one record may take before it is given up (the engine's ``too_slow``).
RECORD_BUDGET_S = 2.0
#: Engines kept for recently seen policy texts (typing builds one per valid version).
_ENGINE_CACHE = 8
_TOKEN_HEADER = "X-Playground-Token"  # noqa: S105 — a header name, not a secret
_PAGE = "playground_page"
_ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_CASE_ID = re.compile(r"[^A-Za-z0-9_.-]+")

#: Lines ready to try: made up, in the shapes the default policy is written for.
SAMPLES = (
    '{"ts":"2026-05-01T10:00:00Z","level":"INFO","client_ip":"203.0.113.7","user":'
    '{"id":"u_10293","email":"li.wei@example.com"},"msg":"login ok"}',
    '{"event":"device_report","imei":"490154203237518","mac":"3C:5A:B4:1E:2F:90",'
    '"idfa":"6D92078A-8246-4BA4-AE5B-76104861E7DC","gps":{"lat":39.9087,"lon":116.3975}}',
    '{"level":"DEBUG","msg":"cache warm","phone":"+86 138 0013 8000"}',
    '{"order":"A-7781","card":"4111 1111 1111 1111","note":"Deliver to Jane Miller, '
    'call 415-555-0132 after 6pm"}',
    '198.51.100.23 - - [01/May/2026:10:00:01 +0000] "GET /api/v1/profile?email='
    'bob%40example.org HTTP/1.1" 200 512 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like '
    'Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"',
)


def check_loopback(host: str) -> None:
    """Refuse any address but a loopback one: the page shows original values.

    Raises:
        ConfigError: ``host`` is not ``localhost`` or a loopback IP address.
    """
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ConfigError(
        [ConfigIssue("--host", None, "host", "the playground binds to a loopback address only")]
    )


@dataclass(frozen=True)
class _Built:
    policy: Policy
    engine: Engine


class Playground:
    """The state of one playground server: its token, its key and its engine cache.

    Args:
        keys: the configured key ring, or None for an ephemeral key.
        ner: as ``--ner/--no-ner`` (None: as the policy says).
    """

    def __init__(self, keys: KeyRing | None, *, ner: bool | None = None) -> None:
        self.token = secrets.token_urlsafe(24)
        self.ephemeral = keys is None
        self.keys = keys or KeyRing.from_secret(secrets.token_urlsafe(48), "ephemeral")
        self.ner = ner
        self._golden_keys = KeyRing.from_secret(GOLDEN_TEST_SECRET, GOLDEN_KEY_ID)
        self._engines: OrderedDict[str, _Built] = OrderedDict()
        # One engine call at a time: engines keep memos that are not thread-safe, and a
        # local page for one person needs no parallelism.
        self._lock = threading.Lock()

    def authorized(self, request: web.Request) -> bool:
        given = request.headers.get(_TOKEN_HEADER) or request.query.get("t") or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    # ----------------------------------------------------------------- engine side

    def build(self, policy_text: str) -> _Built:
        """The engines for a policy text (cached by its digest).

        Raises:
            ConfigError: the policy is invalid (every issue, with line and path).
        """
        digest = hashlib.sha256(policy_text.encode()).hexdigest()
        with self._lock:
            found = self._engines.get(digest)
            if found is not None:
                self._engines.move_to_end(digest)
                return found
        policy = parse_policy(policy_text, "policy")
        built = _Built(policy, Engine(policy, keys=self.keys, ner=self.ner))
        with self._lock:
            self._engines[digest] = built
            while len(self._engines) > _ENGINE_CACHE:
                self._engines.popitem(last=False)
        return built

    def check(self, policy_text: str) -> list[dict[str, Any]]:
        """Every issue of a policy text (empty when valid)."""
        try:
            self.build(policy_text)
        except ConfigError as exc:
            return [_issue(i) for i in exc.issues]
        except KeyMissingError as exc:  # cannot happen with a key ring, kept fail-safe
            return [{"line": None, "path": "", "message": str(exc)}]
        return []

    def run(self, policy_text: str, lines: list[str]) -> dict[str, Any]:
        """Clean ``lines`` and explain every decision (see ``make_app``'s ``/api/run``)."""
        built = self.build(policy_text)
        results = []
        entities: dict[str, int] = {}
        operators: dict[str, int] = {}
        with self._lock:
            for line in lines:
                outcome, trace = built.engine.explain(
                    line.encode("utf-8", "surrogatepass"),
                    deadline=time.monotonic() + RECORD_BUDGET_S,
                )
                after = None if outcome.value is None else outcome.value.decode("utf-8", "replace")
                for t in trace:
                    entities[t.entity] = entities.get(t.entity, 0) + 1
                    operators[t.operator] = operators.get(t.operator, 0) + 1
                results.append(
                    {
                        "before": line,
                        "after": after,
                        "dropped": outcome.value is None,
                        "issue": outcome.issue,
                        "findings": [_finding(t) for t in trace],
                        "marks_before": _marks(line, [t.before for t in trace]),
                        "marks_after": _marks(after or "", [t.after or "" for t in trace]),
                    }
                )
        return {
            "policy": built.policy.name,
            "digest": built.policy.digest,
            "results": results,
            "entities": dict(sorted(entities.items())),
            "operators": dict(sorted(operators.items())),
        }

    def cases(self, policy_text: str, lines: list[str]) -> tuple[str, str]:
        """A golden cases file for ``lines`` under this policy: (policy name, YAML text)."""
        policy = self.build(policy_text).policy
        # Made as `logscrub test-policies` checks them: the golden test key, NER off.
        golden = Engine(policy, keys=self._golden_keys, ner=False)
        name = policy.name
        stem = _CASE_ID.sub("-", name)
        cases = [
            {"id": f"{stem}-{n}", "raw": line, "expected": golden.scrub_line(line)}
            for n, line in enumerate(lines, 1)
        ]
        text = yaml.safe_dump(
            {"policy": name, "cases": cases}, sort_keys=False, allow_unicode=True, width=10_000
        )
        header = (
            f"# Golden cases for policy {name!r}, made in `logscrub playground`.\n"
            f"# Run: logscrub test-policies --policies-dir DIR DIR/{name}.cases.yaml\n"
        )
        return name, header + text


def _issue(issue: ConfigIssue) -> dict[str, Any]:
    return {"line": issue.line, "path": issue.path, "message": issue.message}


def _finding(t: Explanation) -> dict[str, Any]:
    return {
        "path": t.path,
        "entity": t.entity,
        "detector": t.detector,
        "score": round(t.score, 3),
        "operator": t.operator,
        "before": t.before,
        "after": t.after,
    }


def _marks(line: str, texts: list[str]) -> list[list[int]]:
    """Where each finding's text stands in ``line``: ``[start, end, finding index]``.

    A value is looked for as written in the line, in its JSON string form (escapes) and
    percent-encoded (in a URL); the search moves left to right so repeated values mark
    successive places.
    Findings whose text cannot be placed (a key renamed, a value re-encoded) get no mark;
    the list of findings still shows them.
    """
    marks: list[list[int]] = []
    cursor = 0
    for i, text in enumerate(texts):
        if not text:
            continue
        forms = [text, orjson.dumps(text).decode()[1:-1], quote(text, safe="")]
        for form in forms:
            at = line.find(form, cursor)
            if at < 0:
                at = line.find(form)
            if at >= 0:
                marks.append([at, at + len(form), i])
                cursor = at + len(form)
                break
    marks.sort()
    kept: list[list[int]] = []
    for m in marks:  # overlapping marks would nest <mark>s: keep the first
        if not kept or m[0] >= kept[-1][1]:
            kept.append(m)
    return kept


# --------------------------------------------------------------------- web side


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="the request body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the request body is not a JSON object")
    return body


def _policy_text(body: dict[str, Any]) -> str:
    text = body.get("policy")
    if not isinstance(text, str):
        raise web.HTTPBadRequest(text="'policy' (the policy YAML) is missing")
    return text


def _lines(body: dict[str, Any]) -> list[str]:
    lines = body.get("lines")
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise web.HTTPBadRequest(text="'lines' must be a list of strings")
    lines = [x for x in lines if x.strip()]
    if len(lines) > MAX_LINES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_LINES, actual_size=len(lines))
    return lines


def make_app(pg: Playground) -> web.Application:
    """The aiohttp application of one playground."""

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/assets/") and not pg.authorized(request):
            raise web.HTTPForbidden(text="the playground needs the token printed at its start\n")
        return await handler(request)  # type: ignore[no-any-return]

    async def secure(_request: web.Request, response: web.StreamResponse) -> None:
        # On every answer, errors included.
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"

    page = resources.files("pipeline.tools").joinpath(_PAGE)

    async def index(_request: web.Request) -> web.Response:
        return web.Response(body=page.joinpath("index.html").read_bytes(), content_type="text/html")

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _ASSETS:
            raise web.HTTPNotFound()
        return web.Response(body=page.joinpath(name).read_bytes(), content_type=_ASSETS[name])

    async def state(_request: web.Request) -> web.Response:
        folder = shipped("policies")
        policies = {
            f.name.removesuffix(".yaml"): f.read_text(encoding="utf-8")
            for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".yaml")
        }
        return _json(
            {
                "policies": policies,
                "samples": list(SAMPLES),
                "ephemeral_key": pg.ephemeral,
                "key_id": pg.keys.key_id,
                "max_lines": MAX_LINES,
                "max_bytes": MAX_BODY_BYTES,
            }
        )

    async def check(request: web.Request) -> web.Response:
        text = _policy_text(await _json_body(request))
        issues = await asyncio.to_thread(pg.check, text)
        return _json({"issues": issues})

    async def run(request: web.Request) -> web.Response:
        body = await _json_body(request)
        text, lines = _policy_text(body), _lines(body)
        try:
            result = await asyncio.to_thread(pg.run, text, lines)
        except ConfigError as exc:
            return _json({"issues": [_issue(i) for i in exc.issues]}, status=422)
        return _json(result)

    async def cases(request: web.Request) -> web.Response:
        body = await _json_body(request)
        text, lines = _policy_text(body), _lines(body)
        try:
            name, yaml_text = await asyncio.to_thread(pg.cases, text, lines)
        except ConfigError as exc:
            return _json({"issues": [_issue(i) for i in exc.issues]}, status=422)
        return _json({"policy": name, "cases_yaml": yaml_text})

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY_BYTES)
    app.on_response_prepare.append(secure)
    app.router.add_get("/", index)
    app.router.add_get("/assets/{name}", asset)
    app.router.add_get("/api/state", state)
    app.router.add_post("/api/check", check)
    app.router.add_post("/api/run", run)
    app.router.add_post("/api/cases", cases)
    return app


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(obj), status=status, content_type="application/json")


def serve(pg: Playground, host: str, port: int, on_ready: Any) -> None:
    """Serve until interrupted; ``on_ready(url)`` is called once the port is bound."""
    check_loopback(host)

    async def main() -> None:
        runner = web.AppRunner(make_app(pg), access_log=None)  # no request lines logged
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]  # port 0
        where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        on_ready(f"http://{where}:{bound[1]}/?t={pg.token}")
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
