"""Walk a repository: which files are evidence, what kind each is, and why the others were skipped."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

import pathspec

from agent.base.errors import RepositoryError

DEFAULT_MAX_FILE_SIZE = 1_000_000
# Deeper than any source tree is organised (Java packages reach ~15): past this a tree is generated
# or hostile, and walking it only risks path-length limits.
MAX_DEPTH = 64

# Directories that hold other people's code or build products, never the repository's design.
IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "jspm_packages",
        "vendor",
        "third_party",
        "third-party",
        ".venv",
        "venv",
        ".virtualenv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "site-packages",
        "dist",
        "build",
        "target",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".gradle",
        ".idea",
        ".vscode",
        "coverage",
        "htmlcov",
        ".coverage",
        ".terraform",
        "Pods",
        "DerivedData",
        ".cache",
        ".parcel-cache",
        ".turbo",
        ".eggs",
    }
)
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


@dataclass(slots=True)
class RepoFile:
    """A file that may become evidence (still to be read: it can turn out binary)."""

    path: str  # posix, relative to the repository root
    kind: FileKind
    language: str
    size: int
    mtime_ns: int
    is_adr: bool = False


@dataclass
class RepoScan:
    """The result of walking a repository."""

    root: Path
    files: list[RepoFile]
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    is_git: bool = False

    def skip(self, path: str, reason: str) -> None:
        """Record a skipped file (counts by reason, a few example paths each)."""
        self.skipped[reason] += 1
        examples = self.skipped_examples.setdefault(reason, [])
        if len(examples) < 5:
            examples.append(path)


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


def scan(root: str | Path, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> RepoScan:
    """List a repository's candidate files, honouring .gitignore, built-in ignores and symlink rules."""
    base = Path(root).resolve()
    if not base.exists():
        raise RepositoryError(f"{root}: no such directory", hint="Pass the path of a repository.")
    if not base.is_dir():
        raise RepositoryError(
            f"{root}: not a directory", hint="Pass the repository's root directory."
        )
    listed = _git_ls_files(base)
    result = RepoScan(root=base, files=[], is_git=listed is not None)
    paths = listed if listed is not None else _walk(base, result)
    for rel in paths:
        _consider(base, rel, result, max_file_size)
    result.files.sort(key=lambda f: f.path)
    return result


def _consider(base: Path, rel: str, result: RepoScan, max_file_size: int) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        # Prompts, the call log and every output are UTF-8: such a path cannot be cited.
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        result.skip(shown, "file name is not valid UTF-8 (rename the file to include it)")
        return
    parts = rel.split("/")
    if len(parts) > MAX_DEPTH:
        result.skip(rel, f"nested deeper than {MAX_DEPTH} directories")
        return
    if any(part in IGNORED_DIRS for part in parts[:-1]):
        result.skip(rel, "ignored directory")
        return
    name = parts[-1]
    if any(part in RECORDED_DIRS for part in parts[:-1]) or _RECORDED_NAME.search(name):
        result.skip(rel, "recorded test data (cassettes, snapshots)")
        return
    if name in LOCK_FILES:
        result.skip(rel, "lock file")
        return
    if _GENERATED_NAME.search(name):
        result.skip(rel, "generated or minified")
        return
    if is_secret_file(rel):
        result.skip(rel, "secret file (never read)")
        return
    full = base / rel
    try:
        st = full.lstat()
    except OSError:
        result.skip(rel, "missing")
        return
    if os.path.islink(full):
        result.skip(rel, _symlink_reason(base, full))
        return
    if not full.is_file():
        result.skip(rel, "not a regular file")
        return
    if st.st_size > max_file_size:
        result.skip(rel, f"over size limit ({max_file_size:,} bytes)")
        return
    kind, language, is_adr = classify(rel)
    result.files.append(RepoFile(rel, kind, language, st.st_size, st.st_mtime_ns, is_adr))


def _symlink_reason(base: Path, link: Path) -> str:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symlink loop or dangling symlink"
    if not target.is_relative_to(base):
        return "symlink escapes repository"
    return "symlink (its target is read at its own path)"


def _git_ls_files(base: Path) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files, or None outside a git work tree."""
    if not _inside_git(base):
        return None
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(base),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    seen: set[str] = set()
    paths = []
    for raw in out.split(b"\0"):
        if raw:
            rel = raw.decode("utf-8", "surrogateescape")
            if rel not in seen:
                seen.add(rel)
                paths.append(rel)
    return paths


def _inside_git(base: Path) -> bool:
    try:
        proc = subprocess.run(
            ["git", "-C", str(base), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def _walk(base: Path, result: RepoScan) -> list[str]:
    """Walk without git: nested .gitignore files and .git/info/exclude still apply. Iterative, so
    no nesting depth exhausts the stack (os.walk recurses in Python 3.11)."""
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    exclude = base / ".git" / "info" / "exclude"
    if exclude.is_file():
        specs.append(("", _spec(exclude)))
    paths: list[str] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        folder = base / rel_dir if rel_dir else base
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            result.skip(rel_dir, "unreadable directory")
            continue
        if any(e.name == ".gitignore" and e.is_file() for e in entries):
            specs.append((rel_dir, _spec(folder / ".gitignore")))
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if _is_dir(entry):
                if entry.name in IGNORED_DIRS or _ignored(specs, rel + "/"):
                    continue
                if entry.is_symlink():
                    result.skip(rel, _symlink_reason(base, folder / entry.name))
                elif rel.count("/") + 1 >= MAX_DEPTH:
                    result.skip(rel, f"nested deeper than {MAX_DEPTH} directories")
                else:
                    subdirs.append(rel)
            elif not _ignored(specs, rel):
                paths.append(rel)
        pending.extend(reversed(subdirs))
    return paths


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop: listed as a file, and skipped with its reason
        return False


def _spec(path: Path) -> pathspec.GitIgnoreSpec:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str) -> bool:
    for prefix, spec in specs:
        if not prefix:
            if spec.match_file(rel):
                return True
        elif rel.startswith(prefix + "/") and spec.match_file(rel[len(prefix) + 1 :]):
            return True
    return False


def read_text(root: Path, file: RepoFile) -> tuple[str | None, str | None]:
    """(text, None) or (None, skip reason): binary, undecodable, generated or minified."""
    data = (root / file.path).read_bytes()
    head = data[:8192]
    if b"\0" in head or _binary_ratio(head) > 0.30:
        return None, "binary"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    first = text[:2000]
    head_lines = "\n".join(first.split("\n")[:5])
    if _GENERATED_HEAD.search(head_lines) and not _GENERATED_SCHEMA.search(head_lines):
        return None, "generated or minified"
    lines = text.count("\n") + 1
    if len(text) > 5000 and len(text) / lines > 400:
        return None, "generated or minified"
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


_TEXT_BYTES = bytes([*range(32, 256), 8, 9, 10, 12, 13, 27])


def _binary_ratio(head: bytes) -> float:
    """Share of control bytes (UTF-8 multibyte sequences count as text)."""
    if not head:
        return 0.0
    return len(head.translate(None, _TEXT_BYTES)) / len(head)
