"""Walk a repository: which files are evidence, what kind each is, and why the others were skipped."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from agent.base.errors import RepositoryError
from agent.ingest.file_kinds import (
    FileKind,
    classify,
    generated_head,
    is_secret_file,
    not_source,
)

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
    if listed == [] and any(base.iterdir()):
        # Git ignores everything here (a vendored or build tree inside a work tree, a virtualenv's
        # site-packages): the user pointed at it, so it is read as a plain directory, its own
        # .gitignore files still honoured, rather than indexed as empty.
        listed = None
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
    reason = not_source(parts)
    if reason:
        result.skip(rel, reason)
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
    if generated_head(head_lines):
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
