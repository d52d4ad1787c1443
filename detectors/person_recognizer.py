"""Recognizer for person names in fields and keys that say "name of a person"."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "real_name",
    "realname",
    "full_name",
    "fullname",
    "first_name",
    "firstname",
    "last_name",
    "lastname",
    "given_name",
    "givenname",
    "family_name",
    "familyname",
    "surname",
    "middle_name",
    "contact_name",
    "contactname",
    "customer_name",
    "customername",
    "receiver_name",
    "receivername",
    "recipient_name",
    "addressee",
    "consignee",
    "consignee_name",
    "sender_name",
    "payee_name",
    "payer_name",
    "beneficiary",
    "beneficiary_name",
    "cardholder",
    "card_holder",
    "holder_name",
    "account_holder",
    "patient_name",
    "person_name",
    "personname",
    "user_real_name",
    "姓名",
    "真实姓名",
    "收货人",
    "联系人",
    "收件人",
    "寄件人",
    "持卡人",
    "收款人",
    "付款人",
]


_WORD = r"[A-Z][a-z]+(?:['\u2019\-][A-Z]?[a-z]+)?"
_NAME_SHAPE = (
    rf"(?-i:{_WORD}(?:[ \t]+(?:[A-Z]\.|{_WORD})){{1,3}}"
    r"|[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}\u00b7[\u4e00-\u9fff]{1,8})"
)
# Case matters in these shapes; Presidio compiles patterns case-insensitively, hence `(?-i:`.
_DISPLAY = r"(?-i:[A-Z][a-z]+(?:[ \t][A-Z][a-z'\-]+){0,3}|[\u4e00-\u9fff\u00b7]{2,8})"
# Common Chinese surnames that rarely begin an ordinary word in logs (任务 task, 余额
# balance, 程序 program, 方法 method, 高级 advanced... are left out, as is 武 of 武汉;
# 苏/郑/徐 begin city names too, but those end in 州, which no name here may).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周孙朱胡郭林罗梁谢宋唐韩冯邓曹彭曾肖董袁潘蒋蔡杜叶魏吕丁沈姚卢姜崔钟"
    "谭陆汪范贾夏韦邹孟熊秦邱尹薛闫段雷侯陶黎贺顾毛郝龚邵钱严覃戴莫孔汤苏郑徐"
)
# Last characters of place and thing names, not of given names.
_NOT_NAME_END = "州市省区县路街镇村山江河湖海港站色级费额号"
# Tokens of `*_name` fields that name things, not people.
_NOT_A_PERSON = frozenset(
    {
        "service",
        "svc",
        "app",
        "application",
        "host",
        "hostname",
        "server",
        "instance",
        "node",
        "pod",
        "container",
        "cluster",
        "namespace",
        "region",
        "zone",
        "env",
        "file",
        "filename",
        "dir",
        "folder",
        "path",
        "class",
        "logger",
        "thread",
        "topic",
        "queue",
        "job",
        "task",
        "event",
        "metric",
        "span",
        "operation",
        "op",
        "method",
        "function",
        "func",
        "module",
        "package",
        "pkg",
        "process",
        "proc",
        "table",
        "db",
        "database",
        "schema",
        "bucket",
        "index",
        "column",
        "field",
        "key",
        "attr",
        "param",
        "header",
        "cookie",
        "device",
        "model",
        "brand",
        "product",
        "item",
        "sku",
        "category",
        "tag",
        "label",
        "image",
        "domain",
        "project",
        "org",
        "organization",
        "company",
        "merchant",
        "shop",
        "store",
        "bank",
        "network",
        "carrier",
        "os",
        "browser",
        "platform",
        "plugin",
        "feature",
        "flag",
        "role",
        "group",
        "team",
        "dept",
        "department",
        "city",
        "country",
        "province",
        "state",
        "street",
        "route",
        "endpoint",
        "api",
        "action",
        "step",
        "stage",
        "status",
        "type",
        "kind",
        "mode",
        "level",
        "source",
        "target",
        "sdk",
        "lib",
        "library",
        "version",
        "build",
        "release",
        "branch",
        "repo",
        "test",
        "suite",
        "screen",
        "page",
        "view",
        "activity",
        "component",
        "policy",
        "rule",
        "config",
        "setting",
        "font",
        "icon",
        "color",
        "bundle",
        "channel",
        "campaign",
        "experiment",
        "plan",
        "tier",
        "currency",
        "payment",
        "gateway",
        "provider",
        "vendor",
        "partner",
        "tenant",
        "site",
        "venue",
        "sheet",
        "doc",
        "document",
        "template",
        "report",
        "query",
        "command",
        "cmd",
        "binary",
        "exe",
        "lang",
        "language",
        "locale",
        "timezone",
        "tz",
    }
)


# Who a salutation greets when it is not a person (`Dear Customer,`, `Hi Team,`).
_GROUPS = frozenset(
    "customer customers team all everyone everybody there sir madam user users member "
    "members friend friends colleague colleagues admin admins support staff guys folks "
    "partner partners valued customer".split()
)
# Words of mail headers and SMTP commands that stand before an address in angle brackets.
_HEADER_WORDS = frozenset(
    "from to cc bcc reply sender return path delivered envelope mail rcpt resent by for "
    "via and or the original recipient errors x".split()
)


class PersonRecognizer(LogRecognizer):
    """Detect a person's name after a name key: ``"real_name": "Zhang San"``.

    Names in free text are found by NER (``pipeline/detection/ner.py``), not by this recognizer.
    """

    ENTITY: ClassVar[str] = "PERSON"
    PATTERNS: ClassVar[list[Pattern]] = [
        # Unquoted, a name runs over its capitalized words (`real_name=Li Lei ok`).
        keyed_pattern(
            "person (keyed)", _KEYS, rf"{_NAME_SHAPE}(?![\w])|[^\s\"'&,;|}}\])=]{{1,64}}", 0.4
        ),
        # The whole value of a `*name` field (`kycName`, `shipping_name`,
        # `contacts[].name`) when it is shaped like a person's name: 2-4 capitalized
        # words, or 2-4 Han characters. Counts only in such a field (context pattern).
        Pattern("person (name field)", rf"\A\s*(?P<value>{_NAME_SHAPE})\s*\Z", 0.3),
        # Mail display names: `陈静 <tiger@example.org>`, `jane@example.org (Jane Doe)`.
        Pattern(
            "display name before address",
            rf"(?P<value>{_DISPLAY})[ \t]?<[\w.+\-]{{1,64}}@[\w\-]+(?:\.[\w\-]+)+>",
            0.85,
        ),
        Pattern(
            "display name after address",
            rf"@[\w\-]+(?:\.[\w\-]+)+>?[ \t]\((?P<value>{_DISPLAY}|[^()\s@<>]{{2,32}})\)",
            0.85,
        ),
        Pattern(
            "display name before (address)",
            rf"(?P<value>{_DISPLAY})[ \t]\([\w.+\-]{{1,64}}@[\w\-]+(?:\.[\w\-]+)+\)",
            0.85,
        ),
        # Salutations: `Dear Zhu Jie,`, `Hi Barbara!`; and vocatives after a comma:
        # `Welcome back, Jennifer!`, `Thanks, Tom.` (not `Welcome Page:`).
        Pattern(
            "salutation",
            rf"(?<![\w])(?:(?-i:Dear|Hi|Hello|Hey)[ \t]+|(?-i:Welcome back|Welcome|Thanks"
            rf"|Thank you|Congratulations|Congrats|Happy birthday|Good morning|Good afternoon"
            rf"|Good evening|Hi|Hello|Hey),[ \t]+)(?P<value>{_DISPLAY})(?=[ \t]*[,!:.])",
            0.8,
        ),
        # An LDAP / Active Directory distinguished name's common name with a space:
        # `CN=Mary Jones,OU=Sales,DC=corp` (single words are accounts: username_recognizer).
        Pattern(
            "ldap common name",
            rf"(?<![\w])cn=(?P<value>{_DISPLAY})(?=,(?:ou|dc|o|c|l|st)=)",
            0.8,
        ),
        # A Chinese name (surname + 1-2 characters) standing alone in non-Chinese text:
        # `forwarded to agent 张敏`, `Dear 陈静,`. Han runs inside Chinese text are words.
        Pattern(
            "han name in latin text",
            rf"[\x00-\x7f](?P<value>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}(?<![{_NOT_NAME_END}]))"
            r"(?=[\x00-\x7f]|\Z)",
            0.6,
        ),
    ]
    CONTEXT_PATTERNS: ClassVar[frozenset[str]] = frozenset({"person (name field)"})
    # Shapes (see text_shape): `<local@` of an address, `@`, two non-ASCII characters.
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "display name before address": (rb"<[0ax_.+\-]{1,64}@",),
        "display name after address": (rb"@",),
        "display name before (address)": (rb"\([0ax_.+\-]{1,64}@",),
        "han name in latin text": (rb"\?\?",),
    }
    # The salutation words themselves are the cheapest test (their shapes, `aaax `, would
    # make slow anchors: they start with a letter class).
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "salutation": (
            r"(?<![\w])(?:Dear|Hi|Hello|Hey)[ \t,]|(?:Welcome|Thank|Congrat|Happy|Good).{0,14},"
        ),
        "ldap common name": r"(?i)cn=[^,]{1,64},(?:ou|dc|o|c|l|st)=",
    }
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + ["name", "names"]
    FIELD_EXCLUDES: ClassVar[frozenset[str]] = _NOT_A_PERSON
    FIELD_SUFFIXES: ClassVar[tuple[str, ...]] = ("name",)
    # `receiver` and `recipient` name a person as JSON fields of an order or a message,
    # not as keys in text (`PushReceiver: register ok` is an Android class).
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} | {"receiver", "recipient"}
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    WINDOW: ClassVar[tuple[int, int]] = (24, 150)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders and mail header words (`From <a@b.co>`,
        `Reply To <...>`, `Mail From <...>` name a header, not a person)."""
        value = pattern_text.strip().lower()
        if value in {"null", "none", "-", "", "unknown", "undefined"} or value in _GROUPS:
            return True
        return all(word in _HEADER_WORDS for word in value.replace("-", " ").split())
