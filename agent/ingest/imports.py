"""Which files a code file imports, read with per-language patterns: Python (absolute, relative,
`from pkg import submodule`), JavaScript/TypeScript (relative paths and tsconfig/jsconfig path
aliases), Go (packages of the repository's own module) and Rust (`use` of the workspace's crates and
of `crate::` modules). An import the patterns cannot place is simply not an edge.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

PY_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import|import\s+([\w.]+))")
JS_IMPORT = re.compile(r"""(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]""")
GO_IMPORT = re.compile(r'^\s*(?:import\s+)?(?:\w+\s+)?"([\w./-]+)"\s*$')
_RUST_USE = re.compile(r"\b(crate|[a-z_][a-z0-9_]*)::([a-z_][a-z0-9_]*)")


def file_imports(index: RepoIndex, files: dict[str, int]) -> dict[str, dict[str, int]]:
    """For each code file, the files or directories it imports, with the line of each import."""
    go_module = _go_module(index)
    crates = _crates(index)
    aliases = _ts_aliases(index)
    out: dict[str, dict[str, int]] = {}
    for path in files:
        rec = index.records[path]
        found: dict[str, int] = {}
        for n, line in enumerate(index.file_lines(path) or [], start=1):
            for target in _targets(rec.language, path, line, files, go_module, crates, aliases):
                if target != path:
                    found.setdefault(target, n)
        out[path] = found
    return out


def _targets(
    language: str,
    path: str,
    line: str,
    files: dict[str, int],
    go_module: str,
    crates: dict[str, str],
    aliases: dict[str, str],
) -> list[str]:
    """Files or directories one line of code imports (empty when none resolves)."""
    out: list[str] = []
    if language == "python":
        m = PY_IMPORT.match(line)
        if m and m.group(1):
            # `from pkg import submodule` imports the submodule, not only pkg/__init__.py.
            names = re.split(r"[,\s()]+", line.split(" import ", 1)[-1].split("#", 1)[0])
            sep = "" if m.group(1).endswith(".") else "."
            for name in (n for n in names if n.isidentifier() and n != "as"):
                out += _python_module(f"{m.group(1)}{sep}{name}", path, files)
            if not out:
                out += _python_module(m.group(1), path, files)
        elif m:
            out += _python_module(m.group(2), path, files)
    elif language in ("ts", "js", "vue", "svelte"):
        for spec in JS_IMPORT.findall(line):
            out += _js_module(spec, path, files, aliases)
    elif language == "go" and go_module:
        m = GO_IMPORT.match(line)
        if m and m.group(1) == go_module:
            # The module's root package: its files directly in the repository root.
            out += [f for f in files if "/" not in f and f.endswith(".go")][:1]
        elif m and m.group(1).startswith(go_module + "/"):
            out.append(m.group(1)[len(go_module) + 1 :])
    elif language == "rust":
        code = line.split("//", 1)[0].strip()
        if not re.match(r"^(pub(\([\w:]+\))?\s+)?(use|extern\s+crate)\b", code):
            return out
        for crate, module in _RUST_USE.findall(code):
            if crate == "crate":
                base = _crate_dir(path)
            elif crate in crates:
                base = crates[crate]
            else:
                continue
            src = f"{base}/src" if base else "src"
            for candidate in (f"{src}/{module}.rs", f"{src}/{module}/mod.rs"):
                if candidate in files:
                    out.append(candidate)
                    break
            else:
                out.append(base or src)
    return out


def _crate_dir(path: str) -> str:
    """The directory of the crate a Rust file belongs to (the part before its src/)."""
    head, sep, _ = path.partition("/src/")
    if sep:
        return head
    return "" if path.startswith("src/") else str(PurePosixPath(path).parent)


def _python_module(module: str, path: str, files: dict[str, int]) -> list[str]:
    if module.startswith("."):
        dots = len(module) - len(module.lstrip("."))
        parents = PurePosixPath(path).parents
        if dots > len(parents):
            return []
        base = parents[dots - 1]
        rest = module.lstrip(".").replace(".", "/")
        stem = f"{base}/{rest}" if rest else str(base)
    else:
        stem = module.replace(".", "/")
    for prefix in ("", "src/", "lib/"):
        for candidate in (f"{prefix}{stem}.py", f"{prefix}{stem}/__init__.py"):
            candidate = candidate.lstrip("./") if candidate.startswith("./") else candidate
            if candidate in files:
                return [candidate]
    return []


def _js_module(spec: str, path: str, files: dict[str, int], aliases: dict[str, str]) -> list[str]:
    alias = next((a for a in aliases if spec.startswith(a)), None)
    if spec.startswith("."):
        stem = str(PurePosixPath(path).parent / spec)
    elif alias is not None:
        stem = aliases[alias] + spec[len(alias) :]
    else:
        return []
    parts: list[str] = []
    for part in stem.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    stem = "/".join(parts)
    for ext in ("", ".ts", ".tsx", ".js", ".jsx", ".vue", "/index.ts", "/index.tsx", "/index.js"):
        if stem + ext in files:
            return [stem + ext]
    prefix = stem + "/"
    return [stem] if any(f.startswith(prefix) for f in files) else []


_ALIAS_RE = re.compile(r'"([^"*]+)\*"\s*:\s*\[\s*"\.?/?([^"*]*)\*"')


def _ts_aliases(index: RepoIndex) -> dict[str, str]:
    """Import prefixes the tsconfig/jsconfig files map to directories ("~/" -> "app/"), each target
    relative to its config's directory (mealie's frontend/tsconfig.json: "~/" -> "frontend/")."""
    out: dict[str, str] = {}
    configs = sorted(
        p
        for p in index.records
        if PurePosixPath(p).name in ("tsconfig.json", "jsconfig.json") and "node_modules" not in p
    )
    for config in configs:
        base = str(PurePosixPath(config).parent)
        for line in index.file_lines(config) or []:
            m = _ALIAS_RE.search(line)
            if m:
                target = m.group(2) if base == "." else f"{base}/{m.group(2)}"
                out.setdefault(m.group(1), target)
    # Longest prefix first, so "@server/" wins over "@".
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))


def _go_module(index: RepoIndex) -> str:
    for line in index.file_lines("go.mod") or []:
        if line.startswith("module "):
            return line.split()[1].strip()
    return ""


_MANIFEST_NAME = {
    "Cargo.toml": re.compile(r'^\s*name\s*=\s*"([\w.-]+)"'),
    "pyproject.toml": re.compile(r'^\s*name\s*=\s*"([\w.-]+)"'),
    "package.json": re.compile(r'^\s*"name"\s*:\s*"([@\w./-]+)"'),
}


def manifest_names(index: RepoIndex) -> dict[str, tuple[str, str]]:
    """Directory ("" for the root) -> (manifest file, the package name it declares), for
    Cargo.toml, pyproject.toml and package.json."""
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(index.records):
        p = PurePosixPath(path)
        pattern = _MANIFEST_NAME.get(p.name)
        if pattern is None:
            continue
        for line in index.file_lines(path) or []:
            m = pattern.match(line)
            if m:
                directory = str(p.parent)
                out["" if directory == "." else directory] = (p.name, m.group(1))
                break
    return out


def _crates(index: RepoIndex) -> dict[str, str]:
    """Workspace crate name (as written in code) -> its directory."""
    return {
        name.replace("-", "_"): directory
        for directory, (manifest, name) in manifest_names(index).items()
        if manifest == "Cargo.toml"
    }
