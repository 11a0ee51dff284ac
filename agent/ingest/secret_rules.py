"""What a secret looks like: the shapes of known keys, the names that hold secrets, and which
values given for such a name are secrets.

`redact.py` finds a value given for a name; this module says whether the name is a secret's
(`DB_PASS`, `secret_key`, `x-api-key`; not `max_tokens`, `primary_key`, `token_type`) and whether the
value is a secret or something else standing where one could: a reference to the environment, a
placeholder, a path, a label, code (`ConfigAttribute[str](...)`, `auth[1]`, `self.token`).
The rules were checked against the source of rich, openai, typer, pydantic, httpx, pygments and
eight application repositories (flask, datasette, warehouse, mealie, outline, jj, typst, zoekt):
what they still redact is a literal given for a secret's name (test passwords, example keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Mode(Enum):
    """What an unquoted value after `password =` is, by the kind of text it stands in."""

    CODE = "code"  # an expression (a name, a call): never a literal
    CONFIG = "config"  # the literal itself (YAML, .ini, dotenv, shell)
    TEXT = "text"  # prose, a comment or inside a string: a literal when it looks like one


# Languages in which an unquoted value is an expression; their strings and comments are TEXT.
_HASH_COMMENT = frozenset({"python", "ruby", "perl", "r", "elixir", "nim"})
_SLASH_COMMENT = frozenset(
    {
        *("js", "ts", "go", "rust", "java", "kotlin", "scala", "php", "csharp", "c", "cpp"),
        *("swift", "objc", "dart", "sol", "groovy", "zig", "vue", "svelte"),
    }
)
_CONFIG = frozenset(
    {"yaml", "toml", "ini", "dotenv", "shell", "powershell", "dockerfile", "terraform", "json"}
)


def mode_of(language: str) -> Mode:
    """How unquoted values read in a file of this language ("" for commit messages, unknown files)."""
    if language in _HASH_COMMENT or language in _SLASH_COMMENT:
        return Mode.CODE
    return Mode.CONFIG if language in _CONFIG else Mode.TEXT


# --- secrets recognised by their shape, wherever they stand -----------------------------------

_AWS_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")
AWS_KEY_ID = re.compile(rf"\b(?:{'|'.join(_AWS_PREFIXES)})[0-9A-Z]{{16}}\b")
# (kind, pattern, group to replace, literal substrings without which the pattern cannot match:
# `in` is far faster than a regex scan, so most files skip most patterns)
SHAPES: list[tuple[str, re.Pattern[str], int, tuple[str, ...]]] = [
    ("aws-access-key-id", AWS_KEY_ID, 0, _AWS_PREFIXES),
    (
        "github-token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"),
        0,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), 0, ("glpat-",)),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), 0, ("sk-ant-",)),
    (
        "openai-key",
        re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        0,
        ("sk-",),
    ),
    (
        "slack-token",
        re.compile(r"\b(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
        0,
        ("xox", "xapp-"),
    ),
    (
        "slack-webhook",
        re.compile(r"https://hooks\.slack\.com/services/([A-Za-z0-9/_]{8,})"),
        1,
        ("hooks.slack.com",),
    ),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), 0, ("AIza",)),
    (
        "stripe-key",
        re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        0,
        ("_live_", "_test_"),
    ),
    ("twilio-key", re.compile(r"\bSK[0-9a-fA-F]{32}\b"), 0, ("SK",)),
    (
        "sendgrid-key",
        re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
        0,
        ("SG.",),
    ),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0, ("npm_",)),
    ("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0, ("hf_",)),
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        0,
        ("eyJ",),
    ),
]


# --- names ----------------------------------------------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PASSWORD = ("password", "passwd", "pwd", "pass", "passphrase", "passcode")
# Words that make a "key" secret: an api key is, a primary key or a sort key is not.
_KEY_KINDS = frozenset(
    {
        *("api", "access", "secret", "private", "auth", "client", "signing", "sign", "encryption"),
        *("master", "session", "app", "account", "shared", "admin", "service", "license"),
        *("subscription", "consumer", "webhook", "hmac", "jwt", "ssh", "deploy"),
        *("crypto", "cipher", "aes", "licence", "integration", "partner"),
    }
)
# Trailing words that do not change what a name holds: SECRET_KEY_BASE, api_key_v2, token_str.
_NEUTRAL = frozenset({"base", "value", "str", "string", "raw", "plain", "b64", "hex", "bytes"})
_SINGLE_KEYS = ("apikey", "accesskey", "secretkey", "privatekey", "authkey", "accountkey")


class Held(Enum):
    """What a secret's name holds, which decides what a literal given for it must look like."""

    PASSWORD = "password"  # chosen by a person: any literal is one
    KEY = "key"  # generated (tokens, keys, secrets): a literal counts when it looks generated


