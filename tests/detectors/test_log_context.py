"""Log-shaped evidence: percent-encoded query values, field names as producers write them,
name fields, account names in access/sudo/sshd lines, vendor keys, openids.

Each case goes through the engine with the shipped default policy, so it checks what a
user sees: the raw value is gone from the output and the right entity took it.
"""

from __future__ import annotations

import orjson
import pytest

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.detection.percent import decode_with_offsets, has_escapes
from pipeline.detection.scanner import Scanner
from pipeline.keys import KeyRing


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(
        load_policy(None),
        keys=KeyRing.from_secret("log-context-test-secret-0123456789-abcd", "k1"),
        ner=False,
    )


def test_percent_view_maps_back_to_original_offsets() -> None:
    text = "a=x%40y.org&n=%E5%BC%A0&bad=%FF%41"
    decoded, starts = decode_with_offsets(text)
    assert decoded == "a=x@y.org&n=张&bad=%FFA"
    assert len(starts) == len(decoded) + 1 and starts[-1] == len(text)
    at = decoded.index("@")
    assert text[starts[at] : starts[at + 1]] == "%40"
    han = decoded.index("张")
    assert text[starts[han] : starts[han + 1]] == "%E5%BC%A0"
    assert has_escapes(text) and not has_escapes("100% sure")


