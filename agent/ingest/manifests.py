"""Facts from package manifests: pyproject.toml, package.json, requirements files, setup.cfg, go.mod and Cargo.toml (dependencies with what their names tell, runtimes, scripts and entry points)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import PurePosixPath

from agent.ingest.facts import Fact, line_of
from agent.ingest.file_kinds import is_requirements_file
from agent.ingest.infra_facts import (
    infra_facts,
)
from agent.ingest.packages import KNOWN_PACKAGES


def _norm(name: str) -> str:
    return re.split(r"[\[<>=!~;@ ]", name.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _dependency(name: str, version: str, path: str, line: int, scope: str) -> list[Fact]:
    norm = _norm(name) if not name.startswith("@") and "/" not in name else name.lower()
    facts = [
        Fact(
            kind="dependency", name=norm, value=version.strip(), path=path, line=line, detail=scope
        )
    ]
    # An indirect Go requirement is a dependency's choice, not the project's.
    known = KNOWN_PACKAGES.get(norm) if scope != "indirect" else None
    if known:
        facts.append(
            Fact(kind=known[0], name=known[1], value=norm, path=path, line=line, detail=scope)
        )
    return facts


def manifest_facts(path: str, text: str) -> list[Fact]:
    """Dependencies, runtimes, entry points, CI and containers declared by one config file."""
    name = PurePosixPath(path).name.lower()
    try:
        if name == "pyproject.toml":
            return _pyproject(path, text)
        if name == "package.json":
            return _package_json(path, text)
        if is_requirements_file(path):
            return _requirements(path, text)
        if name == "setup.cfg":
            return _setup_cfg(path, text)
        if name == "go.mod":
            return _go_mod(path, text)
        if name == "cargo.toml":
            return _cargo(path, text)
    except (ValueError, tomllib.TOMLDecodeError, json.JSONDecodeError):
        return []
    return infra_facts(path, name, text)


def _pyproject(path: str, text: str) -> list[Fact]:
    data = tomllib.loads(text)
    facts: list[Fact] = []
    project = data.get("project", {})
    for dep in project.get("dependencies", []) or []:
        facts += _dependency(
            _norm(dep), dep[len(_norm(dep)) :], path, line_of(text, f'"{dep}'), "runtime"
        )
    for extra, deps in (project.get("optional-dependencies") or {}).items():
        for dep in deps:
            facts += _dependency(_norm(dep), "", path, line_of(text, f'"{dep}'), f"extra:{extra}")
    for group, deps in (data.get("dependency-groups") or {}).items():
        for dep in deps:
            if isinstance(dep, str):
                facts += _dependency(
                    _norm(dep), "", path, line_of(text, f'"{dep}'), f"group:{group}"
                )
    poetry = data.get("tool", {}).get("poetry", {})
    for section in ("dependencies", "dev-dependencies"):
        for dep, ver in (poetry.get(section) or {}).items():
            if dep.lower() == "python":
                facts.append(
                    Fact(
                        kind="runtime",
                        name="Python",
                        value=str(ver),
                        path=path,
                        line=line_of(text, "python ="),
                    )
                )
                continue
            facts += _dependency(dep, str(ver), path, line_of(text, dep), section)
    if project.get("requires-python"):
        facts.append(
            Fact(
                kind="runtime",
                name="Python",
                value=project["requires-python"],
                path=path,
                line=line_of(text, "requires-python"),
            )
        )
    for script, target in (project.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="entry-point",
                name=script,
                value=target,
                path=path,
                line=line_of(text, f"{script} ="),
            )
        )
    for script, target in (poetry.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="entry-point",
                name=script,
                value=str(target),
                path=path,
                line=line_of(text, f"{script} ="),
            )
        )
    tools = data.get("tool", {})
    for tool in ("ruff", "mypy", "black", "isort", "pylint", "pyright"):
        if tool in tools:
            facts.append(
                Fact(kind="tool-config", name=tool, path=path, line=line_of(text, f"[tool.{tool}"))
            )
    # A pytest configuration says how the project tests, not how it lints.
    if "pytest" in tools:
        facts.append(
            Fact(kind="testing", name="pytest", path=path, line=line_of(text, "[tool.pytest"))
        )
    return facts


def _package_json(path: str, text: str) -> list[Fact]:
    data = json.loads(text)
    facts: list[Fact] = []
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        for dep, ver in (data.get(section) or {}).items():
            facts += _dependency(dep, str(ver), path, line_of(text, f'"{dep}"'), section)
    engines = data.get("engines") or {}
    if "node" in engines:
        facts.append(
            Fact(
                kind="runtime",
                name="Node.js",
                value=engines["node"],
                path=path,
                line=line_of(text, '"node"'),
            )
        )
    bins = data.get("bin")
    if isinstance(bins, str):
        facts.append(
            Fact(
                kind="entry-point",
                name=data.get("name", "bin"),
                value=bins,
                path=path,
                line=line_of(text, '"bin"'),
            )
        )
    elif isinstance(bins, dict):
        for cmd, target in bins.items():
            facts.append(
                Fact(
                    kind="entry-point",
                    name=cmd,
                    value=target,
                    path=path,
                    line=line_of(text, f'"{cmd}"'),
                )
            )
    for script, cmd in (data.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="script",
                name=script,
                value=str(cmd),
                path=path,
                line=line_of(text, f'"{script}"'),
            )
        )
    if data.get("main"):
        facts.append(
            Fact(
                kind="entry-point",
                name="main",
                value=data["main"],
                path=path,
                line=line_of(text, '"main"'),
            )
        )
    return facts


def _requirements(path: str, text: str) -> list[Fact]:
    facts: list[Fact] = []
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-", "git+", "http")):
            continue
        name = _norm(line)
        facts += _dependency(name, line[len(name) :], path, n, "runtime")
    return facts


def _setup_cfg(path: str, text: str) -> list[Fact]:
    facts: list[Fact] = []
    block = re.search(r"install_requires\s*=\s*\n((?:[ \t]+.+\n?)+)", text)
    if block:
        start = text.count("\n", 0, block.start(1)) + 1
        for k, line in enumerate(block.group(1).split("\n")):
            if line.strip():
                facts += _dependency(_norm(line), "", path, start + k, "runtime")
    m = re.search(r"python_requires\s*=\s*(.+)", text)
    if m:
        facts.append(
            Fact(
                kind="runtime",
                name="Python",
                value=m.group(1).strip(),
                path=path,
                line=line_of(text, m.group(0)),
            )
        )
    return facts


def _go_mod(path: str, text: str) -> list[Fact]:
    facts: list[Fact] = []
    for n, line in enumerate(text.split("\n"), start=1):
        m = re.match(r"^\s*(?:require\s+)?([\w.\-]+\.[\w]+/[\w./\-]+)\s+(v[\w.\-+]+)", line)
        if m:
            scope = "indirect" if "// indirect" in line else "require"
            facts += _dependency(m.group(1), m.group(2), path, n, scope)
        m = re.match(r"^go\s+([\d.]+)", line)
        if m:
            facts.append(Fact(kind="runtime", name="Go", value=m.group(1), path=path, line=n))
    return facts


def _cargo(path: str, text: str) -> list[Fact]:
    data = tomllib.loads(text)
    facts: list[Fact] = []
    for section in ("dependencies", "dev-dependencies"):
        for dep, spec in (data.get(section) or {}).items():
            ver = spec if isinstance(spec, str) else str(spec.get("version", ""))
            facts += _dependency(dep, ver, path, line_of(text, f"{dep} ="), section)
    # A member inherits with `edition = { workspace = true }`: the workspace root's
    # [workspace.package] states it (a table is no edition).
    for table in (data.get("package") or {}, (data.get("workspace") or {}).get("package") or {}):
        edition = table.get("edition")
        if isinstance(edition, str) and edition:
            facts.append(
                Fact(
                    kind="runtime",
                    name="Rust edition",
                    value=edition,
                    path=path,
                    line=line_of(text, "edition"),
                )
            )
            break
    return facts