def secret_name(name: str, before: str) -> Held | None:
    """What a value given for `name` is, if a secret. `before` is the text preceding the name, for
    prose such as "the API key is ..."."""
    words = [w.lower() for w in _WORDS.findall(name)]
    while len(words) > 1 and (words[-1] in _NEUTRAL or words[-1].isdigit()):
        words.pop()
    if not words:
        return None
    last = words[-1]
    if last in _PASSWORD or last.endswith(("password", "passwd")):
        return Held.PASSWORD
    if last.endswith(("token", "secret")) or last in ("credential", *_SINGLE_KEYS):
        return Held.KEY
    if last == "key":
        qualifier = words[-2] if len(words) > 1 else (before.split() or [""])[-1].lower()
        return Held.KEY if qualifier in _KEY_KINDS else None
    return None


# --- values ---------------------------------------------------------------------------------------

IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_PLACEHOLDER = re.compile(
    r"""(?ix)^(
        \$[A-Za-z_{(].* | %\w+% | %s | %\(\w+\)s    # the environment, a variable: $VAR, ${x}
      | (?:os\.)?(?:environ|getenv|env)\b.* | process\.env.* | ENV\[.*
      | \{[^{}]*\} | <[^<>]*> | \[[^\[\]]*\] | \([^()]*\)                    # {name} <your-key> [REDACTED]
      | [x*.•_-]+ | .*(?:\.\.\.|…)                   # elided: sk-..., ghp_…
      | .*(?:<[\w .-]+>|\[[\w .-]+\]).*              # holds a placeholder: vault::[secret-key]
      | (?:vault|arn|ssm|sm|op|ref\+\w+)[:+/].*       # a reference to a secret manager
      | changeme | change[-_]?me | secret | secrets | passwords? | passwd | pass | tokens? | keys?
      | none | null | nil | true | false | yes | no | on | off | undefined | (?:%5B)?redacted.*
      | required | optional | example | placeholder | inherit | include | omit | same-origin
      | (?:your|my|the|some)[-_ ].* | your\w*
      | [\d.,_:+-]+                                 # a number, a port, a version
      | (?:~|\.{1,2})?/[\w.@/-]*                    # a path
      | [\w./-]+\.(?:pem|key|crt|cer|json|p12|pfx|txt|env|ya?ml|toml|gpg)
      | https?://\S*                                # a URL (its credentials are found on their own)
      | \#[0-9a-f]{3,8}                             # a colour
    )$"""
)
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]+")
# Interpolation ({{ x }}, ${x}, #{x}, {x}) or a regular expression (\w, \d): not a literal secret.
_TEMPLATE = re.compile(r"\{\{|\$\{|#\{|\{%|\{[A-Za-z_][\w.]*\}|\\[wdsWDS]")
# Words (any script) joined by spaces, dashes, dots or underscores: text or a name.
_WORD = r"[^\W\d_]+(?:['’][^\W\d_]+)*"
_WORDY = re.compile(rf"{_WORD}(?:[ _.-]+{_WORD})*[.!?:…]?")
_TOKEN_CHARS = re.compile(r"[\w!@#$%^&*+/=~?.-]+")
_PAIR = re.compile(r"[A-Za-z_][\w.-]*=(?:[^=]|$)")
_CALL = re.compile(r"[A-Za-z_$][\w$.]*[(\[]")
_ATTRIBUTE = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")


def placeholder(value: str) -> bool:
    """A value that stands for a secret without being one: $VAR, {{ x }}, <your-key>, a path."""
    v = value.strip()
    return not v or bool(_PLACEHOLDER.match(v) or _ENV_NAME.fullmatch(v) or _TEMPLATE.search(v))


def literal(value: str, *, quoted: bool) -> bool:
    """Whether a value given for a secret's name is worth redacting."""
    v = value.strip()
    if v != value or len(v) < 3 or placeholder(v):
        return False  # a secret neither starts nor ends with a space: "`password =` is, by ..."
    return quoted or not v.startswith(("*", "&", "!"))  # YAML alias, anchor or tag


