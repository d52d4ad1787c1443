"""Recognizer for nicknames / display names, found by their key."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "nickname",
    "nick_name",
    "nick",
    "display_name",
    "displayname",
    "screen_name",
    "screenname",
    "alias",
    "handle",
    "昵称",
]
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nil", "-", ""})
# An IRC / chat nick (RFC 2812 letters plus `[]\\`^{|}_`), as a log line's own token.
_NICK = r"[A-Za-z_\[\]\\`^{|}][\w\[\]\\`^{|}\-]{0,31}"
# The end of a nick: a space, a sentence mark, the end of the line.
_NICK_END = r"(?=[\s,!:;.?]|$)"
# What chat clients write before an event: XChat `-->`/`<--`/`---`, irssi `-!-`, mIRC `***`.
_EVENT_MARK = r"(?:-->|<--|---|-!-|\*\*\*)[ \t]{1,4}"
# Severity tags some syslog writers put where a chat log has its `<nick>`.
_NOT_NICKS = (
    r"(?:notice|info|warn|warning|error|err|debug|crit|critical|alert|emerg|emergency"
    r"|fault|default|trace|fatal|severe)>"
)


# Prose about a change of nickname: `user changed nickname to "SkyWalker99"`, `display name
# set to Foo Bar`, `nickname changed from 'old' to 'new'`.
_CUE = r"(?<![A-Za-z])(?:nick(?:name)?|display[ _]?name|screen[ _]?name)"
_VERB = r"(?:changed|set|updated|renamed|modified|changes|sets|updates)"
_OWNER = r"(?:(?:his|her|their|its|the|my|your)[ \t]+)?"
_SKIP = r"""(?:"[^"\n]{1,32}"|'[^'\n]{1,32}'|\S{1,32})"""
# Quoted: up to the closing quote; unquoted: a token and the capitalized words after it
# (`Foo Bar`, not `bob for user 5`).
_PROSE_VALUE = (
    r"""["'\u201c\u2018]?(?P<value>(?<=["'\u201c\u2018])[^"'\u201d\u2019\n]{1,32}"""
    r"""(?=["'\u201d\u2019])"""
    r"""|[^\s"'\u201c\u2018,;]{1,32}(?:[ \t](?-i:[A-Z])[^\s"',;]{0,31}){0,2})"""
)
_CHANGE = (
    rf"(?:{_CUE}(?:[ \t]+(?:was|has been|is|got))?[ \t]+{_VERB}"
    rf"|{_VERB}[ \t]+{_OWNER}{_CUE})"
)


