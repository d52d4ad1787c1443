"""Generalization functions: keep the coarse, useful part of a value and drop the rest."""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import socket
from datetime import date, datetime
from typing import TYPE_CHECKING, Final, Literal

from stdnum import imei as stdnum_imei
from stdnum import imsi as stdnum_imsi
from stdnum import mac as stdnum_mac
from stdnum.exceptions import ValidationError

if TYPE_CHECKING:
    from ua_parser import Domain, Resolver

__all__ = [
    "date_to",
    "gps",
    "gps_text",
    "imei_tac",
    "imsi_mcc_mnc",
    "ip_prefix",
    "mac_oui",
    "user_agent",
]

# Every ValueError below uses a fixed message: a generalizer sees raw personal data,
# and exception text ends up in logs and the quarantine topic (STYLE principle 4).
# Errors are raised outside `except` blocks so they carry no __context__ either:
# stdnum, datetime and socket errors may hold the input.

# ---------------------------------------------------------------------------- IP

_IPV4_MAPPED_PREFIX: Final = b"\x00" * 10 + b"\xff\xff"
_6TO4_PREFIX: Final = b"\x20\x02"
_PORT_RE: Final = re.compile(r"[0-9]{1,5}")
_NOT_IP: Final = "not an IP address (optionally with port)"


def ip_prefix(ip: str, v4_prefix: int = 24, v6_prefix: int = 48) -> str:
    """Keep the network part of an IP address and zero the host part.

    Accepted forms, and what comes back:

    * ``203.0.113.57`` -> ``203.0.113.0``; ``203.0.113.57:8080`` -> ``203.0.113.0:8080``
    * ``2001:db8:abcd:12::1`` -> ``2001:db8:abcd::`` (compressed, lowercase)
    * ``[2001:db8::1]`` and ``[2001:db8::1]:443`` keep their brackets and port.
    * ``fe80::1%eth0`` -> ``fe80::``: the zone id names a local interface and is dropped.
    * ``203-0-113-57``, the form host names carry (``ip-203-0-113-57.ec2.internal``), ->
      ``203-0-113-0``.
    * IPv4-mapped IPv6 (``::ffff:198.51.100.7``) is generalized as IPv4 with
      ``v4_prefix`` and written back in mapped form (``::ffff:198.51.100.0``); a /48
      would otherwise zero the whole address or, past /96, keep all of it.

    Unlike Anonip, text that is not an address raises instead of passing through.

    Args:
        ip: The address text, optionally with a port.
        v4_prefix: Leading bits kept for IPv4, 0 to 32.
        v6_prefix: Leading bits kept for IPv6, 0 to 128.

    Returns:
        The generalized address, in the input's form (brackets, port).

    Raises:
        ValueError: If ``ip`` is not an address in one of the forms above, or a prefix
            length is out of range.

    Security:
        A 6to4 address (``2002::/16``) carries an IPv4 address in bits 16 to 47, so a
        /48 would keep it whole; for those at most ``16 + v4_prefix`` bits are kept.
    """
    if not 0 <= v4_prefix <= 32:
        msg = "v4_prefix must be between 0 and 32"
        raise ValueError(msg)
    if not 0 <= v6_prefix <= 128:
        msg = "v6_prefix must be between 0 and 128"
        raise ValueError(msg)

    if ip.startswith("["):
        host, sep, rest = ip[1:].partition("]")
        if not sep or ":" not in host:
            raise ValueError(_NOT_IP)
        if rest:
            _check_port(rest)
        return f"[{_generalize_v6(host, v4_prefix, v6_prefix)}]{rest}"
    if ip.count("-") == 3 and ip.replace("-", "").isdigit():
        return _generalize_v4(ip.replace("-", "."), v4_prefix).replace(".", "-")
    colons = ip.count(":")
    if colons == 1:
        host, _, port = ip.partition(":")
        _check_port(":" + port)
        return f"{_generalize_v4(host, v4_prefix)}:{port}"
    if colons:
        return _generalize_v6(ip, v4_prefix, v6_prefix)
    return _generalize_v4(ip, v4_prefix)


