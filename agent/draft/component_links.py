"""A component document's Dependencies section and its Owner, from the repository model: the other
components the topic's files import (upstream), the third-party services and the database they
reach, the components that import the topic's files (downstream), and who CODEOWNERS names for
them. Each value is cited at the import, table or CODEOWNERS line that states it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.draft.services import services
from agent.draft.structural import topic_files
from agent.ingest.repomodel import codeowners
from agent.ingest.repomodel.model import is_auxiliary

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex
    from agent.ingest.repomodel.components import Component

MAX_SHOWN = 5
_RELATIONAL = re.compile(r"postgres|mysql|mariadb|sqlite|sql server|oracle|cockroach", re.I)
Span = tuple[str, int, int]


@dataclass
class Link:
    """A value and the lines that state it."""

    value: str
    spans: list[Span]


def component_link(label: str, trail: str, index: RepoIndex, topic: str) -> Link | None:
    """The Owner field or one of the Dependencies fields of a component document, or None."""
    # The topic's main files (the ones its tables show) say what it uses and who uses it; every
    # file of the topic is kept out of both, so no part of it is its own dependency.
    shown = topic_files(index, topic)
    if not shown:
        return None
    every = topic_files(index, topic, limit=None)
    low = label.lower().strip()
    if low == "owner" and "dependencies" not in trail:
        return _owner(index, shown)
    if "upstream" in trail:
        if re.search(r"architecture|service", low) and "external" not in low:
            return _upstream(index, shown, every)
        if "external" in low:
            return _external(index, shown)
        if "database" in low:
            return _database(index, shown)
    if "downstream" in trail and re.search(r"service|consumer", low):
        return _downstream(index, shown, every)
    return None


def _component(comps: list[Component], path: str) -> Component | None:
    """The most specific component that owns a path."""
    owning = [c for c in comps if c.owns(path)]
    return max(owning, key=lambda c: len(c.path), default=None)


def _shown(comp: Component) -> str:
    return f"`{comp.path}`" if comp.path in comp.files else f"`{comp.path}/`"


def _upstream(index: RepoIndex, files: list[str], every: list[str]) -> Link | None:
    """Other components the topic's files import: "`lib/` (imported by `cli/src/config.rs`)"."""
    model = index.model
    mine = set(every)
    own = _own_components(model.components, every)
    found: dict[str, tuple[str, int]] = {}
    for path in files:
        for target, line in model.imports.get(path, {}).items():
            comp = _component(model.components, target)
            if comp is None or comp.path in own or target in mine or comp.path in found:
                continue
            found[comp.path] = (path, line)
    if not found:
        return None
    shown = list(found.items())[:MAX_SHOWN]
    by_path = {c.path: c for c in model.components}
    value = ", ".join(f"{_shown(by_path[c])} - imported by `{src}`" for c, (src, _) in shown)
    return Link(value, [(src, line, line) for _, (src, line) in shown])


def _downstream(index: RepoIndex, files: list[str], every: list[str]) -> Link | None:
    """Components whose files import the topic's: "`cli/` (imports `lib/src/config.rs`)"."""
    model = index.model
    mine = set(every)
    own = _own_components(model.components, every)
    found: dict[str, tuple[str, str, int]] = {}
    for path in files:
        for src, (target, line) in sorted(model.importers(path).items()):
            comp = _component(model.components, src)
            if comp is None or comp.path in own or src in mine or is_auxiliary(src):
                continue
            found.setdefault(comp.path, (target, src, line))
    if not found:
        return None
    shown = list(found.items())[:MAX_SHOWN]
    by_path = {c.path: c for c in model.components}
    value = ", ".join(
        f"{_shown(by_path[c])} - `{src}` imports "
        + (f"`{target}`" if PurePosixPath(target).suffix else f"package `{target}/`")
        for c, (target, src, _) in shown
    )
    return Link(value, [(src, line, line) for _, (_, src, line) in shown])


def _own_components(comps: list[Component], files: list[str]) -> set[str]:
    """The components the topic's files belong to (each file's most specific one)."""
    return {c.path for f in files if (c := _component(comps, f)) is not None}


def _external(index: RepoIndex, files: list[str]) -> Link | None:
    """The third-party services the topic's files reach."""
    found = services(index, set(files))[:MAX_SHOWN]
    if not found:
        return None
    value = ", ".join(f"{s.provider} - SDK imported in `{s.imports[0].path}`" for s in found)
    return Link(value, [(s.imports[0].path, s.imports[0].line, s.imports[0].line) for s in found])


def _database(index: RepoIndex, files: list[str]) -> Link | None:
    """The tables the topic's files define, in the database the manifests declare."""
    # Tables the topic's own files define: a word of the topic in a table's path ("server") is
    # not enough to make the whole schema its dependency.
    tables = [t for t in index.model.tables if t.path in set(files)]
    if not tables:
        return None
    # The relational database the manifests declare (tables are not Elasticsearch's); none named
    # when that is not clear.
    databases = [
        f
        for f in index.facts
        if f.kind == "database" and not is_auxiliary(f.path) and _RELATIONAL.search(f.name)
    ]
    names = ", ".join(f"`{t.name}`" for t in tables[:MAX_SHOWN])
    more = ", ..." if len(tables) > MAX_SHOWN else ""
    where = f"{databases[0].name} - " if databases else ""
    # Each cited at its definition through the lines that name the table (`__tablename__`).
    spans = [(t.path, t.line, min(t.end, t.line + 3)) for t in tables[:MAX_SHOWN]]
    if databases:
        spans.insert(0, (databases[0].path, databases[0].line, databases[0].line))
    return Link(f"{where}tables {names}{more}", spans)


def _owner(index: RepoIndex, files: list[str]) -> Link | None:
    """Who CODEOWNERS names for the topic's files (most of them)."""
    rules = codeowners.rules(index)
    owned = [(p, codeowners.owner(rules, p)) for p in files]
    counts: dict[tuple[str, ...], list[codeowners.Rule]] = {}
    for _, rule in owned:
        if rule is not None and rule.owners:
            counts.setdefault(rule.owners, []).append(rule)
    if not counts:
        return None
    owners, found = max(counts.items(), key=lambda kv: len(kv[1]))
    return Link(" ".join(owners), [(found[0].path, found[0].line, found[0].line)])
