"""Keep secrets on this machine: find secret values in text and replace each with [REDACTED:kind].

Only the value is replaced, and all of it: the key, the quotes and the URL around a secret stay, so
redacted code still reads as the code it was, and every line stays where it was (a multi-line private
key becomes as many redacted lines), so citations into redacted text point at the real file's lines.
Code that holds no literal is left alone: `secret_key = ConfigAttribute(...)` names a secret but
holds none. Whether an unquoted value is a literal depends on where it stands
(`secret_rules.Mode`).
Which files are never read at all is decided in `repo.py`.
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote

from agent.ingest import secret_rules as sr
from agent.ingest.secret_rules import Mode


@dataclass(frozen=True, slots=True)
class Redaction:
    """One redacted secret: its kind and the (1-based) line it starts on. Never the value."""

    kind: str
    line: int


class Redacted(NamedTuple):
    """Redacted text (same lines as the input) and what was redacted in it."""

    text: str
    found: list[Redaction]


# --- private keys: every line between BEGIN and END ---------------------------------------------

_PK_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PK_BODY = re.compile(r"[A-Za-z0-9+/=]{8,}")  # key material after BEGIN on its line
_PK_LINE = re.compile(r"[A-Za-z0-9+/=]{2,}")  # a line of the key (the last can be short: "Zq==")
# What a key's line may hold besides its base64: indentation, quotes, "\n" escapes, concatenation.
_PK_FRAME = re.compile(r"[\s\"'`,+;\\n()]*")
_PK_HEADER = re.compile(r"\s*[\"'`]?(?:Proc-Type|DEK-Info|Comment|Version):")

# --- secrets recognised by what stands around them, on lines that hold a trigger ---------------

_NAME_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")
_LINE_TRIGGERS = (*_NAME_TRIGGERS, "://", "basic", "bearer", "authoriz")
_URL_PASSWORD = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s:/@,\"'<>`]*:([^\s/,\"'<>`]+)@(?=[\w\[.-])", re.I
)
_URL_TOKEN = re.compile(r"\b[a-z][a-z0-9+.-]*://([A-Za-z0-9_-]{20,})@(?=[\w.-])", re.I)
_USERINFO_BEFORE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/@,\"'<>`]*$", re.I)
_USERINFO_AFTER = re.compile(r"[^\s/,\"'<>`]*@")
_USERINFO_WINDOW = 512
_AUTH_HEADER = re.compile(
    r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"((?:basic|bearer|token|digest|apikey|key|bot)[ \t]+)?([A-Za-z0-9._~+/=-]{8,})"
)
_BEARER = re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=-]{16,})(?![\w.~+/=-])")
_BASIC = re.compile(r"(?i)\bbasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_XML_ELEMENT = re.compile(r"<([\w.:-]+)(?:\s[^<>]*)?>([^<>\n]+)</\1\s*>")
# A name, a --flag; not a path segment (/secrets/disclose-token).
_KEY = re.compile(r"(?<![\w./-])-{0,2}[A-Za-z_][\w.-]*")
# `password: str = "x"`; in code also `var password string = "x"`
_ANNOTATION = re.compile(r"[ \t]*:[ \t]*[A-Za-z_][\w\[\]|.,*&<>? ]*?[ \t]+=(?![=>])")
_TYPED = re.compile(r"[ \t]*(?::[ \t]*|[ \t]+)[A-Za-z_][\w\[\]|.,*&<>? ]*?[ \t]+=(?![=>])")
_STRONG_SEP = re.compile(r":=|=>|!==?|={1,3}|:(?!:)")
_PROSE_SEP = re.compile(r"[ \t]+(?:is|was)[ \t]+", re.I)
_LINE_START = re.compile(r"\s*(?:[-*#>]+\s*|//\s*|export\s+|set\s+)?[\"'`]?")
_QUOTED = re.compile(r"(?i)(?:[rbuf]{1,2})?(\"\"\"|'''|[\"'`])")
_BARE_STOP = " \t\"'`,;&<"


def redact(text: str, language: str = "") -> Redacted:
    """Text with every secret value replaced by [REDACTED:kind], and what was replaced where.
    `language` is the file's (file_kinds.LANGUAGES): it decides whether an unquoted value is code."""
    spans = _merge(_find(text, language))
    if not spans:
        return Redacted(text, [])
    starts = _line_starts(text)
    out: list[str] = []
    found: list[Redaction] = []
    at = last = 0
    for start, end, kind in spans:
        out.append(text[at:start])
        marker = f"[REDACTED:{kind}]"
        # In a URL's user name or password the marker is percent-encoded, so the URL still parses
        # (brackets there read as an IPv6 host) and decodes to the marker.
        out.append(quote(marker, safe="") if _in_userinfo(text, start, end) else marker)
        at = end
        line = bisect_right(starts, start)
        # A private key's lines are one secret, listed (and counted) once.
        if not (kind == "private-key" and found and found[-1].kind == kind and line <= last + 1):
            found.append(Redaction(kind, line))
        last = line
    out.append(text[at:])
    return Redacted("".join(out), found)


