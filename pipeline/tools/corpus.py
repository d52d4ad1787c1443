"""Deterministic generator of synthetic, labelled service and operation log lines.

The corpus exists to *measure* the anonymizer (how much personal data leaks, how many
analytics values it destroys) and to drive benchmarks. Every line carries labels:

* ``pii``: each personal value exactly as it appears in the line (``Label.entity`` is an
  UPPER_SNAKE entity type such as ``EMAIL_ADDRESS``);
* ``keep``: values analytics needs that must survive verbatim (``KEEP:<kind>``, e.g.
  ``KEEP:trace_id``), including deliberate traps that *look* like personal data: version
  strings shaped like IPv4 (``6.1.1.0``), 16-hex span ids (Android id shape), 40-hex
  commit ids (OpenUDID shape), UUID request ids (IDFA shape), 18-digit order numbers
  (resident id shape), 19-digit snowflake ids and HDFS block ids (card shape) and epoch
  milliseconds that start like a ``17x`` mobile number.

Guarantees (pinned by ``tests/unit/test_corpus.py``):

* Deterministic: the output depends only on ``(n, seed, density)``. All randomness comes
  from one ``random.Random(seed)``; no global random state, clock, ``uuid4`` or set
  iteration order is used.
* Every label value occurs verbatim in its line as a whole token (not glued to a letter or
  digit), so a substring search on the output is a fair leak / damage test.
* JSON lines are valid JSON written by orjson; no label value needs JSON escaping.
* A record drawn as PII-free contains no personal data at all (its client address, if any,
  is loopback), and a record drawn as PII-bearing has at least one PII label.
* All values are synthetic: RFC 2606 / RFC 6761 domains, documentation IP ranges mixed
  with random ordinary-looking public and private addresses (so a detector cannot cheat on
  the documentation ranges), checksum-valid but random card, IMEI and resident id numbers.

Security: the values are random, but many are checksum-valid and some IP addresses are
routable. Do not feed this corpus to anything outside the test machine.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from os import PathLike
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

import orjson
from stdnum import luhn
from stdnum import meid as stdnum_meid
from stdnum.cn import ric

__all__ = [
    "KEEP_KINDS",
    "KEEP_PREFIX",
    "LINE_KINDS",
    "PII_ENTITIES",
    "Label",
    "LabelledLine",
    "generate_labelled",
    "generate_lines",
    "read_jsonl",
    "write_jsonl",
]

KEEP_PREFIX: Final = "KEEP:"

#: Line kinds, in the order of ``LabelledLine.kind`` values.
LINE_KINDS: Final = ("json", "nginx", "sshd", "logcat", "syslog", "text")

#: Every PII entity type the generator emits.
PII_ENTITIES: Final = (
    "IP_ADDRESS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "CARD_EXPIRY",
    "IMEI",
    "IMEISV",
    "MEID",
    "IMSI",
    "ICCID",
    "MAC_ADDRESS",
    "IDFA",
    "DEVICE_ID",
    "ANDROID_ID",
    "OPENUDID",
    "DEVICE_SERIAL",
    "CN_RESIDENT_ID",
    "GPS_COORDINATES",
    "USER_AGENT",
    "PERSON",
    "NICKNAME",
    "USERNAME",
    "USER_ID",
    "DATE_OF_BIRTH",
    "GENDER",
    "POSTAL_ADDRESS",
    "PAYMENT_ACCOUNT",
    "PASSWORD",
    "ACCESS_TOKEN",
    "JWT",
    "API_KEY",
)

#: Every kind of must-survive value (``Label.entity`` is ``KEEP_PREFIX + kind``).
KEEP_KINDS: Final = (
    "timestamp",
    "epoch",
    "trace_id",
    "span_id",
    "request_id",
    "order_id",
    "block_id",
    "build_id",
    "version",
    "commit",
    "service",
    "level",
    "method",
    "status",
    "path",
    "port",
    "pid",
    "duration",
    "bytes",
    "thread",
    "class",
    "host",
    "device_model",
)

# Keep values shorter than this are not labelled: a two-digit latency also occurs inside
# every timestamp, so its survival says nothing about damage.
_MIN_KEEP_LEN: Final = 3

# 2024-01-01T00:00:00Z; the corpus clock starts somewhere in the following year.
_T0: Final = 1_704_067_200


@dataclass(frozen=True)
class Label:
    """One labelled value: ``value`` occurs verbatim in the line.

    Attributes:
        value: The text exactly as it appears in the line (JSON numbers as serialized).
        entity: A PII entity type (``EMAIL_ADDRESS``) or ``KEEP:<kind>`` for a value that
            must survive anonymization.
    """

    value: str
    entity: str


@dataclass(frozen=True)
class LabelledLine:
    """A generated log line with its PII and must-keep labels.

    Attributes:
        line: The raw log line, without a trailing newline.
        pii: Personal values in the line, in generation order (may repeat a value).
        keep: Values that must survive anonymization.
        kind: One of :data:`LINE_KINDS`.
    """

    line: str
    pii: tuple[Label, ...]
    keep: tuple[Label, ...]
    kind: str


# ---------------------------------------------------------------------------------------
# value pools (all synthetic)
# ---------------------------------------------------------------------------------------

_FIRST_NAMES: Final = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Charles", "Karen", "Emily", "Daniel", "Olivia", "Matthew",
    "Sophia", "Andrew", "Grace", "Ethan", "Chloe", "Lucas", "Hannah", "Nathan",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor",
    "Moore", "Jackson", "Martin", "Thompson", "Harris", "Clark", "Lewis", "Walker",
    "Robinson", "Wright", "Scott", "Nguyen", "Patel", "Schneider", "Fischer",
)  # fmt: skip
_PINYIN_SURNAMES: Final = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
    "Sun", "Zhu", "Hu", "Guo", "Lin", "Luo", "Gao",
)  # fmt: skip
_PINYIN_GIVEN: Final = (
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yan", "Jie", "Tao",
    "Ming", "Chao", "Xiuying", "Hui", "Lina", "Haoran", "Zihan", "Yuxuan", "Xinyi",
)  # fmt: skip
_HANZI_NAMES: Final = (
    "王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "黄勇", "赵丽", "吴强", "周杰",
    "徐芳", "孙浩然", "朱雨轩", "胡欣怡", "郭子涵",
)  # fmt: skip
_NICK_WORDS: Final = (
    "sunny_day", "CoolCat", "blue_whale", "Lucky_Star", "TigerKing", "momo", "kk_lover",
    "NightOwl", "pixel_panda", "lemon_tea", "RiverStone", "MangoJuice", "小熊猫",
    "夜猫子", "奶茶不加糖", "追风少年", "小确幸", "momo酱", "阿狸",
)  # fmt: skip
# Names tried by SSH brute-force bots; labelled USERNAME like any account name.
_SSH_USERS: Final = (
    "admin", "oracle", "test", "ubuntu", "deploy", "git", "postgres", "support",
    "guest", "ftpuser", "hadoop", "pi", "jenkins", "user1", "minecraft",
)  # fmt: skip
_EMAIL_DOMAINS: Final = (
    "example.com", "example.org", "example.net", "mail.example.com", "corp.example.org",
    "shop.example.com", "users.example", "inbox.test",
)  # fmt: skip
_CN_MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147",
    "150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "170", "171",
    "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
    "187", "188", "189", "191", "198", "199",
)  # fmt: skip
# First octets of ordinary-looking public IPv4 addresses (many in Chinese ISP space).
_PUBLIC_V4_FIRST: Final = (
    1, 8, 14, 23, 24, 27, 36, 39, 42, 49, 58, 59, 60, 61, 66, 71, 73, 81, 89, 95, 101,
    103, 106, 110, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121, 122, 123, 124, 125,
    139, 140, 144, 171, 175, 180, 182, 183, 185, 202, 210, 211, 218, 219, 220, 221, 222,
)  # fmt: skip
_DOC_V4: Final = ("192.0.2", "198.51.100", "203.0.113")
_CARD_BINS: Final = (
    # (issuer prefix, possible lengths); UnionPay 62x debit cards reach 19 digits.
    ("622202", (16, 19)), ("621700", (16, 19)), ("622848", (16, 19)), ("625907", (16,)),
    ("623058", (16, 19)), ("621226", (16, 19)), ("622588", (16,)), ("6214", (16, 17, 18)),
    ("4", (16,)), ("4", (16,)), ("51", (16,)), ("53", (16,)), ("55", (16,)),
    ("2221", (16,)), ("37", (15,)), ("3528", (16,)),
)  # fmt: skip
_IMSI_PLMN: Final = (
    "46000", "46001", "46002", "46003", "46007", "46011", "46015", "310260", "310410",
    "311480", "23415", "23410", "23420", "26201", "26202", "44010", "44020", "45400",
    "50501", "20801",
)  # fmt: skip
_ICCID_PREFIX: Final = ("898600", "898601", "898603", "898611", "8901260", "894411", "894920")
_MAC_OUIS: Final = (
    "3C5AB4", "F01898", "ACDE48", "001A11", "8C8590", "F4F5D8", "B827EB", "DCA632",
    "286C07", "640980", "F8A45F", "A45046", "D46E0E", "9C2EA1",
)  # fmt: skip
_RIC_REGIONS: Final = (
    "110101", "110105", "310104", "310115", "440305", "440106", "330106", "320102",
    "510107", "420111", "500103", "610113", "370202", "350203", "120101", "210102",
)  # fmt: skip
_CITIES: Final = (
    (31.2304, 121.4737), (39.9042, 116.4074), (22.5431, 114.0579), (30.2741, 120.1551),
    (23.1291, 113.2644), (30.5728, 104.0668), (40.7128, -74.0060), (51.5074, -0.1278),
    (37.7749, -122.4194), (35.6762, 139.6503), (-33.8688, 151.2093), (48.8566, 2.3522),
)  # fmt: skip
_EN_STREETS: Final = ("Maple", "Oak", "Cedar", "Elm", "Pine", "Lakeview", "Hillcrest", "Willow")
_EN_STREET_TYPES: Final = ("Street", "Avenue", "Road", "Lane", "Drive", "Blvd", "Court")
_EN_CITIES: Final = (
    ("Springfield", "IL"), ("Riverton", "WY"), ("Fairview", "TX"), ("Madison", "WI"),
    ("Georgetown", "KY"), ("Salem", "OR"), ("Franklin", "TN"), ("Clinton", "IA"),
)  # fmt: skip
_CN_CITIES: Final = (
    "上海市浦东新区", "北京市朝阳区", "广东省深圳市南山区", "浙江省杭州市西湖区",
    "四川省成都市武侯区", "江苏省南京市鼓楼区", "湖北省武汉市洪山区", "广东省广州市天河区",
)  # fmt: skip
_CN_ROADS: Final = ("世纪大道", "建国路", "科技园南路", "文三路", "人民南路", "中山北路", "珞喻路")
_SERVICES: Final = (
    "order-service", "user-center", "payment-gateway", "api-gateway", "device-registry",
    "location-tracker", "auth-server", "push-service", "risk-engine", "cart-svc",
    "profile-api", "sms-sender", "checkout", "search-svc", "ad-tracker",
)  # fmt: skip
_DEVICE_MODELS: Final = (
    "SM-S9180", "M2102J2SC", "iPhone15,2", "Pixel 8", "V2307A", "PGT-AN00", "ELS-AN00",
    "22081212C", "MI 9", "ONEPLUS A6010", "iPhone14,5", "SM-G9910",
)  # fmt: skip
_THREADS: Final = (
    "http-nio-8080-exec-7", "main", "pool-3-thread-12", "grpc-default-executor-4",
    "DefaultDispatcher-worker-2", "OkHttp Dispatcher", "RxCachedThreadScheduler-3",
    "kafka-producer-network-thread", "scheduling-1", "reactor-http-epoll-2",
)  # fmt: skip
_CLASSES: Final = (
    "com.example.order.service.OrderServiceImpl", "o.a.k.c.c.i.ConsumerCoordinator",
    "org.springframework.web.servlet.DispatcherServlet", "c.e.p.PaymentController",
    "io.grpc.netty.NettyServerHandler", "dfs.DataNode$PacketResponder",
    "com.example.device.RegisterHandler", "c.e.u.ProfileService", "okhttp3.OkHttpClient",
)  # fmt: skip
_LEVELS: Final = ("INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG", "info", "warning", "error")
_METHODS: Final = ("GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH")
_STATUSES: Final = (200, 200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 429, 500, 502)
_PATHS: Final = (
    "/api/v1/orders", "/api/v1/cart/items", "/healthz", "/static/js/app.3f2a9c.js",
    "/v1/config", "/graphql", "/api/v1/devices/register", "/login", "/user/profile",
    "/cart/checkout", "/api/v2/search", "/metrics", "/api/v1/push/ack", "/favicon.ico",
)  # fmt: skip
_SERVER_PORTS: Final = (80, 443, 8080, 8443, 9092, 6379, 3306, 50010, 9000, 8000)
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TZS: Final = (
    UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=1)),
)  # fmt: skip
_LOGCAT_TAGS: Final = (
    "ActivityManager", "DeviceInfo", "LoginActivity", "LocationService", "OkHttp",
    "PushReceiver", "WifiStateMachine", "TelephonyManager", "AccountSync", "Choreographer",
)  # fmt: skip
_B62: Final = string.ascii_letters + string.digits
_WEBKIT: Final = "AppleWebKit/537.36 (KHTML, like Gecko)"
_MOBILE_SAFARI: Final = "Mobile Safari/537.36"
_B64URL: Final = _B62 + "-_"
_PW_PUNCT: Final = "!$*-_."
# Key-name styles for JSON fields; "dot" writes ECS-style literal dotted keys.
_STYLES: Final = ("snake", "camel", "upper", "kebab", "pascal", "lower", "dot")
_STYLE_WEIGHTS: Final = (38, 30, 8, 4, 8, 6, 6)
_ACRONYMS: Final = frozenset(
    {"ip", "id", "imei", "imsi", "mac", "url", "ua", "gps", "udid", "iccid", "meid", "idfa",
     "os", "sn", "sv", "uid", "jwt", "api"}
)  # fmt: skip
_HEALTH_UAS: Final = (
    "kube-probe/1.28", "ELB-HealthChecker/2.0", "Prometheus/2.48.0", "Consul Health Check",
)  # fmt: skip

_N = TypeVar("_N", int, float)
_J = dict[str, Any]


def _num_text(value: float) -> str:
    """Return a JSON number exactly as orjson writes it (the form a label must use)."""
    return orjson.dumps(value).decode()


def _dumps(doc: _J) -> bytes:
    return orjson.dumps(doc)


def _fmt_key(tokens: Sequence[str], style: str, acronyms: bool) -> str:
    """Spell a field name from lowercase tokens in one naming style."""
    if len(tokens) == 1 and style == "dot":
        style = "snake"

    def cap(tok: str) -> str:
        return tok.upper() if acronyms and tok in _ACRONYMS else tok.capitalize()

    if style == "snake":
        return "_".join(tokens)
    if style == "camel":
        if acronyms and len(tokens) == 1 and tokens[0] in _ACRONYMS:
            return tokens[0].upper()  # deviceInfo.IMEI, ctx.IP
        return tokens[0] + "".join(cap(t) for t in tokens[1:])
    if style == "pascal":
        return "".join(cap(t) for t in tokens)
    if style == "upper":
        return "_".join(tokens).upper()
    if style == "kebab":
        return "-".join(tokens)
    if style == "lower":
        return "".join(tokens)
    return ".".join(tokens)


class _KeyStyle:
    """Field-name spelling for one record: a dominant style with occasional strays."""

    __slots__ = ("acronyms", "rng", "style")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.style = rng.choices(_STYLES, weights=_STYLE_WEIGHTS)[0]
        self.acronyms = rng.random() < 0.5

    def __call__(self, *tokens: str) -> str:
        # Real services are inconsistent: ~1 field in 8 uses another convention.
        style = self.style if self.rng.random() < 0.88 else self.rng.choice(_STYLES)
        return _fmt_key(tokens, style, self.acronyms)


def _put(d: _J, path: Sequence[str], value: Any) -> None:
    """Set ``value`` at a nested ``path``, renaming a segment instead of overwriting.

    Overwriting would silently remove an already labelled value from the line.
    """
    for seg in path[:-1]:
        cur = d.get(seg)
        if cur is None:
            nxt: _J = {}
            d[seg] = nxt
            d = nxt
        elif isinstance(cur, dict):
            d = cur
        else:
            alt = _free_key(d, seg)
            nxt = {}
            d[alt] = nxt
            d = nxt
    d[_free_key(d, path[-1])] = value


def _free_key(d: _J, key: str) -> str:
    if key not in d:
        return key
    i = 2
    while f"{key}_{i}" in d:
        i += 1
    return f"{key}_{i}"


class _Rec:
    """Collects the labels of one line while it is being built."""

    __slots__ = ("allow_pii", "keep", "pii")

    def __init__(self, allow_pii: bool) -> None:
        self.allow_pii = allow_pii
        self.pii: list[Label] = []
        self.keep: list[Label] = []

    def p(self, entity: str, value: str) -> str:
        """Label ``value`` as personal data and return it."""
        if not self.allow_pii:
            # A generator bug, not a data condition: a PII-free record must stay clean.
            msg = f"corpus bug: {entity} generated in a PII-free record"
            raise RuntimeError(msg)
        self.pii.append(Label(value, entity))
        return value

    def pn(self, entity: str, value: _N) -> _N:
        """Label a JSON number as personal data and return it."""
        self.p(entity, _num_text(value))
        return value

    def k(self, kind: str, value: str) -> str:
        """Label ``value`` as must-keep and return it."""
        if len(value) >= _MIN_KEEP_LEN:
            self.keep.append(Label(value, KEEP_PREFIX + kind))
        return value

    def kn(self, kind: str, value: _N) -> _N:
        """Label a JSON number as must-keep and return it."""
        self.k(kind, _num_text(value))
        return value


_Section = Callable[["_Corpus", _J, _Rec, _KeyStyle], None]


class _Corpus:
    """Stateful generator; one instance per ``generate_labelled`` call."""

    def __init__(self, seed: int) -> None:
        # Not for security: a seeded, reproducible stream of synthetic test data.
        self.rng = random.Random(seed)  # noqa: S311
        self.t = _T0 + self.rng.uniform(0, 365 * 86_400)

    # -- primitives ----------------------------------------------------------------------

    def hexs(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def digits(self, n: int) -> str:
        return f"{self.rng.randrange(10**n):0{n}d}"

    def b62(self, n: int) -> str:
        return "".join(self.rng.choices(_B62, k=n))

    def uuid(self, upper: bool = False) -> str:
        h = self.hexs(32)
        # Set the RFC 4122 version-4 and variant nibbles so it looks like a real uuid4.
        v = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
        return v.upper() if upper else v

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- time ----------------------------------------------------------------------------

    def tick(self) -> None:
        self.t += self.rng.expovariate(2.0)

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.t, tz=self.rng.choice(_TZS))

    def ts_json(self, r: _Rec) -> str | int | float:
        """A timestamp in one of the shapes services write to JSON."""
        dt = self.dt()
        ms = dt.microsecond // 1000
        x = self.rng.randrange(9)
        if x == 0:
            return r.kn("epoch", int(self.t * 1000))
        if x == 1:
            return r.kn("epoch", int(self.t))
        if x == 2:
            return r.kn("epoch", round(self.t, 3))
        if x == 3:
            utc = dt.astimezone(UTC)
            return r.k("timestamp", f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z")
        if x == 4:
            return r.k("timestamp", dt.isoformat(timespec="microseconds"))
        if x == 5:
            return r.k("timestamp", f"{dt:%Y-%m-%d %H:%M:%S},{ms:03d}")
        if x == 6:
            return r.k("timestamp", f"{dt:%Y/%m/%d %H:%M:%S}")
        if x == 7:
            utc = dt.astimezone(UTC)
            wd = _WEEKDAYS[utc.weekday()]
            mon = _MONTHS[utc.month - 1]
            return r.k("timestamp", f"{wd}, {utc.day:02d} {mon} {utc.year} {utc:%H:%M:%S} GMT")
        return r.k("timestamp", dt.isoformat(timespec="milliseconds"))

    def ts_clf(self, r: _Rec) -> str:
        """Common Log Format time, e.g. ``15/Mar/2024:08:21:07 +0800``."""
        dt = self.dt()
        return r.k("timestamp", f"{dt.day:02d}/{_MONTHS[dt.month - 1]}/{dt:%Y:%H:%M:%S %z}")

    def ts_syslog(self, r: _Rec) -> str:
        """RFC 3164 time, e.g. ``Mar  5 08:21:07`` (day padded with a space)."""
        dt = self.dt()
        return r.k("timestamp", f"{_MONTHS[dt.month - 1]} {dt.day:2d} {dt:%H:%M:%S}")

    def ts_iso(self, r: _Rec) -> str:
        dt = self.dt()
        if self.chance(0.3):
            utc = dt.astimezone(UTC)
            return r.k("timestamp", f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z")
        return r.k(
            "timestamp", dt.isoformat(timespec=self.rng.choice(("milliseconds", "microseconds")))
        )

    # -- PII values ----------------------------------------------------------------------

    def ipv4(self, public_only: bool = False) -> str:
        rng = self.rng
        x = rng.random()
        if x < 0.3:
            return f"{rng.choice(_DOC_V4)}.{rng.randint(1, 254)}"
        if x < 0.55 and not public_only:
            y = rng.randrange(3)
            if y == 0:
                return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
            if y == 1:
                return f"172.{rng.randint(16, 31)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
            return f"192.168.{rng.randrange(256)}.{rng.randint(1, 254)}"
        first = rng.choice(_PUBLIC_V4_FIRST)
        return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"

    def ipv6(self) -> str:
        rng = self.rng

        def h() -> str:
            return f"{rng.getrandbits(16):x}"

        x = rng.randrange(7)
        if x == 0:
            return f"2001:db8:{h()}:{h()}::{h()}"
        if x == 1:
            groups = ":".join(f"{rng.getrandbits(16):04x}" for _ in range(6))
            return f"2001:0db8:{groups}"
        if x == 2:
            return f"240e:{h()}:{h()}:{h()}:{h()}:{h()}:{h()}:{h()}"
        if x == 3:
            return f"2408:8207:{h()}:{h()}::{h()}"
        if x == 4:
            return f"2a02:{h()}:{h()}:{h()}:{h()}:{h()}:{h()}:{h()}"
        if x == 5:
            return f"fe80::{h()}:{rng.getrandbits(8):x}ff:fe{rng.getrandbits(8):02x}:{h()}"
        return "::ffff:" + self.ipv4()

    def ip(self, r: _Rec, v6: float = 0.2) -> str:
        return r.p("IP_ADDRESS", self.ipv6() if self.chance(v6) else self.ipv4())

    def email(self, r: _Rec) -> str:
        rng = self.rng
        first = rng.choice(_FIRST_NAMES + _PINYIN_GIVEN).lower()
        last = rng.choice(_LAST_NAMES + _PINYIN_SURNAMES).lower()
        x = rng.randrange(6)
        if x == 0:
            local = f"{first}.{last}"
        elif x == 1:
            local = f"{first[0]}{last}{rng.randint(1, 99)}"
        elif x == 2:
            local = f"{last}_{first}"
        elif x == 3:
            local = f"{rng.choice(('sunny', 'tiger', 'panda', 'lemon', 'river'))}{self.digits(4)}"
        elif x == 4:
            local = f"{first}.{last}+{rng.choice(('shop', 'news', 'bills'))}"
        else:
            local = f"{first.capitalize()}.{last.capitalize()}"
        return r.p("EMAIL_ADDRESS", f"{local}@{rng.choice(_EMAIL_DOMAINS)}")

    def cn_mobile_raw(self) -> str:
        return self.rng.choice(_CN_MOBILE_PREFIXES) + self.digits(8)

    def cn_mobile(self, r: _Rec) -> str:
        n = self.cn_mobile_raw()
        a, b, c = n[:3], n[3:7], n[7:]
        forms = (
            n,
            n,
            n,
            f"+86{n}",
            f"+86 {n}",
            f"+86 {a} {b} {c}",
            f"+86-{a}-{b}-{c}",
            f"0086{n}",
            f"0086 {n}",
            f"{a} {b} {c}",
            f"{a}-{b}-{c}",
            f"(+86){n}",
            f"+86 {a}-{b}-{c}",
        )
        return r.p("PHONE_NUMBER", self.rng.choice(forms))

    def intl_phone(self, r: _Rec) -> str:
        rng = self.rng
        x = rng.randrange(8)
        if x < 3:
            area = rng.choice(("202", "212", "310", "415", "617", "646", "718"))
            last = f"01{rng.randrange(100):02d}"
            v = rng.choice(
                (
                    f"+1 {area}-555-{last}",
                    f"+1 ({area}) 555-{last}",
                    f"+1{area}555{last}",
                    f"({area}) 555-{last}",
                    f"+1-{area}-555-{last}",
                )
            )
        elif x < 5:
            d3 = f"{rng.randrange(1000):03d}"
            v = rng.choice(
                (f"+44 20 7946 0{d3}", f"+44 7700 900{d3}", f"+447700900{d3}", f"020 7946 0{d3}")
            )
        elif x == 5:
            v = rng.choice(
                (f"+49 30 {self.digits(8)}", f"+49 151 {self.digits(4)} {self.digits(4)}")
            )
        elif x == 6:
            v = rng.choice(
                (
                    f"+81 3-{self.digits(4)}-{self.digits(4)}",
                    f"+81 90-{self.digits(4)}-{self.digits(4)}",
                )
            )
        else:
            v = rng.choice(
                (
                    f"+852 {rng.choice('5689')}{self.digits(3)} {self.digits(4)}",
                    f"+65 8{self.digits(3)} {self.digits(4)}",
                )
            )
        return r.p("PHONE_NUMBER", v)

    def phone(self, r: _Rec) -> str:
        return self.cn_mobile(r) if self.chance(0.7) else self.intl_phone(r)

    def card_number(self) -> str:
        prefix, lengths = self.rng.choice(_CARD_BINS)
        length = self.rng.choice(lengths)
        body = prefix + self.digits(length - 1 - len(prefix))
        return body + luhn.calc_check_digit(body)

    def card(self, r: _Rec) -> str:
        n = self.card_number()
        groups4 = [n[i : i + 4] for i in range(0, len(n), 4)]
        x = self.rng.randrange(6)
        if x <= 1:
            v = n
        elif x == 2:
            v = " ".join(groups4)
        elif x == 3:
            v = "-".join(groups4)
        elif x == 4 and len(n) == 15:
            v = f"{n[:4]} {n[4:10]} {n[10:]}"
        elif x == 4:
            v = f"{n[:6]} {n[6:]}"
        else:
            v = " ".join(groups4) if self.chance(0.5) else n
        return r.p("CREDIT_CARD", v)

    def expiry(self, r: _Rec) -> str:
        mm = self.rng.randint(1, 12)
        yy = self.rng.randint(25, 33)
        v = self.rng.choice(
            (f"{mm:02d}/{yy}", f"{mm:02d}/{yy}", f"{mm:02d}/20{yy}", f"20{yy}-{mm:02d}")
        )
        return r.p("CARD_EXPIRY", v)

    def imei_raw(self) -> str:
        tac = self.rng.choice(("35", "86", "01", "49", "35", "86")) + self.digits(6)
        body = tac + self.digits(6)
        return body + luhn.calc_check_digit(body)

    def imei(self, r: _Rec) -> str:
        n = self.imei_raw()
        x = self.rng.random()
        if x < 0.8:
            v = n
        elif x < 0.92:
            v = f"{n[:2]}-{n[2:8]}-{n[8:14]}-{n[14]}"
        else:
            v = f"{n[:2]} {n[2:8]} {n[8:14]} {n[14]}"
        return r.p("IMEI", v)

    def imeisv(self, r: _Rec) -> str:
        # IMEISV = TAC + serial + 2-digit software version; no check digit.
        return r.p("IMEISV", self.imei_raw()[:14] + f"{self.rng.randrange(100):02d}")

    def meid(self, r: _Rec) -> str:
        h = self.rng.choice(("A0", "A1", "A0")) + f"{self.rng.getrandbits(48):012X}"
        x = self.rng.randrange(3)
        if x == 0:
            v = h
        elif x == 1:
            v = h + stdnum_meid.calc_check_digit(h)
        else:
            v = f"{int(h[:8], 16):010d}{int(h[8:], 16):08d}"  # decimal MEID form
        return r.p("MEID", v)

    def imsi(self, r: _Rec) -> str:
        plmn = self.rng.choice(_IMSI_PLMN)
        return r.p("IMSI", plmn + self.digits(15 - len(plmn)))

    def iccid(self, r: _Rec) -> str:
        prefix = self.rng.choice(_ICCID_PREFIX)
        body = prefix + self.digits(self.rng.choice((18, 19)) - len(prefix))
        return r.p("ICCID", body + luhn.calc_check_digit(body))

    def mac(self, r: _Rec) -> str:
        raw = self.rng.choice(_MAC_OUIS) + f"{self.rng.getrandbits(24):06X}"
        pairs = [raw[i : i + 2] for i in range(0, 12, 2)]
        x = self.rng.randrange(7)
        if x <= 1:
            v = ":".join(pairs)
        elif x == 2:
            v = ":".join(pairs).lower()
        elif x == 3:
            v = "-".join(pairs)
        elif x == 4:
            v = "-".join(pairs).lower()
        elif x == 5:
            lo = raw.lower()
            v = f"{lo[:4]}.{lo[4:8]}.{lo[8:]}"
        else:
            v = raw if self.chance(0.5) else raw.lower()
        return r.p("MAC_ADDRESS", v)

    def android_id(self, r: _Rec) -> str:
        return r.p("ANDROID_ID", f"{self.rng.randrange(1, 16):x}{self.hexs(15)}")

    def openudid(self, r: _Rec) -> str:
        return r.p("OPENUDID", self.hexs(40))

    def idfa(self, r: _Rec) -> str:
        return r.p("IDFA", self.uuid(upper=True))

    def device_id(self, r: _Rec) -> str:
        x = self.rng.randrange(3)
        u = self.uuid(upper=x == 1)
        return r.p("DEVICE_ID", "{" + u.upper() + "}" if x == 2 else u)

    def serial(self, r: _Rec) -> str:
        rng = self.rng
        up = string.ascii_uppercase + string.digits
        x = rng.randrange(5)
        if x == 0:
            v = "R58" + rng.choice("MNR") + "".join(rng.choices(up, k=7))  # Samsung
        elif x == 1:
            v = rng.choice(("C02", "F2L", "DNP", "G6T")) + "".join(rng.choices(up, k=9))  # Apple
        elif x == 2:
            v = "ZY22" + "".join(rng.choices(up, k=6))  # Motorola
        elif x == 3:
            v = "HT" + self.digits(2) + "".join(rng.choices(up, k=8))
        else:
            v = self.hexs(8) + self.digits(4)
        return r.p("DEVICE_SERIAL", v)

    def cn_id(self, r: _Rec) -> str:
        number = ""
        for _ in range(50):
            birth = datetime(1950, 1, 1, tzinfo=UTC) + timedelta(days=self.rng.randrange(20_800))
            body = f"{self.rng.choice(_RIC_REGIONS)}{birth:%Y%m%d}{self.digits(3)}"
            # stdnum's calc_check_digit ignores the last character: pass a placeholder.
            number = body + ric.calc_check_digit(body + "0")
            # A county code is only valid for the years it existed; stdnum checks that too.
            if ric.is_valid(number):
                break
        return r.p("CN_RESIDENT_ID", number)

    def coord(self) -> tuple[float, float]:
        lat0, lng0 = self.rng.choice(_CITIES)
        nd = self.rng.choice((5, 6, 6))
        lat = round(lat0 + self.rng.uniform(-0.25, 0.25), nd)
        lng = round(lng0 + self.rng.uniform(-0.25, 0.25), nd)
        # Precise fixes only: a value with < 4 decimals is city-level, not personal.
        if len(repr(lat).partition(".")[2]) < 4 or len(repr(lng).partition(".")[2]) < 4:
            lat, lng = lat + 0.000013, lng + 0.000017
            lat, lng = round(lat, 6), round(lng, 6)
        return lat, lng

    def user_agent(self, r: _Rec) -> str:
        rng = self.rng
        x = rng.randrange(10)
        cv = rng.randint(100, 124)
        chrome = f"Chrome/{cv}.0.{rng.randint(5000, 6500)}.{rng.randint(10, 200)}"
        model = rng.choice(_DEVICE_MODELS)
        if x == 0:
            v = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} {chrome} Safari/537.36"
        elif x == 1:
            ios = rng.choice(("17_2_1", "16_6", "17_4", "15_7_9"))
            major, minor = ios.split("_")[:2]
            v = (
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/{major}.{minor} Mobile/15E148 Safari/604.1"
            )
        elif x == 2:
            fv = rng.randint(115, 125)
            v = f"Mozilla/5.0 (X11; Linux x86_64; rv:{fv}.0) Gecko/20100101 Firefox/{fv}.0"
        elif x == 3:
            platform = f"(Linux; Android {rng.randint(10, 14)}; {model})"
            v = f"Mozilla/5.0 {platform} {_WEBKIT} {chrome} {_MOBILE_SAFARI}"
        elif x == 4:
            wechat = f"MicroMessenger/8.0.{rng.randint(30, 47)}.2502(0x28002C51)"
            v = (
                f"Mozilla/5.0 (Linux; Android 13; {model} Build/TKQ1.221114.001; wv) {_WEBKIT} "
                f"Version/4.0 {chrome} {_MOBILE_SAFARI} {wechat} NetType/WIFI Language/zh_CN"
            )
        elif x == 5:
            android = rng.randint(9, 14)
            v = f"Dalvik/2.1.0 (Linux; U; Android {android}; {model} Build/{self.build_id_raw()})"
        elif x == 6:
            v = rng.choice(("okhttp/4.9.3", "okhttp/4.12.0", "okhttp/3.12.13", "okhttp/4.10.0"))
        elif x == 7:
            ios_version = rng.choice(("17.2.1", "16.6", "17.4"))
            v = f"ShopApp/{self.app_version_raw()} (iPhone; iOS {ios_version}; Scale/3.00)"
        elif x == 8:
            v = f"ShopApp/{rng.randint(5000, 5200)} CFNetwork/1490.0.4 Darwin/23.2.0"
        else:
            v = (
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} "
                f"Chrome/{cv}.0.0.0 Safari/537.36 Edg/{cv}.0.2210.91"
            )
        return r.p("USER_AGENT", v)

    def first_name(self) -> str:
        return self.rng.choice(_FIRST_NAMES)

    def person(self, r: _Rec) -> str:
        x = self.rng.random()
        if x < 0.55:
            v = f"{self.rng.choice(_FIRST_NAMES)} {self.rng.choice(_LAST_NAMES)}"
        elif x < 0.8:
            v = f"{self.rng.choice(_PINYIN_SURNAMES)} {self.rng.choice(_PINYIN_GIVEN)}"
        else:
            v = self.rng.choice(_HANZI_NAMES)
        return r.p("PERSON", v)

    def nickname(self, r: _Rec) -> str:
        v = self.rng.choice(_NICK_WORDS)
        if self.chance(0.5):
            v += str(self.rng.randint(1, 2099))
        return r.p("NICKNAME", v)

    def username(self, r: _Rec, ssh: bool = False) -> str:
        rng = self.rng
        if ssh and self.chance(0.6):
            return r.p("USERNAME", rng.choice(_SSH_USERS))
        first = rng.choice(_FIRST_NAMES + _PINYIN_GIVEN).lower()
        last = rng.choice(_LAST_NAMES + _PINYIN_SURNAMES).lower()
        v = rng.choice(
            (
                f"{first[0]}{last}",
                f"{first}.{last}",
                f"{last}_{first[:2]}{rng.randint(1, 99)}",
                f"{first}{rng.randint(70, 2005)}",
            )
        )
        return r.p("USERNAME", v)

    def user_id(self, r: _Rec) -> str:
        return r.p("USER_ID", str(self.rng.randint(10_000_000, 2_999_999_999)))

    def dob(self, r: _Rec) -> str:
        d = datetime(1955, 1, 1, tzinfo=UTC) + timedelta(days=self.rng.randrange(18_600))
        fmt = self.rng.choice(
            ("%Y-%m-%d", "%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")
        )
        return r.p("DATE_OF_BIRTH", d.strftime(fmt))

    def gender(self, r: _Rec) -> str:
        return r.p(
            "GENDER", self.rng.choice(("male", "female", "Male", "Female", "FEMALE", "男", "女"))
        )

    def address(self, r: _Rec) -> str:
        rng = self.rng
        if self.chance(0.55):
            city, state = rng.choice(_EN_CITIES)
            apt = f", Apt {rng.randint(1, 30)}{rng.choice('ABCD')}" if self.chance(0.3) else ""
            v = (
                f"{rng.randint(1, 9899)} {rng.choice(_EN_STREETS)} "
                f"{rng.choice(_EN_STREET_TYPES)}{apt}, "
                f"{city}, {state} {self.digits(5)}"
            )
        else:
            v = f"{rng.choice(_CN_CITIES)}{rng.choice(_CN_ROADS)}{rng.randint(1, 999)}号"
            if self.chance(0.6):
                v += f"{rng.randint(1, 30)}栋{rng.randint(1, 32)}{rng.randint(1, 4):02d}室"
        return r.p("POSTAL_ADDRESS", v)

    def payment_account(self, r: _Rec) -> str:
        x = self.rng.randrange(4)
        if x == 0:
            v = self.cn_mobile_raw()
        elif x == 1:
            local = f"{self.rng.choice(_PINYIN_GIVEN).lower()}{self.digits(3)}"
            v = f"{local}@{self.rng.choice(_EMAIL_DOMAINS)}"
        elif x == 2:
            v = "o" + "".join(self.rng.choices(_B64URL, k=27))  # WeChat openid shape
        else:
            v = "wxid_" + "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=14))
        return r.p("PAYMENT_ACCOUNT", v)

    def password(self, r: _Rec) -> str:
        rng = self.rng
        word = rng.choice(
            ("Tr0ub4dor", "hunter", "P4ssw0rd", "Summer", "qwerty", "dragon", "S3cr3t", "letmein")
        )
        return r.p("PASSWORD", f"{word}{rng.randint(1, 9999)}{rng.choice(_PW_PUNCT)}{self.b62(3)}")

    def token(self, r: _Rec) -> str:
        v = (
            "ya29." + "".join(self.rng.choices(_B64URL, k=60))
            if self.chance(0.3)
            else self.b62(self.rng.randint(32, 48))
        )
        return r.p("ACCESS_TOKEN", v)

    def jwt(self, r: _Rec) -> str:
        def b64(obj: Any) -> str:
            return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()

        head = b64({"alg": self.rng.choice(("HS256", "RS256")), "typ": "JWT"})
        iat = int(self.t)
        body = b64(
            {"sub": str(self.rng.randint(10_000_000, 99_999_999)), "iat": iat, "exp": iat + 7200}
        )
        sig = "".join(self.rng.choices(_B64URL, k=43))
        return r.p("JWT", f"{head}.{body}.{sig}")

    def api_key(self, r: _Rec) -> str:
        rng = self.rng
        x = rng.randrange(4)
        if x == 0:
            v = "sk_test_" + self.b62(24)
        elif x == 1:
            v = "AKIA" + "".join(rng.choices(string.ascii_uppercase + "234567", k=16))
        elif x == 2:
            v = "AIza" + "".join(rng.choices(_B64URL, k=35))
        else:
            v = "ghp_" + self.b62(36)
        return r.p("API_KEY", v)

    # -- keep values -----------------------------------------------------------------------

    def trace_id(self, r: _Rec) -> str:
        return r.k("trace_id", self.hexs(32))

    def span_id(self, r: _Rec) -> str:
        return r.k("span_id", self.hexs(16))

    def request_id(self, r: _Rec) -> str:
        x = self.rng.randrange(4)
        if x <= 1:
            v = self.uuid()
        elif x == 2:
            v = "req-" + self.hexs(12)
        else:
            v = self.b62(20)
        return r.k("request_id", v)

    def order_id(self, r: _Rec) -> str:
        dt = datetime.fromtimestamp(self.t, tz=_TZS[1])
        x = self.rng.randrange(4)
        if x == 0:
            v = f"ORD{dt:%Y%m%d}{self.digits(8)}"
        elif x == 1:
            v = f"{dt:%Y%m%d%H%M%S}{self.digits(4)}"  # 18 digits, resident-id shaped
        elif x == 2:
            v = f"1{self.digits(18)}"  # 19-digit snowflake id, card shaped
        else:
            v = f"{dt:%Y%m%d}2200{self.digits(16)}"  # Alipay-style trade number
        return r.k("order_id", v)

    def block_id(self, r: _Rec) -> str:
        x = self.rng.randrange(3)
        if x == 0:
            v = f"blk_-{self.rng.randint(10**17, 9 * 10**18)}"
        elif x == 1:
            v = f"blk_{self.rng.randint(10**17, 9 * 10**18)}"
        else:
            v = f"blk_{self.rng.randint(1073741825, 1099999999)}_{self.rng.randint(1001, 999999)}"
        return r.k("block_id", v)

    def build_id_raw(self) -> str:
        rng = self.rng
        return (
            f"{rng.choice('QRSTU')}{rng.choice('PKQ')}{rng.randint(1, 3)}A."
            f"{rng.randint(19, 24)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}."
            f"{rng.randint(1, 99):03d}"
        )

    def build_id(self, r: _Rec) -> str:
        v = self.build_id_raw() if self.chance(0.8) else f"V14.0.{self.rng.randint(1, 9)}.0.TLACNXM"
        return r.k("build_id", v)

    def app_version_raw(self) -> str:
        return f"{self.rng.randint(1, 12)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 9)}"

    def version(self, r: _Rec) -> str:
        rng = self.rng
        x = rng.randrange(5)
        if x <= 1:
            v = self.app_version_raw()
        elif x == 2:
            # Four-part versions are IPv4-shaped: the classic false positive.
            v = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((1, 12), (0, 9), (0, 300), (0, 9)))
        elif x == 3:
            v = f"10.0.{rng.randint(17763, 22631)}.{rng.randint(100, 4000)}"
        else:
            base = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((1, 9), (0, 20), (0, 9)))
            v = f"{base}-rc.{rng.randint(1, 5)}"
        return r.k("version", v)

    def commit(self, r: _Rec) -> str:
        return r.k("commit", self.hexs(40) if self.chance(0.7) else self.hexs(7))

    def host(self, r: _Rec) -> str:
        rng = self.rng
        x = rng.randrange(4)
        if x == 0:
            suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=5))
            v = f"{rng.choice(_SERVICES)}-{self.hexs(9)}-{suffix}"  # a Kubernetes pod name
        elif x == 1:
            v = f"{rng.choice(('web', 'api', 'app', 'gw', 'worker'))}-{rng.randint(1, 40):02d}"
        elif x == 2:
            v = f"{rng.choice(('sh', 'bj', 'gz', 'hz'))}-prod-app-{rng.randint(1, 99)}"
        else:
            zone = rng.choice(("idc2", "az1", "az3"))
            v = f"k8s-node-{rng.randint(1, 300):03d}.{zone}.example.internal"
        return r.k("host", v)

    def service(self, r: _Rec) -> str:
        return r.k("service", self.rng.choice(_SERVICES))

    def path(self, r: _Rec) -> str:
        if self.chance(0.25):
            # Order ids in a path are keep values; the whole path must survive.
            return r.k("path", f"/api/v2/orders/{self.order_id(_Rec(False))}")
        return r.k("path", self.rng.choice(_PATHS))

    def duration(self, r: _Rec) -> str:
        x = self.rng.randrange(3)
        if x == 0:
            return r.k("duration", f"{self.rng.randint(1, 5000)}ms")
        if x == 1:
            return r.k("duration", f"{self.rng.uniform(0.001, 9):.3f}s")
        return r.k("duration", f"{self.rng.randint(100, 90000)}us")

    def pid(self, r: _Rec) -> str:
        return r.k("pid", str(self.rng.randint(100, 65535)))

    def port(self, r: _Rec) -> str:
        return r.k("port", str(self.rng.choice(_SERVER_PORTS)))

    def thread(self, r: _Rec) -> str:
        return r.k("thread", self.rng.choice(_THREADS))

    def cls(self, r: _Rec) -> str:
        return r.k("class", self.rng.choice(_CLASSES))

    def model(self, r: _Rec) -> str:
        return r.k("device_model", self.rng.choice(_DEVICE_MODELS))

    def nbytes(self, r: _Rec) -> int:
        return r.kn("bytes", self.rng.randint(100, 2_000_000))

    def status(self, r: _Rec) -> int:
        return r.kn("status", self.rng.choice(_STATUSES))

    def method(self, r: _Rec) -> str:
        return r.k("method", self.rng.choice(_METHODS))

    def level(self, r: _Rec) -> str:
        return r.k("level", self.rng.choice(_LEVELS))

    # -- free text -------------------------------------------------------------------------

    def query_value(self, r: _Rec, entity_value: Callable[[_Rec], str]) -> str:
        """A PII value as it appears URL-encoded in a query string (label the encoded form)."""
        scratch = _Rec(True)
        raw = entity_value(scratch)
        enc = quote(raw, safe="")
        return r.p(scratch.pii[0].entity, enc)

    def pii_url(self, r: _Rec) -> str:
        """A request URI whose query string carries personal data."""
        rng = self.rng
        path = r.k(
            "path",
            rng.choice(
                (
                    "/api/v1/user",
                    "/api/v1/login",
                    "/sso/callback",
                    "/api/v2/profile",
                    "/track",
                    "/api/v1/sms/send",
                    "/pay/notify",
                )
            ),
        )
        params: list[str] = []
        choices: tuple[tuple[str, Callable[[_Rec], str]], ...] = (
            ("mobile", self.cn_mobile),
            ("phone", self.phone),
            ("email", self.email),
            ("token", self.token),
            ("access_token", self.token),
            ("password", self.password),
            ("pwd", self.password),
            ("imei", self.imei),
            ("idfa", self.idfa),
            ("uid", self.user_id),
            ("username", self.username),
            ("api_key", self.api_key),
            ("ip", self.ip),
            ("card_no", self.card),
            ("id_card", self.cn_id),
        )
        for name, fn in rng.sample(choices, rng.randint(1, 3)):
            params.append(f"{name}={self.query_value(r, fn)}")
        if self.chance(0.5):
            params.append(f"ts={r.k('epoch', str(int(self.t * 1000)))}")
        if self.chance(0.4):
            params.append(f"v={r.k('version', self.app_version_raw())}")
        rng.shuffle(params)
        return f"{path}?{'&'.join(params)}"

    def clean_url(self, r: _Rec) -> str:
        path = self.path(r)
        if self.chance(0.3):
            return f"{path}?page={self.rng.randint(1, 50)}&size=20&sort=created_at"
        return path

    def prose_pii(self, r: _Rec) -> str:
        """One sentence of application log prose that embeds personal data."""
        return _render(self, r, self.rng.choice(_PII_PROSE))

    def prose_clean(self, r: _Rec) -> str:
        """One sentence of application log prose with only must-keep values."""
        return _render(self, r, self.rng.choice(_CLEAN_PROSE))

    # -- records ---------------------------------------------------------------------------

    def record(self, pii: bool) -> LabelledLine:
        self.tick()
        if self.chance(0.7):
            return self.json_record(pii)
        kind = self.rng.choices(
            ("nginx", "sshd", "logcat", "syslog", "text"), weights=(30, 15, 20, 15, 20)
        )[0]
        for _ in range(20):
            r = _Rec(pii)
            line = _TEXT_BUILDERS[kind](self, r, pii)
            if r.pii or not pii:
                return LabelledLine(line, tuple(r.pii), tuple(r.keep), kind)
        msg = f"corpus bug: {kind} builder produced no PII in 20 attempts"
        raise RuntimeError(msg)

    def json_record(self, pii: bool) -> LabelledLine:
        rng = self.rng
        r = _Rec(pii)
        ks = _KeyStyle(rng)
        doc: _J = {}
        self.base(doc, r, ks)
        body = doc
        if self.chance(0.25):
            # Many services wrap the event under one key; exercises nested paths.
            body = {}
            _put(doc, [rng.choice(("payload", "data", "event", "body", "detail", "context"))], body)
        schema = rng.choice(_SCHEMAS)
        if pii:
            sections = rng.sample(schema.pii, rng.randint(1, min(3, len(schema.pii))))
            if self.chance(0.25):
                sections.append(rng.choice(_ALL_PII_SECTIONS))
        else:
            sections = rng.sample(schema.clean, rng.randint(1, len(schema.clean)))
        for section in sections:
            section(self, body, r, ks)
        target = rng.randint(540, 880)
        out = _dumps(doc)
        fillers = list(_FILLERS)
        rng.shuffle(fillers)
        for filler in fillers:
            if len(out) >= target:
                break
            filler(self, body if self.chance(0.5) else doc, r, ks)
            out = _dumps(doc)
        if pii and not r.pii:
            msg = "corpus bug: a PII record without PII labels"
            raise RuntimeError(msg)
        return LabelledLine(out.decode(), tuple(r.pii), tuple(r.keep), "json")

    def base(self, d: _J, r: _Rec, ks: _KeyStyle) -> None:
        rng = self.rng
        ts_key = rng.choice(
            ("ts", "timestamp", "@timestamp", "time", None, "log_time", "TIMESTAMP")
        )
        _put(d, [ts_key or ks("event", "time")], self.ts_json(r))
        _put(
            d,
            [rng.choice(("level", "lvl", "severity", "log.level", ks("log", "level")))],
            self.level(r),
        )
        _put(
            d,
            [rng.choice(("service", "svc", "app", "service.name", ks("service", "name")))],
            self.service(r),
        )
        if self.chance(0.5):
            _put(d, [ks("env")], rng.choice(("prod", "staging", "gray", "pre")))
        if self.chance(0.7):
            _put(
                d,
                [rng.choice(("host", "hostname", "host.name", ks("host", "name"), "pod"))],
                self.host(r),
            )
        if self.chance(0.75):
            if self.chance(0.2):
                tp = f"00-{self.trace_id(r)}-{self.span_id(r)}-01"
                _put(d, [ks("traceparent")], tp)
            else:
                _put(
                    d,
                    [
                        rng.choice(
                            ("trace_id", "traceId", "trace.id", "X-B3-TraceId", ks("trace", "id"))
                        )
                    ],
                    self.trace_id(r),
                )
                if self.chance(0.7):
                    _put(
                        d,
                        [rng.choice(("span_id", "spanId", "span.id", ks("span", "id")))],
                        self.span_id(r),
                    )
        if self.chance(0.4):
            _put(
                d,
                [
                    rng.choice(
                        ("request_id", "requestId", "req_id", "X-Request-Id", ks("request", "id"))
                    )
                ],
                self.request_id(r),
            )


# ---------------------------------------------------------------------------------------
# JSON sections: each adds fields to a dict; PII sections add at least one PII label
# ---------------------------------------------------------------------------------------


def _container(
    g: _Corpus, d: _J, ks: _KeyStyle, *options: tuple[str, ...]
) -> tuple[_J, tuple[str, ...]]:
    """Where a group of fields goes: a nested object, or flat keys with a name prefix.

    Returns the dict to write into and the tokens to prefix field names with.
    """
    group = g.rng.choice(options)
    x = g.rng.random()
    if x < 0.55:
        # Nested: deviceInfo.IMEI, device.imei, ctx.client.ip, user.profile.nickname ...
        target: _J = {}
        path = [ks(*group)] if g.chance(0.5) else [ks(tok) for tok in group]
        _put(d, path, target)
        return target, ()
    if x < 0.8:
        # Flat with a prefix: device_imei, profileNickname ...
        return d, (group[0] if group[-1] in ("info", "profile") else group[-1],)
    return d, ()


def _s_client(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    x = rng.randrange(6)
    if x == 0:
        _put(
            d,
            [
                ks(
                    *rng.choice(
                        (
                            ("client", "ip"),
                            ("remote", "addr"),
                            ("src", "ip"),
                            ("ip",),
                            ("user", "ip"),
                            ("client", "address"),
                        )
                    )
                )
            ],
            g.ip(r),
        )
    elif x == 1:
        _put(d, [ks("ctx"), ks("client"), ks("ip")], g.ip(r))
        if g.chance(0.5):
            _put(d, [ks("ctx"), ks("client"), ks("port")], rng.randint(1024, 65535))
    elif x == 2:
        headers: _J = {}
        _put(d, [rng.choice(("headers", "request_headers", ks("req", "headers")))], headers)
        headers["X-Real-IP"] = g.ip(r, v6=0.1)
        if g.chance(0.6):
            xff = [g.ip(r, v6=0.1) for _ in range(rng.randint(1, 3))]
            headers["X-Forwarded-For"] = ", ".join(xff) if g.chance(0.5) else xff
        if g.chance(0.6):
            headers["User-Agent"] = g.user_agent(r)
        headers["Accept-Language"] = rng.choice(("zh-CN,zh;q=0.9", "en-US,en;q=0.8", "ja-JP"))
    elif x == 3:
        _put(d, [ks("x", "forwarded", "for")], [g.ip(r, v6=0.1) for _ in range(rng.randint(1, 3))])
    elif x == 4:
        ip = g.ip(r)
        v = (
            f"[{ip}]:{rng.randint(1024, 65535)}"
            if ":" in ip
            else f"{ip}:{rng.randint(1024, 65535)}"
        )
        _put(d, [ks(*rng.choice((("remote",), ("peer", "address"), ("client", "addr"))))], v)
    else:
        _put(d, ["client.ip" if g.chance(0.5) else ks("client", "ip")], g.ip(r))
        if g.chance(0.5):
            _put(
                d,
                ["user_agent.original" if g.chance(0.5) else ks("user", "agent")],
                g.user_agent(r),
            )


def _s_user_agent(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    if g.chance(0.3):
        _put(d, [ks("http"), ks("request"), ks("headers"), "user-agent"], g.user_agent(r))
    else:
        _put(
            d,
            [
                ks(
                    *g.rng.choice(
                        (
                            ("user", "agent"),
                            ("ua",),
                            ("agent",),
                            ("client", "ua"),
                            ("http", "user", "agent"),
                        )
                    )
                )
            ],
            g.user_agent(r),
        )


def _s_device(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(
        g,
        d,
        ks,
        ("device",),
        ("device", "info"),
        ("dev",),
        ("ctx", "device"),
        ("client", "device"),
        ("hardware",),
    )
    ids: list[tuple[tuple[str, ...], Callable[[_Rec], str]]] = [
        (rng.choice((("imei",), ("imei", "no"), ("imei1",))), g.imei),
        (rng.choice((("imeisv",), ("imei", "sv"))), g.imeisv),
        (rng.choice((("meid",), ("meid", "hex"))), g.meid),
        (rng.choice((("imsi",), ("sim", "imsi"), ("subscriber", "id"))), g.imsi),
        (rng.choice((("iccid",), ("sim", "serial"), ("icc", "id"))), g.iccid),
        (
            rng.choice(
                (("mac",), ("mac", "address"), ("wifi", "mac"), ("wlan", "mac"), ("bt", "mac"))
            ),
            g.mac,
        ),
        (rng.choice((("android", "id"), ("ssaid",), ("aid",))), g.android_id),
        (rng.choice((("idfa",), ("advertising", "id"), ("idfv",))), g.idfa),
        (rng.choice((("openudid",), ("open", "udid"), ("udid",))), g.openudid),
        (
            rng.choice(
                (("serial",), ("serial", "no"), ("hw", "serial"), ("sn",), ("serial", "number"))
            ),
            g.serial,
        ),
        (rng.choice((("device", "id"), ("guid",), ("device", "uuid"), ("did",))), g.device_id),
    ]
    chosen = rng.sample(ids, rng.randint(1, 5))
    if ids[0] not in chosen and g.chance(0.5):
        chosen.insert(0, ids[0])  # the IMEI is the id Android SDKs log most often
    for tokens, fn in chosen:
        value: Any = fn(r)
        if fn is g.imei and value.isdigit() and g.chance(0.2):
            value = int(value)  # some SDKs log the IMEI as a JSON number
        _put(target, [ks(*pre, *tokens)], value)
    _s_device_clean(g, target, r, ks)


def _s_device_clean(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    _put(d, [ks("model")], g.model(r))
    if g.chance(0.6):
        _put(d, [ks("os", "version")], rng.choice(("13", "14", "12", "17.2.1", "16.6")))
    if g.chance(0.5):
        _put(d, [ks("build", "id")], g.build_id(r))
    if g.chance(0.5):
        _put(d, [ks("brand")], rng.choice(("Xiaomi", "HUAWEI", "samsung", "Apple", "OPPO", "vivo")))
    if g.chance(0.3):
        _put(d, [ks("sdk", "int")], rng.randint(26, 34))


def _s_profile(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(
        g, d, ks, ("user", "profile"), ("profile",), ("user",), ("account",), ("member", "info")
    )
    fields: list[tuple[tuple[str, ...], Callable[[_Rec], Any]]] = [
        (rng.choice((("nickname",), ("nick", "name"), ("display", "name"))), g.nickname),
        (rng.choice((("gender",), ("sex",))), g.gender),
        (rng.choice((("birthday",), ("birth", "date"), ("dob",))), g.dob),
        (("email",), g.email),
        (rng.choice((("mobile",), ("phone",), ("tel",), ("phone", "number"))), g.phone),
        (rng.choice((("real", "name"), ("name",), ("full", "name"))), g.person),
        (rng.choice((("username",), ("login", "name"), ("account",))), g.username),
        (rng.choice((("uid",), ("user", "id"))), g.user_id),
    ]
    for tokens, fn in rng.sample(fields, rng.randint(2, 5)):
        _put(target, [ks(*pre, *tokens)], fn(r))
    if g.chance(0.25):
        contacts = [
            {ks("name"): g.person(r), ks("phone"): g.phone(r)} for _ in range(rng.randint(1, 2))
        ]
        _put(target, [ks("emergency", "contacts")], contacts)


def _s_identity(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(g, d, ks, ("kyc",), ("identity",), ("verify", "info"))
    _put(target, [ks(*pre, *rng.choice((("real", "name"), ("name",))))], g.person(r))
    _put(
        target,
        [
            ks(
                *pre,
                *rng.choice(
                    (("id", "card"), ("id", "card", "no"), ("id", "number"), ("cert", "no"))
                ),
            )
        ],
        g.cn_id(r),
    )
    if g.chance(0.5):
        _put(target, [ks(*pre, "address")], g.address(r))
    _put(target, [ks(*pre, "result")], rng.choice(("PASS", "REVIEW", "REJECT")))


def _s_payment(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    _put(d, [ks("order", "id")], g.order_id(r))
    _put(d, [ks("amount")], round(rng.uniform(1, 5000), 2))
    _put(d, [ks("currency")], rng.choice(("CNY", "USD", "EUR", "HKD")))
    x = rng.randrange(3)
    if x == 0:
        card: _J = {}
        _put(d, [ks(*rng.choice((("card",), ("payment", "card"), ("pay", "method"))))], card)
        card[ks(*rng.choice((("number",), ("pan",), ("card", "no"))))] = g.card(r)
        card[ks(*rng.choice((("expiry",), ("exp",), ("valid", "thru"))))] = g.expiry(r)
        if g.chance(0.5):
            card[ks("holder", "name")] = g.person(r)
        card[ks("bank")] = rng.choice(("ICBC", "CMB", "CCB", "BOC", "Chase"))
    elif x == 1:
        _put(
            d,
            [
                ks(
                    *rng.choice(
                        (("alipay", "account"), ("buyer", "logon", "id"), ("payer", "account"))
                    )
                )
            ],
            g.payment_account(r),
        )
        _put(d, [ks("channel")], "alipay")
    else:
        _put(
            d,
            [ks(*rng.choice((("openid",), ("wechat", "openid"), ("payer", "openid"))))],
            g.payment_account(r),
        )
        _put(d, [ks("channel")], "wechat_pay")
    if g.chance(0.3):
        _put(d, [ks("card", "exp")], g.expiry(r))


def _s_auth(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    x = rng.randrange(5)
    if x == 0:
        _put(
            d,
            [ks("headers"), "Authorization"],
            f"Bearer {g.token(r) if g.chance(0.6) else g.jwt(r)}",
        )
    elif x == 1:
        _put(d, [ks(*rng.choice((("id", "token"), ("jwt",), ("access", "token"))))], g.jwt(r))
    elif x == 2:
        _put(d, [rng.choice(("x-api-key", "X-API-KEY", ks("api", "key")))], g.api_key(r))
    elif x == 3:
        user, pw = g.query_value(r, g.username), g.query_value(r, g.password)
        _put(
            d,
            [ks(*rng.choice((("callback", "url"), ("dsn",), ("upstream",))))],
            f"https://{user}:{pw}@partner.example.org:{g.port(r)}/notify",
        )
    else:
        _put(d, [ks("username")], g.username(r))
        _put(d, [ks(*rng.choice((("password",), ("passwd",), ("pwd",))))], g.password(r))
    _put(d, [ks("result")], rng.choice(("success", "failed", "locked", "mfa_required")))


def _s_location(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    lat, lng = g.coord()
    x = rng.randrange(5)
    if x == 0:
        _put(
            d,
            [ks(*rng.choice((("geo",), ("ctx", "geo"), ("gps",))))],
            {
                "lat": r.pn("GPS_COORDINATES", lat),
                rng.choice(("lng", "lon")): r.pn("GPS_COORDINATES", lng),
            },
        )
    elif x == 1:
        v = f"{lat},{lng}" if g.chance(0.7) else f"{lat}, {lng}"
        _put(
            d,
            [ks(*rng.choice((("location",), ("loc",), ("gps",), ("latlng",))))],
            r.p("GPS_COORDINATES", v),
        )
    elif x == 2:
        _put(d, [ks("latitude")], r.pn("GPS_COORDINATES", lat))
        _put(d, [ks("longitude")], r.pn("GPS_COORDINATES", lng))
    elif x == 3:
        # GeoJSON order is [lng, lat].
        _put(
            d,
            [ks("position")],
            {
                "type": "Point",
                "coordinates": [r.pn("GPS_COORDINATES", lng), r.pn("GPS_COORDINATES", lat)],
            },
        )
    else:
        track = []
        for _ in range(rng.randint(2, 4)):
            p_lat, p_lng = g.coord()
            track.append(
                {
                    "lat": r.pn("GPS_COORDINATES", p_lat),
                    "lng": r.pn("GPS_COORDINATES", p_lng),
                    "t": r.kn("epoch", int(g.t * 1000) + rng.randint(1000, 60000)),
                }
            )
        _put(d, [ks("track")], track)
    _put(d, [ks("accuracy")], round(rng.uniform(3, 80), 1))
    if g.chance(0.3):
        _put(d, [ks(*rng.choice((("address",), ("shipping", "address"), ("addr",))))], g.address(r))


def _s_message(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    key = g.rng.choice(("message", "msg", "MESSAGE", "log", "text", "detail", "description"))
    _put(d, [key], g.prose_pii(r))


def _s_message_clean(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    key = g.rng.choice(("message", "msg", "MESSAGE", "log", "text", "detail"))
    _put(d, [key], g.prose_clean(r))


def _s_request_url(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    _put(d, [ks("method")], g.method(r))
    _put(
        d,
        [rng.choice(("url", "uri", "request_uri", "request.url", ks("request", "uri")))],
        g.pii_url(r),
    )
    _put(d, [ks("status")], g.status(r))
    if g.chance(0.5):
        _put(d, [ks("referer")], f"https://www.example.com{g.pii_url(r)}")


def _s_contact(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(g, d, ks, ("customer",), ("receiver",), ("contact",), ("shipping",))
    fields: list[tuple[tuple[str, ...], Callable[[_Rec], str]]] = [
        (("name",), g.person),
        (("phone",), g.phone),
        (("email",), g.email),
        (("address",), g.address),
    ]
    for tokens, fn in rng.sample(fields, rng.randint(1, 4)):
        _put(target, [ks(*pre, *tokens)], fn(r))
    if g.chance(0.5):
        _put(d, [ks("ticket", "id")], f"TCK-{g.digits(7)}")
    if g.chance(0.5):
        _put(d, [ks("note")], g.prose_pii(r))


def _s_error(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle, pii: bool = True) -> None:
    rng = g.rng
    _put(d, [ks("logger")], g.cls(r))
    _put(d, [ks("thread")], g.thread(r))
    exc = rng.choice(
        (
            "java.lang.IllegalStateException",
            "java.lang.IllegalArgumentException",
            "com.example.common.BizException",
            "java.net.SocketTimeoutException",
        )
    )
    msg = g.prose_pii(r) if pii else g.prose_clean(r)
    frames = [
        f"at {g.cls(r)}.{rng.choice(('handle', 'process', 'invoke', 'doFilter'))}(Unknown Source)"
        for _ in range(rng.randint(2, 4))
    ]
    _put(d, [ks(*rng.choice((("exception",), ("error",), ("err", "msg"))))], f"{exc}: {msg}")
    _put(d, [ks("stack")], frames)


def _s_error_clean(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    _s_error(g, d, r, ks, pii=False)


def _s_network(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(g, d, ks, ("network",), ("wifi",), ("net",))
    _put(target, [ks(*pre, "bssid")], g.mac(r))
    _put(target, [ks(*pre, rng.choice(("ip", "local_ip")))], g.ip(r))
    if g.chance(0.4):
        _put(target, [ks(*pre, "ipv6")], r.p("IP_ADDRESS", g.ipv6()))
    _put(target, [ks(*pre, "type")], rng.choice(("WIFI", "4G", "5G")))
    if g.chance(0.5):
        _put(
            target,
            [ks(*pre, "carrier")],
            rng.choice(("China Mobile", "China Unicom", "T-Mobile", "Vodafone")),
        )


def _s_push(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    # An APNs device token (64 hex) identifies one install: labelled as a device id.
    _put(
        d,
        [ks(*rng.choice((("push", "token"), ("device", "token"), ("registration", "id"))))],
        r.p("DEVICE_ID", g.hexs(64)),
    )
    if g.chance(0.5):
        _put(d, [ks("idfa")], g.idfa(r))
    _put(d, [ks("platform")], rng.choice(("ios", "android", "harmony")))
    _put(d, [ks("app", "version")], g.version(r))


def _s_http_clean(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    target, pre = _container(g, d, ks, ("http",), ("request",), ("req",))
    _put(target, [ks(*pre, "method")], g.method(r))
    _put(target, [ks(*pre, rng.choice(("path", "uri", "url")))], g.clean_url(r))
    _put(target, [ks(*pre, "status")], g.status(r))
    _put(target, [ks(*pre, "latency", "ms")], r.kn("duration", rng.randint(1, 3000)))
    _put(target, [ks(*pre, "bytes")], g.nbytes(r))


def _s_k8s(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    if "kubernetes" in d:
        return
    d["kubernetes"] = {
        "namespace": g.rng.choice(("prod", "payments", "default", "edge")),
        "pod": g.host(r),
        "container": g.service(r),
        "node": g.host(r),
    }


def _s_runtime(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    _put(d, [ks("thread")], g.thread(r))
    _put(d, [ks(*g.rng.choice((("logger",), ("class",), ("caller",))))], g.cls(r))
    _put(d, [ks("pid")], r.kn("pid", g.rng.randint(100, 65535)))


def _s_build(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    target, pre = _container(g, d, ks, ("build",), ("app",), ("release",))
    _put(target, [ks(*pre, "version")], g.version(r))
    _put(target, [ks(*pre, "commit")], g.commit(r))
    if g.chance(0.5):
        _put(target, [ks(*pre, "build", "id")], g.build_id(r))


def _s_hdfs(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    _put(d, [ks("block", "id")], g.block_id(r))
    _put(d, [ks("size")], g.nbytes(r))
    _put(d, [ks("elapsed")], g.duration(r))


def _s_kafka(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    _put(
        d,
        [ks("kafka")],
        {
            "topic": rng.choice(("logs.raw.app", "orders", "device-events")),
            "partition": rng.randint(0, 23),
            "offset": rng.randint(10**6, 10**10),
        },
    )


def _s_order_clean(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    rng = g.rng
    _put(d, [ks("order", "id")], g.order_id(r))
    if g.chance(0.4):
        _put(d, [ks("order", "no")], r.kn("order_id", rng.randint(10**18, 9 * 10**18)))
    _put(d, [ks("state")], rng.choice(("CREATED", "PAID", "SHIPPED", "REFUNDED")))
    _put(d, [ks("amount")], round(rng.uniform(1, 5000), 2))


def _s_timing(g: _Corpus, d: _J, r: _Rec, ks: _KeyStyle) -> None:
    _put(d, [ks("created", "at")], r.kn("epoch", int(g.t * 1000) - g.rng.randint(1000, 10**7)))
    _put(d, [ks("duration")], g.duration(r))
    if g.chance(0.5):
        _put(d, [ks("upstream")], f"{g.service(r)}:{g.port(r)}")


@dataclass(frozen=True)
class _Schema:
    name: str
    pii: tuple[_Section, ...]
    clean: tuple[_Section, ...]


_SCHEMAS: Final = (
    _Schema(
        "access", (_s_client, _s_user_agent, _s_request_url, _s_auth), (_s_http_clean, _s_timing)
    ),
    _Schema("device", (_s_device, _s_network, _s_location, _s_push), (_s_device_clean, _s_build)),
    _Schema("profile", (_s_profile, _s_identity, _s_contact), (_s_message_clean, _s_timing)),
    _Schema("payment", (_s_payment, _s_contact, _s_client), (_s_order_clean, _s_http_clean)),
    _Schema("auth", (_s_auth, _s_client, _s_message), (_s_http_clean, _s_runtime)),
    _Schema("location", (_s_location, _s_device, _s_message), (_s_device_clean, _s_timing)),
    _Schema(
        "applog", (_s_message, _s_error, _s_client), (_s_message_clean, _s_runtime, _s_error_clean)
    ),
    _Schema("ticket", (_s_contact, _s_message, _s_profile), (_s_message_clean, _s_order_clean)),
    _Schema("batch", (_s_message, _s_error), (_s_hdfs, _s_kafka, _s_runtime)),
    _Schema("crash", (_s_error, _s_device), (_s_error_clean, _s_device_clean, _s_build)),
)
_ALL_PII_SECTIONS: Final = tuple(dict.fromkeys(s for sc in _SCHEMAS for s in sc.pii))
_FILLERS: Final = (
    _s_http_clean,
    _s_k8s,
    _s_runtime,
    _s_build,
    _s_hdfs,
    _s_kafka,
    _s_timing,
    _s_message_clean,
    _s_order_clean,
)


# ---------------------------------------------------------------------------------------
# free-text prose
# ---------------------------------------------------------------------------------------


def _ip_port(g: _Corpus, r: _Rec) -> str:
    ip = g.ip(r)
    port = g.rng.randint(1024, 65535)
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _latlng_pair(g: _Corpus, r: _Rec) -> str:
    lat, lng = g.coord()
    return r.p("GPS_COORDINATES", f"{lat},{lng}")


def _latlng_kv(g: _Corpus, r: _Rec) -> str:
    lat, lng = g.coord()
    return f"lat={r.p('GPS_COORDINATES', str(lat))} lng={r.p('GPS_COORDINATES', str(lng))}"


# Placeholder -> value factory for the prose templates below. A template only consumes
# randomness (and records labels) for the placeholders it prints.
_FILL: Final[dict[str, Callable[[_Corpus, _Rec], object]]] = {
    "address": lambda g, r: g.address(r),
    "android_id": lambda g, r: g.android_id(r),
    "api_key": lambda g, r: g.api_key(r),
    "block": lambda g, r: g.block_id(r),
    "build": lambda g, r: g.build_id(r),
    "bytes": lambda g, r: g.nbytes(r),
    "card": lambda g, r: g.card(r),
    "class": lambda g, r: g.cls(r),
    "cn_id": lambda g, r: g.cn_id(r),
    "commit": lambda g, r: g.commit(r),
    "count": lambda g, r: g.rng.randint(10, 99999),
    "device_id": lambda g, r: g.device_id(r),
    "dob": lambda g, r: g.dob(r),
    "dur": lambda g, r: g.duration(r),
    "email": lambda g, r: g.email(r),
    "expiry": lambda g, r: g.expiry(r),
    "first_name": lambda g, r: r.p("PERSON", g.first_name()),
    "gender": lambda g, r: g.gender(r),
    "iccid": lambda g, r: g.iccid(r),
    "idfa": lambda g, r: g.idfa(r),
    "imei": lambda g, r: g.imei(r),
    "imeisv": lambda g, r: g.imeisv(r),
    "imsi": lambda g, r: g.imsi(r),
    "intl_phone": lambda g, r: g.intl_phone(r),
    "ip": lambda g, r: g.ip(r),
    "ip4": lambda g, r: g.ip(r, v6=0.0),
    "ip_port": _ip_port,
    "jwt": lambda g, r: g.jwt(r),
    "latlng": _latlng_pair,
    "latlng_kv": _latlng_kv,
    "mac": lambda g, r: g.mac(r),
    "mapped_ip": lambda g, r: r.p("IP_ADDRESS", "::ffff:" + g.ipv4()),
    "meid": lambda g, r: g.meid(r),
    "method": lambda g, r: g.method(r),
    "model": lambda g, r: g.model(r),
    "nickname": lambda g, r: g.nickname(r),
    "openudid": lambda g, r: g.openudid(r),
    "order_id": lambda g, r: g.order_id(r),
    "password_q": lambda g, r: g.query_value(r, g.password),
    "pay_account": lambda g, r: g.payment_account(r),
    "person": lambda g, r: g.person(r),
    "phone": lambda g, r: g.phone(r),
    "pii_url": lambda g, r: g.pii_url(r),
    "port": lambda g, r: g.port(r),
    "request_id": lambda g, r: g.request_id(r),
    "rssi": lambda g, r: g.rng.randint(30, 90),
    "serial": lambda g, r: g.serial(r),
    "service": lambda g, r: g.service(r),
    "span": lambda g, r: g.span_id(r),
    "status": lambda g, r: g.status(r),
    "thread": lambda g, r: g.thread(r),
    "token": lambda g, r: g.token(r),
    "trace": lambda g, r: g.trace_id(r),
    "ts_iso": lambda g, r: g.ts_iso(r),
    "ua": lambda g, r: g.user_agent(r),
    "uid": lambda g, r: g.user_id(r),
    "url": lambda g, r: g.clean_url(r),
    "username": lambda g, r: g.username(r),
    "username_q": lambda g, r: g.query_value(r, g.username),
    "version": lambda g, r: g.version(r),
}

# Every PII template prints at least one personal value. No template contains a double
# quote or backslash, so the prose needs no JSON escaping.
_PII_PROSE_TEMPLATES: Final = (
    "User {person} ({email}) changed mobile to {phone}",
    "login success uid={uid} ip={ip} device={imei}",
    "{method} {pii_url} took {dur}",
    "Payment declined for {person}: card {card} exp {expiry} (code 51), order {order_id}",
    "Sending SMS verification code to {phone} via channel aliyun",
    "Reverse geocode {latlng} -> {address}",
    "Shipping label printed for {person}, {address}, tel {phone}",
    "new device bound: imei={imei} imsi={imsi} iccid={iccid} mac={mac}",
    "rejecting request from {ip}: Authorization: Bearer {token} expired",
    "callback to https://{username_q}:{password_q}@partner.example.org/notify failed after {dur}",
    "Password reset requested for {email} from {ip} ({ua})",
    "KYC check passed for {person} id={cn_id} dob={dob}",
    "Hi {first_name}, your order {order_id} has shipped to {address}",
    "wifi connected bssid={mac} ip={ip4} rssi=-{rssi}",
    "refund to alipay account {pay_account} for order {order_id} done in {dur}",
    "push register idfa={idfa} model={model} app {version}",
    "jwt verification failed: token={jwt} trace={trace}",
    "user {username} failed login 3 times from {ip_port}",
    "client {ip_port} sent invalid api key {api_key}",
    "profile updated: nickname={nickname}, gender={gender}, birthday={dob}",
    "{person} <{email}> subscribed to newsletter",
    "geo fix {latlng_kv} acc=12.0m provider=gps",
    "Dear {person}, your verification email was sent to {email}",
    "android_id={android_id} openudid={openudid} serial={serial} reported by SDK {version}",
    "accepted connection from {mapped_ip} to {service}:{port}",
    "User {nickname} bound WeChat {pay_account}",
    "call from {intl_phone} forwarded to agent {person}",
    "Contact {person} at {phone} or {email}",
    "meid={meid} imeisv={imeisv} device_id={device_id}",
    "card bind ok for uid={uid} card_no={card} valid_thru={expiry}",
    "upload from {ip} UA={ua} size={count}",
)
_CLEAN_PROSE_TEMPLATES: Final = (
    "Order {order_id} state PAID -> SHIPPED in {dur}",
    "Cache warmup finished: {count} keys in {dur}",
    "PacketResponder 1 for block {block} terminating",
    "GC pause {dur} (G1 Young Generation) heap 512M->128M",
    "Request {request_id} completed status={status} latency={dur}",
    "Loaded config version {version} build {build}",
    "Retrying call to {service}:{port} attempt 2/3 after {dur}",
    "Upgraded agent to {version} (was {version})",
    "Consumer rebalance for group {service}: assigned partitions [3, 7, 11]",
    "Span {span} of trace {trace} exported in {dur}",
    "Scheduled job finished at {ts_iso}: {count} rows, {bytes} bytes",
    "{method} {url} -> {status} ({bytes} bytes, {dur})",
    "Thread {thread} blocked for {dur} in {class}",
    "Deployed commit {commit} as {version}",
)

_Parsed = tuple[tuple[str, str | None], ...]


def _parse_template(template: str) -> _Parsed:
    parts = tuple((lit, field) for lit, field, _, _ in string.Formatter().parse(template))
    unknown = [f for _, f in parts if f is not None and f not in _FILL]
    if unknown:
        msg = f"corpus bug: unknown prose placeholders {unknown}"
        raise RuntimeError(msg)
    return parts


_PII_PROSE: Final = tuple(_parse_template(t) for t in _PII_PROSE_TEMPLATES)
_CLEAN_PROSE: Final = tuple(_parse_template(t) for t in _CLEAN_PROSE_TEMPLATES)


def _render(g: _Corpus, r: _Rec, parts: _Parsed) -> str:
    return "".join(
        lit + (str(_FILL[field](g, r)) if field is not None else "") for lit, field in parts
    )


# ---------------------------------------------------------------------------------------
# plain-text line kinds
# ---------------------------------------------------------------------------------------


def _nginx(g: _Corpus, r: _Rec, pii: bool) -> str:
    rng = g.rng
    if g.chance(0.12):
        # nginx error log
        dt = g.dt()
        ts = r.k("timestamp", f"{dt:%Y/%m/%d %H:%M:%S}")
        pid = g.pid(r)
        head = f"{ts} [error] {pid}#{pid}: *{rng.randint(1, 99999)} "
        if pii:
            client = g.ip(r, v6=0.15)
            return (
                head + 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or '
                f'directory), client: {client}, server: www.example.com, request: "GET '
                '/favicon.ico HTTP/1.1", host: "www.example.com"'
            )
        return head.replace("[error]", "[notice]") + "signal process started"
    if pii:
        client = g.ip(r, v6=0.2)
        user = g.username(r) if g.chance(0.15) else "-"
        ts = g.ts_clf(r)
        method = g.method(r)
        url = g.pii_url(r) if g.chance(0.45) else g.clean_url(r)
        ref = f"https://www.example.com{g.clean_url(r)}" if g.chance(0.5) else "-"
        ua = g.user_agent(r)
    else:
        # Health checks from loopback: no personal data at all.
        client = rng.choice(("127.0.0.1", "::1"))
        user = "-"
        ts = g.ts_clf(r)
        method = r.k("method", "GET")
        url = r.k("path", rng.choice(("/healthz", "/metrics", "/ready", "/nginx_status")))
        ref = "-"
        ua = rng.choice(_HEALTH_UAS)
    proto = rng.choice(("HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"))
    status, size = g.status(r), g.nbytes(r)
    line = f'{client} - {user} [{ts}] "{method} {url} {proto}" {status} {size} "{ref}" "{ua}"'
    if pii and g.chance(0.3):
        line += f' "{", ".join(g.ip(r, v6=0.0) for _ in range(rng.randint(1, 2)))}"'
    if g.chance(0.4):
        line += f" {r.k('duration', f'{rng.uniform(0.001, 3):.3f}')}"
    return line


_SSHD_CLEAN: Final = (
    "Server listening on 0.0.0.0 port 22.",
    "Server listening on :: port 22.",
    "Received SIGHUP; restarting.",
    "error: kex_exchange_identification: read: Connection reset by peer",
    "fatal: Timeout before authentication",
)
_SSHD_PII: Final = (
    "Failed password for invalid user {bot} from {ip} port {port} ssh2",
    "Failed password for {bot} from {ip} port {port} ssh2",
    "Invalid user {bot} from {ip} port {port}",
    "Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{key}",
    "Received disconnect from {ip} port {port}:11: Bye Bye [preauth]",
    "Connection closed by authenticating user {bot} {ip} port {port} [preauth]",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
    "rhost={ip}  user={bot}",
    "Accepted password for {user} from {ip} port {port} ssh2",
    "Disconnected from invalid user {bot} {ip} port {port} [preauth]",
)


def _sshd(g: _Corpus, r: _Rec, pii: bool) -> str:
    rng = g.rng
    host = r.k("host", rng.choice(("bastion-01", "jump-02", "sh-prod-app-7", "gw-ssh")))
    ts = g.ts_syslog(r) if g.chance(0.7) else g.ts_iso(r)
    prefix = f"{ts} {host} sshd[{g.pid(r)}]: "
    if not pii:
        return prefix + rng.choice(_SSHD_CLEAN)
    template = rng.choice(_SSHD_PII)
    # Only the placeholders a template prints may create labels.
    fields: dict[str, str] = {}
    if "{bot}" in template:
        fields["bot"] = g.username(r, ssh=True)
    if "{user}" in template:
        fields["user"] = g.username(r)
    fields["ip"] = g.ip(r, v6=0.1)
    fields["port"] = str(rng.randint(1024, 65535))  # client ephemeral port: not labelled
    fields["key"] = "".join(rng.choices(_B62 + "+/", k=43))
    return prefix + template.format(**fields)


def _logcat_pii(g: _Corpus, r: _Rec) -> tuple[str, str]:
    x = g.rng.randrange(8)
    if x == 0:
        return "DeviceInfo", f"imei={g.imei(r)} imsi={g.imsi(r)} mac={g.mac(r)}"
    if x == 1:
        return "LoginActivity", f"login success phone={g.phone(r)} uid={g.user_id(r)}"
    if x == 2:
        return "LocationService", f"onLocationChanged {_latlng_kv(g, r)} acc=12.0"
    if x == 3:
        return "OkHttp", f"--> {g.method(r)} https://api.example.com{g.pii_url(r)}"
    if x == 4:
        return "OkHttp", f"Authorization: Bearer {g.token(r) if g.chance(0.5) else g.jwt(r)}"
    if x == 5:
        return "PushReceiver", f"register ok android_id={g.android_id(r)} serial={g.serial(r)}"
    if x == 6:
        return "WifiStateMachine", f"CONNECTED bssid={g.mac(r)} ip={g.ip(r, v6=0.0)}"
    return "AccountSync", f"sync account {g.email(r)} ({g.nickname(r)})"


def _logcat_clean(g: _Corpus, r: _Rec) -> tuple[str, str]:
    rng = g.rng
    x = rng.randrange(5)
    if x == 0:
        proc = f"{rng.randint(1000, 32000)}:com.example.shop/u0a{rng.randint(10, 400)}"
        return "ActivityManager", f"Start proc {proc} for activity com.example.shop/.MainActivity"
    if x == 1:
        return "Choreographer", (
            f"Skipped {rng.randint(30, 120)} frames!  "
            "The application may be doing too much work on its main thread."
        )
    if x == 2:
        return (
            "OkHttp",
            f"<-- {g.status(r)} OK https://api.example.com{g.clean_url(r)} ({g.duration(r)})",
        )
    if x == 3:
        return "SystemUpdate", f"current build {g.build_id(r)} version {g.version(r)}"
    return "art", (
        f"Background concurrent copying GC freed {rng.randint(1000, 99999)}(3MB) "
        f"AllocSpace objects, paused {g.duration(r)}"
    )


def _logcat(g: _Corpus, r: _Rec, pii: bool) -> str:
    rng = g.rng
    dt = g.dt()
    pid, tid = str(rng.randint(300, 32000)), rng.randint(300, 32000)
    tag, msg = _logcat_pii(g, r) if pii else _logcat_clean(g, r)
    prio = rng.choice("VDIWE")
    if g.chance(0.75):
        # threadtime format (the default since Android 7)
        ts = r.k("timestamp", f"{dt:%m-%d %H:%M:%S}.{dt.microsecond // 1000:03d}")
        return f"{ts} {r.k('pid', pid):>5} {tid:>5} {prio} {tag}: {msg}"
    return f"{prio}/{tag}({r.k('pid', pid):>5}): {msg}"


def _syslog_pii(g: _Corpus, r: _Rec) -> tuple[str, str]:
    rng = g.rng
    x = rng.randrange(7)
    if x == 0:
        return "dhcpd", f"DHCPACK on {g.ip(r, v6=0.0)} to {g.mac(r)} via eth0"
    if x == 1:
        qid = g.hexs(10).upper()
        return "postfix/smtp", (
            f"{qid}: to=<{g.email(r)}>, relay=mx.example.org[{g.ip(r, v6=0.0)}]:25, "
            "delay=1.2, status=sent (250 2.0.0 OK)"
        )
    if x == 2:
        return "systemd-logind", f"New session {rng.randint(1, 9999)} of user {g.username(r)}."
    if x == 3:
        user = g.username(r)
        home = r.p("USERNAME", user)  # the name occurs twice: label both occurrences
        return "sudo", (
            f"{user} : TTY=pts/0 ; PWD=/home/{home} ; USER=root ; "
            f"COMMAND=/usr/bin/systemctl restart {g.service(r)}"
        )
    if x == 4:
        return "openvpn", f"{_ip_port(g, r)} TLS: Initial packet from [AF_INET]{_ip_port(g, r)}"
    if x == 5:
        return "dnsmasq-dhcp", f"DHCPREQUEST(br0) {g.ip(r, v6=0.0)} {g.mac(r)}"
    return "named", (
        f"client @0x7f{g.hexs(8)} {g.ip(r)}#{rng.randint(1024, 65535)} (www.example.com): "
        "query: www.example.com IN A +E(0)"
    )


def _syslog(g: _Corpus, r: _Rec, pii: bool) -> str:
    rng = g.rng
    host = r.k("host", rng.choice(("edge-gw-01", "mail-01", "router-home", "db-03", "vpn-02")))
    if pii:
        app, msg = _syslog_pii(g, r)
    else:
        x = rng.randrange(5)
        if x == 0:
            app, msg = "systemd", "Started Daily apt download activities."
        elif x == 1:
            uptime = f"{rng.randint(100, 999999)}.{rng.randint(0, 999999):06d}"
            app, msg = (
                "kernel",
                f"[{uptime}] EXT4-fs (sda1): mounted filesystem with ordered data mode.",
            )
        elif x == 2:
            app, msg = "CRON", "(root) CMD (run-parts /etc/cron.hourly)"
        elif x == 3:
            app, msg = "chronyd", "System clock wrong by 0.000214 seconds"
        else:
            app, msg = g.service(r), g.prose_clean(r)
    pid = g.pid(r)
    if g.chance(0.75):
        return f"{g.ts_syslog(r)} {host} {app}[{pid}]: {msg}"  # RFC 3164
    return f"<{rng.choice((13, 30, 38, 86, 134))}>1 {g.ts_iso(r)} {host} {app} {pid} - - {msg}"


def _text(g: _Corpus, r: _Rec, pii: bool) -> str:
    rng = g.rng

    # Build the prose only in the branch that prints it: labels must match the line.
    def prose() -> str:
        return g.prose_pii(r) if pii else g.prose_clean(r)

    dt = g.dt()
    x = rng.randrange(6)
    if x == 0:
        # log4j / logback pattern layout
        ts = r.k("timestamp", f"{dt:%Y-%m-%d %H:%M:%S},{dt.microsecond // 1000:03d}")
        lvl = r.k("level", rng.choice(("INFO", "WARN", "ERROR", "DEBUG")))
        return f"{ts} {lvl:<5} [{g.thread(r)}] {g.cls(r)} - {prose()}"
    if x == 1:
        # Python logging
        ts = r.k("timestamp", f"{dt:%Y-%m-%d %H:%M:%S}")
        lvl = r.k("level", rng.choice(("INFO", "WARNING", "ERROR")))
        return f"[{ts}] {lvl} {g.service(r)}: {prose()}"
    if x == 2:
        # zap console encoder
        lvl = r.k("level", rng.choice(("info", "warn", "error")))
        caller = f"{rng.choice(('handler', 'service', 'repo'))}/{rng.choice(('user', 'order'))}.go"
        return f"{g.ts_iso(r)}\t{lvl}\t{caller}:{rng.randint(20, 400)}\t{prose()}"
    if x == 3:
        # klog glues the level letter to the date, so only the time part is a whole token.
        ts = f"{dt:%m%d} " + r.k("timestamp", f"{dt:%H:%M:%S}.{dt.microsecond:06d}")
        caller = f"{rng.choice(('server.go', 'controller.go'))}:{rng.randint(20, 900)}"
        return f"I{ts} {rng.randint(1, 99):>7} {caller}] {prose()}"
    if x == 4:
        # Apache error log
        day = f"{_WEEKDAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt.day:02d}"
        ts = r.k("timestamp", f"{day} {dt:%H:%M:%S}.{dt.microsecond:06d} {dt.year}")
        pid = g.pid(r)
        if pii and g.chance(0.5):
            tid = rng.randint(10**14, 10**15)
            return (
                f"[{ts}] [core:error] [pid {pid}:tid {tid}] [client {_ip_port(g, r)}] "
                f"AH00126: Invalid URI in request GET {g.pii_url(r)} HTTP/1.1"
            )
        return f"[{ts}] [php:warn] [pid {pid}] {prose()}"
    # HDFS / Spark style lines (loghub shapes)
    ts = r.k("timestamp", f"{dt:%y%m%d %H%M%S}")
    return f"{ts} {rng.randint(1, 9999)} INFO {g.cls(r)}: {prose()}"


_TEXT_BUILDERS: Final[dict[str, Callable[[_Corpus, _Rec, bool], str]]] = {
    "nginx": _nginx,
    "sshd": _sshd,
    "logcat": _logcat,
    "syslog": _syslog,
    "text": _text,
}


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def generate_labelled(n: int, seed: int = 0, density: float = 0.3) -> Iterator[LabelledLine]:
    """Generate ``n`` labelled log lines, deterministically from ``seed``.

    About 70% of the lines are JSON records of 0.5-1 KB; the rest are nginx/Apache access
    and error lines, sshd auth lines, Android logcat, syslog and application text lines.

    Args:
        n: Number of lines to generate.
        seed: Seed of the private random generator; equal arguments give equal output.
        density: Fraction of records that contain personal data (each record is drawn
            independently, so the realized fraction varies around it; 0.0 and 1.0 are exact).

    Yields:
        One :class:`LabelledLine` per record.

    Raises:
        ValueError: If ``n`` is negative or ``density`` is outside ``[0, 1]``.
    """
    if n < 0:
        msg = "n must be >= 0"
        raise ValueError(msg)
    if not 0.0 <= density <= 1.0:
        msg = "density must be within [0, 1]"
        raise ValueError(msg)
    g = _Corpus(seed)
    for _ in range(n):
        # Draw unconditionally so the stream of choices has the same shape at every density.
        has_pii = g.rng.random() < density
        yield g.record(has_pii)


def generate_lines(n: int, seed: int = 0, density: float = 0.3) -> Iterator[str]:
    """Generate only the lines of :func:`generate_labelled` (for benchmarks).

    Args:
        n: Number of lines to generate.
        seed: Seed of the private random generator.
        density: Fraction of records that contain personal data.

    Yields:
        The raw log lines, without trailing newlines.
    """
    for item in generate_labelled(n, seed=seed, density=density):
        yield item.line


def _label_dicts(labels: Iterable[Label]) -> list[dict[str, str]]:
    return [{"value": lb.value, "entity": lb.entity} for lb in labels]


def write_jsonl(path: str | PathLike[str], items: Iterable[LabelledLine]) -> int:
    """Write labelled lines as JSON Lines.

    Each line is ``{"line", "pii": [{"value", "entity"}], "keep": [...], "kind"}``.

    Args:
        path: Destination file; overwritten.
        items: The labelled lines to write.

    Returns:
        The number of records written.
    """
    count = 0
    with Path(path).open("wb") as fh:
        for item in items:
            rec = {
                "line": item.line,
                "pii": _label_dicts(item.pii),
                "keep": _label_dicts(item.keep),
                "kind": item.kind,
            }
            fh.write(orjson.dumps(rec))
            fh.write(b"\n")
            count += 1
    return count


def read_jsonl(path: str | PathLike[str]) -> Iterator[LabelledLine]:
    """Read labelled lines written by :func:`write_jsonl`.

    Args:
        path: A JSON Lines file; blank lines are skipped.

    Yields:
        One :class:`LabelledLine` per record.

    Raises:
        ValueError: If a record lacks a required key (the message names the line number,
            never its content).
    """
    with Path(path).open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
                yield LabelledLine(
                    line=rec["line"],
                    pii=tuple(Label(x["value"], x["entity"]) for x in rec["pii"]),
                    keep=tuple(Label(x["value"], x["entity"]) for x in rec["keep"]),
                    kind=rec["kind"],
                )
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                msg = f"{path}:{lineno}: not a labelled-line record ({type(exc).__name__})"
                raise ValueError(msg) from exc
