"""Mermaid diagrams from the repository model, valid by construction: node ids are generated,
every label is quoted with Mermaid's entity escapes, and ER names are reduced to the characters
Mermaid accepts. Repository text never reaches a diagram unescaped.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.ingest.repomodel.components import Component
    from agent.ingest.repomodel.datamodel import Table

MAX_TABLES = 40
MAX_COLUMNS = 12

_ESCAPES = {
    '"': "#quot;",
    "#": "#35;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "|": "#124;",
}


def label(text: str) -> str:
    """A quoted Mermaid label: entity-escaped, one line."""
    flat = " ".join(text.split())[:80]
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in flat) + '"'


def er_name(text: str) -> str:
    """An ER attribute name Mermaid accepts (letters, digits, underscore)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or "unnamed"
    return name if not name[0].isdigit() else f"t_{name}"


def er_entity(text: str) -> str:
    """An ER entity name, quoted: a table may be called `end` or `graph` (Mermaid keywords, found
    by Mermaid's own parser in the tests) or be written in another script."""
    return '"' + (re.sub(r"[^\w]", "_", text).strip("_") or "unnamed") + '"'


def component_graph(components: list[Component]) -> str:
    """`flowchart LR`: one node per component, an edge per import between components."""
    ids = {c.path: f"c{i}" for i, c in enumerate(components)}
    lines = ["flowchart LR"]
    for c in components:
        is_dir = c.path not in c.files
        name = c.package or PurePosixPath(c.path).name
        where = f"{c.path}/" if is_dir else c.path
        lines.append(f"    {ids[c.path]}[{label(f'{name} ({where})' if name != where else where)}]")
    for c in components:
        for target in sorted(c.depends_on):
            if target in ids:
                lines.append(f"    {ids[c.path]} --> {ids[target]}")
    return "\n".join(lines) + "\n"


def er_diagram(tables: list[Table]) -> str:
    """`erDiagram`: tables with their columns, and a relationship per foreign key."""
    shown = tables[:MAX_TABLES]
    # Distinct tables keep distinct entities even when their names reduce to the same one
    # (`order-items` and `order_items`, two names in other scripts).
    ids: list[str] = []
    for t in shown:
        base, n = er_entity(t.name)[1:-1], 2
        candidate = base
        while candidate in ids:
            candidate, n = f"{base}_{n}", n + 1
        ids.append(candidate)
    names = {t.name.lower(): ident for t, ident in zip(shown, ids, strict=True)}
    models = {t.model.lower(): ident for t, ident in zip(shown, ids, strict=True) if t.model}
    lines = ["erDiagram"]
    for t, ident in zip(shown, ids, strict=True):
        lines.append(f'    "{ident}" {{')
        seen: set[str] = set()
        for column, _ in t.columns[:MAX_COLUMNS]:
            attr = er_name(column)
            if attr not in seen:
                seen.add(attr)
                lines.append(f"        col {attr}")
        lines.append("    }")
    for t, ident in zip(shown, ids, strict=True):
        for column, target, _ in t.foreign_keys:
            other = names.get(target.lower()) or models.get(target.lower())
            if other:
                lines.append(f'    "{ident}" }}o--|| "{other}" : {label(column)}')
    return "\n".join(lines) + "\n"
