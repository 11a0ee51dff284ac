"""Component-document fields the repository model fills for a topic, without a model call: the
Code Locations tables (the files that implement the topic, most-used first), the Relationships ER
diagram and the schema code blocks (the topic's tables as the repository defines them).

A file belongs to a topic when its path or its definitions name one of the topic's words (with
the usual abbreviations: `cli` for command line, `config` for configuration and settings ...), or,
for a configuration topic, when it reads environment variables. The choice is the model's
judgement-free part; the draft flags it for a human to confirm.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.repomodel import codeowners
from agent.ingest.repomodel.mermaid import er_diagram
from agent.ingest.repomodel.model import is_auxiliary

if TYPE_CHECKING:
    from agent.document.template_model import TemplateField
    from agent.ingest.index import RepoIndex
    from agent.ingest.repomodel.datamodel import Table
    from agent.ingest.repomodel.syntax import Symbol

MAX_ROWS = 8
MAX_SCHEMA_TABLES = 6
MAX_ER_TABLES = 20
MAX_SCHEMA_LINES = 16
_STOP = frozenset(
    [
        "and",
        "the",
        "for",
        "with",
        "from",
        "into",
        "of",
        "to",
        "in",
        "on",
        "a",
        "an",
        "its",
        "their",
        "how",
        "what",
    ]
)
# Words a topic is written with, and the names code gives the same thing.
_ALIASES = {
    "command": {"cli", "cmd", "command", "commands"},
    "configuration": {"config", "configuration", "settings", "env", "environment"},
    "settings": {"config", "configuration", "settings", "env"},
    "config": {"config", "configuration", "settings", "env"},
    "database": {"db", "database", "models", "schema", "migrations"},
    "authentication": {"auth", "authentication", "login", "session"},
    "authorization": {"auth", "authz", "permissions", "policies"},
}
# A build or lint tool's own settings (`babel.config.js`, `vite.config.ts`, `.eslintrc.js`): the
# project's configuration lives in its own modules (`config.py`, `env.ts`), not in these.
_TOOL_CONFIG = re.compile(
    r"^(\.[\w.-]+|(babel|eslint|webpack|vite|vitest|jest|postcss|tailwind|prettier|rollup|next|nuxt|"
    r"svelte|astro|playwright|karma|tsup|esbuild|commitlint|stylelint|metro|docusaurus|gatsby|"
    r"cypress|electron-builder)\.config(\.[\w-]+)*\.(js|cjs|mjs|ts|cts|mts))$"
)
# `app/` and `web/` hold back ends too (Flask's app/models.py, Next.js app/api/): only the
# directories no back end is named after, and the front-end file types, count.
_FRONTEND_DIRS = re.compile(r"(^|/)(client|frontend|src/components|components|hooks|stores)/")
_FRONTEND_EXT = (".tsx", ".jsx", ".vue", ".svelte")


def topic_words(topic: str) -> set[str]:
    """The lower-case words (and their code abbreviations) a topic is written with."""
    words = {w for w in re.findall(r"[a-z][a-z0-9]+", topic.lower()) if w not in _STOP}
    out = set(words)
    for w in words:
        out |= _ALIASES.get(w, set())
        if w.endswith("s"):
            out.add(w[:-1])
    return out


def _named(text: str, words: set[str]) -> bool:
    parts = set(re.findall(r"[a-z][a-z0-9]*", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()))
    return bool(parts & words)


def topic_files(index: RepoIndex, topic: str, limit: int | None = MAX_ROWS) -> list[str]:
    """The project's own code files about a topic, most-used first (`limit` of them; None: all)."""
    words = topic_words(topic)
    if not words:
        return []
    model = index.model
    configuration = bool(words & {"config", "configuration", "settings"})
    readers = (
        {f.path for f in index.facts if f.kind == "env-var" and "example" not in f.detail}
        if configuration
        else set()
    )
    # A file named for the topic first, then one that reads its settings, then one in a directory
    # named for it, then one whose definitions are: a directory name (`server/`) covers too much
    # to come first.
    tiers: list[list[str]] = [[], [], [], []]
    for path, rank in sorted(model.ranking.files.items(), key=lambda kv: -kv[1]):
        if is_auxiliary(path) or _TOOL_CONFIG.match(PurePosixPath(path).name):
            continue
        names = " ".join(s.name for s in model.definitions(path))
        if _named(PurePosixPath(path).stem, words):
            tiers[0].append(path)
        elif path in readers:
            tiers[1].append(path)
        elif _named(str(PurePosixPath(path).parent), words):
            tiers[2].append(path)
        elif rank > 0 and _named(names, words):
            tiers[3].append(path)
    return [p for tier in tiers for p in tier][:limit]


