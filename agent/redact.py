"""Keep secrets on this machine: decide which files never become evidence, and redact the rest.

Redaction keeps every line where it was (a multi-line private key becomes as many redacted lines),
so citations into redacted text still point at the right lines of the real file.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import PurePosixPath

# Files whose whole content is secret material. Examples/templates of them are config, not secrets.
_SECRET_FILE_RE = re.compile(
    r"""(^|/)(
        \.env(\.(?!example$|sample$|template$|dist$|defaults$)[^/]+)?
      | \.envrc | \.netrc | \.pgpass | \.npmrc | \.pypirc | \.git-credentials | \.htpasswd
      | id_(rsa|dsa|ecdsa|ed25519)(\.[^/]*)?
      | [^/]+\.(pem|key|p12|pfx|jks|keystore|kdbx|gpg|asc|ovpn)
      | credentials(\.json)? | service[-_]?account[^/]*\.json | secrets?\.(ya?ml|json|toml)
    )$""",
    re.X | re.I,
)

REDACTED = "[REDACTED]"

# (name, pattern, group to replace; 0 = whole match)
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), 0),
    (
        "github-token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"),
        0,
    ),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), 0),
    ("openai-key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b"), 0),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}\b"), 0),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0),
    ("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"), 0),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), 0),
    ("stripe-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"), 0),
    ("twilio-key", re.compile(r"\bSK[0-9a-fA-F]{32}\b"), 0),
    ("sendgrid-key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"), 0),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), 0),
    ("bearer-token", re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=-]{16,})"), 1),
    ("url-password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]{3,})@"), 1),
    (
        "azure-connection-string",
        re.compile(r"(?i)(?:AccountKey|SharedAccessKey|Password)=([^;\s\"']{8,})"),
        1,
    ),
    (
        # password = "x", api_key: 'x', SECRET_TOKEN=x, "client_secret": "x"
        "secret-assignment",
        re.compile(
            r"""(?ix)
            (?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key
               |private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?)[\w.-]*["']?
            [ \t]*(?::=|=>|[:=])[ \t]*
            (?:[rbuf]?["'](?P<q>[^"'\n]{4,})["']|(?P<bare>[^\s"',;#)}\]]{6,}))
            """
        ),
        -1,
    ),
]

# Values that are clearly not secrets: references to the environment, placeholders, code.
_NOT_A_SECRET = re.compile(
    r"""(?ix)^(
        \$\{?[\w.:-]+\}?             # $VAR, ${VAR}
      | \{\{.*\}\}                   # {{ template }}
      | <[^>]+>                      # <your-token>
      | (os\.)?(environ|getenv|env)\b.* | process\.env.* | settings\..* | config\..*
      | (x+|\*+|\.+|changeme|change[-_]me|secret|password|token|none|null|true|false|redacted)
      | \[?REDACTED.*
      | [\w.]+\(.*                   # a call: get_secret("name")
      | [A-Za-z_][\w]*(\.[A-Za-z_]\w*)+   # attribute access: self.token
      | [a-z_]+                      # a bare identifier: password = password
      | [\d.,_]+                     # a number: max_tokens = 100000
    )$"""
)

_PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_PRIVATE_KEY_END = re.compile(r"-----END ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")


def is_secret_file(path: str) -> bool:
    """Files never read as evidence: .env, key files, credential stores."""
    return bool(_SECRET_FILE_RE.search(PurePosixPath(path).as_posix()))


# Literal substrings without which a pattern cannot match. `in` is far faster than a regex scan,
# so most files skip most patterns; the assignment-like patterns (lower-cased triggers) run only on
# the lines that hold a trigger.
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "aws-access-key-id": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA"),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab-token": ("glpat-",),
    "openai-key": ("sk-",),
    "anthropic-key": ("sk-ant-",),
    "slack-token": ("xox",),
    "slack-webhook": ("hooks.slack.com",),
    "google-api-key": ("AIza",),
    "stripe-key": ("_live_", "_test_"),
    "twilio-key": ("SK",),
    "sendgrid-key": ("SG.",),
    "npm-token": ("npm_",),
    "jwt": ("eyJ",),
}
_LINE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "bearer-token": ("bearer",),
    "url-password": ("://",),
    "azure-connection-string": ("accountkey", "sharedaccesskey", "password="),
    "secret-assignment": ("pass", "pwd", "secret", "token", "key", "credential"),
}


def redact(text: str) -> tuple[str, int]:
    """Text with secrets replaced by [REDACTED:kind], and how many were replaced. Lines kept."""
    count = 0
    if "PRIVATE KEY" in text:
        text, count = _redact_private_keys(text)
    for name, pattern, group in _PATTERNS:
        if name in _TRIGGERS and any(t in text for t in _TRIGGERS[name]):
            text, n = _sub(pattern, name, group, text)
            count += n
    lowered = text.lower()
    candidates: set[int] = set()
    for triggers in _LINE_TRIGGERS.values():
        for trigger in triggers:
            at = lowered.find(trigger)
            while at >= 0:
                candidates.add(at)
                at = lowered.find(trigger, at + 1)
    if not candidates:
        return text, count
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    hit_lines = sorted({bisect_right(starts, at) - 1 for at in candidates})
    for i in hit_lines:
        line = lines[i]
        for name, pattern, group in _PATTERNS:
            if name in _LINE_TRIGGERS:
                line, n = _sub(pattern, name, group, line)
                count += n
        lines[i] = line
    return "\n".join(lines), count


def _sub(pattern: re.Pattern[str], name: str, group: int, text: str) -> tuple[str, int]:
    replaced = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal replaced
        if group == -1:
            g = "q" if m.group("q") is not None else "bare"
            value = m.group(g)
            if _NOT_A_SECRET.match(value) or "REDACTED" in value:
                return m.group(0)
        else:
            g = group  # type: ignore[assignment]
            value = m.group(g)
            if "REDACTED" in value:
                return m.group(0)
        replaced += 1
        start, end = m.start(g) - m.start(), m.end(g) - m.start()
        whole = m.group(0)
        return f"{whole[:start]}[REDACTED:{name}]{whole[end:]}"

    return pattern.sub(repl, text), replaced


def _redact_private_keys(text: str) -> tuple[str, int]:
    count = 0
    lines = text.split("\n")
    in_key = False
    for i, line in enumerate(lines):
        if in_key:
            end = _PRIVATE_KEY_END.search(line)
            if end:
                in_key = False
                before = "[REDACTED:private-key]" if line[: end.start()].strip() else ""
                lines[i] = before + line[end.start() :]
            else:
                lines[i] = "[REDACTED:private-key]"
            continue
        begin = _PRIVATE_KEY_BEGIN.search(line)
        if begin:
            count += 1
            tail = line[begin.end() :]
            end = _PRIVATE_KEY_END.search(tail)
            if end:  # a one-line key (escaped newlines inside a string)
                lines[i] = line[: begin.end()] + "[REDACTED:private-key]" + tail[end.start() :]
            else:
                lines[i] = line[: begin.end()] + (" [REDACTED:private-key]" if tail.strip() else "")
                in_key = True
    return "\n".join(lines), count
