"""Stack fields the code shows when no manifest names them: what serves requests without a web
framework, server-rendered or terminal front ends, the language's own test runner, SQL without an
ORM, documentation, storage and cloud reached through SDKs. Each is an inference, cited at the line
that shows it and marked `inferred` so the draft flags it.

Also the shared view of the repository the architecture rules read (`Shape`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.chunking import note_sections
from agent.ingest.facts import Fact, inferred
from agent.ingest.repomodel.integrations import Integration, sdk_name
from agent.ingest.repomodel.interfaces import Interface
from agent.ingest.repomodel.model import TYPE_KINDS, RepoModel, is_auxiliary
from agent.ingest.repomodel.stack_signals import signals

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

ASGI_SERVERS = frozenset({"Uvicorn", "Hypercorn", "Daphne", "Granian"})
WSGI_SERVERS = frozenset({"Gunicorn", "uWSGI", "Waitress"})
_TERMINAL_UI = re.compile(r"^(crossterm|ratatui|tui|cursive|termion|bubbletea|textual|urwid)$")
# Web frameworks that bring their own ORM: a driver import next to them is not "SQL without one".
_ORM_FRAMEWORKS = re.compile(r"django|rails|laravel", re.IGNORECASE)
# app.json is also Expo's configuration; these keys are Heroku's.
_HEROKU_KEYS = ("buildpacks", "formation", "addons", "stack")


@dataclass
class Shape:
    """What the rules read: the index, the model, and the interfaces by kind."""

    index: RepoIndex
    model: RepoModel
    kinds: Counter[str] = field(default_factory=Counter)  # fact kinds of the project's own files
    http: list[Interface] = field(default_factory=list)
    grpc: list[Interface] = field(default_factory=list)
    tasks: list[Interface] = field(default_factory=list)
    hooks: list[Interface] = field(default_factory=list)

    @classmethod
    def of(cls, index: RepoIndex, model: RepoModel) -> Shape:
        ways = model.interfaces
        # The routes of the most-used files first: the one a value shows as its example.
        rank = model.ranking.files
        http = sorted((i for i in ways if i.kind == "http"), key=lambda i: -rank.get(i.path, 0.0))
        return cls(
            index,
            model,
            Counter(f.kind for f in index.facts if not is_auxiliary(f.path)),
            http,
            [i for i in ways if i.kind == "grpc"],
            [i for i in ways if i.kind in ("task", "queue")],
            [i for i in ways if i.kind == "hook"],
        )

    def own(self, kind: str) -> list[Fact]:
        """Facts of a kind from the project's own files (not tests, examples or docs)."""
        return [f for f in self.index.facts if f.kind == kind and not is_auxiliary(f.path)]

    def line_matching(self, path: str, pattern: str) -> int:
        """The first line of a file matching a pattern (0 when none does)."""
        regex = re.compile(pattern)
        for n, line in enumerate(self.index.file_lines(path) or [], start=1):
            if regex.search(line):
                return n
        return 0

    def first_import(self, language: str, pattern: str) -> tuple[str, int, str] | None:
        """The first line (among the first 200 of each file) of the project's own code in a
        language matching a pattern, with the pattern's first group."""
        regex = re.compile(pattern)
        for path, rec in sorted(self.index.records.items()):
            if rec.language != language or rec.kind != "code" or is_auxiliary(path) or rec.skip:
                continue
            for n, line in enumerate((self.index.file_lines(path) or [])[:200], start=1):
                m = regex.match(line)
                if m:
                    return path, n, m.group(1)
        return None


def at(kind: str, name: str, where: Interface | Integration) -> Fact:
    """An inferred fact cited where an interface or an import is declared."""
    return inferred(kind, name, where.path, where.line)


def fallbacks(shape: Shape) -> list[Fact]:
    """The stack fields the code shows where no manifest fact answers them."""
    out: list[Fact] = []
    kinds = shape.kinds
    if not kinds["web-framework"]:
        out += _framework(shape)
    if not kinds["api-framework"] and shape.http:
        out += _documented_api(shape)
    if not kinds["frontend-framework"]:
        out += _frontend(shape)
    if not kinds["testing"]:
        out += _testing(shape)
    if not kinds["orm"] and not any(
        _ORM_FRAMEWORKS.search(f.name) for f in shape.own("web-framework")
    ):
        out += _no_orm(shape)
    if not kinds["documentation"]:
        out += _documentation(shape)
    stored = _storage_and_cloud(shape)
    out += stored + signals(shape, taken={f.kind for f in stored})
    out += _monitoring(shape)
    if not kinds["cache"] and not any(i.category == "cache" for i in shape.model.integrations):
        out += _own_caches(shape)
    out += _relational(shape)
    out += _type_checking(shape)
    return out