def _check_port(suffix: str) -> None:
    """Validate a ``:port`` suffix, port 0 to 65535 in plain ASCII digits."""
    if not (
        suffix.startswith(":")
        and _PORT_RE.fullmatch(suffix, 1) is not None
        and int(suffix[1:]) <= 65535
    ):
        raise ValueError(_NOT_IP)


def _pton(family: int, text: str) -> bytes | None:
    """Parse address text with the C library, strictly; None when it is not one."""
    try:
        return socket.inet_pton(family, text)
    except (OSError, UnicodeError, ValueError):
        return None


def _mask(packed: bytes, prefix: int) -> int:
    """Return ``packed`` as an integer with all but its first ``prefix`` bits zeroed."""
    width = len(packed) * 8
    return int.from_bytes(packed, "big") >> (width - prefix) << (width - prefix)


def _generalize_v4(text: str, prefix: int) -> str:
    packed = _pton(socket.AF_INET, text)
    if packed is None:
        raise ValueError(_NOT_IP)
    return socket.inet_ntop(socket.AF_INET, _mask(packed, prefix).to_bytes(4, "big"))


def _generalize_v6(text: str, v4_prefix: int, v6_prefix: int) -> str:
    address, has_zone, zone = text.partition("%")
    packed = _pton(socket.AF_INET6, address)
    if packed is None or (has_zone and not zone):
        raise ValueError(_NOT_IP)
    if packed.startswith(_IPV4_MAPPED_PREFIX):
        v4 = socket.inet_ntop(socket.AF_INET, _mask(packed[12:], v4_prefix).to_bytes(4, "big"))
        return f"::ffff:{v4}"
    if packed.startswith(_6TO4_PREFIX):
        v6_prefix = min(v6_prefix, 16 + v4_prefix)
    # ipaddress rather than inet_ntop: glibc prints ::/96 results as dotted quads.
    return ipaddress.IPv6Address(_mask(packed, v6_prefix)).compressed


# --------------------------------------------------------------------------- GPS

_MAX_GPS_DECIMALS: Final = 6
_COORD: Final = r"([+-]?)([0-9]{1,3})(?:\.([0-9]+))?"
_GPS_TEXT_RE: Final = re.compile(rf"{_COORD}(\s*[,;]\s*|\s+){_COORD}", re.ASCII)
_NOT_GPS: Final = "not a latitude,longitude pair"


def gps(lat: float, lon: float, decimals: int = 2) -> tuple[float, float]:
    """Round a coordinate pair to ``decimals`` decimal places.

    Two decimals is about 1.1 km of latitude (less longitude away from the equator),
    three about 110 m. Rounding uses Python's :func:`round` (half to even on the
    binary value); ``-0.0`` is returned as ``0.0``.

    Args:
        lat: Latitude in degrees, -90 to 90.
        lon: Longitude in degrees, -180 to 180.
        decimals: Decimal places kept, 0 to 6 (more is no generalization).

    Returns:
        The rounded ``(lat, lon)``.

    Raises:
        ValueError: If a coordinate is not finite or out of range, or ``decimals``
            is out of range.
    """
    if not 0 <= decimals <= _MAX_GPS_DECIMALS:
        msg = f"decimals must be between 0 and {_MAX_GPS_DECIMALS}"
        raise ValueError(msg)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(_NOT_GPS)
    # `+ 0.0` turns -0.0 into 0.0, so "-0.00" never shows up for a point near 0.
    return round(lat, decimals) + 0.0, round(lon, decimals) + 0.0