@pytest.mark.parametrize(
    ("line", "raw", "entity"),
    [
        ("GET /cb?email=matthew.liu%40corp.example.org&ts=1", "matthew.liu", "EMAIL_ADDRESS"),
        ("GET /cb?phone=%2B86%20188-7032-7890&v=6.2.1", "7032", "PHONE_NUMBER"),
        ("GET /cb?card_no=4498%207129%203814%203105&v=9.11.0", "7129", "CREDIT_CARD"),
        ("GET /cb?phone=%2B447700900275&v=1.29.3", "447700900275", "PHONE_NUMBER"),
    ],
)
def test_percent_encoded_query_values(engine: Engine, line: str, raw: str, entity: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out
    assert entity in out or "*" in out  # cards are masked, the rest tokenized
    assert "v=" not in line or line.split("v=")[1] in out  # the version stays


@pytest.mark.parametrize(
    ("field", "entity"),
    [
        ("MEIDHex", "MEID"),
        ("deviceMEIDHex", "MEID"),
        ("user.id", "USER_ID"),
        ("serial.no", "SERIAL_NUMBER"),
        ("memberdob", "BIRTHDAY"),
        ("accountsex", "GENDER"),
        ("hwserial", "SERIAL_NUMBER"),
        ("ssaid", "DEVICE_ID"),
        ("registration_id", "DEVICE_ID"),
        ("password_hash", "SECRET"),
    ],
)
def test_field_names_as_producers_write_them(field: str, entity: str) -> None:
    assert Scanner().field_entity(field) == entity


@pytest.mark.parametrize("field", ["service_name", "order_no", "trace.id", "simple", "host.name"])
def test_field_name_rules_do_not_over_reach(field: str) -> None:
    assert Scanner().field_entity(field) is None


def test_person_shaped_values_of_name_fields(engine: Engine) -> None:
    record = {
        "kycName": "郭子涵",
        "shipping_name": "Thomas Nguyen",
        "contacts": [{"name": "Andrew Brown"}],
        "service_name": "Order Service",
        "logger_name": "uvicorn.access",
        "name": "checkout",
    }
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    assert out["kycName"].startswith("<PERSON:")
    assert out["shipping_name"].startswith("<PERSON:")
    assert out["contacts"][0]["name"].startswith("<PERSON:")
    assert out["service_name"] == "Order Service"
    assert out["logger_name"] == "uvicorn.access"
    assert out["name"] == "checkout"


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        (
            '192.0.2.1 - moore_gr91 [19/Feb/2024:01:02:13 +0000] "GET / HTTP/1.1" 200 5',
            "moore_gr91",
        ),
        (
            "Feb 19 02:02:10 gw sudo[62778]: wei877 : TTY=pts/0 ; PWD=/home/wei877 ; USER=root",
            "wei877",
        ),
        (
            "sshd[1]: Connection closed by authenticating user hu_ju85 10.0.0.1 port 22 [preauth]",
            "hu_ju85",
        ),
        ("open('/Users/jsmith/Library/x.plist') failed", "jsmith"),
        # IIS (W3C) cs-username and Exchange: Windows domain accounts.
        (
            "2022-01-01 18:42:37 ::1 POST /mapi/emdata/ useMailboxOfAuthenticatedUser=true 444 "
            "RaDomain\\RandomMailbox3242354 ::1 MapiHttpClient - 200 0 0 4",
            "RandomMailbox3242354",
        ),
        ("81 RanDomain\\EX04$ ::1 MSRPC - 200", "EX04$"),
        ('{"msg":"logon by CORP\\\\jsmith failed"}', "jsmith"),
        # `\t`, `\n`, `\r` after a domain's backslash: an account, not a written-out break.
        ("login CORP\\tom failed", "tom"),
        ("logon CORP\\robert ok", "robert"),
        # Linux auth lines: passwd, sshd's [preauth] disconnect, PAM's `by <user>(uid=)`,
        # useradd, Samba, OpenVPN's common name.
        ("passwd(pam_unix)[1]: password changed for fred", "fred"),
        ("sshd[2]: Disconnecting: Too many authentication failures for pgadm [preauth]", "pgadm"),
        ("sudo: pam_unix(sudo:session): session opened for user x(uid=0) by lisa(uid=10)", "lisa"),
        ("useradd[1]: new user: name=jdoe2, UID=1001, GID=1001, home=/home/jdoe2", "jdoe2"),
        ("groupadd[1]: new group: name=jdoe2, GID=1001", "jdoe2"),
        (
            "smbd[1]: check_ntlm_password:  Authentication for user [dave] -> [dave] FAILED with "
            "error NT_STATUS_WRONG_PASSWORD",
            "dave",
        ),
        ("openvpn[1]: carol/203.0.113.77:51234 MULTI_sva: pool returned IPv4=10.8.0.6", "carol"),
        # Cisco ASA, Squid, MySQL, su, sshd sessions, AWS ARNs, Windows event XML.
        ("%ASA-6-722022: Group <VPN> User <gina> IP <203.0.113.61> TCP SVC", "gina"),
        (
            "1286536308.779    180 192.168.0.224 TCP_MISS/200 411 GET http://www.example.com/ "
            "emily DIRECT/93.184.216.34 text/html",
            "emily",
        ),
        ("2024-01-10T10:00:00.123456Z     8 Connect\tivan@10.0.0.8 on shop using TCP/IP", "ivan"),
        ("su[1]: FAILED SU (to root) oscar on pts/1", "oscar"),
        ("sshd[1]: Starting session: shell on pts/0 for paul from 203.0.113.31 port 5556", "paul"),
        ("sshd[1]: Starting session: command for quinn from 203.0.113.31 port 5556 id 0", "quinn"),
        ('{"arn":"arn:aws:iam::123456789012:user/Alice"}', "Alice"),
        ("arn:aws:sts::123456789012:assumed-role/Admin/rob.smith", "rob.smith"),
        ('<Data Name="TargetUserName">dwilson</Data><Data Name="IpAddress">-</Data>', "dwilson"),
        ("<UserName>steve</UserName>", "steve"),
        # PostgreSQL's `%u@%d` prefix, Bitbucket Server's access log user column.
        (
            "2022-04-12 00:24:24.741 UTC [9158] walter@shop FATAL:  password authentication "
            'failed for user "walter"',
            "walter",
        ),
        (
            "10.229.31.5 | https | o@2CM38K4Fx339x113x2 | acarlton | 2022-04-12 05:39:57,408 | "
            '"POST /rest/api/1.0/projects HTTP/1.1" | "" "git/2.44.0" | 201 | 832 | 1204 | - |',
            "acarlton",
        ),
        (
            "10.229.31.5 | grpc | o@1GGG0Q5Kx420x106x2 | @5XDWX5x420x2768x0 | jdoe | "
            '2022-04-12 07:09:18,086 | "HostingService/HttpBackend" | - | 0 |',
            "jdoe",
        ),
        ("logon CORP\\\\nancy ok", "nancy"),
        ('{"msg":"logon by CORP\\\\tom failed"}', "tom"),
        ('Mon Jun  6 18:43:32 2016 [pid 1] [jean] OK LOGIN: Client "192.0.2.1"', "jean"),
        ("useradd[3]: failed adding user 'elastic_user_7', data deleted", "elastic_user_7"),
        ('chpasswd[2]: user "alice" does not exist in /etc/passwd', "alice"),
        # IIS W3C: cs-username between s-port and c-ip.
        (
            "2015-12-31 00:19:48 10.11.2.3 GET /owa/ &prfltncy=16 443 domain.localjohndoe "
            "77.123.22.120 Mozilla/5.0+(Windows+NT+6.1) 200 0 0 15",
            "domain.localjohndoe",
        ),
        # Jira / Confluence access logs: the account before the Tomcat thread.
        (
            "[03/Oct/2022:09:01:30 +0000] jdoe http-nio-8080-exec-3 0:0:0:0:0:0:0:1 POST "
            "/secure/QuickCreateIssue.jspa HTTP/1.1 302 512ms 0 - Chrome 105 / Mac OS X 12",
            "jdoe",
        ),
    ],
)
def test_account_names_in_text_lines(engine: Engine, line: str, raw: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and "<USERNAME:" in out


@pytest.mark.parametrize(
    ("line", "expected_tail"),
    [
        # A written-out break before a value is still a break: the value after it is
        # found alone, the letter of the escape stays.
        ("x\\t13800138000\\tjane@example.com", "\\t<EMAIL_ADDRESS:"),
        ("err:\\nuser=bob", "\\nuser=<USERNAME:"),
    ],
)
def test_written_out_breaks_still_separate_values(
    engine: Engine, line: str, expected_tail: str
) -> None:
    out = engine.scrub_line(line)
    assert out is not None and expected_tail in out
    assert "13800138000" not in out and "jane@" not in out and "=bob" not in out


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        # Java socket addresses `host/ip:port` are hosts, not OpenVPN clients; PAM's
        # `by LOGIN(uid=0)` is the login service; `Login:` after `imap-login:` is a key.
        (
            "ipc.Client: Address change detected. Old: msra-sa-41/10.1.2.3:9000 New: x:9000",
            "Old: msra-sa-41/",
        ),
        ("login(pam_unix)[2424]: session opened for user root by LOGIN(uid=0)", "by LOGIN(uid=0)"),
        ("dovecot: imap-login: Login: user=<maria>, method=PLAIN, TLS", "imap-login: Login: user="),
    ],
)
def test_words_next_to_accounts_that_are_not_accounts(engine: Engine, line: str, kept: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and kept in out


@pytest.mark.parametrize(
    "line",
    [
        "loaded C:\\Windows\\System32\\drivers\\foo.sys by NT AUTHORITY\\SYSTEM",
        "BUILTIN\\Administrators granted; wrote logs\\app.log ok",
        "share \\\\fileserver\\public mounted",
        "regex \\d+\\s+ found",
        # PAM leaves logname and ruser empty: the next word is a key, not a user name.
        "sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh",
        # IIS W3C without a user (`-`) and with a loopback client: nothing to change.
        "2016-01-01 00:00:01 10.11.2.0 GET /index.htm - 80 - ::1 Mozilla/5.0 200 0 0 1",
    ],
)
def test_windows_paths_and_built_in_principals_are_not_accounts(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line


def test_access_log_without_user_keeps_its_dash(engine: Engine) -> None:
    line = '192.0.2.1 - - [19/Feb/2024:01:02:13 +0000] "GET /healthz HTTP/1.1" 200 5'
    out = engine.scrub_line(line)
    assert out == line.replace("192.0.2.1", "192.0.2.0")


@pytest.mark.parametrize(
    ("text", "raw", "entity"),
    [
        ("sent invalid api key sk_test_rb18KlmNP0kDiRX86JljTGZo", "rb18Klm", "SECRET"),
        (
            "callback to https://hu_qi85:letmein7184%24lkE@partner.example.org/notify",
            "letmein",
            "SECRET",
        ),
        ("card 352857 1948677486 exp 2029-04 (code 51)", "1948677486", "CREDIT_CARD"),
        ("card 352857 1948677486 exp 2029-04 (code 51)", "2029-04", "CARD_EXPIRY"),
        ("User x bound WeChat oJSRxCGXHzFbcT-LzkG-XI3oG8KD", "oJSRxCGX", "PAYMENT_ACCOUNT"),
        (
            "refund to alipay account ojL-wZb1ivws18kYsrVWqYi8vt_D for order 1",
            "ojL-wZb1",
            "PAYMENT_ACCOUNT",
        ),
        ("call from +81 3-0291-7402 forwarded", "0291", "PHONE_NUMBER"),
    ],
)
def test_free_text_shapes(engine: Engine, text: str, raw: str, entity: str) -> None:
    out = engine.scrub_text(text)
    assert raw not in out
    assert entity in out or (entity == "CREDIT_CARD" and "*" in out)


def test_field_named_by_negative_words_keeps_its_value(engine: Engine) -> None:
    record = {
        "build.version": "1.1.126.4",
        "orderno": 5688410835863903563,  # passes Luhn, is an order number
        "request.url": "/pay?card_no=2221817347155638&v=2.1",
        "caller": "okhttp3.OkHttpClient",
    }
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    assert out["build.version"] == "1.1.126.4"
    assert out["orderno"] == 5688410835863903563
    assert "2221817347155638" not in out["request.url"] and out["request.url"].endswith("&v=2.1")
    assert out["caller"] == "okhttp3.OkHttpClient"


@pytest.mark.parametrize(
    ("text", "raw", "entity"),
    [
        (
            "Hi Barbara, your order has shipped to 北京市朝阳区珞喻路312号2栋3001室",
            "珞喻路",
            "ADDRESS",
        ),
        ("has shipped to 994 Pine Lane, Fairview, TX 80773 today", "Pine Lane", "ADDRESS"),
        (
            "dhcpd[21682]: DHCPACK on 172.21.254.191 to D46E0EAC0D94 via eth0",
            "D46E0EAC0D94",
            "MAC_ADDRESS",
        ),
        (
            "rejecting request from 2a02:4c2c:7d38:5df6:ad4:737:7806:26a4: Authorization",
            "5df6",
            "IP_ADDRESS",
        ),
    ],
)
def test_free_text_addresses_and_devices(engine: Engine, text: str, raw: str, entity: str) -> None:
    out = engine.scrub_text(text)
    assert raw not in out
    assert entity in out or entity == "IP_ADDRESS"  # IPs are generalized, not tokenized


def test_ner_identifier_filter() -> None:
    from pipeline.detection.names import looks_like_identifier as _looks_like_identifier

    def flagged(text: str, span: str) -> bool:
        start = text.index(span)
        return _looks_like_identifier(text, start, start + len(span))

    assert flagged("Thread RxCachedThreadScheduler-3 blocked", "RxCachedThreadScheduler")
    assert flagged("Thread OkHttp Dispatcher blocked", "OkHttp Dispatcher")
    assert flagged("push register model=Pixel 8 app 9.2", "Pixel")
    assert flagged("Loaded config build QK2A.230816.012", "QK2A.230816.012")
    assert not flagged("Dear Mary Lopez, your order", "Mary Lopez")
    assert not flagged("forwarded to Ronald McDonald today", "Ronald McDonald")


@pytest.mark.parametrize(
    ("text", "raw", "entity"),
    [
        ("sync account river4589@example.org (阿狸)", "阿狸", "PERSON"),
        ("note: 陈静 <tiger6509@corp.example.org> subscribed", "陈静", "PERSON"),
        ("call from +1 415-555-0182 forwarded to agent 张敏", "张敏", "PERSON"),
        ("Contact 徐芳 at +447700900953 or fsun36@users.example", "徐芳", "PERSON"),
        # The phone word four or five words before a national number.
        ("Contact Olivia Fischer at 020 7946 0580 or later", "7946 0580", "PHONE_NUMBER"),
        ("Sending SMS verification code to 020 7946 0585 via aliyun", "7946 0585", "PHONE_NUMBER"),
        ("user rli failed login 3 times from 192.168.90.156:46944", "rli", "USERNAME"),
        ("mail-01 sudo 62333 - - emily.clark : TTY=pts/0 ; USER=root", "emily.clark", "USERNAME"),
        (
            "systemd-logind[56960]: New session 7349 of user hernandez_mi58.",
            "hernandez_mi58",
            "USERNAME",
        ),
    ],
)
def test_people_and_accounts_in_messages(engine: Engine, text: str, raw: str, entity: str) -> None:
    out = engine.scrub_text(text)
    assert raw not in out and f"<{entity}:" in out


@pytest.mark.parametrize("text", ["Dear Customer, your order shipped", "Hi Team, the build failed"])
def test_when_a_salutation_greets_a_group_then_it_is_no_person(engine: Engine, text: str) -> None:
    assert engine.scrub_text(text) == text


@pytest.mark.parametrize(
    "header",
    ["From <a@b.co>", "Reply-To <a@b.co>", "Mail From <a@b.co>", "RCPT To <a@b.co>"],
)
def test_when_a_mail_header_word_stands_before_an_address_then_it_is_no_person(
    engine: Engine, header: str
) -> None:
    out = engine.scrub_text(header)
    assert "<PERSON" not in out and header.split(" <")[0] in out


@pytest.mark.parametrize(
    "text",
    [
        "shipped from 武汉 to 杭州",
        "arrived in 苏州 and 郑州",
        "任务 成功 in 3 ms",
        "User agent is Mozilla/5.0",
        "user id 5 logged",
    ],
)
def test_words_that_only_look_like_people(engine: Engine, text: str) -> None:
    assert engine.scrub_text(text) == text


@pytest.mark.parametrize(
    ("text", "raw", "entity"),
    [
        ("Dear Zhu Jie, your verification email was sent", "Zhu Jie", "PERSON"),
        ("User Guo Min (Michael.Moore@example.com) changed mobile", "Guo Min", "PERSON"),
        ("Sending SMS verification code to (617) 555-0183 via channel", "555-0183", "PHONE_NUMBER"),
        (
            "Disconnected from invalid user wei.moore fe80::1d43:67ff:fe22:254e port 26791",
            "wei.moore",
            "USERNAME",
        ),
    ],
)
def test_salutations_display_names_nanp(engine: Engine, text: str, raw: str, entity: str) -> None:
    out = engine.scrub_text(text)
    assert raw not in out and f"<{entity}:" in out


def test_case_matters_for_name_shapes(engine: Engine) -> None:
    assert engine.scrub_text("hi there, all good") == "hi there, all good"
    record = {"name": "order created", "display": "x"}
    assert orjson.loads(engine.apply(orjson.dumps(record)).value) == record


def test_compressed_ipv6_before_a_colon(engine: Engine) -> None:
    out = engine.scrub_text("rejecting request from 2408:8207:4bf:9534::3a34: Authorization")
    assert "3a34" not in out and out.endswith(": Authorization")


def test_text_lines_get_the_name_gazetteer_without_errors(engine: Engine) -> None:
    line = "I0219 02:03:08 controller.go:74] KYC check passed for Thomas Jackson id=7"
    outcome = engine.apply(line)
    assert outcome.issue is None  # no fallback: the text path itself handled it
    assert b"Thomas" not in outcome.value and b"<PERSON:" in outcome.value


@pytest.mark.parametrize("field", ["version_2", "app_version_2", "appVersion3", "releaseversion"])
def test_version_fields_with_copy_numbers_or_run_together_keep_dotted_quads(field: str) -> None:
    assert Scanner().scan("5.3.169.2", field) == []


def test_dotted_quad_in_an_ip_field_is_still_an_ip() -> None:
    assert [f.entity for f in Scanner().scan("5.3.169.2", "clientip")] == ["IP_ADDRESS"]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Zoetermeer 53144\n001-748-088-2851x818-Fax", "001-748-088-2851x818"),
        ("166-684-7899 fax", "166-684-7899"),  # context after the number
        ("reach me at (790)091-7442 now", "(790)091-7442"),  # North American shape
    ],
)
def test_phone_shaped_numbers_with_context_before_or_after(text: str, phone: str) -> None:
    found = [(f.entity, text[f.start : f.end]) for f in Scanner().scan(text)]
    assert found == [("PHONE_NUMBER", phone)]


