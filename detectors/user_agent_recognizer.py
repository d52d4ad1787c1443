"""Recognizer for HTTP user-agent strings of browsers, apps and HTTP client libraries."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer

# One product token `Name/1.2.3` or a comment `(...)`, as in RFC 9110's User-Agent grammar.
_PRODUCT = r"[A-Za-z][\w.\-+]{0,40}(?:/[\w.\-+]{1,40})?"
_COMMENT = r"\([^()\n\"]{0,200}(?:\([^()\n\"]{0,60}\)[^()\n\"]{0,100})*\)"
_TAIL = rf"(?:[ \t]+(?:{_PRODUCT}|{_COMMENT}))*"
_PLATFORMS = (
    r"iPhone|iPad|iPod|iOS|Android|Linux|Windows|Macintosh|Mac OS|X11|compatible|"
    r"HarmonyOS|OpenHarmony|Darwin|CrOS|PlayStation|Nintendo|SMART-TV|Tizen|KAIOS"
)

_W3C_PLATFORMS = _PLATFORMS.replace(" ", r"\+")


class UserAgentRecognizer(LogRecognizer):
    """Detect user agents: ``Mozilla/5.0 (...) ...``, ``Dalvik/2.1.0 (Linux; U; Android ...)``,
    app agents ``MyApp/3.2.1 (iPhone; iOS 17.0; Scale/3.00)``, ``AppName/1.0 CFNetwork/...
    Darwin/...`` and client libraries (``okhttp/4.9.3``).

    A bare product token such as ``Chrome/120.0.0.0`` is a version string, not a user agent,
    and is left alone: a user agent needs a platform comment or a known client-library name.
    """

    ENTITY: ClassVar[str] = "USER_AGENT"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "browser", rf"(?<![\w/])(?:Mozilla|Opera)/\d[\w.]*(?:[ \t]+{_COMMENT}){_TAIL}", 0.8
        ),
        Pattern("dalvik", rf"(?<![\w/])Dalvik/\d[\w.]*[ \t]+{_COMMENT}{_TAIL}", 0.85),
        Pattern(
            "app",
            rf"(?<![\w/.\-])[A-Za-z][\w.\-]{{0,40}}/\d[\w.\-]{{0,20}}[ \t]+"
            rf"\((?:[^()\n\"]{{0,40}}[; ])?(?:{_PLATFORMS})[^()\n\"]{{0,200}}\){_TAIL}",
            0.7,
        ),
        Pattern(
            # W3C extended logs (IIS) write `+` for every space of the header, so the whole
            # agent is one field without spaces: `Mozilla/5.0+(Windows+NT+6.1;+WOW64)+...`.
            "w3c browser",
            r"(?<![\w/])(?:Mozilla|Opera|Dalvik)/\d[\w.]*\+\([^\s\"]{1,600}",
            0.8,
        ),
        Pattern(
            "w3c app",
            rf"(?<![\w/.\-+])[A-Za-z][\w.\-]{{0,40}}(?:\+[A-Za-z][\w.\-]{{0,40}}){{0,3}}"
            rf"/\d[\w.\-]{{0,20}}\+\((?:[^()\s\"]{{0,40}}[;+])?(?:{_W3C_PLATFORMS})"
            r"[^\s\"]{0,600}",
            0.7,
        ),
        Pattern(
            "cfnetwork",
            r"(?<![\w/.\-])[A-Za-z][\w.\-%]{0,40}/[\w.\-]{1,20}[ \t]+CFNetwork/[\w.]+"
            r"[ \t]+Darwin/[\w.]+",
            0.7,
        ),
        Pattern(
            "http client library",
            r"(?<![\w/.\-])(?:okhttp|Dalvik|CFNetwork|Alamofire|AFNetworking|cpp-httplib|"
            r"python-requests|Go-http-client|Apache-HttpClient|axios|node-fetch)/\d[\w.\-]*"
            r"(?:[ \t]+\([^()\n\"]{0,200}\))?",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["ua", "useragent", "user-agent", "agent", "browser"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "ua",
            "useragent",
            "httpuseragent",
            "clientuseragent",
            "browseruseragent",
            "requestuseragent",
            "huseragent",
            "reqheadersuseragent",
            "agent",
        }
    )
    TRIGGER_CHARS: ClassVar[str] = "/"
    # Shapes (see detectors.base.text_shape) of `product/1.2 (`, `okhttp/4`, `CFNetwork/1`.
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        rb"/0[0ax.\-_+]{0,30}[ \t]+\(",
        rb"/0[0ax.\-_]{0,30}\+\(",
        rb"xxxxxx/0",
        rb"aaxaxxxxx/0",
    )
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "browser": (rb"/0[0ax.\-_+]{0,30}[ \t]+\(",),
        "dalvik": (rb"/0[0ax.\-_+]{0,30}[ \t]+\(",),
        "app": (rb"/0[0ax.\-_+]{0,30}[ \t]+\(",),
        "w3c browser": (rb"/0[0ax.\-_]{0,30}\+\(",),
        "w3c app": (rb"/0[0ax.\-_]{0,30}\+\(",),
        "cfnetwork": (rb"aaxaxxxxx/0",),
        "http client library": (rb"xxxxxx/0", rb"aaxaxxxxx/0"),
    }
    WINDOW: ClassVar[tuple[int, int]] = (48, 512)

    def normalize(self, value: str) -> str:
        """Return the agent with surrounding whitespace removed."""
        return value.strip()
