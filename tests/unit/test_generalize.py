"""Tests for pipeline.operators.generalization: one table of positives and one of negatives
per function."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.operators.generalization import (
    date_to,
    gps,
    gps_text,
    imei_tac,
    imsi_mcc_mnc,
    ip_prefix,
    mac_oui,
    user_agent,
)

_FIXTURES = Path(__file__).parent.parent / "fixtures"
# Restated from Anonip's tests (BSD-3-Clause); source, license and mapping are in the file.
_ANONIP: dict[str, Any] = json.loads((_FIXTURES / "anonip_cases.json").read_text("utf-8"))


def _ids(table: list[tuple[Any, ...]]) -> list[str]:
    return [row[0] for row in table]


def _assert_rejected_without_echo(func: Callable[..., Any], value: Any, *args: Any) -> None:
    """Assert ``func(value)`` raises ValueError whose text and chain do not hold ``value``."""
    with pytest.raises(ValueError) as excinfo:
        func(value, *args)
    if isinstance(value, str) and value.strip():
        assert value not in str(excinfo.value)
        assert value.strip() not in str(excinfo.value)
    # A chained error (e.g. from stdnum or datetime) could carry the value itself.
    assert excinfo.value.__context__ is None
    assert excinfo.value.__cause__ is None


# ----------------------------------------------------------------------------- ip_prefix


@pytest.mark.parametrize(
    ("testcase", "ip", "v4_prefix", "v6_prefix", "expected"),
    [(c["id"], c["ip"], c["v4_prefix"], c["v6_prefix"], c["expected"]) for c in _ANONIP["cases"]],
    ids=[c["id"] for c in _ANONIP["cases"]],
)
def test_ip_prefix_anonip_cases(
    testcase: str, ip: str, v4_prefix: int, v6_prefix: int, expected: str
) -> None:
    assert ip_prefix(ip, v4_prefix=v4_prefix, v6_prefix=v6_prefix) == expected


IP_PREFIX_CASES = [
    # testcase, ip, expected (defaults: /24 and /48)
    ("v4", "203.0.113.57", "203.0.113.0"),
    ("v4-port", "203.0.113.57:8080", "203.0.113.0:8080"),
    ("v4-port-zero", "203.0.113.57:0", "203.0.113.0:0"),
    ("v4-already-network", "203.0.113.0", "203.0.113.0"),
    ("v6", "2001:db8:abcd:12::1", "2001:db8:abcd::"),
    ("v6-uppercase-full", "2001:0DB8:ABCD:0012:0000:0000:0000:0001", "2001:db8:abcd::"),
    ("v6-brackets", "[2001:db8:abcd:12::1]", "[2001:db8:abcd::]"),
    ("v6-brackets-port", "[2001:db8:abcd:12::1]:443", "[2001:db8:abcd::]:443"),
    ("v6-zone", "fe80::1%eth0", "fe80::"),
    ("v6-zone-brackets-port", "[fe80::1%eth0]:22", "[fe80::]:22"),
    ("v6-loopback", "::1", "::"),
    ("v4-mapped-dotted", "::ffff:198.51.100.7", "::ffff:198.51.100.0"),
    ("v4-mapped-hex", "::ffff:c633:6407", "::ffff:198.51.100.0"),
    ("v4-mapped-brackets-port", "[::ffff:198.51.100.7]:80", "[::ffff:198.51.100.0]:80"),
    ("6to4-embedded-v4-cut", "2002:c633:6407::1", "2002:c633:6400::"),
]


@pytest.mark.parametrize(("testcase", "ip", "expected"), IP_PREFIX_CASES, ids=_ids(IP_PREFIX_CASES))
def test_ip_prefix_cases(testcase: str, ip: str, expected: str) -> None:
    assert ip_prefix(ip) == expected


def test_when_custom_prefixes_then_applied_to_each_family() -> None:
    assert ip_prefix("203.0.113.57", v4_prefix=16) == "203.0.0.0"
    assert ip_prefix("2001:db8:abcd:12::1", v6_prefix=64) == "2001:db8:abcd:12::"
    assert ip_prefix("::ffff:198.51.100.7", v4_prefix=16, v6_prefix=128) == "::ffff:198.51.0.0"


IP_PREFIX_INVALID = [
    # testcase, value
    ("empty", ""),
    ("hostname", "mail.example.com"),
    ("three-octets", "203.0.113"),
    ("octet-over-255", "203.0.113.256"),
    ("leading-zero", "203.0.113.057"),
    ("port-empty", "203.0.113.57:"),
    ("port-too-big", "203.0.113.57:65536"),
    ("port-not-digits", "203.0.113.57:http"),
    ("port-six-digits", "203.0.113.57:000080"),
    ("brackets-v4", "[203.0.113.57]:80"),
    ("brackets-unclosed", "[2001:db8::1:80"),
    ("brackets-garbage-after", "[2001:db8::1]x"),
    ("v6-bad", "2001:db8:::1"),
    ("zone-empty", "fe80::1%"),
    ("surrounding-space", " 203.0.113.57 "),
    ("cidr", "203.0.113.0/24"),
    ("fullwidth-digits", "\uff12\uff10\uff13.0.113.57"),
] + [(c["id"], c["ip"]) for c in _ANONIP["invalid"]]


@pytest.mark.parametrize(("testcase", "value"), IP_PREFIX_INVALID, ids=_ids(IP_PREFIX_INVALID))
def test_ip_prefix_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(ip_prefix, value)


@pytest.mark.parametrize(
    ("testcase", "v4_prefix", "v6_prefix"),
    [("v4-negative", -1, 48), ("v4-over-32", 33, 48), ("v6-over-128", 24, 129)],
    ids=["v4-negative", "v4-over-32", "v6-over-128"],
)
def test_ip_prefix_bad_prefix_length(testcase: str, v4_prefix: int, v6_prefix: int) -> None:
    with pytest.raises(ValueError, match="prefix"):
        ip_prefix("203.0.113.57", v4_prefix=v4_prefix, v6_prefix=v6_prefix)


# ----------------------------------------------------------------------------------- gps

GPS_CASES = [
    # testcase, lat, lon, decimals, expected
    ("paris-2", 48.85661, 2.35222, 2, (48.86, 2.35)),
    ("paris-3", 48.85661, 2.35222, 3, (48.857, 2.352)),
    ("south-west", -33.86785, -151.20732, 2, (-33.87, -151.21)),
    ("negative-zero-normalized", -0.001, -0.004, 2, (0.0, 0.0)),
    ("poles-and-antimeridian", 90.0, -180.0, 2, (90.0, -180.0)),
    ("integers", 48, 2, 0, (48.0, 2.0)),
]


@pytest.mark.parametrize(
    ("testcase", "lat", "lon", "decimals", "expected"), GPS_CASES, ids=_ids(GPS_CASES)
)
def test_gps_cases(
    testcase: str, lat: float, lon: float, decimals: int, expected: tuple[float, float]
) -> None:
    result = gps(lat, lon, decimals)
    assert result == expected
    assert "-0.0" not in {str(value) for value in result}


GPS_INVALID = [
    # testcase, lat, lon, decimals
    ("lat-over-90", 90.5, 0.0, 2),
    ("lon-under-180", 0.0, -180.01, 2),
    ("nan", float("nan"), 0.0, 2),
    ("inf", 0.0, float("inf"), 2),
    ("decimals-negative", 1.0, 1.0, -1),
    ("decimals-too-many", 1.0, 1.0, 7),
]


@pytest.mark.parametrize(("testcase", "lat", "lon", "decimals"), GPS_INVALID, ids=_ids(GPS_INVALID))
def test_gps_invalid(testcase: str, lat: float, lon: float, decimals: int) -> None:
    with pytest.raises(ValueError):
        gps(lat, lon, decimals)


GPS_TEXT_CASES = [
    # testcase, text, expected (decimals=2)
    ("comma", "48.85661,2.35222", "48.86,2.35"),
    ("comma-space", "48.85661, 2.35222", "48.86, 2.35"),
    ("space-comma-space", "48.85661 , 2.35222", "48.86 , 2.35"),
    ("semicolon", "48.85661;2.35222", "48.86;2.35"),
    ("space-only", "48.85661 2.35222", "48.86 2.35"),
    ("negative", "-33.86785,-151.20732", "-33.87,-151.21"),
    ("plus-kept", "+48.85661,+2.35222", "+48.86,+2.35"),
    ("fewer-decimals-kept", "48.8,2.35222", "48.8,2.35"),
    ("integer-degrees", "48,2", "48,2"),
    ("negative-zero", "-0.001,0.004", "0.00,0.00"),
]


@pytest.mark.parametrize(("testcase", "text", "expected"), GPS_TEXT_CASES, ids=_ids(GPS_TEXT_CASES))
def test_gps_text_cases(testcase: str, text: str, expected: str) -> None:
    assert gps_text(text) == expected


def test_when_gps_text_decimals_given_then_used() -> None:
    assert gps_text("48.85661,2.35222", decimals=3) == "48.857,2.352"
    assert gps_text("48.85661,2.35222", decimals=0) == "49,2"


GPS_TEXT_INVALID = [
    # testcase, value
    ("empty", ""),
    ("single", "48.85661"),
    ("lat-out-of-range", "91.5,2.3"),
    ("lon-out-of-range", "48.1,181.0"),
    ("words", "near paris"),
    ("three-values", "48.1,2.3,100"),
    ("surrounding-space", " 48.1,2.3"),
    ("exponent", "4.8e1,2.3"),
    ("degrees-minutes", "48°51'N 2°21'E"),
]


@pytest.mark.parametrize(("testcase", "value"), GPS_TEXT_INVALID, ids=_ids(GPS_TEXT_INVALID))
def test_gps_text_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(gps_text, value)


# ------------------------------------------------------------------------------- date_to

DATE_CASES = [
    # testcase, value, month, year
    ("iso-date", "2024-03-15", "2024-03", "2024"),
    ("iso-datetime-z", "2024-03-15T10:20:30Z", "2024-03", "2024"),
    ("iso-datetime-offset-frac", "2024-03-15T10:20:30.123+02:00", "2024-03", "2024"),
    ("iso-space-separator", "2024-03-15 10:20:30", "2024-03", "2024"),
    ("iso-basic", "20240315T102030", "2024-03", "2024"),
    ("no-tz-conversion", "2024-03-31T23:30:00-05:00", "2024-03", "2024"),
    ("slashes-ymd", "2024/03/15", "2024-03", "2024"),
    ("compact-ymd", "20240315", "2024-03", "2024"),
    ("slashes-dmy", "15/03/2024", "2024-03", "2024"),
    ("leap-day", "29/02/2024", "2024-02", "2024"),
    ("already-month", "2024-03", "2024-03", "2024"),
    ("year-one", "0001-01-01", "0001-01", "0001"),
]


@pytest.mark.parametrize(("testcase", "value", "month", "year"), DATE_CASES, ids=_ids(DATE_CASES))
def test_date_to_cases(testcase: str, value: str, month: str, year: str) -> None:
    assert date_to(value) == month
    assert date_to(value, unit="month") == month
    assert date_to(value, unit="year") == year


DATE_INVALID = [
    # testcase, value
    ("empty", ""),
    ("words", "yesterday"),
    ("no-such-day", "2024-02-30"),
    ("no-such-day-dmy", "31/04/2024"),
    ("not-leap", "20230229"),
    ("us-order", "03/15/2024"),
    ("month-13", "2024-13"),
    ("epoch-seconds", "1710500000"),
    ("bad-hour", "2024-03-15T25:00"),
    ("surrounding-space", " 2024-03-15"),
    ("fullwidth-digits", "\uff12\uff10\uff12\uff14-03-15"),
    ("apache-clf", "15/Mar/2024:10:20:30 +0000"),
]


@pytest.mark.parametrize(("testcase", "value"), DATE_INVALID, ids=_ids(DATE_INVALID))
def test_date_to_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(date_to, value)


def test_when_unit_unknown_then_value_error() -> None:
    with pytest.raises(ValueError, match="unit"):
        date_to("2024-03-15", unit="day")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- user_agent

# Restated from ua-parser/uap-core tests/test_ua.yaml and tests/test_os.yaml
# (Apache-2.0, Copyright 2009 Google Inc.): expected family and major of browser and OS.
UA_CASES = [
    # testcase, ua, expected
    (
        "chrome-mobile-android",
        "Mozilla/5.0 (Linux; Android 4.2; Galaxy Nexus Build/JOP40C) AppleWebKit/535.19 "
        "(KHTML, like Gecko) Chrome/18.0.1025.166 Mobile Safari/535.19",
        "Chrome Mobile 18 / Android 4",
    ),
    (
        "webview-android",
        "Mozilla/5.0 (Linux; Android 9; Pixel 2 XL Build/PPP5.180610.010; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/68.0.3440.85 Mobile Safari/537.36",
        "Chrome Mobile WebView 68 / Android 9",
    ),
    (
        "ie-windows-vista",
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.0; Trident/4.0; chromeframe; SLCC1; "
        ".NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729)",
        "IE 8 / Windows Vista",
    ),
    (
        "mobile-safari-ios",
        "Mozilla/5.0 (iPad; U; CPU OS 3_2 like Mac OS X; en-us) AppleWebKit/531.21.10 "
        "(KHTML, like Gecko) Version/4.0.4 Mobile/7B367 Safari/531.21.10",
        "Mobile Safari 4 / iOS 3",
    ),
    (
        "chromium-ubuntu",
        "Mozilla/5.0 (X11; U; Linux i686; en-US) AppleWebKit/534.16 (KHTML, like Gecko) "
        "Ubuntu/10.10 Chromium/10.0.648.133 Chrome/10.0.648.133 Safari/534.16",
        "Chromium 10 / Ubuntu 10",
    ),
    (
        "firefox-beta-linux-no-os-major",
        "Mozilla/5.0 (X11; Linux i686 (x86_64); rv:2.0b4) Gecko/20100818 Firefox/4.0b4",
        "Firefox Beta 4 / Linux",
    ),
    (
        "safari-no-majors",
        "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en-us) AppleWebKit/418.8 (KHTML, like Gecko) "
        "Safari/419.3",
        "Safari / Mac OS X",
    ),
    ("roku", "Roku/DVP-6.2 (096.02E06005A)", "Roku 6 / Roku 6"),
    # W3C (IIS) logs write `+` for spaces; the result keeps them, one field of the line.
    (
        "w3c-chrome-windows",
        "Mozilla/5.0+(Windows+NT+6.1;+WOW64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+"
        "Chrome/39.0.2171.95+Safari/537.36",
        "Chrome+39+/+Windows+7",
    ),
    ("bot-unknown-os", "Mozilla/5.0 (compatible;AspiegelBot)", "AspiegelBot / Other"),
    ("unknown", "x", "Other / Other"),
]


@pytest.mark.parametrize(("testcase", "ua", "expected"), UA_CASES, ids=_ids(UA_CASES))
def test_user_agent_cases(testcase: str, ua: str, expected: str) -> None:
    assert user_agent(ua) == expected


def test_when_user_agent_repeats_then_served_from_cache() -> None:
    ua = "Mozilla/5.0 (compatible; logscrub-cache-test/1.0)"
    first = user_agent(ua)
    hits = user_agent.cache_info().hits
    assert user_agent(ua) == first
    assert user_agent.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    ("testcase", "value"), [("empty", ""), ("blank", "  \t")], ids=["empty", "blank"]
)
def test_user_agent_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(user_agent, value)


# ------------------------------------------------------------------- imei / imsi / mac

# IMEI and IMSI numbers restated from python-stdnum's doctests (tests/test_imei.doctest,
# tests/test_imsi.doctest, stdnum/imsi.py; LGPL-2.1-or-later, Arthur de Jong).
IMEI_CASES = [
    # testcase, imei, tac
    ("imei-15-dashes", "35-209900-176148-1", "35209900"),
    ("imei-15-bare", "354178036859789", "35417803"),
    ("imei-15-dashes-other-grouping", "350077-52-323751-3", "35007752"),
    ("imei-14-no-check-digit", "49-015420-323751", "49015420"),
    ("imeisv-16", "35686800-004141-20", "35686800"),
    ("imei-spaces", "35 209900 176148 1", "35209900"),
]


@pytest.mark.parametrize(("testcase", "imei", "tac"), IMEI_CASES, ids=_ids(IMEI_CASES))
def test_imei_tac_cases(testcase: str, imei: str, tac: str) -> None:
    assert imei_tac(imei) == tac


IMEI_INVALID = [
    # testcase, value
    ("bad-check-digit", "35-417803-685978-2"),
    ("too-short", "3541780368597"),
    ("too-long", "35417803685978912"),
    ("letters", "35417803685978A"),
    ("slashes", "35/417803/685978/9"),
    ("empty", ""),
]


@pytest.mark.parametrize(("testcase", "value"), IMEI_INVALID, ids=_ids(IMEI_INVALID))
def test_imei_tac_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(imei_tac, value)


IMSI_CASES = [
    # testcase, imsi, expected
    ("malaysia-3-digit-mnc", "502152100145324", "502-152"),
    ("liechtenstein", "429011234567890", "429-01"),
    ("us-3-digit-mnc", "310150123456789", "310-150"),
    ("china", "460001234567890", "460-00"),
    ("with-spaces", "460 00 1234567890", "460-00"),
]


@pytest.mark.parametrize(("testcase", "imsi", "expected"), IMSI_CASES, ids=_ids(IMSI_CASES))
def test_imsi_mcc_mnc_cases(testcase: str, imsi: str, expected: str) -> None:
    assert imsi_mcc_mnc(imsi) == expected


IMSI_INVALID = [
    # testcase, value
    ("unknown-mcc", "439011234567890"),
    ("unknown-mnc", "467071234567890"),
    ("too-short", "4600012345678"),
    ("letters", "46000123456789X"),
    ("empty", ""),
]


@pytest.mark.parametrize(("testcase", "value"), IMSI_INVALID, ids=_ids(IMSI_INVALID))
def test_imsi_mcc_mnc_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(imsi_mcc_mnc, value)


MAC_CASES = [
    # testcase, mac, expected
    ("colon-lower", "d0:50:99:84:a2:a0", "d0:50:99"),
    ("colon-upper", "D0:50:99:84:A2:A0", "d0:50:99"),
    ("dash", "D0-50-99-84-A2-A0", "d0:50:99"),
    ("cisco-dots", "d050.9984.a2a0", "d0:50:99"),
    ("cisco-dots-upper", "D050.9984.A2A0", "d0:50:99"),
    ("bare-hex", "d0509984a2a0", "d0:50:99"),
    ("single-digit-groups", "d0:5:9:04:a2:a0", "d0:05:09"),
    ("multicast-keeps-prefix", "01:00:5e:00:00:fb", "01:00:5e"),
    ("unregistered-oui-accepted", "fd:ff:ff:84:a2:a0", "fd:ff:ff"),
    ("local-randomized", "da:a1:19:12:34:56", "02:00:00"),
    ("local-libvirt", "fe:54:00:76:07:0a", "02:00:00"),
    ("broadcast", "ff:ff:ff:ff:ff:ff", "03:00:00"),
]


@pytest.mark.parametrize(("testcase", "mac", "expected"), MAC_CASES, ids=_ids(MAC_CASES))
def test_mac_oui_cases(testcase: str, mac: str, expected: str) -> None:
    assert mac_oui(mac) == expected


def test_when_keep_local_then_locally_administered_prefix_kept() -> None:
    assert mac_oui("da:a1:19:12:34:56", keep_local=True) == "da:a1:19"
    assert mac_oui("d0:50:99:84:a2:a0", keep_local=True) == "d0:50:99"


MAC_INVALID = [
    # testcase, value (the first four are python-stdnum doctest cases)
    ("seven-groups", "d0:50:99:84:a2:a0:ff"),
    ("non-hex", "zz:50:99:84:a2:a0"),
    ("five-groups", "00:00:00:00:00"),
    ("three-digit-group", "123:23:45:67:89:00"),
    ("cisco-two-groups", "d050.9984"),
    ("bare-11-hex", "d0509984a2a"),
    ("bare-13-hex", "d0509984a2a0f"),
    ("dots-pairs", "d0.50.99.84.a2.a0"),
    ("empty", ""),
]


@pytest.mark.parametrize(("testcase", "value"), MAC_INVALID, ids=_ids(MAC_INVALID))
def test_mac_oui_invalid(testcase: str, value: str) -> None:
    _assert_rejected_without_echo(mac_oui, value)


def test_when_an_ip_is_written_with_dashes_then_it_is_generalized_in_that_form() -> None:
    from pipeline.operators.generalization import ip_prefix

    assert ip_prefix("203-0-113-57") == "203-0-113-0"
