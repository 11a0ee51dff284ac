"""The repository's main components, read from its code without a model.

A component is a directory or module under the code's main root (the directory below which nearly
all code lives: `src/flask/`, `datasette/`, or the repository itself for a multi-package layout).
Each one carries what a parser can state exactly: its size, its top-level definitions, the other
components it imports, and the summary its own docstring, doc comment or README gives, each with the
lines that say it. Imports are read with per-language patterns (Python, JavaScript/TypeScript, Go,
Rust); what they cannot resolve is simply not an edge.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import PurePosixPath

from agent.ingest.imports import file_imports, manifest_names
from agent.ingest.index import RepoIndex
from agent.ingest.repomodel.interfaces import Interface
from agent.ingest.repomodel.syntax import Symbol

# Languages whose files make up components (markup, styles and config do not).
CODE_LANGUAGES = {
    "python",
    "ts",
    "js",
    "go",
    "rust",
    "java",
    "kotlin",
    "ruby",
    "php",
    "csharp",
    "c",
    "cpp",
    "swift",
    "scala",
    "elixir",
    "vue",
    "svelte",
}
MAX_COMPONENTS = 12
# A directory holding this share of the code is the code's root, not one component among several.
_DESCEND_SHARE = 0.7
# A component this large is shown with its own parts too (outline's server/ -> server/routes ...).
_EXPAND_SHARE = 0.3
_MIN_SHARE = 0.015
_SKIP_DIRS = re.compile(
    r"(^|/)(tests?|__tests__|testing|e2e|spec|specs|examples?|samples?|demos?|docs?|benchmarks?|"
    r"bench|scripts?|tools?|fixtures|vendor|third_party|node_modules|migrations|alembic|dev|"
    r"locales?|i18n|"
    r"\.[^/]+)(/|$)",
    re.IGNORECASE,
)

_KIND_RANK = {"class": 0, "struct": 0, "trait": 0, "interface": 1, "enum": 2}
# What a component's summary shows (a Go type alias or a constant says little about it).
_SHOWN = {*_KIND_RANK, "function"}


@dataclass
class Definition:
    """A top-level class, type or function, with where it is defined."""

    name: str
    kind: str
    path: str
    line: int


@dataclass
class Component:
    """One component: a directory or module under the code's root."""

    path: str  # directory (no trailing slash) or file
    lines: int
    files: list[str]
    definitions: list[Definition] = field(default_factory=list)
    depends_on: dict[str, tuple[str, int]] = field(default_factory=dict)  # component -> import
    summary: str = ""
    summary_at: tuple[str, int, int] | None = None
    package: str = ""  # the name its own manifest gives it (jj-lib), if any
    # Its most-used parts (files or directories), each with its most-used definition.
    parts: list[tuple[str, Definition | None]] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)  # the ways in it declares

    @property
    def name(self) -> str:
        """The directory or module name (`routes`, `app.py`)."""
        return PurePosixPath(self.path).name or self.path

    def set_key_symbols(self, ranked: list[tuple[Symbol, str]]) -> None:
        """Show these definitions (most used first) instead of the first ones found."""
        self.definitions = [Definition(s.name, s.kind, path, s.line) for s, path in ranked]

    def owns(self, path: str) -> bool:
        """Whether a file belongs to this component."""
        return path == self.path or path.startswith(self.path + "/")


def code_files(index: RepoIndex) -> dict[str, int]:
    """Lines of each code file outside tests, examples, docs, tooling and vendored code."""
    return {
        path: rec.lines
        for path, rec in index.records.items()
        if rec.skip is None
        and rec.kind == "code"
        and rec.language in CODE_LANGUAGES
        and not _SKIP_DIRS.search(str(PurePosixPath(path).parent))
    }


def _children(files: dict[str, int], base: str) -> Counter[str]:
    """Lines per direct child (directory or file) of a directory ("" = the root)."""
    out: Counter[str] = Counter()
    prefix = f"{base}/" if base else ""
    for path, lines in files.items():
        if not path.startswith(prefix):
            continue
        head = path[len(prefix) :].split("/", 1)[0]
        out[prefix + head] += lines
    return out


def code_root(files: dict[str, int]) -> str:
    """The directory below which nearly all code lives ("" for the repository itself)."""
    base = ""
    total = sum(files.values())
    while True:
        kids = _children(files, base)
        if not kids:
            return base
        top, lines = kids.most_common(1)[0]
        is_dir = any(p.startswith(top + "/") for p in files)
        if not is_dir or lines < _DESCEND_SHARE * total:
            return base
        base = top


