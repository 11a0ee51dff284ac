"""Tables declared in Go and Rust: GORM models (structs that embed `gorm.Model` or carry `gorm:`
tags) and Diesel schemas (`table!` blocks and `joinable!` foreign keys), each at its line.

GORM names a table after its struct (snake case, plural) unless a `TableName()` method says
otherwise; a column after its field unless a `gorm:"column:..."` tag does. A foreign key is a
field typed as another struct next to that struct's `<Name>ID` field, or one a `foreignKey` tag
names.
"""

from __future__ import annotations

import re

from agent.ingest.repomodel.datamodel import Table
from agent.ingest.repomodel.syntax import Symbol

_GORM_FIELD = re.compile(r"^\s*([A-Z]\w*)\s+(\[\])?\*?([\w.]+)\s*(`[^`]*`)?")
_GORM_EMBED = re.compile(r"^\s*gorm\.Model\b")
_GORM_COLUMN = re.compile(r"column:(\w+)")
_GORM_FK = re.compile(r"foreignkey:(\w+)", re.I)
_TABLE_NAME = re.compile(
    r"func\s*\(\s*(?:\w+\s+)?\*?(\w+)\s*\)\s*TableName\(\)\s*string\s*\{\s*return\s*\"([\w.]+)\""
)
_DIESEL_TABLE = re.compile(r"^\s*(?:diesel::)?table!\s*\{")
_DIESEL_NAME = re.compile(r"^\s*(?:[\w.]+\.)?(\w+)\s*(?:\([^)]*\))?\s*\{")
_DIESEL_COLUMN = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)?(?:r#)?(\w+)\s*->\s*[\w<>]+")
_DIESEL_SQL_NAME = re.compile(r"#\[\s*sql_name\s*=\s*\"(\w+)\"\s*\]")
_DIESEL_JOIN = re.compile(r"(?:diesel::)?joinable!\s*\(\s*(\w+)\s*->\s*(\w+)\s*\(\s*(\w+)\s*\)")


def snake(name: str) -> str:
    """`OrderItem` -> `order_item`, `UserID` -> `user_id` (GORM's naming)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


# GORM names tables with jinzhu/inflection, a port of Rails' English rules: irregular and
# uncountable words first, then the suffix rules, most specific first.
_IRREGULAR = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "sex": "sexes",
    "move": "moves",
    "ox": "oxen",
    "mouse": "mice",
    "goose": "geese",
    "tooth": "teeth",
    "foot": "feet",
}
_UNCOUNTABLE = frozenset(
    [
        "equipment",
        "information",
        "rice",
        "money",
        "species",
        "series",
        "fish",
        "sheep",
        "jeans",
        "police",
        "news",
    ]
)
_SUFFIXES = [
    (r"(quiz)$", r"\1zes"),
    (r"(matr|vert|ind)(?:ix|ex)$", r"\1ices"),
    (r"(x|ch|ss|sh)$", r"\1es"),
    (r"([^aeiouy]|qu)y$", r"\1ies"),
    (r"(hive)$", r"\1s"),
    (r"(?:([^f])fe|([lr])f)$", r"\1\2ves"),
    (r"sis$", "ses"),
    (r"([ti])um$", r"\1a"),
    (r"(buffal|tomat)o$", r"\1oes"),
    (r"(bu)s$", r"\1ses"),
    (r"(alias|status)$", r"\1es"),
    (r"(octop|vir)us$", r"\1i"),
    (r"(ax|test)is$", r"\1es"),
    (r"s$", "s"),
]


def plural(word: str) -> str:
    """The plural GORM gives a table name (`order_item` -> `order_items`, `person` -> `people`)."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _UNCOUNTABLE:
        return word
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    for pattern, repl in _SUFFIXES:
        m = re.search(pattern, last)
        if m:  # every rule ends at the end of the word
            return prefix + last[: m.start()] + _expand(m, repl)
    return word + "s"


def _expand(m: re.Match[str], repl: str) -> str:
    """A replacement template with groups that did not take part left empty."""
    return re.sub(r"\\(\d)", lambda g: m.group(int(g.group(1))) or "", repl)


def gorm_models(path: str, lines: list[str], syms: list[Symbol]) -> list[Table]:
    """GORM models among a Go file's structs."""
    if not any("gorm" in line for line in lines):
        return []
    named = {m.group(1): m.group(2) for m in _TABLE_NAME.finditer("\n".join(lines))}
    structs = {s.name for s in syms if s.kind == "struct"}
    out: list[Table] = []
    for s in syms:
        if s.kind != "struct" or s.parent:
            continue
        body = lines[s.line : s.end - 1]  # between the `type X struct {` line and its `}`
        if not any(_GORM_EMBED.match(line) or 'gorm:"' in line for line in body):
            continue
        name = named.get(s.name) or plural(snake(s.name))
        table = Table(name, path, s.line, s.end, "GORM", s.name)
        columns: dict[str, tuple[str, int]] = {}  # field -> (column, line)
        refs: list[tuple[str, str, str]] = []  # field, model type, foreignKey tag
        for n, line in enumerate(body, start=s.line + 1):
            if _GORM_EMBED.match(line):
                for column in ("id", "created_at", "updated_at", "deleted_at"):
                    table.columns.append((column, n))
                continue
            m = _GORM_FIELD.match(line)
            settings = re.findall(r'gorm:"([^"]*)"', m.group(4) or "") if m else []
            if m is None or settings[:1] == ["-"] or any("embedded" in x for x in settings):
                continue
            field, many, kind, tag = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            fk = _GORM_FK.search(tag)
            # A field typed as a model of this file (or tagged with its key) is an association,
            # not a column; `[]X` of models points back at this one. A named type (`Role Status`)
            # is a column.
            if kind in structs or fk or (many and kind[:1].isupper() and "." not in kind):
                if not many:
                    refs.append((field, kind, fk.group(1) if fk else ""))
                continue
            renamed = _GORM_COLUMN.search(tag)
            columns[field] = (renamed.group(1) if renamed else snake(field), n)
            table.columns.append(columns[field])
        for field, kind, tagged in refs:
            key = columns.get(tagged or f"{field}ID")
            if key is not None:
                table.foreign_keys.append((key[0], kind, key[1]))
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
        renamed = ""
        while n < len(lines) and not lines[n].strip().startswith("}"):
            sql_name = _DIESEL_SQL_NAME.search(lines[n])
            renamed = sql_name.group(1) if sql_name else renamed
            col = _DIESEL_COLUMN.match(lines[n])
            if col:
                table.columns.append((renamed or col.group(1), n + 1))
                renamed = ""
            n += 1
        table.end = min(n + 1, len(lines))
        out[table.name] = table
    for n, line in enumerate(lines, start=1):
        join = _DIESEL_JOIN.search(line)
        if join and join.group(1) in out:
            out[join.group(1)].foreign_keys.append((join.group(3), join.group(2), n))
    return list(out.values())