def named_for_topic(index: RepoIndex, topic: str) -> set[str]:
    """The project's own files named for a topic, or in a directory named for it (for a topic
    about configuration, named for configuration: "server configuration" is `server/env.ts`, not
    every file under `server/`)."""
    words = topic_words(topic)
    words = (words & _ALIASES["configuration"]) or words
    return (
        {
            path
            for path in index.model.ranking.files
            if not is_auxiliary(path)
            and not _TOOL_CONFIG.match(PurePosixPath(path).name)
            and (
                _named(PurePosixPath(path).stem, words)
                or _named(str(PurePosixPath(path).parent), words)
            )
        }
        if words
        else set()
    )


def _role(index: RepoIndex, path: str) -> str:
    """What a file is for, from what it declares: CLI, routes, models, configuration or a module."""
    model = index.model
    kinds = {i.kind for i in model.interfaces if i.path == path}
    if "cli" in kinds:
        return "CLI"
    if "http" in kinds:
        return "Routes"
    if any(t.path == path for t in model.tables):
        return "Models"
    # A file named for settings that reads them; any file may read one variable.
    if re.search(r"conf|setting|env", PurePosixPath(path).stem, re.I) and any(
        x.kind == "env-var" and x.path == path for x in index.facts
    ):
        return "Configuration"
    return "Module"


def _top(index: RepoIndex, path: str) -> Symbol | None:
    """A file's most-used exported top-level definition."""
    model = index.model
    syms = [s for s in model.definitions(path) if s.exported]
    return max(syms, key=lambda s: model.ranking.symbols.get((path, s.name), 0.0), default=None)


def _described(index: RepoIndex, path: str) -> tuple[Symbol | None, str, tuple[str, int, int]]:
    """A file's main definition, its description ("" without a docstring), and the lines that
    state both (the definition and its docstring or doc comment)."""
    top = _top(index, path)
    if top is None:
        return None, "", (path, 1, 1)
    return top, _short(top.doc), _definition_span(index, path, top)


