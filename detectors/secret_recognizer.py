"""Recognizer for credentials: passwords, tokens, API keys, JWTs, cloud access keys."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "client_secret",
    "app_secret",
    "secret_key",
    "secretkey",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "session_token",
    "csrf_token",
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "app_key",
    "appkey",
    "private_key",
    "privatekey",
    "access_key",
    "accesskey",
    "access_key_id",
    "secret_access_key",
    "aws_secret_access_key",
    "credential",
    "credentials",
    "authorization",
    "session_token",
    "session_secret",
    "jsessionid",
    "phpsessid",
    "ticket",
    "signature",
    "sign",
    "otp",
    "pin",
    "verify_code",
    "verification_code",
    "sms_code",
    "captcha",
    "密码",
    "验证码",
    "短信验证码",
    "动态码",
    "校验码",
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "csc",
    "security_code",
    "card_security_code",
]
# `android.os.BinderProxy@2bd79ce`: a Java object's identity, not a credential.
_OBJECT_REF = re.compile(r"[\w$]+(?:\.[\w$]+)+@[0-9a-f]{1,8}")
_PATH = re.compile(r"(?:/[\w.\-]+)+/?|/")
_PLACEHOLDERS = frozenset(
    {
        "token",
        "secret",
        "password",
        "string",
        "{",
        "[",
        "null",
        "none",
        "undefined",
        "nil",
        "-",
        "",
        "***",
        "******",
        "[redacted]",
        "redacted",
        "<redacted>",
        "xxx",
        "true",
        "false",
        "bearer",
        "basic",
        # MySQL's `Access denied ... (using password: YES)` says whether one was given.
        "yes",
        "no",
    }
)


class SecretRecognizer(LogRecognizer):
    """Detect secrets.

    * passwords in URLs: ``scheme://user:pass@host`` (the ``user:pass`` part);
    * keyed values: ``password=``, ``passwd=``, ``pwd=``, ``token=``, ``access_token=``,
      ``api_key=``, ``secret=``, ``"client_secret": "..."`` (query strings and JSON);
    * ``Authorization: Bearer <token>`` / ``Basic <b64>`` (scheme and token);
    * a card's security code after ``cvv``/``cvc``/``csc``, keyed or in prose;
    * standalone shapes: JWTs (``eyJ...``), AWS access key ids (``AKIA...``), GitHub,
      Slack and Google API tokens, PEM private-key blocks.
    """

    ENTITY: ClassVar[str] = "SECRET"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "url credentials",
            r"(?<=://)(?P<value>[^\s:/@\"'<>]{1,64}:[^\s/@\"'<>]{1,128})(?=@[\w\-\[])",
            0.9,
        ),
        keyed_pattern(
            "authorization header",
            ["authorization", "proxy-authorization", "x-authorization", "auth"],
            r"(?:Bearer|Basic|Token|Digest|Negotiate|AWS4-HMAC-SHA256)[ \t]+"
            r"[A-Za-z0-9\-._~+/=,:]{8,4096}",
            0.85,
            quoted=False,
        ),
        Pattern("jwt", r"(?<![\w\-])eyJ[\w\-]{5,}\.eyJ[\w\-]{5,}\.[\w\-]*", 0.95),
        Pattern(
            "aws access key id",
            r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}(?![A-Z0-9])",
            0.9,
        ),
        Pattern(
            "vendor token",
            r"(?<![\w\-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255}|"
            r"xox[abposr]-[A-Za-z0-9\-]{10,250}|AIza[0-9A-Za-z\-_]{35}|"
            r"[sr]k_(?:live|test)_[0-9a-zA-Z]{16,99}|sk-[A-Za-z0-9\-_]{32,200})(?![\w\-])",
            0.9,
        ),
        Pattern(
            "private key block",
            r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----[\s\S]{1,8192}?"
            r"-----END (?:[A-Z ]+ )?PRIVATE KEY-----",
            0.95,
        ),
        keyed_pattern("secret (keyed)", _KEYS, r"[^\s\"'&,;|{}\[\]()<>]{1,512}", 0.4),
        # A card's security code in prose: `exp 09/26 cvv 123`.
        Pattern(
            "card security code",
            r"(?<![\w])(?:cvv2?|cvc2?|csc)(?:[ \t]+code)?[ \t:=#]{1,3}(?P<value>\d{3,4})(?![\w])",
            0.85,
        ),
        # A one-time code in an SMS text: `您的验证码是123456`, `Your verification code is
        # 123456`, `OTP: 4821` (valid for minutes: a credential while it lives).
        Pattern(
            "one-time code in prose",
            r"(?:(?:验证码|动态码|校验码)(?:是|为)?[:：]?[ \t]{0,2}"
            r"|(?<![\w])(?:verification|security|login|one-time|confirmation) code"
            r"(?: is)?:?[ \t]{1,2}"
            r"|(?<![\w])OTP(?: is)?:?[ \t]{1,2})(?P<value>\d{4,8})(?!\d)",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "").replace("-", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "").replace("-", "") for k in _KEYS}
        - {"sign", "ticket", "pin", "pass", "sid", "credential"}
        | {"authorization", "cookie", "setcookie", "xauthtoken", "xapikey", "xaccesstoken"}
    )
    # Shapes (see detectors.base.text_shape) of `://`, `eyJ..`.`eyJ`, `AKIA` + 16,
    # `ghp_` + 20, `xoxb-`, `AIza` + 35, `sk_live_`, `sk-` + 32, `-----BEGIN`.
    # Alternatives share a literal prefix so each search stays a substring scan.
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (
        rb"://",
        rb"ax(?:x[0ax_\-]{5,}\.axx|xa[0ax]{16}|aa[0ax]{16}|xa[0ax_\-]{35})",
        rb"xx(?:[xa]_[0ax]{20}|x[ax]-[0ax]|_xxxa_|_xaxx_|-[0ax_\-]{32})",
        rb"-----aaxxx",
    )
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "url credentials": (rb"://",),
        "jwt": (rb"axx[0ax_\-]{5,}\.axx",),
        "aws access key id": (rb"ax(?:xa|aa)[0ax]{16}",),
        "vendor token": (
            rb"xx(?:[xa]_[0ax]{20}|x[ax]-[0ax]|_xxxa_|_xaxx_|-[0ax_\-]{32})",
            rb"axxa[0ax_\-]{35}",
        ),
        "private key block": (rb"-----aaxxx",),
    }
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "card security code": r"(?i)(?<![\w])(?:cvv|cvc|csc)",
        "one-time code in prose": r"(?i)验证码|动态码|校验码| code(?: is)?:? {0,2}\d|otp",
    }
    WINDOW: ClassVar[tuple[int, int]] = (4, 80)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders, already-masked values (``***``, ``[REDACTED]``)
        and absolute paths (sudo's ``PWD=/home/ubuntu`` is a directory)."""
        value = pattern_text.strip().lower()
        return (
            value in _PLACEHOLDERS
            or set(value) <= {"*", "x", "#", "."}
            or bool(_PATH.fullmatch(value))
            or bool(_OBJECT_REF.fullmatch(value))
        )
