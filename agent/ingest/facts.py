"""Facts read without a model, each with the file and line it came from.

They fill stack fields (language, framework, database, CI, containers, environment variables,
entry points) with high confidence; the model only phrases them, if at all.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from agent.ingest.env_wrappers import wrapped_env_reads
from agent.ingest.packages import KNOWN_PACKAGES
from agent.ingest.repo import is_requirements_file


class Fact(BaseModel):
    """One fact with its evidence location."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(
        description="language, dependency, framework, runtime, ci, container, env-var, entry-point, ..."
    )
    name: str
    value: str = ""
    path: str
    line: int
    detail: str = ""

    @property
    def citation(self) -> str:
        """`path:line` of the evidence."""
        return f"{self.path}:{self.line}"


def _line_of(text: str, needle: str, default: int = 1) -> int:
    idx = text.find(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else default


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
    return _infra(path, name, text)


def _pyproject(path: str, text: str) -> list[Fact]:
    data = tomllib.loads(text)
    facts: list[Fact] = []
    project = data.get("project", {})
    for dep in project.get("dependencies", []) or []:
        facts += _dependency(
            _norm(dep), dep[len(_norm(dep)) :], path, _line_of(text, f'"{dep}'), "runtime"
        )
    for extra, deps in (project.get("optional-dependencies") or {}).items():
        for dep in deps:
            facts += _dependency(_norm(dep), "", path, _line_of(text, f'"{dep}'), f"extra:{extra}")
    for group, deps in (data.get("dependency-groups") or {}).items():
        for dep in deps:
            if isinstance(dep, str):
                facts += _dependency(
                    _norm(dep), "", path, _line_of(text, f'"{dep}'), f"group:{group}"
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
                        line=_line_of(text, "python ="),
                    )
                )
                continue
            facts += _dependency(dep, str(ver), path, _line_of(text, dep), section)
    if project.get("requires-python"):
        facts.append(
            Fact(
                kind="runtime",
                name="Python",
                value=project["requires-python"],
                path=path,
                line=_line_of(text, "requires-python"),
            )
        )
    for script, target in (project.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="entry-point",
                name=script,
                value=target,
                path=path,
                line=_line_of(text, f"{script} ="),
            )
        )
    for script, target in (poetry.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="entry-point",
                name=script,
                value=str(target),
                path=path,
                line=_line_of(text, f"{script} ="),
            )
        )
    tools = data.get("tool", {})
    for tool in ("ruff", "mypy", "black", "isort", "pylint", "pyright"):
        if tool in tools:
            facts.append(
                Fact(kind="tool-config", name=tool, path=path, line=_line_of(text, f"[tool.{tool}"))
            )
    # A pytest configuration says how the project tests, not how it lints.
    if "pytest" in tools:
        facts.append(
            Fact(kind="testing", name="pytest", path=path, line=_line_of(text, "[tool.pytest"))
        )
    return facts