def find_components(
    index: RepoIndex,
    imports: dict[str, dict[str, int]] | None = None,
    file_rank: dict[str, float] | None = None,
) -> list[Component]:
    """The main components, largest first (at most MAX_COMPONENTS)."""
    files = code_files(index)
    total = sum(files.values())
    if not total:
        return []
    if imports is None:
        imports = file_imports(index, files)
    imported_by: dict[str, set[str]] = {}
    for source, targets in imports.items():
        for target in targets:
            imported_by.setdefault(target, set()).add(source)
    root = code_root(files)
    picked: dict[str, int] = {}
    expansions: list[list[str]] = []
    for child, lines in _children(files, root).most_common():
        if lines < _MIN_SHARE * total or _is_entry_module(child, files):
            continue
        picked[child] = lines
        # A crate or package keeps its code one level down (lib/src/): its parts are there.
        inner = code_root({p: n for p, n in files.items() if p.startswith(child + "/")}) or child
        parts = _children(files, inner)
        if lines >= _EXPAND_SHARE * total and len(parts) > 1:
            # The parts others import most come first (the store, the repository, the backend),
            # then the large ones: an architecture description names the first kind.
            ranked = [
                p
                for p in _rank_parts(parts, imported_by, file_rank)
                if parts[p] >= _MIN_SHARE * total / 3 and not _is_entry_module(p, files)
            ]
            if len(ranked) < 3:
                # One or two parts say nothing the component itself does not.
                continue
            expansions.append(ranked)
            for part in ranked:
                picked[part] = parts[part]
    # Every top-level component first, then the parts of the large ones, taken in turns.
    chosen = [p for p in picked if not any(p in e for e in expansions)][:MAX_COMPONENTS]
    for part in (p for round_ in zip_longest(*expansions) for p in round_ if p):
        if len(chosen) >= MAX_COMPONENTS:
            break
        chosen.append(part)
    comps = [
        Component(p, picked[p], sorted(f for f in files if f == p or f.startswith(p + "/")))
        for p in chosen
    ]
    names = {d: name for d, (_, name) in manifest_names(index).items() if d}
    for c in comps:
        c.package = names.get(c.path, "")
        c.definitions = _definitions(index, c)
        c.summary, c.summary_at = _summary(index, c)
    _link(comps, imports)
    return comps


def _is_entry_module(path: str, files: dict[str, int]) -> bool:
    # `__init__.py`, `mod.rs`, `lib.rs`, `index.ts`, `main.go` stand for their package.
    return path in files and PurePosixPath(path).stem in {"__init__", "mod", "index", "lib", "main"}


def _rank_parts(
    parts: Counter[str], imported_by: dict[str, set[str]], file_rank: dict[str, float] | None
) -> list[str]:
    def importers(part: str) -> int:
        # Files outside the part that import it: a part's imports of itself say nothing.
        inside = part + "/"
        return len(
            {
                source
                for target, sources in imported_by.items()
                if target == part or target.startswith(inside)
                for source in sources
                if source != part and not source.startswith(inside)
            }
        )

    # The rank the rest of the code passes to each part (PageRank over names used across files),
    # summed in one pass over the files.
    ranks: dict[str, float] = dict.fromkeys(parts, 0.0)
    for f, r in (file_rank or {}).items():
        for p in parts:
            if f == p or f.startswith(p + "/"):
                ranks[p] += r
                break

    most_lines = max(parts.values()) or 1
    counts = {p: importers(p) for p in parts}
    most_importers = max(counts.values()) or 1
    most_rank = max(ranks.values()) or 1.0
    return sorted(
        parts,
        key=lambda p: -(counts[p] / most_importers + parts[p] / most_lines + ranks[p] / most_rank),
    )


def _definitions(index: RepoIndex, comp: Component, limit: int = 6) -> list[Definition]:
    """The component's exported top-level types and functions, as the index parsed them (types
    first, then the larger files' first)."""
    found: list[tuple[int, int, Definition]] = []
    for path in comp.files:
        rec = index.records[path]
        for s in rec.model.symbols if rec.model is not None else []:
            if s.parent or not s.exported or s.name.startswith("_") or s.kind not in _SHOWN:
                continue
            found.append(
                (_KIND_RANK.get(s.kind, 3), -rec.lines, Definition(s.name, s.kind, path, s.line))
            )
    found.sort(key=lambda t: (t[0], t[1]))
    out: list[Definition] = []
    seen: set[str] = set()
    for _, _, d in found:
        if d.name not in seen:
            seen.add(d.name)
            out.append(d)
        if len(out) == limit:
            break
    return out