def _framework(shape: Shape) -> list[Fact]:
    go_http = [i for i in shape.http if i.framework == "net/http"]
    servers = [f for f in shape.own("server") if f.name in ASGI_SERVERS | WSGI_SERVERS]
    if go_http:
        return [at("web-framework", "Go standard library net/http (no web framework)", go_http[0])]
    if servers and shape.http:
        protocol = "ASGI" if servers[0].name in ASGI_SERVERS else "WSGI"
        name = f"Own {protocol} application served by {servers[0].name} (no web framework)"
        # Cited where the server is required: the routes show an application, not which one.
        return [inferred("web-framework", name, servers[0].path, servers[0].line)]
    cli = shape.own("cli-framework")
    if cli and not shape.http:
        # A command-line program's framework is its argument parser.
        return [
            inferred(
                "web-framework", f"{cli[0].name} (command-line framework)", cli[0].path, cli[0].line
            )
        ]
    return []


def _frontend(shape: Shape) -> list[Fact]:
    templates = shape.first_import("go", r'^\s*(?:\w+\s+)?"(html/template)"')
    if templates is not None and shape.http:
        return [
            inferred(
                "frontend-framework",
                "Server-rendered HTML (Go html/template)",
                templates[0],
                templates[1],
            )
        ]
    terminal = [f for f in shape.own("dependency") if _TERMINAL_UI.match(f.name.lower())]
    if terminal:
        return [
            inferred(
                "frontend-framework",
                f"Terminal UI ({terminal[0].name})",
                terminal[0].path,
                terminal[0].line,
            )
        ]
    return []


def _testing(shape: Shape) -> list[Fact]:
    go_tests = next((p for p in sorted(shape.index.records) if p.endswith("_test.go")), None)
    if go_tests:
        line = shape.line_matching(go_tests, r'"testing"')
        return [inferred("testing", "Go testing package (go test)", go_tests, line)]
    rust = shape.first_import("rust", r"^\s*#\[(test|tokio::test)\]")
    if rust is not None:
        return [inferred("testing", "Rust built-in tests (cargo test)", rust[0], rust[1])]
    return []


def _no_orm(shape: Shape) -> list[Fact]:
    if any(t.source != "SQL" for t in shape.model.tables):
        return []  # models of an ORM the facts do not name
    driver = shape.first_import(
        "python", r"^\s*(?:import|from)\s+(sqlite3|psycopg2?|asyncpg|pymysql)\b"
    )
    driver = driver or shape.first_import("go", r'^\s*(?:\w+\s+)?"(database/sql)"')
    if driver is None:
        return []
    path, line, module = driver
    return [inferred("orm", f"SQL through {module} directly (no ORM)", path, line)]


def _documentation(shape: Shape) -> list[Fact]:
    out: list[Fact] = []
    notes = sorted(
        p
        for p, rec in shape.index.records.items()
        if rec.kind == "notes"
        and rec.skip is None
        and p.split("/", 1)[0] in ("docs", "doc")
        and p.endswith(".md")
    )
    if notes:
        top = notes[0].split("/", 1)[0]
        out.append(
            inferred(
                "documentation", f"Markdown documents in `{top}/` ({len(notes)} files)", notes[0], 1
            )
        )
    godoc = next(
        (
            c
            for c in shape.model.components
            if c.summary.startswith("Package ") and c.summary_at and c.summary_at[0].endswith(".go")
        ),
        None,
    )
    if godoc is not None and godoc.summary_at is not None:
        out.append(
            inferred(
                "documentation", "Go doc comments (godoc)", godoc.summary_at[0], godoc.summary_at[1]
            )
        )
    return out


def _storage_and_cloud(shape: Shape) -> list[Fact]:
    out: list[Fact] = []
    kinds = Counter(shape.kinds)
    for used in shape.model.integrations:
        if used.category == "storage" and not kinds["storage"]:
            out.append(at("storage", f"{used.provider} (object storage)", used))
            kinds["storage"] += 1
        if used.category == "cloud" and not kinds["cloud"]:
            out.append(at("cloud", used.provider, used))
            kinds["cloud"] += 1
    if not kinds["cloud"]:
        heroku = _heroku(shape)
        if heroku is not None:
            out.append(heroku)
    sqlite = [f for f in shape.own("database") if "sqlite" in f.name.lower()]
    if sqlite and not kinds["storage"]:
        out.append(
            inferred(
                "storage",
                "Local filesystem (SQLite database files on disk)",
                sqlite[0].path,
                sqlite[0].line,
            )
        )
    return out


def _monitoring(shape: Shape) -> list[Fact]:
    """The monitoring services the code reports to (Sentry, Datadog, Prometheus, OpenTelemetry),
    each at its first import."""
    out: list[Fact] = []
    for used in shape.model.integrations:
        if used.category == "monitoring" and used.provider not in {f.name for f in out}:
            fact = at("monitoring", used.provider, used)
            out.append(fact.model_copy(update={"value": sdk_name(used.module)}))
    return out


# A document whose title names the API the project serves: "JSON API", "REST API".
_API_TITLE = re.compile(r"(?:JSON|REST|RESTful|HTTP|GraphQL|Web)\s+API")