def _in_userinfo(text: str, start: int, end: int) -> bool:
    """Whether a span is a URL's user name or password."""
    # A URL's scheme and user name stand close before its password: look back a bounded window,
    # so a long line with many secrets costs linear time, not quadratic.
    line_start = max(text.rfind("\n", 0, start) + 1, start - _USERINFO_WINDOW)
    if "://" not in text[line_start:start]:
        return False
    line_end = text.find("\n", end, end + _USERINFO_WINDOW)
    return bool(
        _USERINFO_BEFORE.search(text, line_start, start)
        and _USERINFO_AFTER.match(text, end, end + _USERINFO_WINDOW if line_end < 0 else line_end)
    )


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping finds become one (with the kind of the one that starts first, the longest at
    equal starts): a token inside a URL inside an assignment is replaced once, so no marker ends
    up inside another."""
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2])
        elif end > start:
            merged.append((start, end, kind))
    return merged


def _find(text: str, language: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    if "PRIVATE KEY" in text:
        spans += _private_keys(text)
    for kind, pattern, group, triggers in sr.SHAPES:
        if any(t in text for t in triggers):
            spans += [(m.start(group), m.end(group), kind) for m in pattern.finditer(text)]
    lowered = text.lower()
    hits: set[int] = set()
    for trigger in _LINE_TRIGGERS:
        at = lowered.find(trigger)
        while at >= 0:
            hits.add(at)
            at = lowered.find(trigger, at + 1)
    if not hits:
        return spans
    starts = _line_starts(text)
    mode = sr.mode_of(language)
    for i in sorted({bisect_right(starts, at) - 1 for at in hits}):
        start = starts[i]
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(text)
        for a, b, kind in _in_line(text[start:end], mode, language):
            spans.append((start + a, start + b, kind))
    return spans


def _private_keys(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for begin in _PK_BEGIN.finditer(text):
        eol = text.find("\n", begin.end())
        eol = len(text) if eol < 0 else eol
        end = _PK_END.search(text, begin.end(), eol)
        if end:  # a one-line key ("\n" escapes inside a string)
            if not sr.placeholder(text[begin.end() : end.start()]):
                spans.append((begin.end(), end.start(), "private-key"))
            continue
        spans += [
            (m.start(), m.end(), "private-key") for m in _PK_BODY.finditer(text, begin.end(), eol)
        ]
        at = eol + 1
        while at < len(text):
            eol = text.find("\n", at)
            eol = len(text) if eol < 0 else eol
            line = text[at:eol]
            end = _PK_END.search(line)
            body = line[: end.start()] if end else line
            if _PK_HEADER.match(body):
                at = eol + 1
                continue
            # Only lines of key material belong to the key: code that merely mentions
            # "BEGIN PRIVATE KEY" loses nothing after it.
            if not _PK_FRAME.fullmatch(_PK_LINE.sub("", body)):
                break
            spans += [
                (at + m.start(), at + m.end(), "private-key") for m in _PK_LINE.finditer(body)
            ]
            if end:
                break
            at = eol + 1
    return spans


def _in_line(line: str, mode: Mode, language: str) -> list[tuple[int, int, str]]:
    """Secrets in one line, found by what stands around them."""
    found: list[tuple[int, int, str]] = []
    lowered = line.lower()
    if "://" in line:
        for m in _URL_PASSWORD.finditer(line):
            if not sr.placeholder(m.group(1)):
                found.append((m.start(1), m.end(1), "url-password"))
        for m in _URL_TOKEN.finditer(line):
            if sr.looks_random(m.group(1)):
                found.append((m.start(1), m.end(1), "url-token"))
    if "basic" in lowered:
        for m in _BASIC.finditer(line):
            if _is_basic_credential(m.group(1)):
                found.append((m.start(1), m.end(1), "basic-auth"))
    if "bearer" in lowered:
        for m in _BEARER.finditer(line):
            # Not `Bearer realm="..."`: a challenge's parameter, not a token.
            param = m.group(1).endswith("=") and line[m.end() : m.end() + 1] in ("'", '"')
            if not param and not sr.placeholder(m.group(1)):
                found.append((m.start(1), m.end(1), "bearer-token"))
    if "authoriz" in lowered:
        for m in _AUTH_HEADER.finditer(line):
            value, after = m.group(2), line[m.end(2) : m.end(2) + 1]
            # Without a scheme the value must look like a credential, not a variable's name.
            if (
                not sr.placeholder(value)
                and not sr.code_like(value, after)
                and (m.group(1) or sr.looks_secret(value))
            ):
                found.append((m.start(2), m.end(2), "authorization-header"))
    if sr.AWS_KEY_ID.search(line):
        # A CSV row or a credentials listing: the secret access key stands beside its key id.
        for m in _AWS_SECRET.finditer(line):
            if sr.looks_random(m.group()):
                found.append((m.start(), m.end(), "aws-secret-access-key"))
    if "<" in line:
        for m in _XML_ELEMENT.finditer(line):
            held = sr.secret_name(m.group(1), "")
            value = m.group(2).strip()
            if held and sr.holds_secret(value, held, quoted=True, strong=True, text=False):
                found.append((m.start(2), m.end(2), "secret-assignment"))
    return found + _named_values(line, mode, language)


def _is_basic_credential(value: str) -> bool:
    """`Basic xyz` is a credential when xyz decodes to `user:password` ("basic information" is not)."""
    if len(value) % 4:
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _named_values(line: str, mode: Mode, language: str) -> list[tuple[int, int, str]]:
    """Values given for a secret's name: `password = "x"`, `DB_PASS=x`, `"token": "x"`,
    `--password x`, `aws_secret_access_key x`, "the password is x"."""
    found: list[tuple[int, int, str]] = []
    lexed: sr.Lexed | None = None
    for key in _KEY.finditer(line):
        if not any(t in key.group().lower() for t in _NAME_TRIGGERS):
            continue
        if line[max(0, key.start() - 3) : key.start()] == "://":
            continue  # a URL's user name: its password is the URL detector's
        name = key.group().rstrip(".-")
        held = sr.secret_name(name.lstrip("-"), line[: key.start()])
        if held is None:
            continue
        if lexed is None:
            lexed = sr.lex(line, language) if mode is Mode.CODE else None
        at = key.start() + len(name)
        # The closing quote and bracket of a quoted key: "password": x, env['TOKEN'] = x
        if (
            at < len(line)
            and line[at] in "\"'`"
            and key.start()
            and line[key.start() - 1] == line[at]
        ):
            at += 1
        if at < len(line) and line[at] == "]":
            at += 1
        # "Pass `region` to ...": a lone "pass" is a verb unless a value is assigned to it.
        verb = name.lower() == "pass"
        span = _value_after(line, at, key.start(), held, verb, mode, lexed)
        if span is not None:
            found.append((span[0], span[1], "secret-assignment"))
    return found


def _value_after(
    line: str,
    at: int,
    key_start: int,
    held: sr.Held,
    verb: bool,
    mode: Mode,
    lexed: sr.Lexed | None,
) -> tuple[int, int] | None:
    """The span of the secret given for the name that ends at `at`, if a literal is given."""
    gap = at
    while gap < len(line) and line[gap] in " \t":
        gap += 1
    typed = {Mode.CODE: _TYPED, Mode.TEXT: _ANNOTATION}.get(mode)
    if typed and (m := typed.match(line, at)):
        sep, at = "=", m.end()
    elif m := _STRONG_SEP.match(line, gap):
        sep, at = m.group(), m.end()
    elif m := _PROSE_SEP.match(line, at):
        sep, at = "is", m.end()
    elif gap > at:
        sep, at = " ", gap
    else:
        return None
    while at < len(line) and line[at] in " \t":
        at += 1
    if at >= len(line):
        return None
    where, enclosing, limit = lexed.at(at) if lexed else (mode, "", len(line))
    if enclosing and line.startswith(enclosing, at):
        return None  # the string that held the name ends here: no value in it
    strong = sep not in (" ", "is")
    if sep == ":" and where is not Mode.CONFIG and not _LINE_START.fullmatch(line[:key_start]):
        strong = False  # "Invalid token: expected three parts" is a message, not a mapping
    if verb and not strong:
        return None
    text = where is Mode.TEXT
    if m := _QUOTED.match(line, at, limit):
        q = m.group(1)
        end = m.end()
        while end < limit and not line.startswith(q, end):
            end += 2 if line[end] == "\\" else 1
        if end >= limit:
            return None  # no closing quote: prose ("`password =` is ..."), or a string that
            # runs on to later lines
        value = line[m.end() : end]
        if "PRIVATE KEY-----" in value:
            return None  # a key in a string: its lines are redacted between BEGIN and END
        if ("f" in m.group()[:-1].lower() or q == "`") and "{" in value:
            return None  # an f-string or template literal: code inside
        ok = sr.holds_secret(value, held, quoted=True, strong=strong, text=text)
        return (m.end(), end) if ok else None
    if where is Mode.CODE:
        return None  # an expression: a name, a call, a subscript
    if where is Mode.CONFIG and sep == ":" and _LINE_START.fullmatch(line[:key_start]):
        end = sr.yaml_value_end(line, at)
    else:
        stop = _BARE_STOP if strong else _BARE_STOP + "([{"
        end = at
        while end < limit and line[end] not in stop and line[end] != enclosing[:1]:
            end += 1
    end = sr.trim_bare(line, at, end, strong)
    value = line[at:end]
    if not value or sr.code_like(value, line[end : end + 1]):
        return None
    ok = sr.holds_secret(value, held, quoted=False, strong=strong, text=text)
    return (at, end) if ok else None
