"""`docagent map`: the repository model as JSON or as tables, every item with its `path:line`."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from agent.ingest.repomodel.model import RepoModel

SHOWN = 15


def to_json(model: RepoModel) -> dict[str, Any]:
    """Everything the model states, as plain data."""
    return {
        "components": [
            {
                "path": c.path,
                "package": c.package,
                "lines": c.lines,
                "files": len(c.files),
                "summary": c.summary,
                "summary_at": f"{c.summary_at[0]}:{c.summary_at[1]}-{c.summary_at[2]}"
                if c.summary_at
                else None,
                "key_definitions": [
                    {"name": d.name, "kind": d.kind, "at": f"{d.path}:{d.line}"}
                    for d in c.definitions
                ],
                "parts": [
                    {
                        "path": part,
                        "main": {"name": d.name, "at": f"{d.path}:{d.line}"} if d else None,
                    }
                    for part, d in c.parts
                ],
                "depends_on": {
                    target: f"{path}:{line}"
                    for target, (path, line) in sorted(c.depends_on.items())
                },
            }
            for c in model.components
        ],
        "central_files": [{"path": p, "rank": round(r, 5)} for p, r in model.central_files(SHOWN)],
        "entry_points": [
            {"name": f.name, "value": f.value, "at": f.citation} for f in model.entry_points
        ],
        "interfaces": [
            {"kind": i.kind, "name": i.name, "framework": i.framework, "at": f"{i.path}:{i.line}"}
            for i in model.interfaces
        ],
        "tables": [
            {
                "name": t.name,
                "model": t.model,
                "source": t.source,
                "at": f"{t.path}:{t.line}-{t.end}",
                "columns": [c for c, _ in t.columns],
                "foreign_keys": [
                    {"column": c, "references": target, "at": f"{t.path}:{n}"}
                    for c, target, n in t.foreign_keys
                ],
            }
            for t in model.tables
        ],
        "integrations": [
            {
                "provider": i.provider,
                "category": i.category,
                "module": i.module,
                "at": f"{i.path}:{i.line}",
            }
            for i in model.integrations
        ],
        "stack": [{"kind": f.kind, "value": f.name, "at": f.citation} for f in model.facts],
        "counts": counts(model),
    }


def counts(model: RepoModel) -> dict[str, Any]:
    """Figures for `docagent index`: files parsed per language, symbols, interfaces, tables."""
    per: dict[str, Counter[str]] = {lang: Counter() for lang in model.languages}
    for path, syms in model.by_file.items():
        per[model.language_of.get(path, "other")]["symbols"] += len(syms)
    for i in model.interfaces:
        per.setdefault(model.language_of.get(i.path, "other"), Counter())[i.kind] += 1
    for t in model.tables:
        per.setdefault(model.language_of.get(t.path, "other"), Counter())["tables"] += 1
    return {
        "by_language": {lang: dict(c) for lang, c in per.items()},
        "parsed_files": dict(model.languages),
        "symbols": model.symbol_count,
        "interfaces": dict(Counter(i.kind for i in model.interfaces)),
        "tables": len(model.tables),
        "integrations": len({i.provider for i in model.integrations}),
        "skipped": dict(model.skipped),
        "seconds": round(model.seconds, 3),
    }


def show(model: RepoModel, out: Console) -> None:
    """The model as tables, the first SHOWN rows of each."""
    if not model.components and not model.interfaces and not model.tables:
        out.print(
            "No code docagent can parse was found (it reads Python, JavaScript, TypeScript, Go, Rust and Java)."
        )
        return
    comps = RichTable(
        "component", "lines", "key parts / definitions", "depends on", title="Components"
    )
    for c in model.components:
        name = c.package or PurePosixPath(c.path).name
        parts = [PurePosixPath(p).name for p, _ in c.parts] or [d.name for d in c.definitions]
        comps.add_row(
            escape(f"{name} ({c.path})"),
            f"{c.lines:,}",
            escape(", ".join(parts[:6])),
            escape(", ".join(sorted(c.depends_on)[:5])),
        )
    out.print(comps)
    if model.entry_points:
        entries = RichTable("entry point", "at", title="Entry points")
        for f in model.entry_points[:SHOWN]:
            entries.add_row(escape(f"{f.name} {f.value}".strip()), escape(f.citation))
        out.print(entries)
    by_kind = Counter(i.kind for i in model.interfaces)
    if model.interfaces:
        ways = RichTable("kind", "name", "framework", "at", title="Interfaces")
        for kind in by_kind:
            for i in [x for x in model.interfaces if x.kind == kind][:SHOWN]:
                ways.add_row(
                    kind, escape(i.name), escape(i.framework), escape(f"{i.path}:{i.line}")
                )
        out.print(ways)
    if model.tables:
        tables = RichTable("table", "columns", "references", "at", title="Data model")
        for t in model.tables[:SHOWN]:
            tables.add_row(
                escape(t.name),
                str(len(t.columns)),
                escape(", ".join(sorted({target for _, target, _ in t.foreign_keys}))),
                escape(f"{t.path}:{t.line}"),
            )
        out.print(tables)
    if model.integrations:
        seen: dict[str, list[str]] = {}
        for used in model.integrations:
            seen.setdefault(used.provider, []).append(f"{used.path}:{used.line}")
        ext = RichTable("service", "used from", title="Integrations")
        for provider, places in seen.items():
            more = f" (+{len(places) - 2})" if len(places) > 2 else ""
            ext.add_row(escape(provider), escape(", ".join(places[:2]) + more))
        out.print(ext)
    if model.facts:
        stack = RichTable("field", "value", "at", title="What the structure implies")
        for f in model.facts:
            stack.add_row(f.kind, escape(f.name), escape(f.citation))
        out.print(stack)
    totals = ", ".join(f"{n} {k}" for k, n in by_kind.most_common()) or "no interfaces"
    out.print(
        f"{model.symbol_count:,} definitions in {sum(model.languages.values()):,} parsed files; "
        f"{totals}; {len(model.tables)} tables; {model.seconds:.2f}s"
    )
