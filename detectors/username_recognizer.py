"""Recognizer for login user names: ``user=``/``username:`` keys and sshd/PAM messages."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.base import LogRecognizer, keyed_pattern

_KEYS = [
    "username",
    "user_name",
    "uname",
    "login",
    "login_name",
    "loginname",
    "user",
    "usr",
    "account_name",
    "accountname",
    "ruser",
    "logname",
    "用户名",
    "账号",
]
# A value ends at a delimiter, never at `=`: in `logname= uid=0` (PAM leaves logname
# empty) the word after `logname= ` is the next key, not a user name; nor at `:` (in
# dovecot's `imap-login: Login: user=<x>` the word after the key is another key).
_NAME = r"[^\s\"'&,;|}\])=]{1,64}(?<!:)(?=[\s\"'&,;|}\])]|$)"
# Placeholders, and PAM module types: `pam_unix(systemd-user:session)` is no user.
_PLACEHOLDERS = frozenset(
    {
        "null",
        "none",
        "undefined",
        "nil",
        "-",
        "",
        "unknown",
        "anonymous",
        "true",
        "false",
        "0",
        "session",
        "auth",
        "account",
        "password",
        "client",
        "agent",
        "id",
        "name",
        "is",
        "was",
        "has",
        "not",
        "does",
        "did",
        "the",
        "a",
        "an",
        "with",
        "data",
        "info",
        "profile",
        "service",
        "request",
        "input",
        "interface",
        "list",
        "group",
        "role",
        "type",
    }
)
# What applications log right after `user <name>`.
_USER_VERBS = (
    r"failed|fails|logged|logs|login|logout|signed|bound|changed|updated|registered|"
    r"deleted|created|authenticated|locked|unlocked|reset|requested|tried|attempted|"
    r"exceeded|blocked|verified|subscribed|unsubscribed|added|removed|joined|left|"
    r"connected|disconnected|granted|denied|approved|rejected|is|was|has|not|does|did|"
    r"from|at|on|\("
)


class UsernameRecognizer(LogRecognizer):
    """Detect user names.

    * keyed: ``user=bob``, ``username: bob``, ``"login": "bob"``;
    * sshd / PAM: ``Invalid user X from``, ``Accepted password for X from``,
      ``Failed password for invalid user X from``, ``session opened for user X``,
      ``Disconnected from user X``, ``Connection closed by invalid user X``,
      ``input_userauth_request: invalid user X``, ``check pass; user unknown``.

    ``root`` and other account names are reported too: in an access log the account name
    of a login attempt is personal data, and the engine decides how to treat it.
    """

    ENTITY: ClassVar[str] = "USERNAME"
    PATTERNS: ClassVar[list[Pattern]] = [
        keyed_pattern("username (keyed)", _KEYS, _NAME, 0.4),
        Pattern(
            "sshd invalid user",
            r"(?<![\w])[Ii]nvalid user (?P<value>[^\s\"']{1,64}) (?=from |port |\[)",
            0.9,
        ),
        Pattern(
            "sshd auth",
            r"(?:Accepted|Failed|Postponed) (?:password|publickey|keyboard-interactive(?:/pam)?|"
            r"none|hostbased|gssapi-with-mic) for (?:invalid user )?"
            r"(?P<value>[^\s\"']{1,64}) from ",
            0.9,
        ),
        Pattern(
            "session for user",
            r"(?:session (?:opened|closed) for user|[Ss]ession \S+ of user|"
            r"(?:Disconnected from|Connection closed by|"
            r"Received disconnect from)(?: invalid| authenticating)? user|"
            r"input_userauth_request: invalid user|password changed for|"
            r"Too many authentication failures for"
            r"(?: invalid user)?|maximum authentication attempts exceeded for"
            r"(?: invalid user)?) (?P<value>[^\s\"'(]{1,64}?)"
            r"(?= from | \d| by |\(|$| port |\s*$|\.\s*$|\.\s| \S+ port | \[preauth\])",
            0.8,
        ),
        Pattern(
            # Common/combined access log: `203.0.113.9 - alice [19/Feb/2024:01:02:13 +0000]`.
            "access log remote user",
            r"\s-\s(?P<value>[^\s\[\]\"\-][^\s\[\]\"]{0,63})\s\[\d{1,2}/[A-Za-z]{3}/\d{4}:",
            0.85,
        ),
        Pattern(
            # `sudo[62778]: alice : TTY=...`, RFC 5424 `sudo 62333 - - alice : TTY=...`.
            "sudo user",
            r"(?<![\w])sudo(?:\[\d+\]:|:|[ \t]+\d+[ \t]+-[ \t]+-)\s+(?P<value>[^\s:;]{1,64})\s:\s",
            0.85,
        ),
        Pattern(
            # Application messages: `user alice failed login`, `User 小熊猫 bound WeChat`.
            "user then verb",
            r"(?<![\w\-.])[Uu]ser[ \t]+(?P<value>[^\s,;:()<>'\"=]{2,64})[ \t]+(?:"
            + _USER_VERBS
            + r")(?![\w])",
            0.8,
        ),
        Pattern(
            # `account jdoe locked after 5 failures`, `Account 'm.rossi' was disabled`.
            "account then verb",
            r"(?<![\w\-.])[Aa]ccount[ \t]+['\"]?(?P<value>[A-Za-z_][\w.\-@]{1,63})['\"]?[ \t]+"
            r"(?:has been[ \t]+|was[ \t]+|is[ \t]+)?"
            r"(?:locked|unlocked|disabled|enabled|created|deleted|removed|expired|suspended"
            r"|renamed|logged|signed|reactivated)(?![\w])",
            0.8,
        ),
        Pattern(
            # `Password reset requested for account: m.rossi`; a colon, `=` or quotes
            # mark the name (`for account settings` is no account).
            "for account named",
            r"(?<![\w])(?:for|of)[ \t]+(?:the[ \t]+)?(?:user[ \t]+)?account"
            r"(?:[ \t]*[:=][ \t]*['\"]?|[ \t]+['\"])(?P<value>[A-Za-z_][\w.\-@]{1,63})"
            r"(?<![.\-])(?=['\"]|[\s,;)]|$)",
            0.8,
        ),
        Pattern(
            # A Unix account with its uid: `Authentication failure for jsmith (uid 1001)`.
            "name with uid",
            r"(?<![\w\-.])(?!(?:by|as|for|to|from|of|with|and|or|the|user|session|process"
            r"|uid|id|login|LOGIN)[ \t]?\()"
            r"(?P<value>[A-Za-z_][\w.\-]{0,31})[ \t]?\((?:uid|UID)[ =:]?\d{1,10}\)",
            0.8,
        ),
        Pattern(
            # An LDAP / Active Directory distinguished name's common name, single-word
            # accounts (`cn=jdoe,ou=People`); names with a space are PERSONs
            # (person_recognizer). Not the built-in containers (`CN=Users,DC=corp`).
            "ldap common name",
            r"(?<![\w])cn=(?!(?:Users|Computers|Builtin|System|Configuration|Schema"
            r"|Administrators|Domain Users|Domain Admins|Managed Service Accounts)[,+])"
            r"(?P<value>[^,=+\"\s\\]{1,64})(?=,(?:ou|dc|o|c|cn|l|st|uid)=)",
            0.8,
        ),
        Pattern(
            # Profile URLs name the account: `/u/bob.smith/`, `/users/jdoe/orders`,
            # `/@lucy_w`, `/~alice/`. Not route words (`/users/search`, `/users/me`) or
            # numbers (user_id_recognizer: `/users/48213/`).
            "account in a path",
            # (Lower-case route segments: `/Users/default/` is a Windows profile path.)
            r"(?-i:/(?:u|users|people)/|/@|/~)"
            r"(?P<value>(?!(?:me|self|current|new|search|list|all|count|login|logout|signin"
            r"|signup|register|settings|profile|edit|update|delete|create|info|detail|details"
            r"|index|home|avatar|password|reset|verify|status|online|active|admin|api|batch"
            r"|bulk|export|import|stats|top|recent|followers|following|groups|roles"
            r"|permissions|invite|invites|sessions|tokens|auth|oauth|default|public|shared"
            r"|guest)(?![\w.\-]))"
            r"[A-Za-z][\w.\-]{1,63}"
            r"(?<!\.(?:png|jpg|jpeg|gif|svg|css|js|html|json|xml|ico|webp|txt|pdf)))"
            r"(?=[/?#\s\"';,]|$)",
            0.8,
        ),
        Pattern(
            # A home directory names its account: `PWD=/home/alice`, `C:\\Users\\bob`.
            "home directory",
            r"(?:(?<![\w.])/home/|(?<![\w.])/Users/|\\Users\\)"
            # (`/users/me` and similar REST words are not accounts.)
            r"(?P<value>(?!(?:Shared|Public|Default|All Users|me|self|current|new|search|list"
            r"|count|all)(?![\w.\-]))"
            r"[A-Za-z0-9_][\w.\-]{0,63})",
            0.8,
        ),
        Pattern(
            # Windows accounts as IIS, Exchange and Windows logs write them, a token of its
            # own: `CORP\\jsmith`, `RaDomain\\Mailbox32`, `EX04$` machine accounts; not
            # paths (`C:\\Windows\\System32`: a drive or another backslash next to it),
            # file names, or the built-in principals (`NT AUTHORITY\\SYSTEM`).
            "windows domain account",
            r"(?:^|[\s\"'=:,(\[])"
            r"(?P<value>(?!(?:AUTHORITY|BUILTIN|SERVICE|NT|Window Manager|Font Driver Host)\\)"
            r"[A-Za-z][A-Za-z0-9\-]{1,14}\\{1,2}[A-Za-z][\w.\-]{0,63}\$?)"
            r"(?<!\.(?:log|txt|exe|dll|sys|ini|xml|json|cfg|conf|bat|ps1|cmd|csv|dat|tmp|bak))"
            r"(?=[\s\"',;)\]]|$)",
            0.8,
        ),
        Pattern(
            # Jira/Confluence access log (`%t %{X-AUSERNAME}o %I %h ...`): the account
            # between the time and the Tomcat thread `http-nio-8080-exec-3`.
            "atlassian access log user",
            r"\]\s(?P<value>[^\s\-\[\]][^\s\[\]]{0,63})\s(?=https?-[\w\-]{0,40}exec-\d{1,5}\s)",
            0.85,
        ),
        Pattern(
            # vsftpd: `[pid 3] [jean] OK UPLOAD: Client "192.0.2.1", ...`.
            "vsftpd user",
            r"\[pid \d{1,7}\] \[(?P<value>[^\]\s]{1,64})\] (?=(?:OK|FAIL) [A-Z]{2,12}:)",
            0.85,
        ),
        Pattern(
            # IIS / W3C extended log: `cs-method cs-uri-stem cs-uri-query s-port
            # cs-username c-ip` in IIS's own field order (every IIS version writes it so).
            "iis cs-username",
            r"(?<!\S)[A-Z][A-Z_]{2,19} /\S* \S+ \d{1,5} +(?P<value>[^\s\-]\S{0,63}) +"
            r"(?=[0-9A-Fa-f:.]{2,45} )",
            0.85,
        ),
        Pattern(
            # PAM names who opened a session: `session opened for user root(uid=0) by
            # lisa(uid=1000)`; `by LOGIN(uid=0)` is the login service, not a person.
            "pam by user",
            r"(?<![\w]) by (?!LOGIN\()(?P<value>[^\s()\"']{1,64})\(uid=\d{1,10}\)",
            0.8,
        ),
        Pattern(
            # useradd/groupadd: `new user: name=jdoe, UID=1001`, `new group: name=jdoe`
            # (a user's own group carries the user's name).
            "useradd new user",
            r"new (?:user|group): name=(?P<value>[^\s,]{1,64}),",
            0.85,
        ),
        Pattern(
            # Samba: `Authentication for user [dave] -> [dave] FAILED`.
            "samba user",
            r"for user \[(?P<value>[^\]\s]{1,64})\]",
            0.85,
        ),
        Pattern(
            "samba mapped user",
            r"\] -> \[(?P<value>[^\]\s]{1,64})\] (?=FAILED|succeeded)",
            0.85,
        ),
        Pattern(
            # OpenVPN names a client by its certificate's common name and real address:
            # `carol/203.0.113.77:51234 MULTI: ...` at the start of the message (not Java's
            # `host/10.0.0.1:9000` socket addresses inside one: `Old: msra-sa-41/...`).
            "openvpn common name",
            r"(?:^|\]: )(?P<value>[^\s/:\[\]]{1,64})/"
            r"(?=\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}\s)",
            0.8,
        ),
        Pattern(
            # Cisco ASA: `Group <VPN> User <gina> IP <203.0.113.61> ...`.
            "cisco asa user",
            r"(?<![\w])User <(?P<value>[^<>\s]{1,64})> (?=IP <)",
            0.85,
        ),
        Pattern(
            # Squid native access log: `... TCP_MISS/200 411 GET http://x/ emily DIRECT/...`.
            "squid user",
            r"(?<![\w])[A-Z]{2,5}_[A-Z_]{2,30}/\d{3} \d{1,15} [A-Z]{3,12} \S{1,4096} "
            r"(?P<value>[^\s\-]\S{0,63}) (?=[A-Z_]{4,30}/\S)",
            0.85,
        ),
        Pattern(
            # MySQL general query log: `8 Connect\tivan@10.0.0.8 on shop using TCP/IP`.
            "mysql connect",
            r"(?<![\w])Connect\s+(?P<value>[^\s@]{1,64})@\S{1,255} on ",
            0.85,
        ),
        Pattern(
            # util-linux su: `(to root) nina on pts/0`, `FAILED SU (to root) oscar on pts/1`.
            "su to user",
            r"\(to [^\s)]{1,64}\) (?P<value>[^\s]{1,64}) on ",
            0.85,
        ),
        Pattern(
            # sshd: `Starting session: shell on pts/0 for paul from 203.0.113.31 port 5556`.
            "sshd starting session",
            r"Starting session: \S{1,32}(?: on \S{1,32})? for (?P<value>[^\s]{1,64}) from ",
            0.85,
        ),
        Pattern(
            # AWS ARNs name IAM users and sessions: `arn:aws:iam::123456789012:user/Alice`,
            # `arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com`.
            "aws arn user",
            r"arn:aws[\w\-]{0,12}:(?:iam|sts)::\d{12}:(?:user(?:/[\w+=,.@\-]{1,64})*"
            r"|assumed-role/[\w+=,.@\-]{1,64}|federated-user)/(?P<value>[\w+=,.@\-]{1,64})",
            0.85,
        ),
        Pattern(
            # XML: Windows event data `<Data Name="TargetUserName">dwilson</Data>` and plain
            # elements `<UserName>steve</UserName>`.
            "xml user name",
            r"(?:<Data Name=[\"'](?:Target|Subject|Caller)?(?:UserName|User|AccountName|Account)"
            r"[\"']>|<(?:UserName|User_Name|Username|user|login|account_?name)>)"
            r"(?P<value>[^<\s][^<]{0,63})</",
            0.85,
        ),
        Pattern(
            # PostgreSQL's log_line_prefix `%u@%d` (user at database) before the level:
            # `[9158] postgres@shop FATAL:  ...`.
            "postgresql user at database",
            r"\] (?P<value>[A-Za-z_][\w.\-$]{0,62})@[\w.\-$]{1,63} "
            r"(?=(?:LOG|FATAL|ERROR|WARNING|DETAIL|STATEMENT|HINT|NOTICE|INFO|DEBUG\d?|PANIC"
            r"|CONTEXT|LOCATION):)",
            0.85,
        ),
        Pattern(
            # Bitbucket Server access log: `ip | protocol | request id | user | time | ...`
            # (gRPC lines have a second id before the user).
            "bitbucket access log user",
            r"\| (?:https?|ssh|grpc) \| \S{1,64} \|(?: [@*]\S{1,64} \|)?"
            r" (?P<value>[^\s|\-][^\s|]{0,63}) \| "
            r"(?=\d{4}-\d\d-\d\d \d\d:\d\d)",
            0.85,
        ),
        Pattern(
            # useradd/chpasswd: `failed adding user 'alice'`, `user "bob" does not exist`.
            "quoted user",
            r"(?<![\w\-.])[Uu]ser ['\"](?P<value>[^'\"\s]{1,64})['\"]",
            0.8,
        ),
        Pattern(
            "sshd not allowed",
            r"(?<![\w])User (?P<value>[^\s\"'(]{1,64}) from \S+ not allowed",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [k.replace("_", "") for k in _KEYS]
    FIELD_NAMES: ClassVar[frozenset[str]] = frozenset(
        {
            "username",
            "uname",
            "login",
            "loginname",
            "user",
            "usr",
            "accountname",
            "ruser",
            "logname",
            "remoteuser",
            "authuser",
            "sshuser",
            "osuser",
            "linuxuser",
            "用户名",
            "account",
            "memberaccount",
            "useraccount",
            "loginaccount",
        }
    )
    CONTEXT_REQUIRED: ClassVar[bool] = True
    # sshd / PAM phrases; `user=` style keys are found by the scanner's key pass.
    TRIGGER_WORDS: ClassVar[tuple[str, ...]] = (
        "invalid user",
        "password for",
        "publickey for",
        "interactive",
        "for user",
        "from user",
        "by user",
        "failures for",
        "exceeded for",
        "hostbased for",
        "none for",
        "gssapi-with-mic for",
        "not allowed",
        "authenticating user",
        "changed for",
        "sudo",
        "of user",
        "user ",
        "/home/",
        "/users/",
        "\\users\\",
    )
    # `[19/Feb/2024:` after an access log's user field (see text_shape).
    PATTERN_ANCHORS: ClassVar[dict[str, tuple[bytes, ...]]] = {
        "access log remote user": (rb"\[00/[ax]{3}/0000:",),
    }
    # A domain account has a backslash: without one that pattern does not run.
    PATTERN_TEXT_GATES: ClassVar[dict[str, str]] = {
        "windows domain account": r"\\",
        "atlassian access log user": r"-exec-\d",
        "vsftpd user": r"\[pid \d",
        "iis cs-username": r"[A-Z] /\S* \S+ \d{1,5} ",
        "postgresql user at database": r"@\S+ [A-Z]{3,9}\d?:",
        "openvpn common name": r"/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d",
        "pam by user": r"\(uid=\d",
        "account then verb": r"(?i)account ",
        "account in a path": r"/(?:u|users|people)/[A-Za-z]|/[@~][A-Za-z]",
        "for account named": r"(?i)account",
        "name with uid": r"\((?:uid|UID)[ =:]?\d",
        "ldap common name": r"(?i)cn=[^,]{1,64},(?:ou|dc|o|c|cn|l|st|uid)=",
        "samba mapped user": r"\] -> \[",
        "useradd new user": r"new (?:user|group): name=",
        "cisco asa user": r"User <",
        "squid user": r"_[A-Z_]{2,30}/\d{3} \d",
        "mysql connect": r"Connect\s",
        "su to user": r"\(to ",
        "sshd starting session": r"Starting session: ",
        "aws arn user": r"arn:aws",
        "xml user name": r"(?i:name|user|login|account)[\"']?>",
        "bitbucket access log user": r"\| (?:https?|ssh|grpc) \| ",
    }
    WINDOW: ClassVar[tuple[int, int]] = (48, 150)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True for placeholders (``-``, ``null``, ``unknown``)."""
        return pattern_text.strip().lower() in _PLACEHOLDERS
