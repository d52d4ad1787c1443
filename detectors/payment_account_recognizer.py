"""Recognizer for payment accounts (Alipay, WeChat Pay, PayPal, bank accounts) by key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "alipay",
    "alipay_account",
    "alipayaccount",
    "alipay_id",
    "alipay_user_id",
    "alipay_login_id",
    "buyer_logon_id",
    "buyer_user_id",
    "buyer_id",
    "seller_id",
    "wechat",
    "wechat_id",
    "wechatid",
    "weixin",
    "wxid",
    "wx_id",
    "wechat_pay_account",
    "openid",
    "open_id",
    "unionid",
    "union_id",
    "paypal",
    "paypal_account",
    "payer_account",
    "payee_account",
    "pay_account",
    "payment_account",
    "bank_account",
    "bankaccount",
    "account_no",
    "accountno",
    "iban",
    "支付宝",
    "微信",
    "支付宝账号",
    "微信号",
    "银行账号",
]


class PaymentAccountRecognizer(LogRecognizer):
    """Detect payment account identifiers.

    * keyed: ``alipay_account=user@example.com``, ``"openid": "oXyz..."``,
      ``wxid=wxid_abc123``, ``buyer_logon_id=138****8000``;
    * standalone shapes that are unambiguous: WeChat ids ``wxid_`` + 10+ characters and
      Alipay user ids ``2088`` + 12 digits after an Alipay-ish key.
    """

    ENTITY: ClassVar[str] = "PAYMENT_ACCOUNT"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("payment account (keyed)", _KEYS, r"[\w\-.@+*]{3,64}", 0.4),
        Pattern("wechat wxid", r"(?<![\w\-])wxid_[a-z0-9]{10,24}(?![\w\-])", 0.7),
        Pattern("alipay user id", r"(?<![\w\-])2088\d{12}(?![\w\-])", 0.3),
        # A WeChat/Alipay openid (`o` + 27 URL-safe characters) right after such a word.
        Pattern(
            "openid (text)",
            r"(?i:wechat|weixin|alipay|openid|account|微信|支付宝)[ \t:=]{1,3}"
            r"(?P<value>o[A-Za-z0-9_\-]{27})(?![\w\-])",
            0.7,
        ),
    ]
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = (
        "wechat",
        "weixin",
        "alipay",
        "openid",
        "微信",
        "支付宝",
    )
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS] + [
        "alipay",
        "wechat",
        "payer",
        "payee",
    ]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {k.replace("_", "") for k in _KEYS} - {"buyerid", "sellerid"}
    )
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (rb"xxxa_[0ax]",)
    WINDOW: ClassVar[tuple[int, int]] = (2, 64)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders."""
        return pattern_text.strip().lower() in {"null", "none", "-", "", "unknown"}
