"""Stack facts the repository's structure implies, each cited to the lines that show it.

Manifests say which packages are installed; the repository model says how the system is shaped:
one package or a workspace of many, a web application with routes or a set of binaries, whether it
ships as a container or a package, and whether its parts talk over HTTP, gRPC, queues or plain
function calls. These are inferences from structure, so the draft flags them for a human to
confirm (kinds in INFERRED_KINDS).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.facts import Fact
from agent.imports import manifest_names
from agent.integrations import Integration
from agent.interfaces import Interface
from agent.repomodel import RepoModel, is_auxiliary

if TYPE_CHECKING:
    from agent.index import RepoIndex

INFERRED_KINDS = frozenset(
    {
        "architecture-style",
        "deployment-model",
        "communication",
        "sync-communication",
        "async-communication",
    }
)
_ASGI_SERVERS = {"Uvicorn", "Hypercorn", "Daphne", "Granian"}
_WSGI_SERVERS = {"Gunicorn", "uWSGI", "Waitress"}
_TERMINAL_UI = re.compile(r"^(crossterm|ratatui|tui|cursive|termion|bubbletea|textual|urwid)$")


# Services outside the system (a queue or a cache it runs itself is part of it).
_EXTERNAL = frozenset(
    {
        "storage",
        "cloud",
        "payments",
        "email",
        "messaging",
        "llm",
        "monitoring",
        "vcs",
        "auth",
        "search",
    }
)


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"`{x}`" for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def stack_facts(index: RepoIndex, model: RepoModel) -> list[Fact]:
    """Architecture style, deployment model, communication patterns, and the framework, frontend,
    testing, storage and cloud facts only the code (not a manifest) shows."""
    facts = index.facts
    kinds = Counter(f.kind for f in facts if not is_auxiliary(f.path))
    out: list[Fact] = []
    http = [i for i in model.interfaces if i.kind == "http"]
    grpc = [i for i in model.interfaces if i.kind == "grpc"]
    tasks = [i for i in model.interfaces if i.kind in ("task", "queue")]
    hooks = [i for i in model.interfaces if i.kind == "hook"]
    binaries = _binaries(index)
    workspace = (
        _line_matching(index, "Cargo.toml", r"^\s*members\s*=")
        if "Cargo.toml" in index.records
        else 0
    )
    members = [
        (f"{d}/{manifest}", name)
        for d, (manifest, name) in manifest_names(index).items()
        if d and not is_auxiliary(d + "/x")
    ]

    def own(kind: str) -> list[Fact]:
        return [f for f in facts if f.kind == kind and not is_auxiliary(f.path)]

    # --- framework fallbacks: what serves requests when no web framework is a dependency
    if not kinds["web-framework"]:
        go_http = [i for i in http if i.framework == "net/http"]
        servers = [f for f in own("server") if f.name in _ASGI_SERVERS | _WSGI_SERVERS]
        if go_http:
            out.append(
                _fact(
                    "web-framework", "Go standard library net/http (no web framework)", go_http[0]
                )
            )
        elif servers and http:
            protocol = "ASGI" if servers[0].name in _ASGI_SERVERS else "WSGI"
            out.append(
                Fact(
                    kind="web-framework",
                    name=f"Own {protocol} application served by {servers[0].name} (no web framework)",
                    path=http[0].path,
                    line=http[0].line,
                )
            )
        elif own("cli-framework"):
            cli = own("cli-framework")[0]
            out.append(
                cli.model_copy(
                    update={"kind": "web-framework", "name": f"{cli.name} (command-line framework)"}
                )
            )

    # --- frontend: server-rendered templates or a terminal UI
    if not kinds["frontend-framework"]:
        go_templates = _imported(index, "html/template")
        terminal = [f for f in own("dependency") if _TERMINAL_UI.match(f.name.lower())]
        if go_templates:
            out.append(
                Fact(
                    kind="frontend-framework",
                    name="Server-rendered HTML (Go html/template)",
                    path=go_templates[0],
                    line=go_templates[1],
                )
            )
        elif terminal:
            out.append(
                terminal[0].model_copy(
                    update={
                        "kind": "frontend-framework",
                        "name": f"Terminal UI ({terminal[0].name})",
                    }
                )
            )

    # --- testing: the language's own test runner, when no test framework is declared
    if not kinds["testing"]:
        go_tests = next((p for p in sorted(index.records) if p.endswith("_test.go")), None)
        if go_tests:
            line = _line_matching(index, go_tests, r'"testing"')
            out.append(
                Fact(kind="testing", name="Go testing package (go test)", path=go_tests, line=line)
            )

    # --- data access without an ORM: the database driver the code imports directly
    if not kinds["orm"]:
        driver = _first_import(
            index, "python", r"^\s*(?:import|from)\s+(sqlite3|psycopg2?|asyncpg|pymysql)\b"
        )
        driver = driver or _first_import(index, "go", r'^\s*(?:\w+\s+)?"(database/sql)"')
        if driver is not None:
            path, line, module = driver
            out.append(
                Fact(
                    kind="orm", name=f"SQL through {module} directly (no ORM)", path=path, line=line
                )
            )

    # --- documentation: the notes directory, Go doc comments
    if not kinds["documentation"]:
        notes = sorted(
            p
            for p, rec in index.records.items()
            if rec.kind == "notes"
            and rec.skip is None
            and p.split("/", 1)[0] in ("docs", "doc")
            and p.endswith(".md")
        )
        if notes:
            top = notes[0].split("/", 1)[0]
            out.append(
                Fact(
                    kind="documentation",
                    name=f"Markdown documents in `{top}/` ({len(notes)} files)",
                    path=notes[0],
                    line=1,
                )
            )
        godoc = next(
            (c for c in model.components if c.summary.startswith("Package ") and c.summary_at), None
        )
        if godoc is not None and godoc.summary_at is not None:
            out.append(
                Fact(
                    kind="documentation",
                    name="Go doc comments (godoc)",
                    path=godoc.summary_at[0],
                    line=godoc.summary_at[1],
                )
            )

    # --- storage and cloud from the SDKs the code imports
    for integration in model.integrations:
        if integration.category == "storage" and not kinds["storage"]:
            out.append(_fact("storage", f"{integration.provider} (object storage)", integration))
            kinds["storage"] += 1
        if integration.category == "cloud" and not kinds["cloud"]:
            out.append(_fact("cloud", integration.provider, integration))
            kinds["cloud"] += 1
    heroku = [p for p in index.records if p in ("Procfile", "app.json")]
    if heroku and not kinds["cloud"]:
        out.append(
            Fact(
                kind="cloud",
                name="Heroku (app manifest)" if "app.json" in heroku else "Heroku (Procfile)",
                path=sorted(heroku)[0],
                line=1,
            )
        )
    sqlite = [f for f in own("database") if "sqlite" in f.name.lower()]
    if sqlite and not kinds["storage"]:
        out.append(
            sqlite[0].model_copy(
                update={
                    "kind": "storage",
                    "name": "Local filesystem (SQLite database files on disk)",
                }
            )
        )

    # --- architecture style
    if workspace > 1:
        # A workspace is stated where its members are listed.
        members = [("Cargo.toml", name) for _, name in members]
    style = _style(model, http, binaries, members, workspace)
    if style is not None:
        if hooks:
            style = style.model_copy(
                update={
                    "name": f"{style.name}, with a plugin architecture ({len(hooks)} pluggy hooks)"
                }
            )
        out.append(style)

    # --- deployment model
    containers = [f for f in own("container") if f.name == "Docker"]
    if containers:
        where = containers[0]
        extra = ""
        if own("container") and any(f.name == "Kubernetes" for f in own("container")):
            extra = ", Kubernetes manifests"
        out.append(
            where.model_copy(
                update={
                    "kind": "deployment-model",
                    "name": f"Container image (Docker, `{where.path}`){extra}",
                }
            )
        )
    elif binaries:
        path, line, name = binaries[0]
        label = (
            f"Single `{name}` binary"
            if len(binaries) == 1
            else f"{len(binaries)} command-line binaries ({_names([b[2] for b in binaries])})"
        )
        out.append(Fact(kind="deployment-model", name=label, path=path, line=line))
    else:
        manifest = next(
            (
                m
                for m in ("pyproject.toml", "setup.py", "package.json", "Cargo.toml")
                if m in index.records
            ),
            None,
        )
        if manifest is not None:
            label = {
                "pyproject.toml": "Python package",
                "setup.py": "Python package",
                "package.json": "npm package",
                "Cargo.toml": "Rust crate",
            }[manifest]
            line = _line_matching(
                index, manifest, r"^\s*(\[project\]|\[package\]|\"name\"|name\s*=|setup\()"
            )
            out.append(
                Fact(
                    kind="deployment-model",
                    name=f"Distributed as a {label} (`{manifest}`)",
                    path=manifest,
                    line=line,
                )
            )

    # --- communication patterns
    patterns: list[Fact] = []
    if http:
        serving = {f.name for f in own("server")} | {f.name for f in own("web-framework")}
        gateway = (
            " over ASGI"
            if serving & _ASGI_SERVERS
            else (" over WSGI" if serving & _WSGI_SERVERS else "")
        )
        patterns.append(
            _fact(
                "communication",
                f"Synchronous HTTP request/response{gateway} ({_count(len(http), 'route')})",
                http[0],
            )
        )
    if grpc:
        services = [i.name for i in grpc if "." not in i.name]
        patterns.append(_fact("communication", f"gRPC ({_names(services)})", grpc[0]))
    if tasks:
        queue = next(
            (i.provider for i in model.integrations if i.category == "queue"), "a task queue"
        )
        patterns.append(
            _fact(
                "communication",
                f"Asynchronous jobs over {queue} ({_count(len(tasks), 'task or queue', 'tasks and queues')})",
                tasks[0],
            )
        )
    realtime = next((i for i in model.integrations if i.category == "realtime"), None)
    if realtime is not None:
        patterns.append(
            _fact("communication", f"{realtime.provider} ({realtime.module})", realtime)
        )
    defined = [c for c in model.components if c.definitions]
    if not patterns and defined:
        first = defined[0].definitions[0]
        patterns.append(
            Fact(
                kind="communication",
                name="In-process function calls between modules (no network interface of its own)",
                path=first.path,
                line=first.line,
            )
        )
    out += patterns
    # The Service Communication Patterns fields split the same facts by kind.
    for fact in patterns:
        asynchronous = fact.name.startswith("Asynchronous") or fact.line == (
            realtime.line if realtime else -1
        )
        kind = "async-communication" if asynchronous else "sync-communication"
        out.append(fact.model_copy(update={"kind": kind}))
        if asynchronous and fact.name.startswith("Asynchronous"):
            out.append(fact.model_copy(update={"kind": "async-tasks"}))
    seen: set[str] = set()
    for used in model.integrations:
        if used.category not in _EXTERNAL or used.provider in seen or len(seen) >= 6:
            continue
        seen.add(used.provider)
        out.append(_fact("external-integration", f"{used.provider} ({used.module})", used))
    return out


def _line_matching(index: RepoIndex, path: str, pattern: str) -> int:
    """The first line of a file matching a pattern (1 when none does)."""
    regex = re.compile(pattern)
    for n, line in enumerate(index.file_lines(path) or [], start=1):
        if regex.search(line):
            return n
    return 1


def _fact(kind: str, name: str, at: Interface | Integration) -> Fact:
    return Fact(kind=kind, name=name, path=at.path, line=at.line)


def _style(
    model: RepoModel,
    http: list[Interface],
    binaries: list[tuple[str, int, str]],
    members: list[tuple[str, str]],
    workspace: int,
) -> Fact | None:
    comps = model.components
    if len(members) >= 2:
        names = [name for _, name in members]
        return Fact(
            kind="architecture-style",
            name=f"Modular workspace of {len(members)} packages/crates ({_names(names)})",
            path=members[0][0],
            line=max(workspace, 1),
        )
    if len(binaries) >= 2:
        return Fact(
            kind="architecture-style",
            name=f"Library packages plus {len(binaries)} command-line binaries ({_names([b[2] for b in binaries])})",
            path=binaries[0][0],
            line=binaries[0][1],
        )
    if http:
        return _fact(
            "architecture-style",
            f"Monolithic web application (one codebase serving {_count(len(http), 'HTTP route')})",
            http[0],
        )
    defined = [c for c in comps if c.definitions]
    if defined:
        roots = {PurePosixPath(c.path).parts[0] for c in comps}
        first = defined[0].definitions[0]
        shape = (
            "Library in a single package"
            if len(roots) == 1
            else "Single codebase of several modules"
        )
        where = PurePosixPath(comps[0].path).parent
        return Fact(
            kind="architecture-style",
            name=f"{shape} (`{where}/`)",
            path=first.path,
            line=first.line,
        )
    return None


def _binaries(index: RepoIndex) -> list[tuple[str, int, str]]:
    """Programs the repository builds: Go main packages, Rust `src/main.rs` (path, line, name)."""
    out: list[tuple[str, int, str]] = []
    for f in index.facts:
        if f.kind == "entry-point" and f.value == "main" and not is_auxiliary(f.path):
            out.append((f.path, f.line, PurePosixPath(f.path).parent.name or "main"))
    for path in sorted(index.records):
        if path.endswith("src/main.rs") and not is_auxiliary(path):
            crate = str(PurePosixPath(path).parent.parent)
            line = _line_matching(index, path, r"^\s*(pub\s+)?(async\s+)?fn\s+main\b")
            out.append((path, line, PurePosixPath(crate).name if crate != "." else "main"))
    return out


def _first_import(index: RepoIndex, language: str, pattern: str) -> tuple[str, int, str] | None:
    """The first line (in the first 200 of each file) of the project's own code matching a
    pattern, with its first group."""
    regex = re.compile(pattern)
    for path, rec in sorted(index.records.items()):
        if rec.language != language or rec.kind != "code" or is_auxiliary(path) or rec.skip:
            continue
        for n, line in enumerate((index.file_lines(path) or [])[:200], start=1):
            m = regex.match(line)
            if m:
                return path, n, m.group(1)
    return None


def _imported(index: RepoIndex, module: str) -> tuple[str, int] | None:
    needle = f'"{module}"'
    for path, rec in sorted(index.records.items()):
        if rec.language != "go" or is_auxiliary(path) or rec.skip:
            continue
        for n, line in enumerate(index.file_lines(path) or [], start=1):
            if needle in line:
                return path, n
            if n > 60:
                break
    return None