def gps_text(text: str, decimals: int = 2) -> str:
    """Round a ``"lat,lon"`` string, keeping its separator and style.

    The separator (``,`` or ``;`` with optional spaces around it, or plain whitespace)
    and an explicit ``+`` sign are kept. A coordinate written with fewer decimals
    than ``decimals`` keeps its own count: ``48.8,2.35`` stays ``48.8,2.35``.

    Args:
        text: Decimal degrees, latitude first, e.g. ``"48.85661, 2.35222"``.
        decimals: Decimal places kept, 0 to 6.

    Returns:
        The rounded text, e.g. ``"48.86, 2.35"``.

    Raises:
        ValueError: If ``text`` is not a coordinate pair in range, or ``decimals`` is
            out of range.
    """
    match = _GPS_TEXT_RE.fullmatch(text)
    if match is None:
        raise ValueError(_NOT_GPS)
    lat_sign, lat_int, lat_frac, sep, lon_sign, lon_int, lon_frac = match.groups()
    lat = float(f"{lat_sign}{lat_int}.{lat_frac or 0}")
    lon = float(f"{lon_sign}{lon_int}.{lon_frac or 0}")
    lat_digits = min(decimals, len(lat_frac or ""))
    lon_digits = min(decimals, len(lon_frac or ""))
    gps(lat, lon, decimals)  # range and `decimals` checks only
    return (
        _format_coordinate(lat, lat_digits, lat_sign == "+")
        + sep
        + _format_coordinate(lon, lon_digits, lon_sign == "+")
    )


def _format_coordinate(value: float, digits: int, plus: bool) -> str:
    rounded = round(value, digits) + 0.0
    sign = "+" if plus and rounded >= 0 else ""
    return f"{sign}{rounded:.{digits}f}"


# -------------------------------------------------------------------------- Date

_DATE_FORMS: Final = (
    # (pattern, group index of year, month, day); ISO forms go to fromisoformat.
    (re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})"), 1, 2, 3),
    (re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"), 1, 2, 3),
    (re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})"), 3, 2, 1),
    # German and most of Europe write dots, day first: 17.05.1990.
    (re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})"), 3, 2, 1),
    # Reduced-precision ISO 8601, so that generalizing twice is harmless.
    (re.compile(r"([0-9]{4})-([0-9]{2})"), 1, 2, 0),
    # Chinese: 1990年5月17日.
    (re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?"), 1, 2, 3),
)
_NOT_DATE: Final = "not a supported date or datetime"
# Dates whose year is certain though their month is not (`05/17/1990` is month first,
# `03/04/1990` either): good enough for ``unit="year"``.
_NUMERIC_DMY_OR_MDY: Final = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})")
_MONTH_NAMES: Final = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
)  # fmt: skip
_WORDS_DATE: Final = re.compile(
    r"(?i)(?:([a-z]{3})[a-z]*\.?\s+([0-9]{1,2})(?:st|nd|rd|th)?,?"
    r"|([0-9]{1,2})(?:st|nd|rd|th)?\s+([a-z]{3})[a-z]*\.?,?)\s+([0-9]{4})"
)


_YEAR_RE: Final = re.compile(r"(?:1[89]|20)\d\d")


