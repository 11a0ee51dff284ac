"""What kind a file is, from its path alone: language, notes, config, manifest, ADR, test, lock file, secret, generated or recorded output (tables of names and patterns, and the classifier)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath

# Recorded test data: HTTP cassettes, snapshots and approval files repeat what the code sends and
# prints (measured on this repository: its cassettes hold every prompt, so they outranked the code).
RECORDED_DIRS = frozenset({"cassettes", "vcr_cassettes", "__snapshots__"})


_RECORDED_NAME = re.compile(r"\.(approved|received)\.\w+$")


LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "npm-shrinkwrap.json",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Cargo.lock",
        "composer.lock",
        "Gemfile.lock",
        "go.sum",
        "mix.lock",
        "pubspec.lock",
        "packages.lock.json",
        "flake.lock",
        "bun.lockb",
    }
)


_GENERATED_NAME = re.compile(
    r"(\.min\.(js|css)|\.map|_pb2(_grpc)?\.pyi?|\.pb\.go|\.pb\.(cc|h)|\.g\.dart|\.generated\.\w+"
    r"|\.designer\.cs|-lock\.json|\.snap"
    # A library copied in under its release's name (`cm-editor-6.0.1.js`, `jquery-3.7.1.min.js`).
    r"|[-_.]v?\d+\.\d+\.\d+(?:[-.]\w+)?(?:\.bundle|\.min)?\.(?:js|mjs|css))$"
)


_GENERATED_HEAD = re.compile(
    r"@generated|DO NOT EDIT|Code generated .* DO NOT EDIT|auto-?generated", re.I
)


# Generated, but the project's own account of its data model: read it (Diesel's `schema.rs`).
_GENERATED_SCHEMA = re.compile(r"@generated automatically by Diesel CLI")


LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "js",
    ".mjs": "js",
    ".cjs": "js",
    ".jsx": "js",
    ".ts": "ts",
    ".tsx": "ts",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".rb": "ruby",
    ".php": "php",
    ".cs": "csharp",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".swift": "swift",
    ".m": "objc",
    ".lua": "lua",
    ".pl": "perl",
    ".pm": "perl",
    ".r": "r",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".clj": "clojure",
    ".dart": "dart",
    ".sol": "sol",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".ps1": "powershell",
    ".sql": "sql",
    ".proto": "proto",
    ".graphql": "graphql",
    ".vue": "vue",
    ".svelte": "svelte",
    ".html": "html",
    ".css": "css",
    ".scss": "css",
    ".cob": "cobol",
    ".vb": "vb",
    ".fs": "fsharp",
    ".ml": "ocaml",
    ".zig": "zig",
    ".nim": "nim",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".txt": "text",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
    ".xml": "xml",
    ".tf": "terraform",
    ".hcl": "terraform",
    ".gradle": "groovy",
    ".properties": "ini",
    ".env": "dotenv",
}


_NOTES_EXT = {".md", ".markdown", ".mdx", ".rst", ".adoc", ".txt"}


_CONFIG_EXT = {
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".ini",
    ".cfg",
    ".conf",
    ".xml",
    ".tf",
    ".hcl",
    ".properties",
}


_MANIFESTS = {
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "pipfile",
    "package.json",
    "go.mod",
    "cargo.toml",
    "gemfile",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "composer.json",
    "dockerfile",
    "containerfile",
    "makefile",
    "justfile",
    "procfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    "tox.ini",
    "noxfile.py",
    ".env.example",
    ".env.sample",
    ".env.template",
    "jenkinsfile",
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    "mix.exs",
    "pubspec.yaml",
    "chart.yaml",
    "skaffold.yaml",
    "serverless.yml",
    "vercel.json",
    "netlify.toml",
    "fly.toml",
    "app.yaml",
    "cloudbuild.yaml",
    ".python-version",
    ".nvmrc",
    ".tool-versions",
    "runtime.txt",
    "manage.py",
    "alembic.ini",
    "mkdocs.yml",
}


_ADR_DIR = re.compile(
    r"(^|/)(adrs?|decisions|decision[-_]records?|architecture[-_]decisions?|architecture/decisions)/",
    re.I,
)


# `0007-use-postgres.md`, not a dated post (`2023-05-23-removing-pgp.md`: warehouse's blog).
_ADR_NAME = re.compile(
    r"(^|/)(adr[-_]?\d+|(?!\d{4}-\d\d-\d\d)\d{3,5}[-_][\w-]+)\.(md|rst|adoc|txt)$", re.I
)


# Files whose whole content is secret material: never read, so nothing in them can reach a model.
# `prod.env`, `deploy/staging.env` are dotenv files as much as `.env` is; their examples and
# templates (`.env.example`, `example.env`) are configuration, read (and redacted) like any file.
_SECRET_FILE_RE = re.compile(
    r"""(^|/)(
        \.env(\.[^/]+)? | [^/]+\.env
      | \.envrc | \.netrc | \.pgpass | \.npmrc | \.pypirc | \.git-credentials | \.htpasswd
      | \.s3cfg | \.boto | \.dockercfg | \.docker/config\.json
      | id_(rsa|dsa|ecdsa|ed25519)(\.[^/]*)?
      | [^/]+\.(pem|key|p12|pfx|jks|keystore|kdbx|gpg|asc|ovpn)
      | credentials(\.(json|csv))? | service[-_]?account[^/]*\.json | secrets?\.(ya?ml|json|toml)
      | [^/]*access_?keys?\.csv | rootkey\.csv
    )$""",
    re.X | re.I,
)


_EXAMPLE_ENV_RE = re.compile(
    r"(^|[./_-])(example|sample|template|dist|defaults?|schema)([./_-]|$)", re.I
)


def not_source(parts: list[str]) -> str | None:
    """Why a file is not read, from its path (split at "/"): recorded test data, a lock file,
    generated or minified code; None when it may be read."""
    name = parts[-1]
    if any(part in RECORDED_DIRS for part in parts[:-1]) or _RECORDED_NAME.search(name):
        return "recorded test data (cassettes, snapshots)"
    if name in LOCK_FILES:
        return "lock file"
    if _GENERATED_NAME.search(name):
        return "generated or minified"
    return None


def generated_head(head: str) -> bool:
    """Whether a file's first lines say a tool generated it (a Diesel schema.rs is still read:
    it is the only place the tables are written down)."""
    return bool(_GENERATED_HEAD.search(head)) and not _GENERATED_SCHEMA.search(head)


def is_secret_file(path: str) -> bool:
    """Files never read as evidence: dotenv files (`.env`, `prod.env`), key files, credential
    stores. An example or template of one (`.env.example`, `example.env`) is read."""
    posix = PurePosixPath(path).as_posix()
    if not _SECRET_FILE_RE.search(posix):
        return False
    name = PurePosixPath(posix).name
    return not (".env" in name.lower() and _EXAMPLE_ENV_RE.search(name))


_TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing|e2e)/|(^|/)(test_[^/]+|[^/]+_test\.\w+"
    r"|[^/]+\.(test|spec)\.\w+|conftest\.py)$",
    re.I,
)


class FileKind(StrEnum):
    """What role a file plays as evidence."""

    CODE = "code"
    NOTES = "notes"
    CONFIG = "config"
    TESTS = "tests"
    OTHER = "other"


def is_requirements_file(path: str) -> bool:
    """A pip requirements file: requirements*.txt/.in, *-requirements.txt, or any .txt/.in in a
    requirements/ directory (warehouse keeps requirements/main.in)."""
    lowered = path.lower()
    name = lowered.rsplit("/", 1)[-1]
    return name.endswith((".txt", ".in")) and (
        name.startswith("requirements")
        or name.endswith(("-requirements.txt", "_requirements.txt"))
        or lowered.startswith("requirements/")
        or "/requirements/" in lowered
    )


def classify(path: str) -> tuple[FileKind, str, bool]:
    """Kind, language and whether it is an ADR, from the path alone."""
    p = PurePosixPath(path)
    name = p.name.lower()
    suffix = p.suffix.lower()
    language = LANGUAGES.get(suffix, "")
    if name == "dockerfile" or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return FileKind.CONFIG, "dockerfile", False
    if name in _MANIFESTS or is_requirements_file(path):
        return FileKind.CONFIG, language or name, False
    lowered = path.lower()
    if lowered.startswith((".github/workflows/", ".circleci/", ".buildkite/")):
        return FileKind.CONFIG, language, False
    is_notes_dir = lowered.startswith(("docs/", "doc/", "documentation/", "adr/", "adrs/", "rfcs/"))
    if suffix in _NOTES_EXT or name.startswith(
        ("readme", "changelog", "contributing", "architecture")
    ):
        if suffix == ".txt" and not (is_notes_dir or name.startswith("readme")):
            return FileKind.OTHER, "text", False
        is_adr = bool(_ADR_DIR.search(lowered) or (is_notes_dir and _ADR_NAME.search(lowered)))
        return FileKind.NOTES, language or "text", is_adr
    if _TEST_PATH.search(path) and suffix not in _CONFIG_EXT:
        return FileKind.TESTS, language, False
    if suffix in _CONFIG_EXT or (
        lowered.startswith(("k8s/", "kubernetes/", "helm/", "deploy/", "terraform/", "infra/"))
        and suffix in _CONFIG_EXT
    ):
        return FileKind.CONFIG, language, False
    if language:
        return FileKind.CODE, language, False
    return FileKind.OTHER, "", False