class NicknameRecognizer(LogRecognizer):
    """Detect a nickname after its key: ``nickname=bob``, ``"nick_name": "Bob S."``."""

    ENTITY: ClassVar[str] = "NICKNAME"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("nickname (keyed)", _KEYS, r"[^\s\"'&,;|}\])]{1,64}", 0.4),
        Pattern(
            # A chat log's message author right after the time: XChat `dec 31 21:11:58
            # <fpi> hi`, irssi `21:11 < @fpi> hi`, mIRC `[21:11] <fpi> hi`. Not a syslog
            # `<proc[pid]>` tag or a severity (`<Notice>`), not milliseconds' `.222 <x>`.
            "chat message author",
            r"(?<![\d.:])\d{1,2}:\d{2}(?::\d{2})?\]?[ \t]{1,4}<[ \t]?[@+%~&]?"
            r"(?!" + _NOT_NICKS + r")(?!\S*\[\d+\]>)"
            r"(?P<value>" + _NICK + r")>(?=[ \t]|$)",
            0.8,
        ),
        Pattern(
            # The nick an event is about: `--> fpi (~f@host) has joined #plaso`,
            # `-!- fpi [~f@host] has quit`, `--- Joachim gives voice to fpi`.
            "chat event actor",
            _EVENT_MARK + r"(?P<value>" + _NICK + r")[ \t]+"
            r"(?:\([^)\n]{0,120}\)[ \t]+|\[[^\]\n]{0,120}\][ \t]+)?"
            r"(?=has (?:joined|quit|left|kicked|changed the topic|set the topic)|is now known as"
            r"|gives |removes |sets (?:mode|ban))",
            0.8,
        ),
        Pattern(
            "chat event target",
            _EVENT_MARK + r"\S{1,32}[ \t]+(?:is now known as|gives voice to"
            r"|gives channel (?:operator|half-operator) status to|removes voice from"
            r"|removes channel (?:operator|half-operator) status from|has kicked)[ \t]+"
            r"(?P<value>" + _NICK + r")" + _NICK_END,
            0.8,
        ),
        Pattern(
            # Chinese prose: `昵称"小熊猫"`, `昵称为「快乐的小鱼」`.
            "nickname quoted in chinese text",
            r"昵称(?:是|为)?[:：]?[ \t]{0,2}[\"'\u201c\u300c\u300e]"
            r"(?P<value>[^\"'\u201d\u300d\u300f\n]{1,32})[\"'\u201d\u300d\u300f]",
            0.85,
        ),
        Pattern(
            # `Topic for #plaso set by Kristinn`, irssi `-!- Topic set by fpi [~f@host]`.
            "chat topic setter",
            r"(?<![\w])[Tt]opic (?:for [#&]\S{1,64} )?set by (?P<value>" + _NICK + r")" + _NICK_END,
            0.8,
        ),
        Pattern(
            # A mention after the word that says who: `comment by @techguru99`, `cc
            # @lucy_w`, `mentioned @xiaoming`. Not a bare `@` (`job@host`, `@timestamp`).
            "mention",
            r"(?<![\w])(?:by|from|cc|to|mentioned|mentions|follow(?:ed|s)?|replied to"
            r"|reply to|author|user)[ \t]*:?[ \t]+@(?P<value>[A-Za-z_][A-Za-z0-9_.]{1,30})"
            r"(?<!\.)(?![\w@])",
            0.8,
        ),
        Pattern(
            "nickname changed to",
            rf"{_CHANGE}(?:[ \t]+from[ \t]+{_SKIP})?[ \t]+to[ \t]+{_PROSE_VALUE}",
            0.8,
        ),
        Pattern(
            "nickname changed from",
            rf"{_CHANGE}[ \t]+from[ \t]+{_PROSE_VALUE}(?=[\"'\u201d\u2019]?[ \t]+to[ \t])",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "nickname",
            "nick",
            "displayname",
            "screenname",
            "usernick",
            "usernickname",
            "nicknamecn",
            "昵称",
            # A social account's handle (`"weibo": "@xiaoming"`): the person's public name.
            "weibo",
            "twitter",
            "instagram",
            "tiktok",
            "douyin",
            "kuaishou",
            "xiaohongshu",
            "telegram",
            "微博",
            "抖音",
            "twitterhandle",
            "instagramhandle",
            "tiktokhandle",
            "socialhandle",
            "userhandle",
        }
    )
    # `buyer_nickname`, `authorNickname`: a run-together name ending in `nickname`.
    FIELD_SUFFIXES: ClassVar[tuple[str, ...]] = ("nickname",)
    CONTEXT_REQUIRED: ClassVar[bool] = True
    # Chat lines have no key: each pattern runs when its own cue is in the text.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "chat message author": r"\d:\d\d\]?[ \t]{1,4}<",
        "chat event actor": r"(?:-->|<--|---|-!-|\*\*\*)[ \t]",
        "chat event target": r"(?:-->|<--|---|-!-|\*\*\*)[ \t]",
        "chat topic setter": r"[Tt]opic (?:for [#&]\S{1,64} )?set by ",
        "nickname quoted in chinese text": r"昵称",
        "mention": r"[ \t]@[A-Za-z_]",
        "nickname changed to": r"(?i)(?:nick|display[ _]?name|screen[ _]?name).{0,40}\bto\b",
        "nickname changed from": r"(?i)(?:nick|display[ _]?name|screen[ _]?name).{0,40}\bfrom\b",
    }
    WINDOW: ClassVar[tuple[int, int]] = (2, 150)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for empty placeholders (``null``, ``-``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
