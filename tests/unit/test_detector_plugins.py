"""Recognizers from other packages: the ``logscrub.detectors`` entry-point group.

Each test runs a fresh interpreter with a real installed-distribution layout on its
``sys.path`` (a ``.dist-info`` folder with ``entry_points.txt`` next to the plugin module),
which :mod:`importlib.metadata` reads as it reads any installed package.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = textwrap.dedent(
    """
    from presidio_analyzer import Pattern

    from detectors.base import LogRecognizer


    class TicketRecognizer(LogRecognizer):
        ENTITY = "TICKET_ID"
        PATTERNS = (Pattern("ticket", r"\\bTCK-\\d{6}\\b", 0.9),)
        CONTEXT = ("ticket",)


    class NotARecognizer:
        pass
    """
)

PROBE = textwrap.dedent(
    """
    import json, sys
    from pipeline.exceptions import ConfigError
    try:
        from detectors import all_recognizers
        names = [c.__name__ for c in all_recognizers()]
        from pipeline.detection.scanner import Scanner
        found = [(f.entity, f.start, f.end) for f in Scanner().scan("opened TCK-123456 today")]
        from pipeline.core.policy import parse_policy
        parse_policy(
            "version: 1\\nname: p\\nunknown_fields: scan\\n"
            "scan:\\n  entities:\\n    TICKET_ID: {type: redact}\\n"
        )
        print(json.dumps({"names": names, "found": found}))
    except ConfigError as exc:
        print(json.dumps({"error": str(exc)}))
    """
)


def _install(site: Path, entry: str) -> None:
    (site / "ticket_plugin.py").write_text(PLUGIN)
    info = site / "ticket_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ticket-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[logscrub.detectors]\nticket = {entry}\n")


def _probe(site: Path) -> dict[str, object]:
    root = Path(__file__).resolve().parents[2]
    env_path = f"{site}:{root}"
    out = subprocess.run(  # noqa: S603 — this interpreter, fixed arguments
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_plugin_recognizer_is_compiled_and_its_entity_accepted(tmp_path: Path) -> None:
    _install(tmp_path, "ticket_plugin:TicketRecognizer")
    result = _probe(tmp_path)
    assert "error" not in result, result
    names = result["names"]
    assert isinstance(names, list) and names[-1] == "TicketRecognizer"
    assert "EmailAddressRecognizer" in names  # the pack comes first, unchanged
    assert result["found"] == [["TICKET_ID", 7, 17]]


def test_a_broken_entry_point_is_a_config_error_naming_it(tmp_path: Path) -> None:
    _install(tmp_path, "ticket_plugin:NotARecognizer")
    result = _probe(tmp_path)
    assert "ticket = ticket_plugin:NotARecognizer" in str(result.get("error"))
    assert "is not a LogRecognizer subclass" in str(result.get("error"))
