"""The repository model: what a parser can state about the whole repository before any model call.

Per file (extracted at index time, cached with the file's record): tree-sitter symbols, the
interfaces it declares, the tables it defines, the external services it imports. Per repository
(assembled on first use from those records): files and definitions ranked by use (PageRank), the
main components with their most-used definitions and dependencies, entry points, and the stack
facts the structure implies (architecture style, deployment model, communication patterns ...).
Everything carries the `path:line` that states it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.decisions import doc_weight
from agent.ingest.repomodel import datamodel, integrations, interfaces, messaging, symbols
from agent.ingest.repomodel.datamodel import Table
from agent.ingest.repomodel.integrations import Integration
from agent.ingest.repomodel.interfaces import Interface
from agent.ingest.repomodel.rank import Ranking, rank
from agent.ingest.repomodel.syntax import Symbol

if TYPE_CHECKING:
    from agent.ingest.facts import Fact
    from agent.ingest.index import RepoIndex
    from agent.ingest.repomodel.components import Component, Definition

# Files that test, demonstrate or document the code: their routes and tables are not the system's.
AUXILIARY_PARTS = frozenset(
    {
        "test",
        "tests",
        "__tests__",
        "testing",
        "e2e",
        "spec",
        "specs",
        "example",
        "examples",
        "sample",
        "samples",
        "demo",
        "demos",
        "docs",
        "doc",
        "fixtures",
        "vendor",
        "third_party",
        "node_modules",
        "benchmarks",
        "bench",
        "benches",
        "fuzz",
        "xtask",
        "scripts",
        "script",
        "tools",
        "testutils",
        "test-utils",
        "test_utils",
        "__mocks__",
        "mocks",
    }
)
# Languages whose files hold definitions, interfaces or tables docagent reads.
MODEL_LANGUAGES = frozenset({"python", "js", "ts", "go", "rust", "java", "sql", "proto"})
# Code languages whose definitions docagent has no tree-sitter grammar for: counted, not parsed.
UNPARSED_LANGUAGES = frozenset(
    {"kotlin", "ruby", "php", "csharp", "c", "cpp", "swift", "scala", "elixir", "vue", "svelte"}
)


def is_auxiliary(path: str) -> bool:
    """A test, example, docs or vendored file."""
    parts = PurePosixPath(path).parts[:-1]
    name = PurePosixPath(path).name
    return (
        any(p.lower() in AUXILIARY_PARTS or p.startswith(".") for p in parts)
        or name.startswith("test_")
        or name in ("conftest.py", "fixtures.py")  # pytest's, and test data kept in a package
        or name.endswith(
            (
                "_test.go",
                "_test.py",
                *(
                    f".{kind}.{ext}"
                    for kind in ("test", "spec")
                    for ext in ("ts", "tsx", "js", "jsx")
                ),
            )
        )
    )


@dataclass
class FileModel:
    """What one file declares."""

    symbols: list[Symbol] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    skipped: str = ""  # why the file was not parsed (no grammar for its language)
    parse_errors: bool = False  # the parser recovered from syntax errors (what it read is kept)


def parses(path: str, language: str) -> bool:
    """Whether extracting this file runs a parser (the rest is decided from its name)."""
    return (language in MODEL_LANGUAGES or path.endswith(".prisma")) and PurePosixPath(
        path
    ).name not in ("pyproject.toml", "setup.cfg")


def extract_safely(path: str, text: str, language: str) -> FileModel | None:
    """extract_file, where a parser's bug is the file's skip reason, never an indexing failure:
    the file is still indexed for search, only its structure is unknown (counted in `docagent
    map`)."""
    try:
        return extract_file(path, text, language)
    except Exception as exc:
        return FileModel(skipped=f"model extraction failed ({type(exc).__name__})")


def extract_file(path: str, text: str, language: str) -> FileModel | None:
    """The file's symbols, interfaces, tables and integrations (None for other languages)."""
    if language in UNPARSED_LANGUAGES:
        return FileModel(skipped=f"no tree-sitter grammar ({language})")
    if PurePosixPath(path).name in ("pyproject.toml", "setup.cfg"):
        plugins = messaging.plugin_entry_points(path, text)
        return FileModel(interfaces=plugins) if plugins else None
    if language not in MODEL_LANGUAGES and not path.endswith(".prisma"):
        return None
    lines = text.split("\n")
    syms, errors = symbols.symbols(path, text, language)
    return FileModel(
        symbols=syms,
        interfaces=interfaces.interfaces(path, lines, language, syms)
        + messaging.topics(path, lines),
        tables=datamodel.tables(path, lines, language, syms),
        integrations=integrations.integrations(path, lines, language),
        parse_errors=errors,
    )