def _package_json(path: str, text: str) -> list[Fact]:
    data = json.loads(text)
    facts: list[Fact] = []
    for section in ("dependencies", "devDependencies", "peerDependencies"):
        for dep, ver in (data.get(section) or {}).items():
            facts += _dependency(dep, str(ver), path, _line_of(text, f'"{dep}"'), section)
    engines = data.get("engines") or {}
    if "node" in engines:
        facts.append(
            Fact(
                kind="runtime",
                name="Node.js",
                value=engines["node"],
                path=path,
                line=_line_of(text, '"node"'),
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
                line=_line_of(text, '"bin"'),
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
                    line=_line_of(text, f'"{cmd}"'),
                )
            )
    for script, cmd in (data.get("scripts") or {}).items():
        facts.append(
            Fact(
                kind="script",
                name=script,
                value=str(cmd),
                path=path,
                line=_line_of(text, f'"{script}"'),
            )
        )
    if data.get("main"):
        facts.append(
            Fact(
                kind="entry-point",
                name="main",
                value=data["main"],
                path=path,
                line=_line_of(text, '"main"'),
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
                line=_line_of(text, m.group(0)),
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
            facts += _dependency(dep, ver, path, _line_of(text, f"{dep} ="), section)
    edition = data.get("package", {}).get("edition")
    if edition:
        facts.append(
            Fact(
                kind="runtime",
                name="Rust edition",
                value=str(edition),
                path=path,
                line=_line_of(text, "edition"),
            )
        )
    return facts


_CI = {
    ".github/workflows/": "GitHub Actions",
    ".gitlab-ci.yml": "GitLab CI",
    ".circleci/": "CircleCI",
    "jenkinsfile": "Jenkins",
    "azure-pipelines.yml": "Azure Pipelines",
    ".travis.yml": "Travis CI",
    "bitbucket-pipelines.yml": "Bitbucket Pipelines",
    ".buildkite/": "Buildkite",
    "cloudbuild.yaml": "Google Cloud Build",
}


def _infra(path: str, name: str, text: str) -> list[Fact]:
    facts: list[Fact] = []
    lowered = path.lower()
    for marker, provider in _CI.items():
        if lowered.startswith(marker) or name == marker:
            facts.append(Fact(kind="ci", name=provider, path=path, line=1))
    if (
        name in {"dockerfile", "containerfile"}
        or name.startswith("dockerfile.")
        or name.endswith(".dockerfile")
    ):
        facts.append(Fact(kind="container", name="Docker", path=path, line=1))
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r"^\s*FROM\s+(\S+)", line, re.I)
            if m:
                facts.append(Fact(kind="base-image", name=m.group(1), path=path, line=n))
                rt = re.match(
                    r"(python|node|golang|rust|openjdk|eclipse-temurin|ruby|php):?([\w.\-]*)",
                    m.group(1).split("/")[-1],
                )
                version = re.match(r"\d+\.\d+(?:\.\d+)?", rt.group(2)) if rt else None
                if rt and version:
                    facts.append(
                        Fact(kind="runtime", name=rt.group(1), value=version[0], path=path, line=n)
                    )
    if name in {"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"}:
        facts.append(Fact(kind="container", name="Docker Compose", path=path, line=1))
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r"^\s+image:\s*[\"']?([\w./:\-]+)", line)
            if m:
                facts.append(Fact(kind="compose-image", name=m.group(1), path=path, line=n))
    if name.endswith((".yaml", ".yml")) and re.search(
        r"^kind:\s*(Deployment|StatefulSet|Service|CronJob|Ingress)\b", text, re.M
    ):
        facts.append(
            Fact(kind="container", name="Kubernetes", path=path, line=_line_of(text, "kind:"))
        )
    if lowered.startswith(".github/workflows/") or name in (
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
    ):
        facts += _ci_tools(path, text)
    if name == "devcontainer.json":
        facts.append(
            Fact(kind="container", name="Dev container (.devcontainer)", path=path, line=1)
        )
    doc_tool = _DOC_TOOLS.get(name)
    if doc_tool:
        # The line that says what it builds ("sphinx:", "configuration: docs/conf.py", the build
        # command) is better evidence than the file's first line ("version: 2").
        doc_line = next(
            (
                n
                for n, row in enumerate(text.split("\n")[:200], start=1)
                if not row.lstrip().startswith("#") and _DOC_LINE.search(row)
            ),
            1,
        )
        facts.append(Fact(kind="documentation", name=doc_tool, path=path, line=doc_line))
    if name in ("buf.yaml", "buf.work.yaml"):
        facts.append(Fact(kind="code-quality", name="buf (protobuf lint)", path=path, line=1))
    if name == "chart.yaml":
        facts.append(Fact(kind="container", name="Helm", path=path, line=1))
    if name.endswith(".tf"):
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r'^\s*provider\s+"(\w+)"', line)
            if m:
                facts.append(
                    Fact(
                        kind="cloud",
                        name=m.group(1),
                        detail="terraform provider",
                        path=path,
                        line=n,
                    )
                )
    if name in {".python-version", "runtime.txt"}:
        facts.append(
            Fact(
                kind="runtime", name="Python", value=text.strip().split("\n")[0], path=path, line=1
            )
        )
    if name == ".nvmrc":
        facts.append(Fact(kind="runtime", name="Node.js", value=text.strip(), path=path, line=1))
    if name in {".env.example", ".env.sample", ".env.template"}:
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]+)\s*=", line)
            if m:
                facts.append(
                    Fact(
                        kind="env-var",
                        name=m.group(1),
                        path=path,
                        line=n,
                        detail="declared in example env file",
                    )
                )
    if name == "makefile":
        for n, line in enumerate(text.split("\n"), start=1):
            m = re.match(r"^([\w.-]+):(?!=)", line)
            if m and not m.group(1).startswith("."):
                facts.append(Fact(kind="make-target", name=m.group(1), path=path, line=n))
    return facts


