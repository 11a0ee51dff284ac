"""Lenient JSON from model replies: control characters in strings, code fences, leading prose,
and what a reply cut off mid-way still holds."""

from __future__ import annotations

import json
import re
from typing import Any


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
    with their complete part (a string or number cut inside is dropped with its key)."""
    return partial_members(text)[0]


def partial_members(text: str) -> tuple[dict[str, Any], set[str]]:
    """`parse_partial_json`, and the top-level keys whose value the cut came inside (a list there
    may have lost elements that were never written)."""
    start = text.find("{")
    if start < 0:
        return {}, set()
    open_keys: set[str] = set()
    value, _, _ = _partial_value(text, start, json.JSONDecoder(strict=False), open_keys)
    return (value if isinstance(value, dict) else {}), open_keys


_MISSING = object()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n,":
        i += 1
    return i


def _partial_value(
    text: str, i: int, decoder: json.JSONDecoder, open_keys: set[str] | None = None
) -> tuple[Any, int, bool]:
    """(value, end, complete) for the JSON value at i; (_MISSING, len(text), False) when it was cut
    inside a string or number. `open_keys` collects the keys of this object whose value was cut."""
    i = _skip_ws(text, i)
    if i >= len(text):
        return _MISSING, i, False
    if text[i] not in "{[":
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return _MISSING, len(text), False
        # A number at the very end may have lost digits.
        return value, end, end < len(text) or text[i] == '"'
    container: Any = {} if text[i] == "{" else []
    i += 1
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            return container, i, False
        if text[i] in "}]":
            return container, i + 1, True
        if isinstance(container, dict):
            try:
                key, i = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                return container, len(text), False
            i = _skip_ws(text, i)
            if i >= len(text) or text[i] != ":":
                return container, len(text), False
            i += 1
        item, i, complete = _partial_value(text, i, decoder)
        if item is not _MISSING:
            if isinstance(container, dict):
                container[str(key)] = item
            else:
                container.append(item)
        if not complete and open_keys is not None and isinstance(container, dict):
            open_keys.add(str(key))
        if i >= len(text):
            return container, i, False
