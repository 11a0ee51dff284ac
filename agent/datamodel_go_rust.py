"""Tables declared in Go and Rust: GORM models (structs that embed `gorm.Model` or carry `gorm:`
tags) and Diesel schemas (`table!` blocks and `joinable!` foreign keys), each at its line.

GORM names a table after its struct (snake case, plural) unless a `TableName()` method says
otherwise; a column after its field unless a `gorm:"column:..."` tag does. A foreign key is a
field typed as another struct next to that struct's `<Name>ID` field, or one a `foreignKey` tag
names.
"""

from __future__ import annotations

import re

from agent.datamodel import Table
from agent.symbols import Symbol

_GORM_FIELD = re.compile(r"^\s*([A-Z]\w*)\s+(\[\])?\*?([\w.]+)\s*(`[^`]*`)?")
_GORM_EMBED = re.compile(r"^\s*gorm\.Model\b")
_GORM_COLUMN = re.compile(r"column:(\w+)")
_GORM_FK = re.compile(r"foreignKey:(\w+)")
_TABLE_NAME = re.compile(
    r"func\s*\(\s*(?:\w+\s+)?\*?(\w+)\s*\)\s*TableName\(\)\s*string\s*\{\s*return\s*\"(\w+)\""
)
_DIESEL_TABLE = re.compile(r"^\s*(?:diesel::)?table!\s*\{")
_DIESEL_NAME = re.compile(r"^\s*(?:[\w.]+\.)?(\w+)\s*(?:\([^)]*\))?\s*\{")
_DIESEL_COLUMN = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)?(\w+)\s*->\s*[\w<>]+")
_DIESEL_JOIN = re.compile(r"(?:diesel::)?joinable!\s*\(\s*(\w+)\s*->\s*(\w+)\s*\(\s*(\w+)\s*\)")


def snake(name: str) -> str:
    """`OrderItem` -> `order_item`, `UserID` -> `user_id` (GORM's naming)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def plural(word: str) -> str:
    """The English plural GORM gives a table name (the common cases)."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def gorm_models(path: str, lines: list[str], syms: list[Symbol]) -> list[Table]:
    """GORM models among a Go file's structs."""
    if not any("gorm" in line for line in lines):
        return []
    named = {m.group(1): m.group(2) for m in _TABLE_NAME.finditer("\n".join(lines))}
    out: list[Table] = []
    for s in syms:
        if s.kind != "struct" or s.parent:
            continue
        body = lines[s.line : s.end - 1]  # between the `type X struct {` line and its `}`
        if not any(_GORM_EMBED.match(line) or 'gorm:"' in line for line in body):
            continue
        table = Table(
            named.get(s.name) or plural(snake(s.name)), path, s.line, s.end, "GORM", s.name
        )
        fields: dict[str, int] = {}
        refs: list[tuple[str, str, int, str]] = []  # field, struct type, line, foreignKey tag
        for n, line in enumerate(body, start=s.line + 1):
            if _GORM_EMBED.match(line):
                for column in ("id", "created_at", "updated_at", "deleted_at"):
                    table.columns.append((column, n))
                continue
            m = _GORM_FIELD.match(line)
            if not m or "-" in re.findall(r'gorm:"([^"]*)"', m.group(4) or "")[:1]:
                continue
            field, many, kind, tag = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            if kind[:1].isupper() and "." not in kind:
                # A struct-typed field is an association, not a column; `[]X` points back at us.
                if not many:
                    fk = _GORM_FK.search(tag)
                    refs.append((field, kind, n, fk.group(1) if fk else ""))
                continue
            renamed = _GORM_COLUMN.search(tag)
            fields[field] = n
            table.columns.append((renamed.group(1) if renamed else snake(field), n))
        for field, kind, _, tagged in refs:
            key = tagged or f"{field}ID"
            if key in fields:
                table.foreign_keys.append((snake(key), kind, fields[key]))
        out.append(table)
    return out


def diesel_tables(path: str, lines: list[str]) -> list[Table]:
    """Diesel `table!` blocks (usually `schema.rs`) and the `joinable!` keys between them."""
    if not any(_DIESEL_TABLE.match(line) for line in lines):
        return []
    out: dict[str, Table] = {}
    n = 0
    while n < len(lines):
        if not _DIESEL_TABLE.match(lines[n]):
            n += 1
            continue
        n += 1
        # The table line follows any `use` lines inside the macro.
        while n < len(lines) and not _DIESEL_NAME.match(lines[n]):
            n += 1
        if n >= len(lines):
            break
        head = _DIESEL_NAME.match(lines[n])
        assert head is not None
        table = Table(head.group(1), path, n + 1, n + 1, "Diesel")
        n += 1
        while n < len(lines) and not lines[n].strip().startswith("}"):
            col = _DIESEL_COLUMN.match(lines[n])
            if col:
                table.columns.append((col.group(1), n + 1))
            n += 1
        table.end = n + 1
        out[table.name] = table
    for n, line in enumerate(lines, start=1):
        join = _DIESEL_JOIN.search(line)
        if join and join.group(1) in out:
            out[join.group(1)].foreign_keys.append((join.group(3), join.group(2), n))
    return list(out.values())