_PY_DOC = re.compile(r'^\s*[rRuU]?("""|\'\'\')(.*)')


def _summary(index: RepoIndex, comp: Component) -> tuple[str, tuple[str, int, int] | None]:
    """The first sentence of the component's own description, with its lines."""
    candidates = [comp.path] if comp.path in comp.files else []
    for name in (
        "__init__.py",
        "mod.rs",
        "lib.rs",
        "src/lib.rs",
        "src/main.rs",
        "doc.go",
        "index.ts",
        "README.md",
    ):
        candidates.append(f"{comp.path}/{name}")
    # A Go package's doc comment may sit in any of its files (directly in the directory).
    candidates += [f for f in comp.files if f.endswith(".go") and f.rsplit("/", 1)[0] == comp.path]
    for path in candidates:
        lines = index.file_lines(path)
        if not lines:
            continue
        found = _leading_doc(path, lines)
        if found:
            return found[0], (path, found[1], found[2])
    return "", None


def _first_sentence(text: list[str], start: int, end: int) -> tuple[str, int, int] | None:
    sentence = " ".join(t.strip() for t in text if t.strip())
    sentence = re.split(r"(?<=[.!?])\s", sentence, maxsplit=1)[0].strip()
    if len(sentence) < 12 or re.search(r"copyright|licen[cs]e|spdx", sentence, re.I):
        return None
    # Tool directives are not descriptions.
    if re.match(
        r"^(eslint|oxlint|tslint|biome|prettier|istanbul|jshint|@ts-|@flow|noqa)", sentence
    ):
        return None
    return sentence[:300], start, max(start, end)


def _leading_doc(path: str, lines: list[str]) -> tuple[str, int, int] | None:
    """A file's own description: Python module docstring, Markdown first paragraph, or the
    leading comment block (`//!`, `// Package x`, `/** */`) that is not a licence header."""
    if path.endswith(".py"):
        for n, raw in enumerate(lines[:40], start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = _PY_DOC.match(line)
            if not m:
                return None
            quote, body = m.group(1), m.group(2)
            if quote in body:
                return _first_sentence([body.split(quote)[0]], n, n)
            text, last = [body], n
            for k in range(n, min(n + 30, len(lines))):
                more = lines[k].strip()
                if quote in more:
                    text.append(more.split(quote)[0])
                    last = k + 1
                    break
                if not more and any(t.strip() for t in text):
                    break
                text.append(more)
                last = k + 1
            return _first_sentence(text, n, last)
        return None
    if path.endswith(".md"):
        text, start = [], 0
        for n, raw in enumerate(lines[:60], start=1):
            line = raw.strip()
            if not text and (not line or line.startswith(("#", "<", "[", "!"))):
                continue
            if not line:
                break
            start = start or n
            text.append(line)
        return _first_sentence(text, start, start + len(text) - 1) if text else None
    block: list[str] = []
    start = 0
    for n, raw in enumerate(lines[:80], start=1):
        line = raw.strip()
        m = re.match(r"^(?://[!/]?|/\*\*?|\*(?!/))\s?(.*)", line)
        if m:
            start = start or n
            block.append(m.group(1).rstrip("*/ ").strip())
            continue
        if block:
            found = _first_sentence(block, start, n - 1)
            # Go documents a package or command with "Package x ..." / "Command x ..."; any other
            # leading comment describes one file, not the component.
            if found and (
                not path.endswith(".go") or found[0].startswith(("Package ", "Command "))
            ):
                return found
            block, start = [], 0
        if (
            line
            and not line.startswith(("*/", "#!"))
            and not re.match(r"^(package|use|mod|extern|import)\b", line)
        ):
            return None
    return None


def _link(comps: list[Component], imports: dict[str, dict[str, int]]) -> None:
    """Fill each component's dependencies from its files' imports: the most specific other
    component that holds each import target (never the component's own parent)."""
    for c in comps:
        for path in c.files:
            for target, n in imports.get(path, {}).items():
                owners = [x for x in comps if x.owns(target)]
                if not owners:
                    continue
                best = max(owners, key=lambda x: len(x.path))
                if (
                    best is c
                    or c.owns(best.path)
                    or c.path.startswith(best.path + "/")
                    or best.path in c.depends_on
                ):
                    continue
                c.depends_on[best.path] = (path, n)
