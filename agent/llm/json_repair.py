"""Lenient JSON from model replies: control characters in strings, code fences, leading prose,
and what a reply cut off mid-way still holds."""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic_core


def parse_json(text: str) -> Any:
    """Parse a JSON reply leniently: control characters in strings, code fences, leading prose."""
    text = text.strip()
    fence = re.match(r"^```(?:json)?\s*\n(.*?)\n```\s*$", text, re.S)
    if fence:
        text = fence.group(1)
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        start = text.find("{")
        end = text.rfind("}")
        if start >= 0 and end > start:
            return json.loads(text[start : end + 1], strict=False)
        raise


def parse_partial_json(text: str) -> dict[str, Any]:
    """What a JSON object cut off mid-way holds: every complete member, and containers cut inside
    with their complete part (a string cut inside is dropped with its key)."""
    return partial_members(text)[0]


def partial_members(text: str) -> tuple[dict[str, Any], set[str]]:
    """`parse_partial_json`, and the top-level keys whose value the cut came inside (a list there
    may have lost elements that were never written)."""
    start = text.find("{")
    if start < 0:
        return {}, set()
    text = text[start:]
    for _ in range(_MAX_REPAIRS):
        escaped, open_key = _scan(text)
        try:
            # pydantic_core keeps complete members and the complete part of containers cut
            # inside; it drops a string cut inside (with its key): a half-written value is no value.
            value = pydantic_core.from_json(escaped, allow_partial=True)
        except ValueError as exc:
            # A reply that breaks JSON midway (`"C:\path"`, `None`) keeps what came before the
            # break, read as if it were cut there.
            at = _error_offset(escaped, str(exc))
            if at is None or at <= 0:
                return {}, set()
            text = escaped[:at]
            continue
        if not isinstance(value, dict):
            return {}, set()
        return value, ({open_key} if open_key is not None and open_key in value else set())
    return {}, set()


_MAX_REPAIRS = 4
_ERROR_AT = re.compile(r"line (\d+) column (\d+)")


def _error_offset(text: str, message: str) -> int | None:
    """Where in `text` a JSON error message says the error is (its line and column, 1-based)."""
    m = _ERROR_AT.search(message)
    if m is None:
        return None
    line, column = int(m.group(1)), int(m.group(2))
    lines = text.split("\n")
    if line > len(lines):
        return None
    return sum(len(x) + 1 for x in lines[: line - 1]) + max(column - 1, 0)


def _scan(text: str) -> tuple[str, str | None]:
    """The text with control characters inside strings escaped (the embedded server writes raw
    newlines into values; strict JSON, which pydantic_core parses, refuses them), and the top-level
    key whose value the text ends inside, if any."""
    out: list[str] = []
    depth = 0
    in_string = escaped = False
    expecting_key = in_value = value_closed = False
    key: list[str] | None = None
    last_key: str | None = None
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                value_closed = depth == 1 and key is None
                if key is not None:
                    try:
                        last_key = json.loads('"' + "".join(key) + '"', strict=False)
                    except ValueError:
                        last_key = "".join(key)
                    key = None
                out.append(ch)
                continue
            if key is not None:
                key.append(ch)  # escapes too: json.loads decodes the whole key
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch)
            continue
        if depth == 1 and ch.isspace():
            # Whitespace ends a number or literal: `0.8 ` was written whole.
            value_closed = value_closed or (in_value and bool(out) and out[-1] not in ": \t\r\n")
        elif depth == 1:
            if ch == ",":
                expecting_key = True
                in_value = False
            elif ch == ":":
                in_value, value_closed = True, False
                out.append(ch)
                continue
        if ch == '"':
            in_string = True
            # A string after a finished value starts the next member, comma or not.
            key = [] if depth == 1 and (expecting_key or value_closed) else None
            expecting_key = False
        elif ch in "{[":
            depth += 1
            expecting_key = depth == 1 and ch == "{"
        elif ch in "}]":
            depth -= 1
            value_closed = depth == 1
            if depth == 0:
                out.append(ch)
                break  # the object is complete: what follows it is no part of it
        out.append(ch)
    # Cut inside the last member's value: inside a container it holds, in a scalar (a number or
    # literal may have lost characters), or before the value began.
    open_value = depth >= 2 or (depth == 1 and in_value and not value_closed)
    return "".join(out), last_key if open_value else None
