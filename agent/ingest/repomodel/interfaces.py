"""How the outside world reaches the code, read from one file: HTTP routes, CLI commands, task-queue
tasks and queues, gRPC services, plugin hooks. Each is stated at the line that declares it.

Registrations are read with per-framework patterns over the file's lines (Flask/FastAPI/Quart
decorators, Pyramid `add_route`, Django `path()`, Starlette `Route`, Express/Koa routers, Next.js
file routes, Go net/http/gin/echo/chi, axum/actix/Rocket, Spring mappings); declarations that need
the syntax tree (click/typer commands, clap subcommand enums, Celery tasks, pluggy hookspecs) come
from the file's tree-sitter symbols. A route registered through a helper these patterns do not
know is simply not listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from agent.ingest.repomodel.syntax import Symbol


@dataclass
class Interface:
    """One way in: a route, a command, a task, a service method, a hook."""

    kind: str  # http | cli | task | queue | grpc | hook
    name: str  # "GET /users/{id}", "serve", "send_email", "Search.StreamSearch"
    path: str
    line: int
    framework: str = ""
    owner: str = ""  # the router or blueprint object a Python route is declared on
    prefix: str = ""  # the prefix that object was created with, already in `name`


_HTTP_METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}

# (language, pattern, framework); the pattern's "method" and "route" groups, when present.
_LINE_PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "python",
        re.compile(
            r"\.add_route\(\s*[\"'](?P<method>GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|\*)[\"']\s*,"
            r"\s*[\"'](?P<route>/[^\"']*)[\"']"
        ),
        "aiohttp",
    ),
    (
        "python",
        re.compile(r"\.add_route\(\s*[\"']([\w.:-]+)[\"']\s*,\s*[\"'](?P<route>/[^\"']*)[\"']"),
        "Pyramid",
    ),
    (
        "python",
        re.compile(r"\badd_route\(\s*[\w.()]+\s*,\s*r?[\"'](?P<route>[^\"']+)[\"']"),
        "ASGI",
    ),
    (
        "python",
        re.compile(r"\b(?:Route|WebSocketRoute)\(\s*[\"'](?P<route>/[^\"']*)[\"']"),
        "Starlette",
    ),
    (
        "js",
        re.compile(
            r"\b(?:app|router|server|api|\w*[Rr]outer|\w*[Aa]pp)\.(?P<method>get|post|put|delete|"
            r"patch|all|head|options)\(\s*[\"'`](?P<route>[^\"'`]+)[\"'`]\s*,"
        ),
        "router",
    ),
    ("go", re.compile(r"\.(?:HandleFunc|Handle)\(\s*\"(?P<route>[^\"]+)\""), "net/http"),
    (
        "go",
        re.compile(
            r"\.(?P<method>GET|POST|PUT|DELETE|PATCH|Get|Post|Put|Delete|Patch)\(\s*\"(?P<route>/[^\"]*)\""
        ),
        "router",
    ),
    (
        "rust",
        re.compile(
            r"\.route\(\s*\"(?P<route>[^\"]+)\"\s*,\s*(?:\w+::)*(?P<method>get|post|put|delete|patch)\b"
        ),
        "axum",
    ),
    (
        "rust",
        re.compile(r"#\[(?P<method>get|post|put|delete|patch)\(\s*\"(?P<route>[^\"]+)\""),
        "actix/Rocket",
    ),
    (
        "java",
        re.compile(
            r"@(?P<method>Get|Post|Put|Delete|Patch|Request)Mapping\(\s*(?:value\s*=\s*|path\s*=\s*)?"
            r"\"(?P<route>[^\"]*)\""
        ),
        "Spring",
    ),
]
_DJANGO_PATH = re.compile(r"\b(?:re_)?path\(\s*r?[\"'](?P<route>[^\"']*)[\"']")
# `bp = Blueprint("auth", __name__, url_prefix="/auth")`, `router = APIRouter(prefix="/api/users")`:
# the routes declared on that object in the same file start with the prefix.
_PY_ROUTER = re.compile(
    r"^(?P<var>\w+)\s*(?::\s*[\w.]+\s*)?=\s*[\w.]*(?:Blueprint|Router)\((?P<args>.*)$"
)
_PREFIX_ARG = re.compile(r"\b(?:url_)?prefix\s*=\s*[rbu]?[\"'](?P<prefix>/[^\"']*)[\"']")
_PY_ROUTE = re.compile(
    r"^@(?!(?:mock|patch|unittest)\b)(?P<obj>[\w.]*)\.(?P<method>route|get|post|put|delete|patch|head|options|"
    r"websocket|api_route)\(\s*"
    r"(?:(?:path|rule)\s*=\s*)?[rbu]?[\"'](?P<route>[^\"']*)[\"']"
)
_PY_COMMAND = re.compile(
    r"^@(?:[\w.]*\.)?(?:command|group)\(\s*(?:name\s*=\s*)?(?:[\"']([\w:-]+)[\"'])?"
)
_PY_TASK = re.compile(r"^@(?:[\w.]*\.)?(?:task|shared_task|actor|job)\b")
_PY_HOOK = re.compile(r"^@(?:[\w.]*\.)?hookspec\b")
_ARGPARSE = re.compile(r"\badd_parser\(\s*[\"']([\w:-]+)[\"']")
_COBRA = re.compile(r"^\s*Use:\s*\"([\w:-]+)")
_JS_COMMAND = re.compile(r"\.command\(\s*[\"'`]([\w:-]+)")
_JS_QUEUE = re.compile(r"\b(?:createQueue|new\s+(?:Queue|Worker|Bull))\(\s*[\"'`]([\w.:-]+)[\"'`]")
_PROTO_SERVICE = re.compile(r"^\s*service\s+(\w+)\s*\{")
_PROTO_RPC = re.compile(r"^\s*rpc\s+(\w+)\s*\(")
_NEXT_ROUTE = re.compile(r"(?:^|/)(?:pages/(api/.+?)|app/(?:(.*?)/)?route)\.(?:t|j)sx?$")


_OPTIONAL_HEAD = re.compile(r"^\(\?:[^()|]*\)\?")


def _line_patterns(lang: str) -> list[re.Pattern[str]]:
    """Every pattern the line scan below tries for a language, compiled to search a whole text
    (`^` at each line): a file none of them matches anywhere is not scanned line by line, which
    is most files and most of the scan's cost."""
    own = [p for lang_of, p, _ in _LINE_PATTERNS if lang_of == lang]
    extra = {
        "python": [_DJANGO_PATH, _ARGPARSE],
        "go": [_COBRA],
        "js": [_JS_QUEUE, _JS_COMMAND],
    }.get(lang, [])
    # Without a leading `\b` the search starts at a literal, which the engine finds fast; it then
    # matches more than the pattern, never less, which a filter may.
    # The same for a `\w*` that starts an alternative (`|\w*[Rr]outer`) and an optional group
    # that starts the pattern (`(?:re_)?path\(`).
    return [
        re.compile(
            _OPTIONAL_HEAD.sub("", p.pattern.removeprefix(r"\b"))
            .replace(r"|\w*", "|")
            .replace(r"(?:\w*", "(?:"),
            p.flags | re.M,
        )
        for p in own + extra
    ]


