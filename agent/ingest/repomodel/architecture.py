"""Stack facts the repository's structure implies, each cited to the lines that show it.

Manifests say which packages are installed; the repository model says how the system is shaped:
one package or a workspace of many, a web application with routes or a set of programs, whether it
ships as a container, a binary or a package, and whether its parts talk over HTTP, gRPC, queues or
plain function calls. These are inferences from structure: every fact made here is marked
`inferred` and the draft flags it for a human to confirm.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.facts import INFERRED, Fact, inferred
from agent.ingest.repomodel.model import RepoModel, is_auxiliary
from agent.ingest.repomodel.stack_fallbacks import (
    ASGI_SERVERS,
    WSGI_SERVERS,
    Shape,
    at,
    crate_name,
    fallbacks,
)

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

__all__ = ["INFERRED", "is_inferred", "stack_facts"]

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
# A web application has a framework, or more than a health or metrics handler.
MIN_ROUTES = 3
MAX_EXTERNAL = 6


def is_inferred(fact: Fact) -> bool:
    """A fact the structure implies rather than a file states."""
    return fact.detail == INFERRED


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(f"`{x}`" for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def stack_facts(index: RepoIndex, model: RepoModel) -> list[Fact]:
    """Architecture style, deployment model, communication patterns (also split into synchronous
    and asynchronous), external integrations, and the fallbacks of agent.ingest.repomodel.stack_fallbacks."""
    shape = Shape.of(index, model)
    out = fallbacks(shape)
    binaries = _binaries(shape)
    style = _style(shape, binaries)
    if style is not None:
        out.append(style)
    deployment = _deployment(shape, binaries)
    if deployment is not None:
        out.append(deployment)
    out += _communication(shape)
    members = _workspace_members(shape)
    if len(members) >= 2:
        listed = _names([m[2] for m in members])
        manifest = members[0][0]
        kind = {"Cargo.toml": "Cargo", "pnpm-workspace.yaml": "pnpm", "go.work": "Go"}.get(
            manifest, ""
        )
        out.append(
            inferred(
                "package-structure",
                f"{kind} workspace of {len(members)} members ({listed})".strip(),
                manifest,
                members[0][1],
            )
        )
    webhooks = [i for i in shape.http if re.search(r"web-?hooks?", i.name, re.I)]
    if webhooks:
        out.append(
            at(
                "webhooks",
                f"{_count(len(webhooks), 'webhook route')} (e.g. `{webhooks[0].name}`)",
                webhooks[0],
            )
        )
    seen: set[str] = set()
    for used in model.integrations:
        if used.category not in _EXTERNAL or used.provider in seen or len(seen) >= MAX_EXTERNAL:
            continue
        seen.add(used.provider)
        out.append(at("external-integration", f"{used.provider} ({used.module})", used))
    return out


def _is_web_app(shape: Shape) -> bool:
    return len(shape.http) >= MIN_ROUTES or bool(shape.http and shape.kinds["web-framework"])


def _style(shape: Shape, binaries: list[tuple[str, int, str]]) -> Fact | None:
    members = _workspace_members(shape)
    plugin = (
        f", with a plugin architecture ({_count(len(shape.hooks), 'pluggy hook')})"
        if shape.hooks
        else ""
    )
    if len(members) >= 2:
        listed = _names([m[2] for m in members])
        return inferred(
            "architecture-style",
            f"Modular workspace of {len(members)} member packages/crates ({listed}){plugin}",
            members[0][0],
            members[0][1],
        )
    if len(binaries) >= 3:
        # A suite of programs (indexers, servers, tools): one of them serving HTTP does not make
        # the repository a web application.
        programs = _names([b[2] for b in binaries])
        return inferred(
            "architecture-style",
            f"Library packages plus {len(binaries)} command-line binaries ({programs}){plugin}",
            binaries[0][0],
            binaries[0][1],
        )
    if _is_web_app(shape):
        routes = _count(len(shape.http), "HTTP route")
        name = f"Monolithic web application (one codebase serving {routes}{_e_g(shape)}){plugin}"
        return at("architecture-style", name, shape.http[0])
    if len(binaries) == 2:
        programs = _names([b[2] for b in binaries])
        return inferred(
            "architecture-style",
            f"Two command-line programs ({programs}){plugin}",
            binaries[0][0],
            binaries[0][1],
        )
    if len(binaries) == 1:
        path, line, name = binaries[0]
        return inferred(
            "architecture-style", f"Command-line application (`{name}`){plugin}", path, line
        )
    defined = [c for c in shape.model.components if c.definitions]
    if not defined:
        return None
    roots = {PurePosixPath(c.path).parts[0] for c in shape.model.components}
    top = defined[0].definitions[0]
    where = PurePosixPath(shape.model.components[0].path).parent
    kind = (
        "Library in a single package" if len(roots) == 1 else "Single codebase of several modules"
    )
    return inferred("architecture-style", f"{kind} (`{where}/`){plugin}", top.path, top.line)


def _workspace_members(shape: Shape) -> list[tuple[str, int, str]]:
    """Members a workspace manifest lists (Cargo, npm/pnpm, Go work): (manifest, line, name)."""
    out: list[tuple[str, int, str]] = []
    lines = shape.index.file_lines("Cargo.toml") if "Cargo.toml" in shape.index.records else None
    if lines:
        start = shape.line_matching("Cargo.toml", r"^\s*members\s*=")
        if start:
            text = " ".join(lines[start - 1 : start + 40])
            listed = re.search(r"members\s*=\s*\[([^\]]*)\]", text)
            for member in re.findall(r'"([^"]+)"', listed.group(1) if listed else ""):
                for crate in _expand(shape, member):
                    if not is_auxiliary(crate + "/x"):
                        out.append(("Cargo.toml", start, crate_name(shape, crate)))
            out = [(path, start, name) for path, _, name in out]
    for manifest, pattern in (
        ("pnpm-workspace.yaml", r"^\s*packages\s*:"),
        ("go.work", r"^\s*use\b"),
    ):
        if manifest in shape.index.records and not out:
            start = shape.line_matching(manifest, pattern)
            dirs = [
                m.group(1)
                for line in (shape.index.file_lines(manifest) or [])[start:]
                if (m := re.match(r"^\s*(?:-\s*)?['\"]?\.?/?([\w./-]+?)['\"]?\s*$", line))
            ]
            out += [(manifest, start, d) for d in dirs if d and not is_auxiliary(d + "/x")]
    return out


def _expand(shape: Shape, member: str) -> list[str]:
    """A workspace member pattern (`crates/*`) as the crate directories it matches."""
    if "*" not in member:
        return [member]
    pattern = re.compile("^" + re.escape(member).replace("\\*", "[^/]+") + "$")
    return sorted(
        str(PurePosixPath(p).parent)
        for p in shape.index.records
        if p.endswith("/Cargo.toml") and pattern.match(str(PurePosixPath(p).parent))
    )


def _deployment(shape: Shape, binaries: list[tuple[str, int, str]]) -> Fact | None:
    containers = [f for f in shape.own("container") if f.name == "Docker"]
    if containers:
        where = containers[0]
        extra = (
            ", Kubernetes manifests"
            if any(f.name == "Kubernetes" for f in shape.own("container"))
            else ""
        )
        return inferred(
            "deployment-model",
            f"Container image (Docker, `{where.path}`){extra}",
            where.path,
            where.line,
        )
    if binaries:
        path, line, name = binaries[0]
        label = (
            f"Single `{name}` binary"
            if len(binaries) == 1
            else f"{len(binaries)} command-line binaries ({_names([b[2] for b in binaries])})"
        )
        return inferred("deployment-model", label, path, line)
    return _published_package(shape)


def _published_package(shape: Shape) -> Fact | None:
    """A library published as a package: a build backend (Python), or an npm package that is not
    private and says what it exports."""
    records = shape.index.records
    if "pyproject.toml" in records and not _is_web_app(shape):
        line = shape.line_matching("pyproject.toml", r"^\s*\[build-system\]")
        if line:
            return inferred(
                "deployment-model",
                "Distributed as a Python package (`pyproject.toml`)",
                "pyproject.toml",
                line,
            )
    if "setup.py" in records and not _is_web_app(shape):
        line = shape.line_matching("setup.py", r"\bsetup\(")
        if line:
            return inferred(
                "deployment-model", "Distributed as a Python package (`setup.py`)", "setup.py", line
            )
    if "package.json" in records:
        text = "\n".join(shape.index.file_lines("package.json") or [])
        if '"private": true' not in text and re.search(r'"(main|exports|bin)"\s*:', text):
            line = shape.line_matching("package.json", r'"name"\s*:')
            return inferred(
                "deployment-model",
                "Distributed as an npm package (`package.json`)",
                "package.json",
                line,
            )
    return None


# Brokers whose topics agent/ingest/repomodel/messaging.py reads.
MESSAGING = ("Kafka", "NATS", "Redis pub/sub")


def _communication(shape: Shape) -> list[Fact]:
    patterns: list[tuple[Fact, bool]] = []  # the fact, and whether it is asynchronous
    if shape.http:
        serving = {f.name for f in shape.own("server")} | {
            f.name for f in shape.own("web-framework")
        }
        gateway = (
            " over ASGI"
            if serving & ASGI_SERVERS
            else (" over WSGI" if serving & WSGI_SERVERS else "")
        )
        routes = _count(len(shape.http), "route")
        name = f"Synchronous HTTP request/response{gateway} ({routes}{_e_g(shape)})"
        patterns.append((at("communication", name, shape.http[0]), False))
    if shape.grpc:
        services = [i.name for i in shape.grpc if "." not in i.name]
        patterns.append((at("communication", f"gRPC ({_names(services)})", shape.grpc[0]), False))
    jobs = [i for i in shape.tasks if i.framework not in MESSAGING]
    if jobs:
        queue = next(
            (i.provider for i in shape.model.integrations if i.category == "queue"), "a task queue"
        )
        count = _count(len(jobs), "task or queue", "tasks and queues")
        patterns.append(
            (at("communication", f"Asynchronous jobs over {queue} ({count})", jobs[0]), True)
        )
    for broker in MESSAGING:
        topics = [i for i in shape.tasks if i.framework == broker]
        if topics:
            names = _names(list(dict.fromkeys(t.name for t in topics)))
            patterns.append(
                (at("communication", f"Messages over {broker} (topics {names})", topics[0]), True)
            )
    realtime = next((i for i in shape.model.integrations if i.category == "realtime"), None)
    if realtime is not None:
        patterns.append(
            (at("communication", f"{realtime.provider} ({realtime.module})", realtime), True)
        )
    defined = [c for c in shape.model.components if c.definitions]
    if not patterns and defined:
        first = defined[0].definitions[0]
        api = _names([c.definitions[0].name for c in defined], 3)
        name = f"In-process calls to the code's own API ({api}); no network interface of its own"
        patterns.append((inferred("communication", name, first.path, first.line), False))
    out = [fact for fact, _ in patterns]
    # The Service Communication Patterns fields split the same facts.
    for fact, asynchronous in patterns:
        kind = "async-communication" if asynchronous else "sync-communication"
        out.append(fact.model_copy(update={"kind": kind}))
        if asynchronous and fact.name.startswith("Asynchronous"):
            out.append(fact.model_copy(update={"kind": "async-tasks"}))
    return out


def _e_g(shape: Shape) -> str:
    """ ", e.g. `POST documents.list`": the first route of the most-used file, as it is written."""
    return f", e.g. `{shape.http[0].name}`" if shape.http else ""


def _binaries(shape: Shape) -> list[tuple[str, int, str]]:
    """Programs the repository builds: Go main packages, Rust `src/main.rs` (path, line, name)."""
    out: list[tuple[str, int, str]] = []
    for f in shape.index.facts:
        if f.kind == "entry-point" and f.value == "main" and not is_auxiliary(f.path):
            out.append((f.path, f.line, PurePosixPath(f.path).parent.name or "main"))
    for path in sorted(shape.index.records):
        if path.endswith("src/main.rs") and not is_auxiliary(path):
            crate = str(PurePosixPath(path).parent.parent)
            line = shape.line_matching(path, r"^\s*(pub\s+)?(async\s+)?fn\s+main\b")
            out.append((path, line or 1, crate_name(shape, crate)))
    return out
