"""Recognizer for email addresses."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_EMAIL = (
    r"[\w][\w.+%\-']{0,63}@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
    r"(?![\w\-])"
)
_KEYS = [
    "email",
    "e-mail",
    "mail",
    "email_address",
    "emailaddress",
    "user_email",
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "recipient",
    "邮箱",
]


_COMMON_TLD = (
    r"(?:com|net|org|edu|gov|mil|int|info|biz|io|co|me|us|uk|cn|de|fr|jp|kr|ru|in|br|ca|au"
    r"|it|es|nl|se|no|fi|dk|pl|ch|at|be|ie|nz|sg|hk|tw|mx|ar|za|tr|ua|vn|id|my|th|ph|eu)"
)


class EmailAddressRecognizer(LogRecognizer):
    """Detect email addresses with a dotted domain and an alphabetic top-level domain.

    Unlike Presidio's email recognizer this never calls tldextract (which would fetch the
    public-suffix list at run time); the shape check is enough for logs, and a Java
    ``Object@1a2b3c`` has no dotted domain.
    """

    ENTITY: ClassVar[str] = "EMAIL_ADDRESS"
    PATTERNS: ClassVar[list[Pattern]] = [
        # Not after a password-ish symbol, nor after the `user:` of a URL's userinfo
        # (`scheme://user:pa$s@host`: the secret detector takes that whole); after any
        # other colon (`from:bob@example.com`, `联系人：bob@…` once folded) it is an email.
        Pattern(
            "email",
            rf"(?:(?<![\w.+%\-:$*!#^~|])|(?<=[^\w/]:)|(?<=\w:)(?<!//[\w.%\-]{{1,64}}:)|(?<=^:))"
            rf"{_EMAIL}",
            0.9,
        ),
        keyed_pattern("email (keyed)", _KEYS, _EMAIL, 0.9, quoted=False),
        # Written out against scrapers: `bob [at] example [dot] com`, `bob(at)example.com`.
        Pattern(
            "email written out",
            r"(?<![\w.+\-])[\w.+\-]{1,64}[ \t]*[\[({<][ \t]*at[ \t]*[\])}>][ \t]*[\w\-]{1,63}"
            r"(?:(?:[ \t]*[\[({<][ \t]*dot[ \t]*[\])}>][ \t]*|\.)[\w\-]{1,63}){0,3}"
            # ...ending in a common top-level domain (`look [at] this [dot] thing` is prose).
            r"(?:[ \t]*[\[({<][ \t]*dot[ \t]*[\])}>][ \t]*|\.)" + _COMMON_TLD + r"(?![\w\-])",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["email", "mail", "e-mail", "邮箱", "邮件"]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "mail",
            "emailaddress",
            "emailaddr",
            "useremail",
            "contactemail",
            "replyto",
            "mailto",
            "mailaddress",
            "customeremail",
        }
    )
    # `@`, or the bracket of a written-out `[at]`.
    TRIGGER_CHARS: ClassVar[str] = "@[({<"
    SHAPE_ANCHORS: ClassVar[tuple[bytes, ...]] = (rb"@",)
    # A written-out address has no `@` to anchor on: its `[at]` is the cue.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "email written out": r"(?i)[\[({<][ \t]*at[ \t]*[\])}>]",
    }
    WINDOW: ClassVar[tuple[int, int]] = (64, 72)

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return False for dots in invalid places of the local part, else True."""
        if "@" not in pattern_text:
            return True  # written out (`bob [at] example [dot] com`): its pattern decides
        local = pattern_text.rsplit("@", 1)[0]
        if local.startswith(".") or local.endswith(".") or ".." in local:
            return False
        return True

    def normalize(self, value: str) -> str:
        """Return the address lowercased."""
        return value.strip().lower()