def date_to(value: str, unit: Literal["month", "year"] = "month") -> str:
    """Truncate a date or datetime to its month or year.

    Accepted forms: ISO 8601 dates and datetimes as :meth:`datetime.fromisoformat`
    reads them (``2024-03-15``, ``2024-03-15T10:20:30.5+02:00``, ``...Z``,
    ``2024-03-15 10:20``, ``20240315T102030``), ``YYYY/MM/DD``, ``YYYYMMDD``,
    ``DD/MM/YYYY`` (day first; ``MM/DD/YYYY`` is not accepted), ``DD.MM.YYYY``,
    ``YYYY-MM`` and ``YYYY年M月D日``; for ``unit="year"`` also a bare year (``1990``),
    its own output, and dates whose month is ambiguous or a word (``05/17/1990``,
    ``May 17, 1990``, ``17th May 1990``).
    The calendar date must exist.

    The month is the one written in the value: no time-zone conversion is done, so
    ``2024-03-31T23:30-05:00`` gives ``2024-03``.

    Args:
        value: The date text.
        unit: ``"month"`` for ``YYYY-MM`` or ``"year"`` for ``YYYY``.

    Returns:
        ``YYYY-MM`` or ``YYYY``.

    Raises:
        ValueError: If ``value`` is not a date in an accepted form, or ``unit`` is
            unknown.
    """
    if unit not in ("month", "year"):
        msg = "unit must be 'month' or 'year'"
        raise ValueError(msg)
    if unit == "year" and _YEAR_RE.fullmatch(value):
        return value  # already a year: generalizing again changes nothing
    parsed = _parse_date(value)
    if parsed is None and unit == "year":
        year = _year_of(value)
        if year is not None:
            return f"{year:04d}"
    if parsed is None:
        raise ValueError(_NOT_DATE)
    year, month = parsed
    return f"{year:04d}" if unit == "year" else f"{year:04d}-{month:02d}"


def _year_of(value: str) -> int | None:
    """The year of a date whose month is ambiguous or written as a word, or None."""
    match = _NUMERIC_DMY_OR_MDY.fullmatch(value)
    if match is not None:
        a, b, year = int(match[1]), int(match[2]), int(match[3])
        return year if _exists(year, a, b) or _exists(year, b, a) else None
    match = _WORDS_DATE.fullmatch(value.strip())
    if match is None:
        return None
    name = (match[1] or match[4]).lower()
    day, year = int(match[2] or match[3]), int(match[5])
    if name not in _MONTH_NAMES:
        return None
    return year if _exists(year, _MONTH_NAMES.index(name) + 1, day) else None


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _parse_date(value: str) -> tuple[int, int] | None:
    """Return ``(year, month)`` of a date in an accepted form, or None."""
    for pattern, y, m, d in _DATE_FORMS:
        match = pattern.fullmatch(value)
        if match is not None:
            year, month = int(match[y]), int(match[m])
            day = int(match[d]) if d else 1
            try:
                date(year, month, day)  # only checks that the calendar date exists
            except ValueError:
                return None
            return year, month
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.year, parsed.month


# -------------------------------------------------------------------- User agent


@functools.cache
def _ua_resolver() -> tuple[Resolver, Domain]:
    """Build the user-agent resolver once, on first use (about 0.1 s), and the domains
    to parse.

    ua-parser is imported here too, not at module level: a run that generalizes no user
    agent (``logscrub scrub`` start-up included) does not pay its import.

    Prefers the Rust-backed resolver from the optional ``ua-parser-rs`` package and
    falls back to ua-parser's pure-Python one; both read the same uap-core rules from
    ``ua-parser-builtins`` (no download) and agree on all 1,601 uap-core browser and
    483 OS test cases.
    """
    from ua_parser import BasicResolver, Domain, load_builtins, load_lazy_builtins

    domains = Domain.USER_AGENT | Domain.OS
    try:
        from ua_parser.regex import Resolver as RegexResolver
    except ImportError:
        return BasicResolver(load_builtins()), domains
    return RegexResolver(load_lazy_builtins()), domains