_WHOLE_TEXT = {
    lang: _line_patterns(lang)
    for lang in {"python", "go", "js", *(x for x, _, _ in _LINE_PATTERNS)}
}


def _lang(language: str) -> str:
    return "js" if language in ("js", "ts") else language


def _route(method: str | None, route: str) -> str:
    verb = (method or "").lower()
    if verb in _HTTP_METHODS:
        return f"{verb.upper()} {route}"
    if verb in ("request", "route", "all", "api_route", ""):
        return route
    return f"{verb.upper()} {route}"


def interfaces(path: str, lines: list[str], language: str, syms: list[Symbol]) -> list[Interface]:
    """Every route, command, task, queue, service and hook this file declares."""
    out: list[Interface] = []
    lang = _lang(language)
    name = PurePosixPath(path).name
    if language == "proto":
        service = ""
        for n, line in enumerate(lines, start=1):
            m = _PROTO_SERVICE.match(line)
            if m:
                service = m.group(1)
                out.append(Interface("grpc", service, path, n, "gRPC"))
            m = _PROTO_RPC.match(line)
            if m and service:
                out.append(Interface("grpc", f"{service}.{m.group(1)}", path, n, "gRPC"))
        return out
    next_route = _NEXT_ROUTE.search(path) if lang == "js" else None
    if next_route:
        route = "/" + (next_route.group(1) or next_route.group(2) or "").strip("/")
        out.append(Interface("http", route, path, 1, "Next.js"))
    text = "\n".join(lines)
    scan = any(p.search(text) for p in _WHOLE_TEXT.get(lang, []))
    for n, line in enumerate(lines if scan else [], start=1):
        if len(line) > 400:
            continue
        for lang_of, pattern, framework in _LINE_PATTERNS:
            if lang_of != lang:
                continue
            m = pattern.search(line)
            if m:
                groups = m.groupdict()
                out.append(
                    Interface(
                        "http", _route(groups.get("method"), groups["route"]), path, n, framework
                    )
                )
                break
        if lang == "python":
            if name == "urls.py":
                m = _DJANGO_PATH.search(line)
                if m:
                    out.append(
                        Interface("http", "/" + m.group("route").lstrip("^/"), path, n, "Django")
                    )
            m = _ARGPARSE.search(line)
            if m:
                out.append(Interface("cli", m.group(1), path, n, "argparse"))
        elif lang == "go":
            m = _COBRA.match(line)
            if m:
                out.append(Interface("cli", m.group(1), path, n, "Cobra"))
        elif lang == "js":
            m = _JS_QUEUE.search(line)
            if m:
                out.append(Interface("queue", m.group(1), path, n, "queue"))
            m = _JS_COMMAND.search(line)
            if (m and "program" in line) or (m and "yargs" in line):
                out.append(Interface("cli", m.group(1), path, n, "commander"))
    # A router is created with `Blueprint(` or `Router(`: a file without either has none.
    routers = lang == "python" and ("Blueprint(" in text or "Router(" in text)
    prefixes = _router_prefixes(lines) if routers else {}
    out += _from_symbols(path, syms, prefixes)
    return out