@pytest.mark.parametrize("text", ["order 166-684-7899 shipped", "build 123-456-7890 done"])
def test_phone_shaped_numbers_without_context_stay(text: str) -> None:
    assert Scanner().scan(text) == []


@pytest.mark.parametrize("field", ["log_2", "msg2", "errMsg", "error_message"])
def test_free_text_fields_named_with_copy_numbers_or_prefixes(engine: Engine, field: str) -> None:
    """Free-text rules name `log`, `msg`, `message`; producers add to the name."""
    record = {field: "Contact Olivia Robinson tomorrow about the refund"}
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    assert "Robinson" not in out[field] and "<PERSON:" in out[field]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("card 4111 1111 1111 1111 exp 09/26 cvv 123 holder", "123"),
        ("cvv=456&x=1", "456"),
        ('{"cvc": "7890"}', "7890"),
        ("CVV2: 321", "321"),
    ],
)
def test_card_security_codes_are_secrets(text: str, code: str) -> None:
    found = [(f.entity, text[f.start : f.end]) for f in Scanner().scan(text)]
    assert ("SECRET", code) in found


def test_words_near_cvv_are_not_codes() -> None:
    assert Scanner().scan("the cvs 123 pharmacy") == []


def test_a_run_together_field_name_is_read_by_its_ending():
    """`netbssid` is `net` + `bssid` written by a producer that lowercases everything: its
    ending names a MAC address, as `netBssid` does; short endings (`name`, `ssid`) and
    words that merely contain a field name elsewhere are not read this way."""
    from pipeline.detection.scanner import Scanner

    scanner = Scanner()
    assert scanner.field_entity("netbssid") == scanner.field_entity("netBssid") == "MAC_ADDRESS"
    assert scanner.field_entity("wifibssid") == "MAC_ADDRESS"
    assert scanner.field_entity("clientsecret") == "SECRET"
    for name in ("hostname", "filename", "ordername", "status", "emailsent", "phonebook2x"):
        assert scanner.field_entity(name) is None, name


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        # XChat, irssi and mIRC logs: the author of a message and the nicks of events.
        ("dec 31 21:11:58 <fpi> ola plas-ing guys!", "fpi"),
        ("feb 26 19:54:00  <Kristinn> ftw (it :p)?", "Kristinn"),
        ("21:11 < @jo_b> hello there", "jo_b"),
        ("[21:11] <[Zed]> back", "[Zed]"),
        ("dec 31 21:11:55 --- Joachim gives voice to fpi", "Joachim"),
        ("dec 31 21:11:55 --- Joachim gives voice to fpi", " fpi"),
        ("12:01 -!- wanda [~w@192.0.2.7] has joined #plaso", "wanda"),
        ("12:02 --> wanda (~w@host) has quit (Ping timeout)", "wanda"),
        ("12:03 -!- wanda is now known as wanda_away", "wanda_away"),
        ("dec 31 21:11:55      Topic for #gugle set by Kristinn", "Kristinn"),
    ],
)
def test_chat_log_nicks(engine: Engine, line: str, raw: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and "<NICKNAME:" in out


@pytest.mark.parametrize(
    "line",
    [
        # Process tags, severities and Java frames where a chat log has its `<nick>`.
        "Thu Nov 14 20:36:37.222 <airportd[88]> airportdProcessDLILEvent: en0 attached",
        "Nov 14 20:36:37 mac kernel[0] <Notice>: wake reason",
        "12:00:01 <Error> disk full",
        "\tat com.example.Foo.<init>(Foo.java:12)",
        "*** Starting Up ***",
        "dec 31 21:11:55 --> You are now talking on #gugle",
    ],
)
def test_lines_shaped_like_chat_logs_keep_their_words(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line


@pytest.mark.parametrize(
    ("line", "raw", "generalized"),
    [
        (
            "2021-04-01 00:00:21 10.0.0.5 GET /a.asp - 80 - 203.0.113.9 "
            "Mozilla/5.0+(Windows+NT+5.1)+AppleWebKit/537.36+(KHTML,+like+Gecko)+"
            "Chrome/35.0.2309.372+Safari/537.36 http://10.0.0.5/ 200 0 0 65",
            "Chrome/35.0.2309.372",
            " Chrome+35+/+Windows+XP ",
        ),
        (
            "2015-12-31 14:40:38 10.11.2.3 POST /EWS/Exchange.asmx - 443 - 10.10.5.7 "
            "Microsoft+Office/14.0+(Windows+NT+6.1;+Microsoft+Outlook+14.0.7162;+Pro) 200 0 0 46",
            "Outlook+14.0.7162",
            " Outlook+2010+/+Windows+7 ",
        ),
    ],
)
def test_w3c_user_agents_are_generalized_as_one_field(
    engine: Engine, line: str, raw: str, generalized: str
) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and generalized in out
    assert len(out.split(" ")) == len(line.split(" "))  # a W3C reader sees the same columns
    assert engine.scrub_line(out) == out


def test_netfilter_mac_field_holds_two_device_addresses(engine: Engine) -> None:
    line = (
        "kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 "
        "SRC=203.0.113.50 DST=10.0.0.1 PROTO=TCP SPT=5555 DPT=22"
    )
    out = engine.scrub_line(line)
    assert out is not None and "aa:bb:cc" not in out and "dd:ee:ff" not in out
    assert out.count("<MAC_ADDRESS:") == 2 and ":08:00 SRC=" in out


def test_whether_a_password_was_used_is_not_a_password(engine: Engine) -> None:
    line = "Access denied for user 'rachel'@'203.0.113.5' (using password: YES)"
    out = engine.scrub_line(line)
    assert out is not None and "(using password: YES)" in out and "rachel" not in out


def test_an_address_field_is_replaced_whole_when_a_detector_finds_only_its_start(
    engine: Engine,
) -> None:
    record = {"address": "北京市朝阳区建国路88号SOHO现代城2号楼1201", "city": "北京"}
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    assert out["address"] == "<ADDRESS>"
    assert out["city"] == "北京"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"shipping": {"receiver": "张伟", "mobile": "13612345678"}}, "receiver"),
        ({"order": {"recipient": "Lucy Gray"}}, "recipient"),
        ({"real_name": "Zhang San Feng"}, "real_name"),
    ],
)
def test_person_fields_are_replaced_whole(engine: Engine, record: dict, field: str) -> None:
    out = engine.apply(orjson.dumps(record)).value.decode()
    raw = next(v for v in _leaves(record) if isinstance(v, str) and v.count(" ") < 3)
    assert raw not in out and f'"{field}":"<PERSON:' in out


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize(
    ("line", "name"),
    [
        # A name after a key runs over its capitalized words; a cue word before a name is
        # not part of it.
        ("sent to real_name=Li Lei ok", "Li Lei"),
        ("consignee=Zhang San Feng, amount=3", "San Feng"),
    ],
)
def test_names_after_keys_are_taken_whole(engine: Engine, line: str, name: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and name not in out and out.count("<PERSON:") == 1
    assert "Zhang" not in out and "Li " not in out


def test_a_cue_word_is_not_part_of_the_name_after_it(engine: Engine) -> None:
    record = {"msg": "User Zhang San (uid 10293) changed password"}
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)["msg"]
    assert out.startswith("User <PERSON:") and "Zhang" not in out and "San" not in out