@functools.lru_cache(maxsize=4096)
def user_agent(ua: str) -> str:
    """Reduce a User-Agent header to browser and OS family with major version.

    Format: ``"<browser family>[ <major>] / <os family>[ <major>]"`` (with ``+`` for the
    spaces when the agent came with ``+`` for its spaces, as W3C logs write it), e.g.
    ``"Chrome Mobile 120 / Android 14"``, ``"Firefox 121 / Windows 10"``,
    ``"curl 8 / Other"``. A part that the uap-core rules do not recognise is
    ``Other``; a missing major version is left out. The device domain is not parsed:
    it is not needed here and costs more than the other two together.

    Cost on the 2-core dev machine, uncached (``user_agent.__wrapped__``) over the
    1,601 uap-core browser test strings: about 135 µs per call with ua-parser's
    pure-Python resolver, 185-230 µs for a current desktop or Android Chrome string
    (matched late in the rule list), and about 9 µs with ``ua-parser-rs`` installed.
    A cache hit costs about 0.03-0.09 µs. User agents repeat heavily in access logs,
    hence the 4,096-entry LRU cache.

    Args:
        ua: The User-Agent header value.

    Returns:
        The generalized user agent.

    Raises:
        ValueError: If ``ua`` is empty or only whitespace.

    Security:
        Family names come from the uap-core rule table; a few catch-all rules (bots,
        generic ``Name/1.0`` apps) copy up to 50 characters of the product token into
        the family. The LRU cache keeps up to 4,096 raw user-agent strings in memory.
    """
    if not ua.strip():
        msg = "empty user agent"
        raise ValueError(msg)
    if _is_generalized_ua(ua):
        return ua  # already this function's output: generalizing again changes nothing
    if " " not in ua and "+(" in ua:
        # A W3C (IIS) log writes the header's spaces as `+`; so does the result, which
        # stays one field of its space-separated line: `Chrome+35+/+Windows+7`.
        return user_agent(ua.replace("+", " ")).replace(" ", "+")
    resolve, domains = _ua_resolver()
    result = resolve(ua, domains)
    browser = result.user_agent
    system = result.os
    browser_text = _family_major(browser.family, browser.major) if browser else "Other"
    os_text = _family_major(system.family, system.major) if system else "Other"
    return f"{browser_text} / {os_text}"


# This module's own output: "<family>[ <major>] / <family>[ <major>]", families of letters,
# digits, spaces and `._-/` (`Mobile Safari UI/WKWebView`), never `/<digit>` (a product
# version: `Mozilla/5.0`), `@`, `;` or brackets, which real User-Agent strings have.
_GENERALIZED_UA: Final = re.compile(
    r"(?P<b>[A-Za-z](?:[A-Za-z0-9 ._-]|/(?!\d)){0,40}?)(?P<bv> \d{1,4})? / "
    r"(?P<o>[A-Za-z](?:[A-Za-z0-9 ._-]|/(?!\d)){0,40}?)(?P<ov> \d{1,4})?"
)


def _is_generalized_ua(ua: str) -> bool:
    """Whether ``ua`` is already in :func:`user_agent`'s output form, with a major version
    on at least one side or ``Other / Other`` (``John Smith / London`` is not one: it
    becomes ``Other / Other``)."""
    m = _GENERALIZED_UA.fullmatch(ua)
    if m is None:
        return False
    return m["bv"] is not None or m["ov"] is not None or ua == "Other / Other"


def _family_major(family: str, major: str | None) -> str:
    return f"{family} {major}" if major else family


# ---------------------------------------------------------------- Mobile / MAC

_NOT_IMEI: Final = "not a valid IMEI or IMEISV"
_NOT_IMSI: Final = "not a valid IMSI"
_UNKNOWN_NETWORK: Final = "IMSI country or network code not in the MCC/MNC table"
_NOT_MAC: Final = "not a valid MAC address"
_CISCO_MAC_RE: Final = re.compile(r"([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})")
_BARE_MAC_RE: Final = re.compile(r"[0-9A-Fa-f]{12}")


def imei_tac(imei: str) -> str:
    """Return the Type Allocation Code (first 8 digits: device make and model) of an IMEI.

    Accepts a 15-digit IMEI (Luhn check digit verified), a 14-digit IMEI without check
    digit and a 16-digit IMEISV, with spaces or dashes as separators.

    Args:
        imei: The IMEI text, e.g. ``"35-209900-176148-1"``.

    Returns:
        The 8-digit TAC, e.g. ``"35209900"``.

    Raises:
        ValueError: If ``imei`` is not a valid IMEI or IMEISV.
    """
    try:
        number = stdnum_imei.validate(imei)
    except ValidationError:
        number = None
    if number is None:
        raise ValueError(_NOT_IMEI)
    return number[:8]