# Documentation generators, by the configuration file they read.
_DOC_TOOLS = {
    "mkdocs.yml": "MkDocs",
    "mkdocs.yaml": "MkDocs",
    "docusaurus.config.js": "Docusaurus",
    "docusaurus.config.ts": "Docusaurus",
    "book.toml": "mdBook",
    ".readthedocs.yaml": "Read the Docs",
    ".readthedocs.yml": "Read the Docs",
    "typedoc.json": "TypeDoc",
    "antora.yml": "Antora",
}
_DOC_LINE = re.compile(r"\b(sphinx|mkdocs|docs?|documentation|site_name|title)\b", re.IGNORECASE)
# Linters, formatters and type checkers a CI job or pre-commit hook runs, as they appear there.
_CI_TOOLS = {
    "golangci-lint": "golangci-lint",
    "staticcheck": "staticcheck",
    "go vet": "go vet",
    "shellcheck": "ShellCheck",
    "shfmt": "shfmt",
    "buf lint": "buf lint",
    "cargo clippy": "Clippy",
    "cargo fmt": "rustfmt (cargo fmt)",
    "ruff": "Ruff",
    "mypy": "mypy",
    "eslint": "ESLint",
    "prettier": "Prettier",
    "black": "Black",
    "flake8": "flake8",
    "pyright": "Pyright",
    "hadolint": "hadolint",
}
_CI_TOOL_RE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(t) for t in _CI_TOOLS) + r")(?![\w-])", re.IGNORECASE
)


def _ci_tools(path: str, text: str) -> list[Fact]:
    seen: set[str] = set()
    facts: list[Fact] = []
    for n, line in enumerate(text.split("\n"), start=1):
        if line.lstrip().startswith("#"):
            continue
        for m in _CI_TOOL_RE.finditer(line):
            tool = _CI_TOOLS[m.group(1).lower()]
            if tool not in seen:
                seen.add(tool)
                facts.append(
                    Fact(kind="code-quality", name=tool, path=path, line=n, detail="run in CI")
                )
    return facts


_ENV_PATTERNS = [
    re.compile(r"os\.environ\.get\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"os\.environ\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]"),
    re.compile(r"os\.getenv\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"environ\.get\(\s*[\"']([A-Z_][A-Z0-9_]*)[\"']"),
    re.compile(r"process\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"process\.env\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]"),
    re.compile(r"import\.meta\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"os\.(?:Getenv|LookupEnv)\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(r"(?:std::)?env::var(?:_os)?\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(r"System\.getenv\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(
        r"ENV\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]|ENV\.fetch\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)"
    ),
    re.compile(r"getenv\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"Field\([^)]*\benv=[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
]
_ENV_QUICK = re.compile(
    r"environ|getenv|Getenv|LookupEnv|process\.env|meta\.env|env::var|ENV[\[.]|env="
)


def env_var_facts(path: str, text: str, language: str = "") -> list[Fact]:
    """Environment variables the code reads, at the line that reads them (also through a helper
    of the file's own: agent/ingest/env_wrappers.py)."""
    if not _ENV_QUICK.search(text):
        return []
    lines = text.split("\n")
    facts: list[Fact] = [
        Fact(kind="env-var", name=name, path=path, line=n, detail=detail)
        for name, n, detail in wrapped_env_reads(lines, language)
    ]
    for n, line in enumerate(lines, start=1):
        if not _ENV_QUICK.search(line):
            continue
        for pattern in _ENV_PATTERNS:
            for m in pattern.finditer(line):
                name = next(g for g in m.groups() if g)
                facts.append(
                    Fact(kind="env-var", name=name, path=path, line=n, detail=line.strip()[:120])
                )
    return facts


def code_entry_facts(path: str, text: str, language: str) -> list[Fact]:
    """Program entry points visible in code (`if __name__ == "__main__"`, Go main packages)."""
    facts: list[Fact] = []
    if language == "python" and "__main__" in text:
        m = re.search(r"^if __name__ == [\"']__main__[\"']", text, re.M)
        if m:
            n = text.count("\n", 0, m.start()) + 1
            facts.append(Fact(kind="entry-point", name=path, value="__main__", path=path, line=n))
    if language == "go" and re.search(r"^package main\b", text, re.M) and "func main()" in text:
        facts.append(
            Fact(
                kind="entry-point",
                name=path,
                value="main",
                path=path,
                line=_line_of(text, "func main()"),
            )
        )
    return facts


def language_facts(
    lines_by_language: Counter[str], files_by_language: Counter[str], first_file: dict[str, str]
) -> list[Fact]:
    """One fact per language: lines and files, cited at its first file."""
    facts = []
    for language, lines in lines_by_language.most_common():
        if language in {
            "markdown",
            "rst",
            "asciidoc",
            "text",
            "json",
            "yaml",
            "toml",
            "ini",
            "xml",
            "",
        }:
            continue
        facts.append(
            Fact(
                kind="language",
                name=language,
                value=f"{lines} lines in {files_by_language[language]} files",
                path=first_file[language],
                line=1,
            )
        )
    return facts


def dedupe(facts: Iterable[Fact]) -> list[Fact]:
    """Facts without repeats (same kind, name and place)."""
    seen: set[tuple[str, str, str, int]] = set()
    out = []
    for f in facts:
        key = (f.kind, f.name, f.path, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
