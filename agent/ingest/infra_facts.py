"""Facts from CI, container, deployment and documentation config: the CI provider and the tools its jobs run, Docker base images and commands, compose services, Kubernetes, Terraform, docs builders."""

from __future__ import annotations

import re

from agent.ingest.facts import Fact, line_of

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


def infra_facts(path: str, name: str, text: str) -> list[Fact]:
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
            Fact(kind="container", name="Kubernetes", path=path, line=line_of(text, "kind:"))
        )
    if lowered.startswith(".github/workflows/") or name in (
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
    ):
        facts += _ci_tools(path, text)
    if name == "devcontainer.json":
        facts.append(
            Fact(kind="container", name="Dev container (`devcontainer.json`)", path=path, line=1)
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
        # The file is named with the tool: it is what shows it ("Read the Docs" is not a line).
        shown = f"{doc_tool} (`{name}`)"
        facts.append(Fact(kind="documentation", name=shown, path=path, line=doc_line))
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