def code_like(value: str, after: str) -> bool:
    """An unquoted value that is code: a call or subscript (`ConfigAttribute[...](...)`,
    `auth[1]`), an attribute (`self.token`, `var.db_password`)."""
    return after in ("(", "[") or bool(_ATTRIBUTE.fullmatch(value) or _CALL.match(value))


def looks_secret(value: str) -> bool:
    """A value only separated from its name by a space or "is": it must look like a secret,
    not like the next word of a sentence ("--token with ...", "the password is required")."""
    if len(value) < 6 or placeholder(value) or value.startswith(("-", "@")) or _PAIR.match(value):
        return False  # a flag, a reference (@name), the next pair: `type=password name=password`
    if not _TOKEN_CHARS.fullmatch(value):
        return False  # "password change?}:::warehouse": markup around a word
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    # Not "*" (**emphasis** in Markdown) nor ".", ":" (the punctuation of a sentence).
    symbols = any(c in "!@#$%^&+/=~?" for c in value)
    return letters and (digits or symbols)


def looks_random(value: str) -> bool:
    """Upper and lower case letters and a digit or symbol: a key, not a word or a hex digest."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() or c in "/+_-" for c in value)
    )


def holds_secret(value: str, held: Held, *, quoted: bool, strong: bool, text: bool) -> bool:
    """Whether a literal given for a secret's name is one. `strong`: given with `=` or `:` (not a
    space or "is"); `text`: standing in prose, a comment or a string, where a bare word is more
    often a name than a secret."""
    if not literal(value, quoted=quoted):
        return False
    if not strong:
        return looks_secret(value)
    words = value.split()
    if len(words) >= 3 or (
        _WORDY.fullmatch(value) and (held is Held.KEY or len(words) > 1 or not value.isascii())
    ):
        return False  # text: a label ("Confirm password", "パスワードの変更"), a name
    if held is Held.KEY and not (looks_secret(value) or looks_random(value) or len(value) >= 16):
        return False  # token = "root", Token: "#ddd0c0": a token of a parser, a colour
    return quoted or not (
        text and IDENTIFIER.fullmatch(value) and not any(c.isdigit() for c in value)
    )


def trim_bare(line: str, start: int, end: int, strong: bool) -> int:
    """Where an unquoted value ends: closing brackets it did not open are the code around it, and
    in prose a sentence's full stop is not part of the value."""
    while end > start:
        c = line[end - 1]
        opener = {")": "(", "]": "[", "}": "{", ">": "<"}.get(c)
        if (opener and line.count(opener, start, end) < line.count(c, start, end)) or (
            not strong and c in ".,:;!?"
        ):
            end -= 1
        else:
            break
    return end


def yaml_value_end(line: str, start: int) -> int:
    """A plain YAML value runs to the end of the line or a comment (` #`)."""
    comment = line.find(" #", start)
    end = comment if comment >= 0 else len(line)
    while end > start and line[end - 1] in " \t":
        end -= 1
    return end


# --- where a position stands in a line of code ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lexed:
    """The strings and comment of one line of code: enough to tell code from text."""

    strings: list[tuple[int, int, str]]  # content start, content end, quote
    comment: int  # where a comment starts (the line's length when none)
    length: int

    def at(self, pos: int) -> tuple[Mode, str, int]:
        """Mode at a position, the quote of the string it is in ("" if none), and where that
        string (or the line) ends."""
        if pos >= self.comment:
            return Mode.TEXT, "", self.length
        for start, end, quote in self.strings:
            if start <= pos <= end:
                return Mode.TEXT, quote, end
        return Mode.CODE, "", self.length


def lex(line: str, language: str) -> Lexed:
    """Strings and the comment of a line of code (strings that span lines are not followed: a
    line inside one reads as code, which only makes redaction more cautious)."""
    leaders = ("#",) if language in _HASH_COMMENT else ("//", "/*")
    stripped = line.lstrip()
    if stripped.startswith(("* ", "*\t")) or stripped == "*":
        return Lexed([], 0, len(line))  # inside a block comment
    strings: list[tuple[int, int, str]] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in "\"'`":
            quote = line[i : i + 3] if line[i : i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and not line.startswith(quote, j):
                j += 2 if line[j] == "\\" else 1
            j = min(j, n)
            strings.append((i + len(quote), j, quote))
            i = j + len(quote)
        elif line.startswith(leaders, i):
            return Lexed(strings, i, n)
        else:
            i += 1
    return Lexed(strings, n, n)