def _router_prefixes(lines: list[str]) -> dict[str, str]:
    """The URL prefix each router or blueprint object of a file is created with (its arguments
    may run over a few lines). A prefix given where the app registers it in another file
    (`register_blueprint(bp, url_prefix=...)`, `include_router(..., prefix=...)`) is applied
    when the whole repository is assembled (`mount_prefixes`)."""
    found: dict[str, str] = {}
    for n, line in enumerate(lines):
        m = _PY_ROUTER.match(line)
        if m:
            args = " ".join([m.group("args"), *lines[n + 1 : n + 4]])
            prefix = _PREFIX_ARG.search(args.split(")", 1)[0] if ")" in m.group("args") else args)
            if prefix:
                found[m.group("var")] = prefix.group("prefix").rstrip("/")
    return found


def _from_symbols(
    path: str, syms: list[Symbol], prefixes: dict[str, str] | None = None
) -> list[Interface]:
    out: list[Interface] = []
    for s in syms:
        lines = s.decorator_lines or [s.start] * len(s.decorators)
        for deco, line in zip(s.decorators, lines, strict=False):
            m = _PY_ROUTE.match(deco)
            if m:
                method = m.group("method")
                verbs = re.search(r"methods\s*=\s*[\[(]([^\])]*)", deco)
                if method == "route" and verbs:
                    method = re.sub(r"[\"'\s]", "", verbs.group(1)).split(",")[0]
                # Every route decorator counts (a view may answer at several paths).
                owner = m.group("obj")
                own = (prefixes or {}).get(owner, "")
                route = own + m.group("route")
                out.append(
                    Interface("http", _route(method, route or "/"), path, line, "", owner, own)
                )
                continue
            m = _PY_COMMAND.match(deco)
            if m and s.kind in ("function", "method"):
                command = m.group(1) or s.name.replace("_", "-")
                out.append(Interface("cli", command, path, s.line, "click/typer"))
                break
            if _PY_TASK.match(deco) and s.kind == "function":
                out.append(Interface("task", s.name, path, s.line, "task queue"))
                break
            if _PY_HOOK.match(deco):
                out.append(Interface("hook", s.name, path, s.line, "pluggy"))
                break
            if s.kind == "enum" and "Subcommand" in deco:
                for variant, vline in s.variants:
                    command = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", variant).lower()
                    out.append(Interface("cli", command, path, vline, "clap"))
                break
    return out