@dataclass
class RepoModel:
    """The whole repository's structure, every item with the lines that state it."""

    ranking: Ranking
    components: list[Component]
    interfaces: list[Interface]  # the system's own (not tests' or examples')
    tables: list[Table]
    integrations: list[Integration]
    entry_points: list[Fact]
    facts: list[Fact]  # stack facts the structure implies
    symbol_count: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)  # files parsed per language
    language_of: dict[str, str] = field(default_factory=dict, repr=False)  # parsed file -> language
    seconds: float = 0.0

    def central_files(self, limit: int = 10) -> list[tuple[str, float]]:
        """The most-used files, most central first."""
        return sorted(self.ranking.files.items(), key=lambda kv: -kv[1])[:limit]

    def importers(self, path: str) -> dict[str, tuple[str, int]]:
        """The files that import `path`, with what they import (the file, or for Go its package
        directory: Go imports packages, not files) and the line of the import."""
        found: dict[str, tuple[str, int]] = {}
        package = str(PurePosixPath(path).parent) if path.endswith(".go") else None
        for src, targets in self.imports.items():
            if path in targets:
                found[src] = (path, targets[path])
            elif package and package in targets:
                found[src] = (package, targets[package])
        return found

    def definitions(self, path: str) -> list[Symbol]:
        """A file's top-level definitions (methods are left out)."""
        return [s for s in self.by_file.get(path, []) if not s.parent]

    by_file: dict[str, list[Symbol]] = field(default_factory=dict, repr=False)
    # Code file -> the files or directories it imports, with the line of each import.
    imports: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)


TYPE_KINDS = frozenset({"class", "struct", "trait", "interface", "enum", "type"})
_SHOWN_KINDS = TYPE_KINDS | {"function"}


def key_symbols(
    by_file: dict[str, list[Symbol]], ranking: Ranking, paths: list[str], limit: int
) -> list[tuple[Symbol, str]]:
    """The most-used exported top-level definitions among these files (by the rank their users
    pass them; a file's size breaks ties when nothing uses them)."""
    scored: list[tuple[float, int, str, Symbol]] = []
    for path in paths:
        for s in by_file.get(path, []):
            if s.parent or not s.exported or s.kind not in _SHOWN_KINDS or s.name.startswith("_"):
                continue
            score = ranking.symbols.get((path, s.name), 0.0)
            scored.append((score, -(s.end - s.start), path, s))
    # Types first: an architecture description names the store, the repository, the backend,
    # not the helper functions everything calls.
    scored.sort(key=lambda t: (t[3].kind not in TYPE_KINDS, -t[0], t[1]))
    out: list[tuple[Symbol, str]] = []
    seen: set[str] = set()
    for _, _, path, s in scored:
        if s.name not in seen:
            seen.add(s.name)
            out.append((s, path))
        if len(out) == limit:
            break
    return out


MAX_PARTS = 8
MAX_PROGRAMS = 30
_ENTRY_STEMS = {"__init__", "mod", "lib", "index", "main", "doc"}


def _key_parts(
    comp: Component,
    files: dict[str, int],
    ranking: Ranking,
    by_file: dict[str, list[Symbol]],
    shown: set[str],
    documented: dict[str, float],
    programs: set[str],
) -> list[tuple[str, Definition | None]]:
    """A directory component's most-used parts (files or subdirectories below its code root),
    each with its most-used definition; parts shown as components of their own are left out."""
    from agent.ingest.repomodel.components import Definition, code_root

    own = {p: n for p, n in files.items() if comp.owns(p)}
    if comp.path in own or len(own) < 2:
        return []
    inner = code_root(own) or comp.path
    score: dict[str, float] = {}
    members: dict[str, list[str]] = {}
    for path in own:
        if not path.startswith(inner + "/"):
            continue
        head = path[len(inner) + 1 :].split("/", 1)[0]
        part = f"{inner}/{head}"
        # `lib.rs`, `__init__.py`, `main.go` stand for the package; a directory `lib/` does not.
        is_file = "/" not in path[len(inner) + 1 :]
        if part in shown or (is_file and PurePosixPath(head).stem in _ENTRY_STEMS):
            continue
        score[part] = score.get(part, 0.0) + ranking.files.get(path, 0.0)
        members.setdefault(part, []).append(path)
    if len(score) < 2:
        return []
    # What the maintainers' design documents name in code (`Transaction`, `GitBackend`) is a key
    # part even when little code calls it; the import rank alone favours the helpers everything
    # uses (object ids, hashing). Both count, each as a share of its largest value.
    named: dict[str, float] = {}
    for part, paths in members.items():
        names = {s.name for p in paths for s in by_file.get(p, []) if s.exported and not s.parent}
        named[part] = sum(documented.get(n, 0.0) for n in names)
    top_rank = max(score.values()) or 1.0
    top_named = max(named.values()) or 1.0
    combined = {p: score[p] / top_rank + named[p] / top_named for p in score}
    # A directory of programs (Go's cmd/ with one main package each) is described by the programs
    # it builds: all of them, not the eight most used.
    limit = MAX_PARTS
    built = [p for p in score if p in programs]
    if len(built) >= 3 and 2 * len(built) >= len(score):
        limit = max(limit, min(len(built), MAX_PROGRAMS))
    out: list[tuple[str, Definition | None]] = []
    for part in sorted(score, key=lambda p: (p not in programs, -combined[p]))[:limit]:
        top = key_symbols(by_file, ranking, members[part], 1)
        out.append(
            (
                part,
                Definition(top[0][0].name, top[0][0].kind, top[0][1], top[0][0].line)
                if top
                else None,
            )
        )
    return out


