"""Environment variables read through a helper of the file's own: `maybe_set(settings,
"database.url", "DATABASE_URL")` where `def maybe_set(settings, name, envvar)` reads
`os.environ[envvar]`. Each call that passes a variable's name where the helper reads the
environment names one variable, at the line of that argument.

Only helpers defined in the same file are followed (a configuration module that wraps its reads),
and only arguments written as a literal name in capitals.
"""

from __future__ import annotations

import re

_PY_DEF = re.compile(r"^(\s*)def\s+(\w+)\s*\(([^)]*)\)")
_JS_DEF = re.compile(r"^\s*(?:export\s+)?(?:async\s+)?function\s+(\w+)\s*\(([^)]*)\)")
_ENV_NAME = re.compile(r"""^\s*["']([A-Z][A-Z0-9_]{2,})["']\s*$""")
_MAX_BODY = 60  # lines of a helper looked at


def _reads_env(param: str, body: str) -> bool:
    p = re.escape(param)
    return bool(
        re.search(
            rf"environ\[\s*{p}\s*\]|environ\.get\(\s*{p}\b|getenv\(\s*{p}\b|\b{p}\s+in\s+os\.environ"
            rf"|process\.env\[\s*{p}\s*\]",
            body,
        )
    )


def _helpers(lines: list[str], language: str) -> dict[str, tuple[int, str]]:
    """Helper name -> (position, name) of the parameter whose value it reads from the environment."""
    found: dict[str, tuple[int, str]] = {}
    for n, line in enumerate(lines):
        m = _PY_DEF.match(line) if language == "python" else _JS_DEF.match(line)
        if not m:
            continue
        name, params = (m.group(2), m.group(3)) if language == "python" else m.groups()
        names = [re.split(r"[:=\s]", p.strip(), maxsplit=1)[0] for p in params.split(",")]
        names = [p for p in names if p and p not in ("self", "cls") and not p.startswith("*")]
        indent = len(m.group(1)) if language == "python" else -1
        body: list[str] = []
        for nxt in lines[n + 1 : n + 1 + _MAX_BODY]:
            if language == "python" and nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        text = "\n".join(body)
        for k, param in enumerate(names):
            if _reads_env(param, text):
                found[name] = (k, param)
                break
    return found


def wrapped_env_reads(lines: list[str], language: str) -> list[tuple[str, int, str]]:
    """(variable, line, the call's first line) for each call of an environment-reading helper."""
    if language not in ("python", "js", "ts"):
        return []
    helpers = _helpers(lines, language)
    if not helpers:
        return []
    calls = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, helpers)) + r")\(")
    out: list[tuple[str, int, str]] = []
    for n, line in enumerate(lines):
        if _PY_DEF.match(line) or _JS_DEF.match(line):
            continue
        for m in calls.finditer(line):
            position, param = helpers[m.group(1)]
            args = _arguments(lines, n, m.end())
            value = next((v for k, v in args if k == param), None)
            if value is None:
                positional = [v for k, v in args if k is None]
                value = positional[position] if position < len(positional) else None
            if value is None:
                continue
            row, text = value
            env = _ENV_NAME.match(text)
            if env:
                out.append((env.group(1), row + 1, line.strip()[:120]))
    return out


def _arguments(lines: list[str], n: int, col: int) -> list[tuple[str | None, tuple[int, str]]]:
    """A call's arguments from `lines[n][col:]` to its closing parenthesis (over at most 10 lines):
    (keyword or None, (row, text)) each, the row being where the argument starts."""
    args: list[tuple[str | None, tuple[int, str]]] = []
    depth, current, start, quote = 0, "", n, ""
    for row in range(n, min(n + 10, len(lines))):
        text = lines[row][col:] if row == n else lines[row]
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
                current += ch
                continue
            if ch in "\"'":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                if depth == 0:
                    args.append(_argument(current, start))
                    return [a for a in args if a[1][1].strip()]
                depth -= 1
            elif ch == "," and depth == 0:
                args.append(_argument(current, start))
                current, start = "", row
                continue
            if not current.strip() and not ch.isspace():
                start = row
            current += ch
        current += " "
    return []


def _argument(text: str, row: int) -> tuple[str | None, tuple[int, str]]:
    m = re.match(r"\s*(\w+)\s*=(?!=)\s*(.*)$", text, re.S)
    if m:
        return m.group(1), (row, m.group(2).strip())
    return None, (row, text.strip())
