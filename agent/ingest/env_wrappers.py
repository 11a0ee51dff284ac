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
_MAX_CALL_CHARS = 2000  # characters of one call's arguments looked at


def _reads_env(param: str, body: str) -> bool:
    p = re.escape(param)
    return bool(
        re.search(
            rf"environ\[\s*{p}\s*\](?!\s*=[^=])|environ\.get\(\s*{p}\b|getenv\(\s*{p}\b"
            rf"|\b{p}\s+in\s+os\.environ|process\.env\[\s*{p}\s*\](?!\s*=[^=])",
            body,
        )
    )


def _code(line: str) -> str:
    """The line with its comment (`#`, `//`) and the text of its string literals blanked out, at
    the same columns: a call written in a comment or inside a string does not count."""
    out = list(line)
    quote, i = "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                out[i] = " "
                if i + 1 < len(line):
                    out[i + 1] = " "
                i += 2
                continue
            if ch == quote:
                quote = ""
            else:
                out[i] = " "
        elif ch in "\"'`":
            quote = ch
        elif ch == "#" or line.startswith("//", i):
            out[i:] = " " * (len(line) - i)
            break
        i += 1
    return "".join(out)


def _parameters(params: str) -> list[tuple[str, bool]]:
    """(name, positional) of each parameter: split at top-level commas (not inside
    `dict[str, Any]`); those after `*` or `*args` are keyword-only; `/` and `**kw` are none."""
    out: list[tuple[str, bool]] = []
    positional = True
    for part in _split(params):
        name = re.split(r"[:=\s]", part.strip(), maxsplit=1)[0]
        if name in ("", "/") or name.startswith("**"):
            continue
        if name.startswith("*"):
            positional = False
            continue
        if name not in ("self", "cls"):
            out.append((name, positional))
    return out


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    return [*parts, current]


def _body(lines: list[str], n: int, language: str, indent: int) -> str:
    """The helper's body: in Python the lines indented under its `def`, in JavaScript up to the
    brace that closes it; comments left out."""
    body: list[str] = []
    depth = 0
    for k, nxt in enumerate(lines[n : n + 1 + _MAX_BODY]):
        code = _code(nxt)
        if language == "python":
            if k and code.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(code if k else code.split(":", 1)[-1])
            continue
        body.append(code)
        depth += code.count("{") - code.count("}")
        if depth <= 0 and "{" in "".join(body):
            break
    return "\n".join(body)


def _helpers(lines: list[str], language: str) -> dict[str, tuple[int | None, str]]:
    """Helper name -> (position or None for keyword-only, name) of the parameter whose value it
    reads from the environment."""
    found: dict[str, tuple[int | None, str]] = {}
    for n, line in enumerate(lines):
        m = _PY_DEF.match(line) if language == "python" else _JS_DEF.match(line)
        if not m:
            continue
        name, params = (m.group(2), m.group(3)) if language == "python" else m.groups()
        # Most functions read no environment: a look at their raw lines spares the blanking scan.
        if not any("env" in x for x in lines[n : n + 1 + _MAX_BODY]):
            continue
        indent = len(m.group(1)) if language == "python" else -1
        body = _body(lines, n, language, indent)
        if "env" not in body:
            continue
        position = 0
        for param, positional in _parameters(params):
            if _reads_env(param, body):
                found[name] = (position if positional else None, param)
                break
            position += positional
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
        if _PY_DEF.match(line) or _JS_DEF.match(line) or "(" not in line:
            continue
        code = _code(line)
        for m in calls.finditer(code):
            position, param = helpers[m.group(1)]
            args = _arguments(
                lines, n, len(line) - len(line[m.end() :]) if code == line else m.end()
            )
            value = next((v for k, v in args if k == param), None)
            if value is None and position is not None:
                positional = [v for k, v in args if k is None]
                value = positional[position] if position < len(positional) else None
            if value is None:
                continue
            row, text = value
            env = _ENV_NAME.match(text)
            if env:
                out.append((env.group(1), row + 1, f"via {m.group(1)}(): {line.strip()[:100]}"))
    return out


def _arguments(lines: list[str], n: int, col: int) -> list[tuple[str | None, tuple[int, str]]]:
    """A call's arguments from `lines[n][col:]` to its closing parenthesis (over at most 10 lines):
    (keyword or None, (row, text)) each, the row being where the argument starts."""
    args: list[tuple[str | None, tuple[int, str]]] = []
    depth, current, start, quote = 0, "", n, ""
    budget = _MAX_CALL_CHARS  # a call that never closes is not scanned to the end of the file
    for row in range(n, min(n + 10, len(lines))):
        text = lines[row][col:] if row == n else lines[row]
        for ch in text:
            budget -= 1
            if budget < 0:
                return []
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