def test_a_class_name_ending_in_receiver_is_no_person_key(engine: Engine) -> None:
    line = "02-19 01:02:50.960 28265 25437 D PushReceiver: register ok"
    assert engine.scrub_line(line) == line


@pytest.mark.parametrize(
    ("record", "raws"),
    [
        # JSON inside a string: its keys name its values as a record's keys do.
        (
            {"payload": '{"contact_name":"Li Lei","phone":"13800138000"}'},
            ["Li Lei", "13800138000"],
        ),
        ({"payload": '{"nickname": "sunny_day"}'}, ["sunny_day"]),
        ({"items": '[{"email":"a@example.com"},{"imei":"490154203237518"}]'}, ["a@ex", "4901"]),
    ],
)
def test_json_inside_a_string_is_cleaned_as_fields(
    engine: Engine, record: dict, raws: list[str]
) -> None:
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    (field,) = record
    inner = orjson.loads(out[field])  # still JSON, in the same string field
    assert isinstance(inner, dict | list)
    assert not any(raw in out[field] for raw in raws)


@pytest.mark.parametrize(
    "value", ['{"status": "ok", "n": 3}', "[INFO] started", "{not json}", "[1, 2, 3]"]
)
def test_strings_that_hold_no_personal_json_stay_as_written(engine: Engine, value: str) -> None:
    out = orjson.loads(engine.apply(orjson.dumps({"payload": value})).value)
    assert out["payload"] == value


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ('{"passport":"E12345678","country":"CN"}', "E12345678"),
        ('{"user":{"passport":{"number":"E7654321"}}}', "E7654321"),
        ('{"ssn":"123-45-6789"}', "123-45-6789"),
        ("verify ok ssn=123-45-6789 passport_no=G98765432", "G98765432"),
        ("SSN: 078-05-1120 on file", "078-05-1120"),
        ('{"护照号":"E12345678"}', "E12345678"),
    ],
)
def test_government_ids_by_their_names(engine: Engine, line: str, raw: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and "<NATIONAL_ID:" in out


@pytest.mark.parametrize("line", ["build 123-45-6789 ok", '{"passport":"-"}', "ref 666-12-3456"])
def test_ssn_shapes_without_their_name_are_kept(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line


def test_questionnaire_answers_are_free_text() -> None:
    engine = Engine(
        load_policy(None),
        keys=KeyRing.from_secret("log-context-test-secret-0123456789-abcd", "k1"),
        ner=False,
    )
    record = {"answers": {"q1": "I live at 42 Elm Street, Springfield", "q2": "no"}}
    out = orjson.loads(engine.apply(orjson.dumps(record)).value)
    assert "Elm Street" not in out["answers"]["q1"] and "<ADDRESS>" in out["answers"]["q1"]
    assert out["answers"]["q2"] == "no"


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ('{"wifi":{"ssid":"Lucy-Home","bssid":"a4:50:46:12:34:56"}}', "Lucy-Home"),
        ("wlan0: Trying to associate with SSID 'Zhang Family'", "Zhang Family"),
        (
            "Thu Nov 14 20:36:43.818 <airportd[88]> _doAutoJoin: Already associated to "
            "\u201cCampusNet\u201d. Bailing on auto-join.",
            "CampusNet",
        ),
        ("No password for network [ssid=AndroidAP, bssid=a4:50:46:12:34:56]", "AndroidAP"),
    ],
)
def test_wifi_network_names(engine: Engine, line: str, raw: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and "<WIFI_SSID:" in out


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("Jul  8 07:18:24 Johns-MacBook-Pro kernel[0]: wake", "Johns-MacBook"),
        ("sharingd[1]: AirDrop from Lucy's iPhone accepted", "Lucy's"),
        ("mDNSResponder: host johns-macbook-pro.local up", "johns-macbook"),
    ],
)
def test_devices_named_after_their_owner(engine: Engine, line: str, raw: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and "<DEVICE_ID:" in out


@pytest.mark.parametrize(
    "line",
    ["DeviceType=iPhone&Cmd=Ping", "Buying a new iPhone today", "Apple-iPhone5C2/1104.257"],
)
def test_device_model_words_alone_are_kept(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line


def test_a_user_agent_naming_an_iphone_is_still_one_user_agent(engine: Engine) -> None:
    line = '"Mozilla/5.0 (iPhone; CPU iPhone OS 14_4_2 like Mac OS X) AppleWebKit/605.1.15"'
    out = engine.scrub_line(line)
    assert out is not None and "<DEVICE_ID:" not in out and "CPU iPhone" not in out


@pytest.mark.parametrize(
    "line", ["银行卡号：6222021234567890123 开户人：王五", '{"银行卡号":"6222021234567890123"}']
)
def test_a_chinese_card_number_field_waives_the_checksum(engine: Engine, line: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and "6222021234567890123" not in out and out.count("0123") == 1


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("SmsReceiver: body=您的验证码是482913，5分钟内有效", "482913"),
        ("验证码：482913", "482913"),
        ("Your verification code is 482913", "482913"),
        ("OTP 4829 sent to user", "4829"),
    ],
)
def test_one_time_codes_in_messages_are_secrets(engine: Engine, line: str, code: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and code not in out and "<SECRET>" in out


@pytest.mark.parametrize("line", ["status code 200 ok", "exit code 1234 returned"])
def test_other_codes_are_kept(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line


@pytest.mark.parametrize(
    ("line", "raw", "token"),
    [
        # Chinese prose writes a value right after its word, without `:` or `=`.
        ('用户(ID:10293)昵称"小熊猫"修改头像成功', "小熊猫", "<NICKNAME:"),
        ("昵称为「快乐的小鱼」", "快乐的小鱼", "<NICKNAME:"),
        ("用户生日1990年5月17日 已保存", "5月17日", "1990"),
        ("性别女，年龄33", "性别女", "<GENDER:"),
        ("定位：北纬39.9042 东经116.4074", "116.4074", "<GPS_COORDINATES>"),
        ("南纬33.86°，东经151.21° ok", "151.21", "<GPS_COORDINATES>"),
        ('{"qq":"123456789"}', "123456789", "<USER_ID:"),
    ],
)
def test_values_right_after_their_chinese_word(
    engine: Engine, line: str, raw: str, token: str
) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and token in out


@pytest.mark.parametrize(
    ("line", "raw", "token"),
    [
        ('"GET /api/users/48213/orders HTTP/1.1" 200', "48213", "<USER_ID:"),
        ('{"path":"/api/v1/devices/9774d56d682e549c/bind"}', "9774d56d682e549c", "<DEVICE_ID:"),
    ],
)
def test_ids_in_rest_paths(engine: Engine, line: str, raw: str, token: str) -> None:
    out = engine.scrub_line(line)
    assert out is not None and raw not in out and token in out


@pytest.mark.parametrize(
    "line", ['"GET /api/v1/orders/48213 HTTP/1.1"', '"GET /users/me HTTP/1.1"']
)
def test_rest_paths_without_a_person_stay(engine: Engine, line: str) -> None:
    assert engine.scrub_line(line) == line
