"""Recognizer for IPv4 and IPv6 addresses in log text."""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
# The same address written with dashes, as cloud and reverse-DNS host names carry it.
_DASHED = rf"{_OCTET}(?:-{_OCTET}){{3}}"
# A port that cannot be an octet (256-65535): `203.0.113.7.51234` (BSD netstat, SOCKS
# logs) is an address and its port, not a five-part version.
_HIGH_PORT = (
    r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{3}|[3-9]\d\d"
    r"|2[6-9]\d|25[6-9])"
)
# Network positions: in brackets right after a host name (`mail.example.com[203.0.113.7]`,
# Postfix and sendmail), or after `from`, `client`, `host=`, `relay=`, `peer`... A version
# word in the host name (`build-01.example.com`, `rev.example.net`) or before it does not
# make the address a version there.
_NETWORK_POSITION = re.compile(
    r"(?:[\w\-]+(?:\.[\w\-]+)*\[|(?<![\w])(?:from|client|host|relay|peer|remote|src|dst|to|by|"
    r"connect(?:ion)? from|connect to|addr|ip)(?:[ \t]*[=:][ \t]*|[ \t]+)\[?)$",
    re.IGNORECASE,
)

# A version change written as prose: `Upgraded agent to 8.1.34.3 (was 6.3.1-rc.3)`,
# `Deployed commit d75e6fa as 4.6.143.1`, `rolled back to 2.0.1.7`. Four-part versions
# are dotted quads; the verb before the connecting word says which. Not `updated`/
# `migrated` (`DNS updated to 10.0.0.2` names a host), not across a clause (`Upgraded
# agent; connected to 91.198.174.192`).
_VERSION_CHANGE = re.compile(
    r"(?<![\w])(?:(?:up|down)grad(?:e|ed|es|ing)|deploy(?:ed|s|ing)?|released?|bump(?:ed|s)?"
    r"|roll(?:ed|ing)?[ \-]?back)(?![\w])"
    # ...in the same clause, with no word between that names a host.
    r"(?:(?!connect|client|host|peer|server|node|from)[^\"\n;,|]){0,60}$",
    re.IGNORECASE,
)
_CHANGE_LINK = re.compile(r"(?<![\w])(?:to|as|from|was|->|=>)[ \t]*\(?[ \t]*v?$", re.IGNORECASE)