_MOUNT = re.compile(
    r"\.(?P<how>register_blueprint|include_router)\(\s*(?P<obj>[\w.]+)\s*,(?P<args>[^)]*)\)"
)
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:\(([^)]*)\)|([^\n#]*))", re.M)


def mount_prefixes(
    found: list[Interface],
    lines_of: Callable[[str], list[str] | None],
    imports: dict[str, dict[str, int]],
) -> list[Interface]:
    """The routes with the prefix the file that mounts their blueprint or router gives them
    (`app.register_blueprint(auth.bp, url_prefix="/auth")`, `app.include_router(users_router,
    prefix="/users")`): Flask's replaces the blueprint's own, FastAPI's comes before it. A router
    mounted twice answers under both prefixes."""
    by_file: dict[str, list[int]] = {}
    for n, i in enumerate(found):
        if i.kind == "http" and i.owner:
            by_file.setdefault(i.path, []).append(n)
    mounts: dict[int, list[tuple[str, str]]] = {}  # route -> (how, prefix) per mount
    for path, targets in imports.items():
        mounted = [t for t in targets if t in by_file]
        lines = lines_of(path) if mounted and path.endswith(".py") else None
        if not lines:
            continue
        text = "\n".join(lines)
        names = _imported_names(text, path)
        for m in _MOUNT.finditer(text):
            prefix = _PREFIX_ARG.search(m.group("args"))
            if prefix is None:
                continue
            module, _, obj = m.group("obj").rpartition(".")
            if module:  # `auth.bp`: a module this file imports (`from . import auth`)
                parent, _, name = names.get(module, "").rpartition(".")
                source = f"{parent}/{name}" if parent else name
            else:  # `bp` or `auth_bp`, from `from .auth import bp [as auth_bp]`
                source, _, obj = names.get(obj, "").rpartition(".")
            if not source:
                continue
            for target in mounted:
                if not _is_module(target, source):
                    continue
                for n in by_file[target]:
                    if found[n].owner == obj:
                        mounts.setdefault(n, []).append((m.group("how"), prefix.group("prefix")))
    out = list(found)
    extra: list[Interface] = []
    for n, ways in mounts.items():
        i = found[n]
        method, _, route = i.name.rpartition(" ")
        for k, (how, at) in enumerate(ways):
            own = route.removeprefix(i.prefix) or "/" if how == "register_blueprint" else route
            moved = replace(i, name=_route(method or None, at.rstrip("/") + own), prefix="")
            if k == 0:
                out[n] = moved
            else:
                extra.append(moved)
    return out + extra


def _is_module(path: str, dotted: str) -> bool:
    """Whether a file is the module a resolved dotted name (`shop/api/users`) stands for."""
    p = PurePosixPath(path)
    stem = str(p.parent) if p.stem == "__init__" else str(p.with_suffix(""))
    return stem == dotted or stem.endswith("/" + dotted)


def _imported_names(text: str, path: str) -> dict[str, str]:
    """Each name a file's `from X import a, b as c` lines bind -> the module's path (no suffix)
    and the imported name: in shop/app.py, `from .api.users import router as r` gives
    r -> `shop/api/users.router`, `from . import auth` gives auth -> `shop.auth`."""
    out: dict[str, str] = {}
    here = PurePosixPath(path).parent
    for m in _FROM_IMPORT.finditer(text):
        module = m.group(1)
        dots = len(module) - len(module.lstrip("."))
        rest = module[dots:].replace(".", "/")
        if dots:
            base = here
            for _ in range(dots - 1):
                base = base.parent
            origin = str(base / rest) if rest else str(base)
            origin = origin.removeprefix("./") if origin != "." else ""
        else:
            origin = rest
        for part in (m.group(2) or m.group(3)).split(","):
            bits = part.split()
            if not bits:
                continue
            name = bits[-1] if len(bits) == 3 and bits[1] == "as" else bits[0]
            out[name] = f"{origin}.{bits[0]}" if origin else bits[0]
    return out
