"""Stack fields a repository shows through what its own code calls when no manifest names them: the
platforms it deploys to (the deploy commands it runs), files it memory-maps, git repositories it
keeps its data in, and the migration API it uses. Each is an inference cited at the line that shows
it, marked `inferred` so the draft flags it.

Read from the index's code chunks (the project's own code: no tests, examples or docs), so no
file is read again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.facts import Fact, inferred
from agent.ingest.repomodel.model import is_auxiliary

if TYPE_CHECKING:
    from agent.ingest.repomodel.stack_fallbacks import Shape

# A deploy command the code runs (in a string it passes to a shell or subprocess): the platform
# it publishes to. Only commands that deploy, not ones that merely read a config value.
_DEPLOY = (
    (re.compile(r"gcloud\s+run\s+deploy\b"), "Google Cloud Run"),
    (re.compile(r"gcloud\s+app\s+deploy\b"), "Google App Engine"),
    (re.compile(r"gcloud\s+functions\s+deploy\b"), "Google Cloud Functions"),
    (
        re.compile(
            r"\bheroku[\"']?\s*,?\s*[\"']?(?:container:push|container:release|builds:create|"
            r"apps:create)\b"
        ),
        "Heroku",
    ),
    (re.compile(r"(?<![\w-])(?:flyctl|fly)\s+deploy(?![\w-])"), "Fly.io"),
    (re.compile(r"\bvercel\s+(?:deploy|--prod)\b"), "Vercel"),
    (re.compile(r"\baz\s+webapp\s+(?:up|create|deploy)\b"), "Azure App Service"),
)
_DEPLOY_ANY = re.compile("|".join(p.pattern for p, _ in _DEPLOY))
# Memory-mapping a file: the program keeps its data in local files it maps into memory.
_MMAP = re.compile(
    r"\b(?:syscall\.Mmap|unix\.Mmap|mmap\.mmap|Mmap(?:Options)?::|memmap2::|mmap\.Map)\b|"
    r"\bmmap\.(?:Open|MapRegion)\b"
)
# Libraries that read and write git repositories: a tool built on one keeps its data in them.
_GIT_LIBRARIES = {
    "gix": "gitoxide (gix)",
    "git2": "libgit2 (git2)",
    "github.com/go-git/go-git/v5": "go-git",
    "dulwich": "Dulwich",
    "pygit2": "libgit2 (pygit2)",
}
# A migration API imported by name from a library (`from sqlite_utils import Migrations`).
_PY_MIGRATIONS = re.compile(r"^\s*from\s+(\w[\w.]*)\s+import\s+[^#\n]*\bMigrations\b")
# A comment line (Python, shell, C-like, SQL, Lua).
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--)")
# Dependencies that do not ship with the program: tests, docs, optional extras, indirect ones.
_NOT_SHIPPED = re.compile(r"^(?:dev|group:|extra:|indirect|peer|build)", re.IGNORECASE)


def signals(shape: Shape, taken: set[str]) -> list[Fact]:
    """The stack facts the code's own calls show, for the fields no fact answers yet (`taken`:
    kinds other fallbacks already answered)."""
    out: list[Fact] = []
    missing = {
        k for k in ("cloud", "storage", "migrations") if not shape.kinds[k] and k not in taken
    }
    if "cloud" in missing:
        out += _deploy_targets(shape)
    if "storage" in missing:
        storage = _memory_mapped(shape) or _git_repositories(shape)
        out += [storage] if storage is not None else []
    if "migrations" in missing:
        out += _migration_api(shape)
    return out


def _code_lines(shape: Shape, quick: re.Pattern[str]) -> Iterator[tuple[str, int, str]]:
    """(path, line, text) of the project's own code lines a pattern may match, chunk by chunk;
    comments and docstrings left out (a docstring that says "run `fly deploy`" deploys nothing)."""
    for chunk in shape.index.chunks:
        if chunk.kind != "code" or is_auxiliary(chunk.path) or not quick.search(chunk.text):
            continue
        in_docstring = False
        for n, line in enumerate(chunk.text.split("\n"), start=chunk.start_line):
            quotes = line.count('"""') + line.count("'''")
            if in_docstring or (quotes and line.lstrip().startswith(('"""', "'''"))):
                in_docstring = (in_docstring + quotes) % 2 == 1
                continue
            if not _COMMENT.match(line):
                yield chunk.path, n, line


def _deploy_targets(shape: Shape) -> list[Fact]:
    found: dict[str, tuple[str, int]] = {}
    for path, n, line in _code_lines(shape, _DEPLOY_ANY):
        for pattern, platform in _DEPLOY:
            m = pattern.search(line)
            # The command is a string the code runs: a quote opens before it on its line.
            if platform not in found and m and re.search(r"[\"'`]", line[: m.start() + 1]):
                found[platform] = (path, n)
    return [
        inferred("cloud", f"{platform} (the code runs its deploy command)", path, n)
        for platform, (path, n) in found.items()
    ]


def _memory_mapped(shape: Shape) -> Fact | None:
    for path, n, line in _code_lines(shape, _MMAP):
        if _MMAP.search(line):
            return inferred("storage", "Files on local disk, memory-mapped (mmap)", path, n)
    return None


def _git_repositories(shape: Shape) -> Fact | None:
    for fact in shape.own("dependency"):
        library = _GIT_LIBRARIES.get(fact.name)
        if library is not None and not _NOT_SHIPPED.match(fact.detail):
            return inferred("storage", f"Git repositories, through {library}", fact.path, fact.line)
    return None


def _migration_api(shape: Shape) -> list[Fact]:
    own = {PurePosixPath(p).parts[0] for p in shape.index.records} | {
        PurePosixPath(p).parts[1]
        for p in shape.index.records
        if p.startswith("src/") and "/" in p[4:]
    }
    for path, n, line in _code_lines(shape, re.compile(r"\bMigrations\b")):
        m = _PY_MIGRATIONS.match(line)
        top = m.group(1).split(".")[0] if m else ""
        # A library's API, not the project's own migrations module.
        if m and path.endswith(".py") and top not in own:
            return [inferred("migrations", f"{top.replace('_', '-')} Migrations", path, n)]
    return []