class IpAddressRecognizer(LogRecognizer):
    """Detect IPv4 and IPv6 addresses (with ports, brackets, IPv4-mapped forms, zone ids).

    Every candidate is checked with :mod:`ipaddress`. The reported span is the address
    only: a port (``:8080``) or brackets stay, because analytics needs ports. Version
    strings are not addresses: a dotted quad after ``v``, ``~`` or a letter (``v1.2.3.4``),
    followed by ``.digit`` (``1.2.3.4.5``), after a ``version``/``build`` word, or ending
    in ``.0`` (a network, also what the ``/24`` generalization produces; it also covers
    ``Chrome/120.0.0.0``) is skipped.
    """

    ENTITY: ClassVar[str] = "IP_ADDRESS"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "ipv4",
            # After `/` is fine (`src: /10.250.19.102:54106`, `host/10.0.0.1`): browser
            # versions after `/` (`Chrome/120.0.0.0`, `Edg/120.0.2210.91`) end in `.0` or
            # have an octet above 255.
            rf"(?<![\w.~\\]){_IPV4}(?:/(?:3[0-2]|[12]?\d)(?!\d))?(?![\w]|\.\d)",
            0.6,
        ),
        Pattern(
            "ipv4 dot port",
            rf"(?<![\w.~\\])(?P<value>{_IPV4})\.{_HIGH_PORT}(?![\w]|\.\d)",
            0.6,
        ),
        # `ip-203-0-113-7.ec2.internal`, `ec2-203-0-113-7.compute-1.amazonaws.com`,
        # `203-0-113-7.rev.example.net`, ISP reverse names `lns-vlq-45-tou-82-252-162-81.
        # adsl.example.net`: prefix words and a dash, or a domain after it.
        Pattern(
            "ipv4 in host name",
            # (The prefix is a lookbehind so that the native prefilter's superset of this
            # pattern is the dashed address alone: a cheap DFA.)
            rf"(?:(?<=(?<![\w\-.])[a-z][a-z0-9]{{0,15}}(?:-[a-z0-9]{{1,15}}){{0,4}}-)"
            rf"(?<![\-\s]\d-)(?<![\-\s]\d\d-)(?<![\-\s]\d\d\d-){_DASHED}(?![\w]|-\d)"
            rf"|(?<![\w\-.]){_DASHED}(?=\.[a-z][a-z0-9\-]*\.[a-z]))",
            0.6,
        ),
        # A full IPv6 address (eight groups) and a port: only the port can be the ninth.
        Pattern(
            "ipv6 full with port",
            r"(?<![\w.:])(?P<value>(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}):\d{1,5}(?![\w:])",
            0.6,
        ),
        # Loose IPv6 candidate: 2-7 colon groups, optional embedded IPv4 tail and zone id;
        # ipaddress decides. Not after `hex:` so a sub-run of a longer colon-hex hardware
        # id (BGL `FF:F2:9F:...`) is not taken.
        Pattern(
            "ipv6",
            # A colon continues the address only before hex or `:` (or as the second of
            # `::`), so `from 2001:db8::1: Authorization` ends before its last colon.
            r"(?<![\w.:])(?<![0-9a-f]:)(?:[0-9a-f]{0,4}:(?:(?=[0-9a-f:])|(?<=::))){2,7}(?:"
            + _IPV4
            + r"|[0-9a-f]{1,4})?(?:%[\w.\-]{1,32})?(?:/(?:12[0-8]|1[01]\d|[1-9]?\d)(?!\d))?"
            r"(?![\w]|:[0-9a-f:]|\.[0-9a-f])",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "ip",
        "ipv4",
        "ipv6",
        "addr",
        "address",
        "client",
        "remote",
        "source",
        "src",
        "forwarded",
        "peer",
        "host",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "ip",
            "ipv4",
            "ipv6",
            "ipaddr",
            "ipaddress",
            "clientip",
            "clientaddr",
            "remoteip",
            "remoteaddr",
            "remoteaddress",
            "xrealip",
            "xforwardedfor",
            "forwardedfor",
            "sourceip",
            "srcip",
            "sourceaddr",
            "srcaddr",
            "peerip",
            "peeraddr",
            "userip",
            "hostip",
            "loginip",
            "lastloginip",
            "registerip",
            "cip",
            "realip",
            "requestip",
            "originip",
            "dstip",
            "destip",
            "dstaddr",
            "localaddr",
            "localip",
            "serverip",
            "serveraddr",
            "upstreamaddr",
            "trueclientip",
            "cfconnectingip",
        }
    )
    # IPv6 needs `::` or four colons in a row of groups; clock times (`12:00:00`,
    # `22:15:29:606`) have fewer and open no window.
    _IPV6_ANCHORS = (rb"::", rb":[0a]{1,4}:[0a]{1,4}:[0a]{1,4}:")
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (rb"0\.0", rb"0-0{1,3}-0{1,3}-0", *_IPV6_ANCHORS)
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "ipv4": (rb"0\.0",),
        "ipv4 dot port": (rb"0\.0",),
        "ipv4 in host name": (rb"0-0{1,3}-0{1,3}-0",),
        "ipv6 full with port": _IPV6_ANCHORS,
        "ipv6": _IPV6_ANCHORS,
    }
    WINDOW: ClassVar[tuple[int, int]] = (40, 24)
    MIN_DIGITS: ClassVar[int] = 1
    NEGATIVE_CONTEXT: ClassVar[frozenset[str]] = frozenset(
        {
            "version",
            "ver",
            "build",
            "release",
            "firmware",
            "fw",
            "sdk",
            "kernel",
            "rev",
            "revision",
            "network",
            "subnet",
            "mask",
            "netmask",
            "oid",
            "patch",
            "app",
            "appversion",
            "versionname",
            "versioncode",
            "os",
            "osversion",
            "ios",
            "android",
        }
    )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return whether ``pattern_text`` parses as an IP address (CIDR and zone allowed;
        the dashed form of a host name, ``203-0-113-7``, too)."""
        return _is_host_address(_undash(pattern_text))

    def in_positive_position(self, text: str, start: int) -> bool:
        """An address in brackets after a host name, or after ``from``/``client``/
        ``host=``/``relay=``..., is an address whatever version word is near (fail
        closed)."""
        return _NETWORK_POSITION.search(text, max(0, start - 80), start) is not None

    def in_negative_position(self, text: str, start: int) -> bool:
        """A dotted quad right after ``to``/``as``/``was`` in a version change (an upgrade,
        a deploy, a rollback) is a version, even where ``to`` would name a host."""
        return (
            _CHANGE_LINK.search(text, max(0, start - 8), start) is not None
            and _VERSION_CHANGE.search(text, max(0, start - 90), start) is not None
        )

    def normalize(self, value: str) -> str:
        """Return the compressed lowercase form (``::FFFF:1.2.3.4`` -> ``::ffff:102:304``;
        ``203-0-113-7`` -> ``203.0.113.7``)."""
        try:
            return str(ipaddress.ip_address(_undash(value.strip()).split("/", 1)[0]))
        except ValueError:
            return value.strip().lower()


def _undash(value: str) -> str:
    """``203-0-113-7`` -> ``203.0.113.7``; any other value unchanged."""
    if "-" in value and value.count("-") == 3 and value.replace("-", "").isdigit():
        return value.replace("-", ".")
    return value


@functools.lru_cache(maxsize=8192)
def _is_host_address(candidate: str) -> bool:
    """Return whether ``candidate`` is a host address; cached, as client IPs recur."""
    address = candidate.split("/", 1)[0]
    if ":" in address and "::" not in address and address.count(":") < 7:
        # `12:00:00`, `2024:12:00:00`: too few groups for IPv6, skip the exception path.
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if parsed.version == 4 and address.endswith(".0"):
        # A network address (or an already generalized /24), not a host.
        return False
    if parsed.is_loopback:
        # 127.0.0.0/8 and ::1 name the machine that writes the log, not anyone's device:
        # health checks and local proxies, which analytics keeps as they are.
        return False
    return address not in ("0.0.0.0", "255.255.255.255", "::")  # noqa: S104 — compared, not bound
