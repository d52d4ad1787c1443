"""IP_ADDRESS, MAC_ADDRESS and EMAIL_ADDRESS: table-driven positives and negatives."""

from __future__ import annotations

import pytest

from tests.detectors.conftest import Found

IP_POSITIVE = [
    # testcase, text, expected value
    ("ipv4", "client 203.0.113.9 connected", "203.0.113.9"),
    ("ipv4 with port", "upstream 10.1.2.3:8080 timed out", "10.1.2.3"),
    ("ipv4 at start", "192.0.2.7 - - [01/May/2024:12:00:00 +0000]", "192.0.2.7"),
    ("ipv4 in json", '{"client_ip":"198.51.100.23"}', "198.51.100.23"),
    ("ipv4 in xff list", "X-Forwarded-For: 198.51.100.1, 10.0.0.7", "198.51.100.1"),
    ("ipv4 cidr host", "allow 198.51.100.7/32", "198.51.100.7/32"),
    ("ipv4 after key colon", "ip:203.0.113.77 ok", "203.0.113.77"),
    ("ipv6 compressed", "from 2001:db8::1 port 22", "2001:db8::1"),
    (
        "ipv6 full",
        "src=2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    ),
    ("ipv6 bracketed with port", "GET http://[2001:db8::42]:443/x", "2001:db8::42"),
    ("ipv6 zone id", "peer fe80::1%eth0 up", "fe80::1%eth0"),
    ("ipv4-mapped", "from ::ffff:192.0.2.128 port 80", "::ffff:192.0.2.128"),
    ("sshd", "Failed password for root from 203.0.113.50 port 52114 ssh2", "203.0.113.50"),
    # Log shapes of issue 15.
    ("ipv4 dot port (netstat)", "tcp4  0  0  203.0.113.7.51234  ESTABLISHED", "203.0.113.7"),
    ("ipv4 dot port (socks)", "socks: connect 198.51.100.2.1080 ok", "198.51.100.2"),
    ("ipv6 full with port", "peer 2001:db8:0:0:0:0:0:1:8080 closed", "2001:db8:0:0:0:0:0:1"),
    ("ec2 host name", "host ip-203-0-113-7.ec2.internal up", "203-0-113-7"),
    ("ec2 public name", "ec2-198-51-100-9.compute-1.amazonaws.com", "198-51-100-9"),
    # A three-digit second octet (the shape anchor allowed two digits: these passed).
    ("ec2 host name, 3-digit octets", "host ip-82-105-160-95 up", "82-105-160-95"),
    ("syslog host name", "Jul  1 09:00:55 calvisitor-10-105-160-95 kernel[0]: x", "10-105-160-95"),
    (
        "isp reverse name",
        "connection from 82.252.162.81 (lns-vlq-45-tou-82-252-162-81.adsl.proxad.net)",
        "82-252-162-81",
    ),
    ("reverse dns name", "ptr 203-0-113-7.rev.example.net", "203-0-113-7"),
    ("brackets after build host", "connect from build-01.example.com[203.0.113.7]", "203.0.113.7"),
    ("relay after rev host", "relay=rev.example.net[203.0.113.8]:25", "203.0.113.8"),
    ("client before version word", "client 203.0.113.9 version 2", "203.0.113.9"),
    ("host key with build host", "host=build.example.com[10.1.2.3]", "10.1.2.3"),
]
IP_NEGATIVE = [
    # Loopback names the machine writing the log, not anyone's device (kept as it is).
    ("ipv6 loopback", "listen ::1 ok"),
    ("ipv4 loopback", "GET /healthz from 127.0.0.1 200"),
    ("ipv4 loopback range", "bind 127.0.1.1:53"),
    ("five-part version", "version 1.2.3.4.5 installed"),
    ("five-part version low", "lib 6.1.1.0.12 loaded"),
    ("dashed date-like", "uuid 2024-10-20-30 ok"),
    ("dashed run of five", "id a-10-20-30-40-50"),
    ("rev word", "rev 10.2.3.4 deployed"),
    ("chrome version", "Chrome/120.0.0.0 Safari/537.36"),
    ("version word", "version 6.1.1.0 installed"),
    ("version key", '"app_version": "5.5.224.1"'),
    ("windows package", "Package_for_KB2533552~31bf3856ad364e35~amd64~~6.1.1.0, Applicable"),
    ("network address", "network connection on network 5.5.224.0 via interconnect"),
    ("v prefix", "client v1.2.3.4 released"),
    ("five parts", "lib 1.2.3.4.5 loaded"),
    ("octet out of range", "value 256.1.1.1 seen"),
    ("clock time", "at 12:00:00 and 20171223-22:15:29:606"),
    ("bgl colon hex", "FF:F2:9F:15:1F:72:00:0D:60:EA:E0:8D"),
    ("build id", "build TP1A.220624.014"),
]


@pytest.mark.parametrize(("case", "text", "value"), IP_POSITIVE, ids=[c[0] for c in IP_POSITIVE])
def test_ip_positive(found: Found, case: str, text: str, value: str) -> None:
    assert ("IP_ADDRESS", value) in found(text)


@pytest.mark.parametrize(("case", "text"), IP_NEGATIVE, ids=[c[0] for c in IP_NEGATIVE])
def test_ip_negative(found: Found, case: str, text: str) -> None:
    assert [f for f in found(text) if f[0] == "IP_ADDRESS"] == []


MAC_CASES = [
    ("colon", "wlan0 00:1a:2b:3c:4d:5e up", "00:1a:2b:3c:4d:5e"),
    ("dash upper", "device 00-1A-2B-3C-4D-5E", "00-1A-2B-3C-4D-5E"),
    ("cisco dotted", "mac 001a.2b3c.4d5e", "001a.2b3c.4d5e"),
    ("bare with key", "wifi_mac=001a2b3c4d5e", "001a2b3c4d5e"),
    ("bssid json", '{"bssid": "a4:5e:60:e4:1b:22"}', "a4:5e:60:e4:1b:22"),
]


@pytest.mark.parametrize(("case", "text", "value"), MAC_CASES, ids=[c[0] for c in MAC_CASES])
def test_mac_positive(found: Found, case: str, text: str, value: str) -> None:
    assert ("MAC_ADDRESS", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "trace 001a2b3c4d5e0f10 done",  # 16 hex
        "id 001a2b3c4d5e",  # bare 12 hex without context
        "at 12:30:45 on 2024-05-01",
        "00:00:00:00:00:00",  # nobody's address
    ],
)
def test_mac_negative(found: Found, text: str) -> None:
    assert [f for f in found(text) if f[0] == "MAC_ADDRESS"] == []