def imsi_mcc_mnc(imsi: str) -> str:
    """Return the home network (``MCC-MNC``) of an IMSI, dropping the subscriber part.

    The MNC length (2 or 3 digits) comes from python-stdnum's MCC/MNC table (the data
    behind ``stdnum.imsi.info``), so an IMSI whose network is not listed there cannot
    be split and is rejected rather than guessed. Lookups are cached per network
    prefix: uncached, one costs about 27 µs.

    Args:
        imsi: The 14- or 15-digit IMSI, spaces or dashes allowed.

    Returns:
        ``"MCC-MNC"``, e.g. ``"310-260"``.

    Raises:
        ValueError: If ``imsi`` is not 14 or 15 digits, or its country or network code
            is not in the table.
    """
    number = stdnum_imsi.compact(imsi)
    # The same format checks as stdnum.imsi.validate(), minus its uncached lookup.
    if len(number) not in (14, 15) or not (number.isascii() and number.isdigit()):
        raise ValueError(_NOT_IMSI)
    network = _imsi_network(number[:7])
    if network is None:
        raise ValueError(_UNKNOWN_NETWORK)
    return network


@functools.lru_cache(maxsize=4096)
def _imsi_network(head: str) -> str | None:
    """Return ``MCC-MNC`` for the first 7 digits of an IMSI, or None if not in the table.

    Seven digits are MCC (3) + the longest MNC (3) + one: the split has a third part
    exactly when the table knows the MNC. On an unknown MNC stdnum returns two parts
    (and ``info()`` fails on unpacking), so the check is explicit. The head gives the
    same split as the full number: the table holds prefixes only.
    """
    parts = stdnum_imsi.split(head)
    return f"{parts[0]}-{parts[1]}" if len(parts) == 3 else None


def mac_oui(mac: str, keep_local: bool = False) -> str:
    """Return the OUI (vendor prefix, first 3 octets) of a MAC address as ``aa:bb:cc``.

    Accepts ``aa:bb:cc:dd:ee:ff``, ``AA-BB-CC-DD-EE-FF``, Cisco ``aabb.ccdd.eeff`` and
    bare ``aabbccddeeff``, in any case. The output is always lowercase and
    colon-separated; append ``:00:00:00`` where a downstream needs a MAC-shaped value.

    Args:
        mac: The MAC address text.
        keep_local: Keep the first 3 octets of locally administered addresses too.

    Returns:
        The OUI, e.g. ``"d0:50:99"``.

    Raises:
        ValueError: If ``mac`` is not a MAC address in one of those forms.

    Security:
        A locally administered address (bit ``0x02`` of the first octet set) has no
        vendor: phones randomize their MAC this way, so its first octets are random
        bits that only link one device's events. Unless ``keep_local`` is set, only the
        flag bits survive: ``da:a1:19:...`` gives ``02:00:00``.
    """
    text = mac.strip()
    cisco = _CISCO_MAC_RE.fullmatch(text)
    if cisco is not None:
        text = "".join(cisco.groups())
    if _BARE_MAC_RE.fullmatch(text):
        text = ":".join(text[i : i + 2] for i in range(0, 12, 2))
    try:
        # The vendor registry is not consulted: an OUI assigned after the stdnum
        # release must not make a valid address fail.
        number = stdnum_mac.validate(text, validate_manufacturer=False)
    except ValidationError:
        number = None
    if number is None:
        raise ValueError(_NOT_MAC)
    first = int(number[:2], 16)
    if first & 0x02 and not keep_local:
        return f"{first & 0x03:02x}:00:00"
    return number[:8]