def _documented_api(shape: Shape) -> list[Fact]:
    """ "JSON API, served by the project's own HTTP views (no API framework)": a service with
    routes and no API framework whose documentation has a page titled for its API (datasette's
    docs/json_api.rst), cited at that title (the note chunker's sections: Markdown and RST)."""
    for path, rec in sorted(shape.index.records.items()):
        if rec.kind != "notes" or rec.template or rec.skip is not None:
            continue
        lines = shape.index.file_lines(path) or []
        first, _, title = next(
            ((n, end, t) for n, end, t in note_sections(lines, rec.language) if t), (0, 0, "")
        )
        if first <= 12 and _API_TITLE.fullmatch(title):
            name = f"{title}, served by the project's own HTTP views (no API framework)"
            return [inferred("api-framework", name, path, first)]
    return []


_CACHE_TYPE = re.compile(r"[a-z]Cache$|^Cache$|^LRU")


def _own_caches(shape: Shape) -> list[Fact]:
    """ "In-process caches (`docMatchTreeCache`, `RepoCache`)": the cache types the project's own
    code defines, most-used first, at the first one's definition (zoekt keeps its caches in
    memory; no package names one)."""
    rank = shape.model.ranking.files
    found = sorted(
        (
            (s, path)
            for path, syms in shape.model.by_file.items()
            if not is_auxiliary(path)
            for s in syms
            if not s.parent and s.kind in TYPE_KINDS and _CACHE_TYPE.search(s.name)
        ),
        key=lambda t: (-rank.get(t[1], 0.0), t[1], t[0].line),
    )
    if not found:
        return []
    names = ", ".join(f"`{s.name}`" for s, _ in found[:3])
    what = "In-process caches" if len(found) > 1 else "In-process cache"
    first, path = found[0]
    return [inferred("cache", f"{what} ({names})", path, first.line)]


def _relational(shape: Shape) -> list[Fact]:
    """ "45 tables (SQLAlchemy models, e.g. `users`, `projects`, `releases`)", at the first one's
    definition: the relational data the code declares."""
    tables = shape.model.tables
    if not tables:
        return []
    sources = Counter(t.source for t in tables)
    how = ", ".join(
        f"{source} models" if source not in ("SQL", "Prisma", "Diesel") else f"{source} schema"
        for source, _ in sources.most_common(2)
    )
    # The most-referenced tables (foreign keys point at them) say most about the data.
    # (A foreign key names its table, or its model in Sequelize and TypeORM.)
    pointed = Counter(fk[1].lower() for t in tables for fk in t.foreign_keys)
    shown = sorted(
        tables, key=lambda t: (-max(pointed[t.name.lower()], pointed[t.model.lower()]), t.path)
    )[:3]
    names = ", ".join(f"`{t.name}`" for t in shown)
    first = shown[0]
    n = len({t.name for t in tables})
    return [
        inferred(
            "relational-data",
            f"{n} table{'s' if n != 1 else ''} ({how}, e.g. {names})",
            first.path,
            first.line,
        )
    ]


_TYPE_CHECKERS = re.compile(r"^(mypy|pyright|pyre|ty)\b", re.I)


def _type_checking(shape: Shape) -> list[Fact]:
    """How the code's types are checked: a Python type checker the project configures or runs,
    TypeScript's strict mode in tsconfig.json."""
    out: list[Fact] = []
    for f in shape.index.facts:
        known = {x.name.split(" ")[0].lower() for x in out}
        checker = f.kind in ("code-quality", "tool-config") and _TYPE_CHECKERS.match(f.name)
        if checker and f.name.split(" ")[0].lower() not in known:
            out.append(Fact(kind="type-checker", name=f.name, path=f.path, line=f.line))
    if "tsconfig.json" in shape.index.records:
        line = shape.line_matching("tsconfig.json", r'"strict"\s*:\s*true')
        if line:
            out.append(
                Fact(
                    kind="type-checker",
                    name="TypeScript strict mode",
                    path="tsconfig.json",
                    line=line,
                )
            )
    return out


def _heroku(shape: Shape) -> Fact | None:
    records = shape.index.records
    if "app.json" in records:
        text = "\n".join(shape.index.file_lines("app.json") or [])
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and any(k in data for k in _HEROKU_KEYS):
            key = next(k for k in _HEROKU_KEYS if k in data)
            return inferred(
                "cloud",
                "Heroku (app.json manifest)",
                "app.json",
                shape.line_matching("app.json", f'"{key}"'),
            )
    if "Procfile" in records and "app.json" not in records:
        return inferred("cloud", "Heroku-style Procfile (process types)", "Procfile", 1)
    return None


def crate_name(shape: Shape, crate_dir: str) -> str:
    """A Rust crate's package name from its Cargo.toml (its directory name if none)."""
    manifest = f"{crate_dir}/Cargo.toml" if crate_dir not in ("", ".") else "Cargo.toml"
    for line in shape.index.file_lines(manifest) or []:
        m = re.match(r'^\s*name\s*=\s*"([^"]+)"', line)
        if m:
            return m.group(1)
    return PurePosixPath(crate_dir).name or "main"