def test_mac_in_field_context(found: Found) -> None:
    assert found("001A2B3C4D5E", "wifi_mac") == [("MAC_ADDRESS", "001A2B3C4D5E")]


EMAIL_CASES = [
    ("plain", "sent to bob@example.com today", "bob@example.com"),
    ("dots and plus", "from Bob.Smith+tag@mail.example.org", "Bob.Smith+tag@mail.example.org"),
    ("json", '{"email":"alice@example.net"}', "alice@example.net"),
    ("key colon", "email:carol@example.com", "carol@example.com"),
    ("mailto", "<a href=mailto:dave@example.com>", "dave@example.com"),
]


@pytest.mark.parametrize(("case", "text", "value"), EMAIL_CASES, ids=[c[0] for c in EMAIL_CASES])
def test_email_positive(found: Found, case: str, text: str, value: str) -> None:
    assert ("EMAIL_ADDRESS", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "java.lang.Object@1a2b3c4d",
        "@mention without address",
        "git@host",
        "https://user:pass@db.example.com/x",  # credentials, not an email
    ],
)
def test_email_negative(found: Found, text: str) -> None:
    assert [f for f in found(text) if f[0] == "EMAIL_ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("src: /10.250.19.102:54106 dest: /10.250.19.103:50010", "10.250.19.102"),
        ("MSRA-SA-41.example.com/10.190.173.170:8030", "10.190.173.170"),
        ("http://203.0.113.80/index.html", "203.0.113.80"),
    ],
)
def test_ip_after_slash_is_found(found: Found, text: str, value: str) -> None:
    # Java's InetAddress.toString() and HDFS/ZooKeeper write `host/ip` and `/ip:port`.
    assert ("IP_ADDRESS", value) in found(text)