def _short(text: str, limit: int = 100) -> str:
    """A description cut at a word, not mid-word."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def locations_table(
    f: TemplateField, index: RepoIndex, topic: str
) -> tuple[list[dict[str, str]], list[tuple[str, int, int]]] | None:
    """Rows for a Code Locations table (backend or frontend, by the table's own heading)."""
    frontend = bool(re.search(r"frontend|client", " ".join(f.context) + " " + f.id))
    rows: list[dict[str, str]] = []
    cites: list[tuple[str, int, int]] = []
    for path in topic_files(index, topic):
        is_front = path.endswith(_FRONTEND_EXT) or bool(_FRONTEND_DIRS.search(path))
        if is_front != frontend:
            continue
        top, doc, span = _described(index, path)
        note = f"`{top.name}` ({top.kind})" if top else ""
        if doc:
            note += f": {doc}"
        cells = {
            "name": f"**{PurePosixPath(path).stem}**",
            "path": f"`{path}`",
            "type": _role(index, path),
            "purpose": note or "—",
        }
        rows.append(_cells(f.column_keys, cells))
        cites.append(span)
    return (rows, cites) if rows else None


MAX_KEY_COMPONENTS = 6


def key_components_table(
    f: TemplateField, index: RepoIndex, topic: str
) -> tuple[list[dict[str, str]], list[tuple[str, int, int]]] | None:
    """Rows for a Key Components table: the topic's files by their main definition, what each is
    (CLI, routes, models ...), its own description, its language and framework, and its owner in
    CODEOWNERS; cited at the definition and the owning rule."""
    rules = codeowners.rules(index)
    rows: list[dict[str, str]] = []
    cites: list[tuple[str, int, int]] = []
    for path in topic_files(index, topic)[:MAX_KEY_COMPONENTS]:
        top, doc, span = _described(index, path)
        rec = index.records.get(path)
        language = LANGUAGE_NAMES.get(rec.language, rec.language) if rec else ""
        frameworks = sorted({i.framework for i in index.model.interfaces if i.path == path})
        tech = f"{language} ({', '.join(frameworks)})" if frameworks and language else language
        rule = codeowners.owner(rules, path)
        role = _role(index, path)
        cells = {
            "name": f"**`{top.name}`** (`{path}`)" if top else f"**`{path}`**",
            "type": role if role != "Module" or top is None else top.kind.capitalize(),
            "purpose": doc or "—",
            "tech": tech or "—",
            "owner": " ".join(rule.owners) if rule and rule.owners else "—",
        }
        rows.append(_cells(f.column_keys, cells))
        cites.append(span)
        if rule is not None:
            cites.append((rule.path, rule.line, rule.line))
    return (rows, list(dict.fromkeys(cites))) if rows else None


def _definition_span(index: RepoIndex, path: str, sym: Symbol) -> tuple[str, int, int]:
    """The definition's line and the line its description is read from (a docstring below it, a
    doc comment above), so the cited lines state the Purpose shown."""
    if not sym.doc:
        return (path, sym.line, sym.line)
    lines = index.file_lines(path) or []
    head = " ".join(sym.doc.split()[:3])
    lo, hi = max(sym.start - 8, 1), min(sym.line + 8, len(lines))
    for n in range(lo, hi + 1):
        if head and head in " ".join(lines[n - 1].split()):
            return (path, min(n, sym.line), max(n, sym.line))
    return (path, sym.line, sym.line)


LANGUAGE_NAMES = {
    "python": "Python",
    "ts": "TypeScript",
    "js": "JavaScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
}


# Column words -> the cell role they ask for; the first column that matches none names the row.
_COLUMNS = (
    (("location", "path", "file"), "path"),
    (("owner",), "owner"),
    (("tech",), "tech"),
    (("type", "kind", "role"), "type"),
    (("note", "purpose", "description", "responsib"), "purpose"),
)


def _cells(keys: list[str], cells: dict[str, str]) -> dict[str, str]:
    """A row placed by what each column is called, whatever the template's column order."""
    row: dict[str, str] = {}
    for i, key in enumerate(keys):
        role = next((r for words, r in _COLUMNS if any(w in key for w in words)), "")
        row[key] = cells.get(role) or (cells["name"] if i == 0 else "—")
    return row


def topic_tables(index: RepoIndex, topic: str) -> list[Table]:
    """The tables a topic names (by table, model or file name)."""
    words = topic_words(topic)
    # By the table's own names or its file's (not its directories': every table under `server/`
    # is no part of a "server configuration" topic).
    return [
        t
        for t in index.model.tables
        if _named(t.name, words)
        or _named(t.model, words)
        or _named(PurePosixPath(t.path).stem, words)
    ]


def schema_block(
    f: TemplateField, index: RepoIndex, topic: str
) -> tuple[str, list[tuple[str, int, int]]] | None:
    """An ER diagram (mermaid blocks) or the tables' own definitions (a block in their language)."""
    tables = topic_tables(index, topic)
    if not tables:
        return None
    language = (f.language or "").lower()
    if language == "mermaid" and re.search(r"relationship|erd|entit", f.id):
        drawn = tables[:MAX_ER_TABLES]
        return er_diagram(drawn), [(t.path, t.line, t.line) for t in drawn]
    # Only a block in the language the tables are written in (a "Mongoose" TypeScript block is
    # not the place for TypeORM entities).
    source = {"sql": "SQL", "prisma": "Prisma"}.get(language)
    if not source:
        return None
    chosen = [t for t in tables if t.source == source][:MAX_SCHEMA_TABLES]
    if not chosen:
        return None
    blocks, cites = [], []
    for t in chosen:
        lines = (index.file_lines(t.path) or [])[t.line - 1 : t.end]
        shown = lines[:MAX_SCHEMA_LINES]
        if len(lines) > len(shown):
            shown.append("  -- …" if source == "SQL" else "  // …")
        blocks.append("\n".join(shown))
        cites.append((t.path, t.line, min(t.end, t.line + MAX_SCHEMA_LINES - 1)))
    return "\n\n".join(blocks), cites
