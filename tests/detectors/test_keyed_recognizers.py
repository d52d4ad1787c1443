"""Entities found by their key or phrase: nicknames, user names, ids, birthdays, gender,
addresses, serials, payment accounts, device ids, person names, GPS, secrets."""

from __future__ import annotations

import pytest

from tests.detectors.conftest import Found

POSITIVE = [
    # testcase, text, entity, value
    ("nickname kv", "login ok nickname=bobby7", "NICKNAME", "bobby7"),
    ("nickname json spaces", '{"nick_name": "Bob S."}', "NICKNAME", "Bob S."),
    ("nickname camel", '{"userNickname":"bob"}', "NICKNAME", "bob"),
    ("nickname chinese key", "昵称:小明", "NICKNAME", "小明"),
    ("username kv", "user=alice action=login", "USERNAME", "alice"),
    ("username json", '{"username":"carol_99"}', "USERNAME", "carol_99"),
    ("sshd invalid user", "Invalid user oracle from 203.0.113.5 port 4242", "USERNAME", "oracle"),
    (
        "sshd accepted",
        "Accepted publickey for deploy from 203.0.113.5 port 22 ssh2",
        "USERNAME",
        "deploy",
    ),
    (
        "sshd failed invalid",
        "Failed password for invalid user test from 203.0.113.5 port 2",
        "USERNAME",
        "test",
    ),
    (
        "pam session",
        "pam_unix(sshd:session): session opened for user bob by (uid=0)",
        "USERNAME",
        "bob",
    ),
    (
        "pam auth failure",
        "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=x user=root",
        "USERNAME",
        "root",
    ),
    (
        "disconnected",
        "Disconnected from invalid user admin 203.0.113.5 port 5",
        "USERNAME",
        "admin",
    ),
    ("user id", "uid=100234 opened", "USER_ID", "100234"),
    ("customer id json", '{"customer_id": "C-88231"}', "USER_ID", "C-88231"),
    ("birthday", "dob=1990-03-07", "BIRTHDAY", "1990-03-07"),
    ("birthday json", '{"birthday":"03/07/1990"}', "BIRTHDAY", "03/07/1990"),
    ("gender", "gender=F&age=30", "GENDER", "F"),
    ("gender chinese", '{"性别":"女"}', "GENDER", "女"),
    ("address json", '{"address": "1 Main St, Springfield"}', "ADDRESS", "1 Main St, Springfield"),
    ("shipping address", "shipping_address=88 Century Ave&x=1", "ADDRESS", "88 Century Ave"),
    ("serial", "sn=C02XL0GZJGH5", "SERIAL_NUMBER", "C02XL0GZJGH5"),
    ("serial text", "Serial Number: FDO1234X0AB", "SERIAL_NUMBER", "FDO1234X0AB"),
    ("alipay", "alipay_account=bob_pay_01", "PAYMENT_ACCOUNT", "bob_pay_01"),
    (
        "wechat openid",
        '{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}',
        "PAYMENT_ACCOUNT",
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    ),
    ("wxid standalone", "from wxid_a1b2c3d4e5f6 msg", "PAYMENT_ACCOUNT", "wxid_a1b2c3d4e5f6"),
    ("real name", '{"real_name": "Zhang San"}', "PERSON", "Zhang San"),
    (
        "idfa",
        "idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC",
        "DEVICE_ID",
        "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    ),
    ("android id", '"android_id":"9774d56d682e549c"', "DEVICE_ID", "9774d56d682e549c"),
    (
        "openudid",
        "openudid=1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e",
        "DEVICE_ID",
        "1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e",
    ),
    ("device id any shape", "device_id=dev-88a9f", "DEVICE_ID", "dev-88a9f"),
    ("gps pair", "loc 31.2304,121.4737 ok", "GPS_COORDINATES", "31.2304,121.4737"),
    ("gps pair space", "at (39.9042, 116.4074)", "GPS_COORDINATES", "39.9042, 116.4074"),
    ("gps keyed lat", "?lat=31.2304&lng=121.4737", "GPS_COORDINATES", "31.2304"),
    ("gps keyed lng", "?lat=31.2304&lng=121.4737", "GPS_COORDINATES", "121.4737"),
    ("gps negative coordinates", "pos -33.8688,151.2093", "GPS_COORDINATES", "-33.8688,151.2093"),
]


@pytest.mark.parametrize(
    ("case", "text", "entity", "value"), POSITIVE, ids=[c[0] for c in POSITIVE]
)
def test_positive(found: Found, case: str, text: str, entity: str, value: str) -> None:
    assert (entity, value) in found(text)


NEGATIVE = [
    ("nickname null", '{"nickname": null}'),
    ("nickname word in text", "the nickname feature is on"),
    ("address is a host", "address: db-1.internal:5432"),
    ("trace uuid", "trace_id=6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("request uuid", '{"request_id": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}'),
    ("span 16 hex", "span_id=00f067aa0ba902b7"),
    ("commit sha", "commit 1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e"),
    ("version pair", "versions 1.2345,2.3456"),
    ("three decimals", "ratio 0.123,0.456"),
    ("gender word", "gender neutral defaults"),
    ("user agent field word", "user_agent_family=Chrome"),
    ("password placeholder", "password=******"),
]


@pytest.mark.parametrize(("case", "text"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_negative(found: Found, case: str, text: str) -> None:
    assert found(text) == []


def test_when_addr_is_a_socket_then_ip_not_address(found: Found) -> None:
    assert found("addr=10.0.0.5:5432 ok") == [("IP_ADDRESS", "10.0.0.5")]


def test_when_payment_account_is_an_email_then_it_is_still_caught(found: Found) -> None:
    # The validated email outranks the keyed guess; either way the value is anonymized.
    assert found("alipay_account=bob@example.com") == [("EMAIL_ADDRESS", "bob@example.com")]


SECRETS = [
    ("url password", "postgres://app:s3cr3tPW@db.example.com:5432/app", "app:s3cr3tPW"),
    ("query password", "GET /login?user=x&password=hunter2&next=/", "hunter2"),
    ("query token", "/cb?access_token=ya29.a0AfH6SMB&state=1", "ya29.a0AfH6SMB"),
    ("api key json", '{"api_key": "sk_test_51H8abcDEF"}', "sk_test_51H8abcDEF"),
    ("bearer", "Authorization: Bearer abc.def.ghi-123456", "Bearer abc.def.ghi-123456"),
    (
        "jwt",
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM",
    ),
    ("aws key id", "key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ("pwd", "pwd=p@ss;", "p@ss"),
    ("client secret", "client_secret=Zx9-Qq", "Zx9-Qq"),
]


@pytest.mark.parametrize(("case", "text", "value"), SECRETS, ids=[c[0] for c in SECRETS])
def test_secret(found: Found, case: str, text: str, value: str) -> None:
    assert ("SECRET", value) in found(text)


USER_AGENTS = [
    (
        "chrome",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
    ),
    (
        "iphone safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    ),
    ("dalvik", "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TP1A.220624.014)"),
    ("app", "MyShop/3.2.1 (iPhone; iOS 17.0; Scale/3.00)"),
    ("okhttp", "okhttp/4.9.3"),
    ("cfnetwork", "MyShop/321 CFNetwork/1410.0.3 Darwin/22.6.0"),
]


@pytest.mark.parametrize(("case", "ua"), USER_AGENTS, ids=[c[0] for c in USER_AGENTS])
def test_user_agent_in_access_line(found: Found, case: str, ua: str) -> None:
    line = f'203.0.113.9 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "{ua}"'
    assert ("USER_AGENT", ua) in found(line)


@pytest.mark.parametrize(
    "text", ["Chrome/120.0.0.0", "HTTP/1.1", "nginx/1.25.3", "GET /v1/items/12 HTTP/2"]
)
def test_version_tokens_are_not_user_agents(found: Found, text: str) -> None:
    assert found(text) == []


def test_when_the_word_for_address_precedes_a_url_then_it_is_no_address() -> None:
    from pipeline.detection.scanner import Scanner

    text = "活动详情见地址：http://t.cn/8kNf4qV 欢迎参加"
    assert all(f.entity != "ADDRESS" for f in Scanner().scan(text, None, ner=True))