# A name in a code span: `Store`, ``Flask``, :class:`flask.Flask`, `lib/src/store.rs`.
_CODE_SPAN = re.compile(r"`+([A-Za-z_][\w.:/-]*?)(?:\(\))?`+")
_DESIGN_WEIGHT = 2.0  # design and architecture documents, ADRs (decisions.doc_weight)


def documented_names(index: RepoIndex) -> dict[str, float]:
    """Names the design documents write as code, each weighted by the most design-like document
    that names it (a user guide's API reference names everything: it does not count)."""
    found: dict[str, float] = {}
    for path, rec in index.records.items():
        weight = doc_weight(path) if rec.kind == "notes" and not rec.template else 0.0
        if weight < _DESIGN_WEIGHT:
            continue
        for m in _CODE_SPAN.finditer("\n".join(index.file_lines(path) or [])):
            for name in re.split(r"[.:/]+", m.group(1)):
                if len(name) > 3:
                    found[name] = max(found.get(name, 0.0), weight)
    return found


def build_model(index: RepoIndex) -> RepoModel:
    """Assemble the repository model from the index's file records."""
    from agent.ingest.imports import file_imports
    from agent.ingest.repomodel.architecture import stack_facts
    from agent.ingest.repomodel.components import code_files, find_components

    started = time.perf_counter()
    by_file: dict[str, list[Symbol]] = {}
    found_interfaces: list[Interface] = []
    found_tables: list[Table] = []
    found_integrations: list[Integration] = []
    skipped: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    language_of: dict[str, str] = {}
    for path, rec in sorted(index.records.items()):
        fm = rec.model
        if rec.skip is not None or fm is None:
            continue
        if fm.skipped:
            skipped[fm.skipped] += 1
            continue
        if fm.parse_errors:
            skipped["parsed with syntax errors (what could be read is kept)"] += 1
        languages[rec.language] += 1
        language_of[path] = rec.language
        by_file[path] = fm.symbols
        if is_auxiliary(path):
            continue
        found_interfaces += fm.interfaces
        found_tables += fm.tables
        found_integrations += fm.integrations
    # `@task` is also invoke's, Prefect's and Airflow's, `@x.command` discord.py's: a queued task or
    # a click/typer command only where the project depends on a task queue or a CLI framework.
    kinds = {f.kind for f in index.facts}
    found_interfaces = [
        i
        for i in found_interfaces
        if (i.kind != "task" or "task-queue" in kinds)
        and (i.framework != "click/typer" or "cli-framework" in kinds)
    ]
    files = code_files(index)
    imports = file_imports(index, files)
    found_interfaces = interfaces.mount_prefixes(found_interfaces, index.file_lines, imports)
    texts = {p: "\n".join(index.file_lines(p) or []) for p in files}
    defined = {
        # Module declarations (`mod store;`) name files, not definitions others use.
        p: {
            s.name for s in by_file.get(p, []) if s.exported and not s.parent and s.kind != "module"
        }
        for p in files
    }
    ranking = rank(texts, defined, imports)
    comps = find_components(index, imports=imports, file_rank=ranking.files)
    shown = {c.path for c in comps}
    documented = documented_names(index)
    programs = {
        str(PurePosixPath(f.path).parent)
        for f in index.facts
        if f.kind == "entry-point" and f.value == "main"
    }
    for c in comps:
        ranked = key_symbols(by_file, ranking, c.files, 6)
        if ranked:
            c.set_key_symbols(ranked)
        c.parts = _key_parts(c, files, ranking, by_file, shown, documented, programs)
        c.interfaces = [i for i in found_interfaces if c.owns(i.path)]
    entry_points = [f for f in index.facts if f.kind == "entry-point" and not is_auxiliary(f.path)]
    model = RepoModel(
        ranking=ranking,
        components=comps,
        interfaces=found_interfaces,
        tables=found_tables,
        integrations=found_integrations,
        entry_points=entry_points,
        facts=[],
        symbol_count=sum(len(v) for v in by_file.values()),
        skipped=skipped,
        languages=languages,
        language_of=language_of,
        by_file=by_file,
        imports=imports,
    )
    model.facts = stack_facts(index, model)
    model.seconds = time.perf_counter() - started
    return model
