"""`docagent check`: is a drafted document still true of today's tree? No model.

Every drafted value carries verified `path:start-end` citations, and .draft.json keeps a digest of
the cited lines as they were. A citation is **fresh** when those lines still say the same, **moved**
when the same lines now sit elsewhere in the file (the new span is reported; `--fix-moved` writes
it), **stale** when they changed or their file is gone (with the diff since the draft when the
draft's commit is known). A field is as bad as its worst citation; an answered field that cites
nothing is **orphaned**. Values a human reviewed or edited are listed first: someone vouched for them.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from agent.base.errors import UserInputError
from agent.document.markers import find_markers
from agent.draft.answers import Citation
from agent.draft.citations import digest_lines
from agent.draft.outputs import companion_paths
from agent.ingest.file_kinds import classify
from agent.ingest.history import git
from agent.ingest.index import read_lines
from agent.ingest.redact import redact
from agent.ingest.repo import RepoFile

ORDER = {"stale": 0, "orphaned": 1, "moved": 2, "fresh": 3}


@dataclass
class CitationCheck:
    """What became of one citation."""

    citation: Citation
    state: str  # fresh | moved | stale
    moved_to: tuple[int, int] | None = None
    why: str = ""
    diff: str = ""


@dataclass
class FieldCheck:
    """What became of one drafted field."""

    id: str
    label: str
    state: str  # fresh | moved | stale | orphaned
    owner: str  # docagent | reviewed | edited
    citations: list[CitationCheck] = field(default_factory=list)
    line: int = 0  # of its marker in the document
    missing: list[str] = field(default_factory=list)  # `names` in the value the tree lost

    def to_json(self) -> dict[str, Any]:
        """JSON for --json."""
        return {
            "id": self.id,
            "label": self.label,
            "state": self.state,
            "owner": self.owner,
            "line": self.line,
            "missing": self.missing,
            "citations": [
                {
                    "cited": c.citation.label,
                    "state": c.state,
                    "moved_to": list(c.moved_to) if c.moved_to else None,
                    "why": c.why,
                    "diff": c.diff,
                }
                for c in self.citations
            ],
        }


@dataclass
class CheckReport:
    """Every checked field, worst first (human-vouched ones before docagent's own)."""

    document: Path
    repo: Path
    fields: list[FieldCheck]

    @property
    def stale(self) -> list[FieldCheck]:
        """Fields whose evidence changed or went away."""
        return [f for f in self.fields if f.state == "stale"]

    def counts(self) -> dict[str, int]:
        """How many fields are in each state."""
        out = dict.fromkeys(ORDER, 0)
        for f in self.fields:
            out[f.state] += 1
        return out


_SHA = re.compile(r"[0-9a-fA-F]{7,40}")


def safe_ref(ref: object) -> str | None:
    """A commit id from a record, or None: a committed .draft.json is untrusted input, and a
    value like `--output=FILE` would be an option to git."""
    return ref if isinstance(ref, str) and _SHA.fullmatch(ref) else None


class _Tree:
    """Today's files (read once each, as the index reads them: secrets redacted) and the draft
    commit's, for diffs. `own` are the document and its companions: never evidence of a name."""

    def __init__(self, repo: Path, commit: str | None, own: list[str] | None = None) -> None:
        self.repo = repo
        self.commit = safe_ref(commit)
        self._now: dict[str, list[str] | None] = {}
        self._excluded = [f":(exclude){p}" for p in own or []]
        self._then_files: list[str] | None = None

    def lines(self, path: str) -> list[str] | None:
        if path not in self._now:
            self._now[path] = self._read(path)
        return self._now[path]

    def _read(self, path: str) -> list[str] | None:
        rel = PurePosixPath(path)
        if rel.is_absolute() or ".." in rel.parts:
            return None  # a citation outside the repository is no evidence of it
        target = self.repo / path
        if not target.is_file():
            return None
        kind, language, _ = classify(path)
        try:
            # The digests were taken of what the model saw: redacted, as the index reads files.
            return read_lines(self.repo, RepoFile(path, kind, language, target.stat().st_size, 0))
        except OSError:
            return None

    def then(self, path: str) -> list[str] | None:
        if not self.commit:
            return None
        out = git(self.repo, "show", f"{self.commit}:{path}")
        return redact(out, classify(path)[1]).text.split("\n") if out is not None else None

    def has_name(self, name: str) -> bool:
        """Whether a path, file name or identifier (as a whole word) is still in the tree; True
        when it cannot be told (no git)."""
        bare = name.rstrip("/")
        if (self.repo / bare).exists():
            return True
        if "/" in bare:
            return False
        if _FILE_NAME.fullmatch(bare):  # a file name: anywhere in the tree
            listed = git(self.repo, "ls-files")
            return listed is None or any(p.rsplit("/", 1)[-1] == bare for p in listed.split("\n"))
        found = self._grep(bare, None)
        return found is not False  # not found: gone; None (cannot tell): present

    def had_name(self, name: str) -> bool:
        """Whether the name was in the tree at the draft's commit (False when unknown)."""
        if not self.commit:
            return False
        bare = name.rstrip("/")
        if "/" in bare or _FILE_NAME.fullmatch(bare):
            if self._then_files is None:
                listed = git(self.repo, "ls-tree", "-r", "--name-only", self.commit)
                self._then_files = listed.split("\n") if listed else []
            if "/" in bare:
                return any(p == bare or p.startswith(bare + "/") for p in self._then_files)
            return any(p.rsplit("/", 1)[-1] == bare for p in self._then_files)
        return self._grep(bare, self.commit) is True

    def _grep(self, name: str, commit: str | None) -> bool | None:
        """Whether an identifier occurs as a whole word in the tree (or at a commit), outside
        the document and its companions; None when git cannot tell."""
        word = name.removesuffix("()").split(".")[-1] or name
        args = ["grep", "-q", "-w", "-F", "-I", "-e", word, *([commit] if commit else [])]
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.repo), *args, "--", ".", *self._excluded],
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return {0: True, 1: False}.get(proc.returncode)

    def has_commit(self, ref: str) -> bool:
        sha = safe_ref(ref)
        return sha is not None and git(self.repo, "cat-file", "-e", f"{sha}^{{commit}}") is not None


_FILE_NAME = re.compile(r"[\w-]+\.[A-Za-z]{1,5}")


def _same(lines: list[str], start: int, end: int, c: Citation) -> bool:
    span = lines[start - 1 : end]
    if len(span) != end - start + 1:
        return False
    if c.digest:
        return digest_lines(span) == c.digest
    # A draft written before digests were kept: its quote is the start of the cited text.
    quote = _norm(c.quote)
    return bool(quote) and _norm(" ".join(span)).startswith(quote[:100])


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_citation(tree: _Tree, c: Citation) -> CitationCheck:
    """Fresh, moved (with the new span) or stale (with why, and the diff when known)."""
    if c.path.startswith("commit:") or not c.start_line:
        ref = c.path.removeprefix("commit:")
        if tree.has_commit(ref):
            return CitationCheck(c, "fresh")
        return CitationCheck(c, "stale", why=f"commit {ref} is not in the repository")
    lines = tree.lines(c.path)
    if lines is None:
        return CitationCheck(c, "stale", why=f"{c.path} is gone")
    if _same(lines, c.start_line, c.end_line, c):
        return CitationCheck(c, "fresh")
    size = c.end_line - c.start_line + 1
    spots = [n for n in range(1, len(lines) - size + 2) if _same(lines, n, n + size - 1, c)]
    if spots:
        best = min(spots, key=lambda n: abs(n - c.start_line))
        return CitationCheck(c, "moved", moved_to=(best, best + size - 1))
    old = tree.then(c.path)
    diff = ""
    if old is not None:
        before = old[c.start_line - 1 : c.end_line]
        after = lines[c.start_line - 1 : c.end_line]
        diff = "\n".join(
            difflib.unified_diff(
                before, after, f"{c.label} (drafted)", f"{c.label} (now)", lineterm="", n=1
            )
        )
    return CitationCheck(c, "stale", why=f"{c.label} no longer says what was cited", diff=diff)


_CODE = re.compile(r"`([^`\n]{2,80})`")
_NAME = re.compile(r"^\.?[A-Za-z_][\w.]*(\(\))?$|^[\w.-]+(/[\w.-]+)+/?$")


def _names(result: dict[str, Any]) -> list[str]:
    """Backticked paths and identifiers in a drafted value (and its group items)."""
    texts = [json.dumps(result.get("value"), ensure_ascii=False)]
    for item in result.get("items") or []:
        texts += [str(v) for k, v in item.items() if k not in ("citations", "reasons")]
    found = []
    for text in texts:
        for m in _CODE.finditer(text.replace("\\`", "`")):
            name = m.group(1).strip()
            if _NAME.match(name) and name not in found:
                found.append(name)
    return found


def _citations(result: dict[str, Any]) -> list[Citation]:
    raw = list(result.get("citations") or [])
    for item in result.get("items") or []:
        raw += item.get("citations") or []
    return [Citation.model_validate(c) for c in raw]


def load_record(doc: Path) -> tuple[str, dict[str, Any]]:
    """The document's text and its .draft.json (one-line errors when either is missing or bad)."""
    if not doc.is_file():
        raise UserInputError(f"{doc}: no such document")
    companion = companion_paths(doc)["draft_json"]
    try:
        data = json.loads(companion.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(
            f"{companion}: missing; `docagent check` reads the draft's record next to the document",
            hint="Run it on a document docagent wrote (its .draft.json is written beside it).",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"{companion}: not readable as JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise UserInputError(f"{companion}: not a docagent draft record (no fields)")
    return doc.read_text(encoding="utf-8"), data


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name  # outside the repository: it cannot be matched anyway


def _default_repo(doc: Path, data: dict[str, Any]) -> Path:
    # The path recorded at draft time is another machine's in CI: then the work tree holding the
    # document is the repository.
    recorded = Path(str(data.get("repository") or ""))
    if str(recorded) not in ("", ".") and recorded.is_dir():
        return recorded
    top = git(doc.resolve().parent, "rev-parse", "--show-toplevel")
    return Path(top.strip()) if top else Path(".")


def check_document(doc: Path, repo: Path | None = None) -> CheckReport:
    """Check every drafted field of a document against the repository as it is now."""
    text, data = load_record(doc)
    root = repo or _default_repo(doc, data)
    if not root.is_dir():
        raise UserInputError(
            f"--repo {root}: not a directory", hint="Give the repository the document describes."
        )
    own = [doc, *companion_paths(doc).values()]
    tree = _Tree(root, data.get("commit"), [_relative(p, root) for p in own])
    found = find_markers(text)
    markers = {**found.orphans, **found.markers}
    out: list[FieldCheck] = []
    for result in data["fields"]:
        fid = str(result.get("id"))
        if result.get("status") != "answered" or result.get("source") in ("human", "none"):
            continue
        marker = markers.get(fid)
        owner = "docagent"
        if marker is not None and not marker.untouched:
            owner = "reviewed" if marker.state == "reviewed" else "edited"
        checks = [check_citation(tree, c) for c in _citations(result)]
        # Only a name that was there when drafted and is gone now is a change; a value that
        # named something the tree never had (an example path in prose) is the draft's matter.
        missing = [n for n in _names(result) if not tree.has_name(n) and tree.had_name(n)]
        states = {c.state for c in checks}
        state = (
            "orphaned"
            if not checks
            else "stale"
            if "stale" in states or missing
            else "moved"
            if "moved" in states
            else "fresh"
        )
        line = text.count("\n", 0, marker.start) + 1 if marker is not None else 0
        out.append(
            FieldCheck(fid, str(result.get("label", fid)), state, owner, checks, line, missing)
        )
    out.sort(key=lambda f: (ORDER[f.state], f.owner == "docagent", f.line))
    return CheckReport(doc, root, out)


def github_annotations(report: CheckReport) -> list[str]:
    """`::warning file=...,line=...::` lines for CI (stale and orphaned fields)."""
    lines = []
    for f in report.fields:
        if f.state not in ("stale", "orphaned"):
            continue
        whys = list(dict.fromkeys(c.why for c in f.citations if c.why))
        whys += [f"`{n}` is no longer in the repository" for n in f.missing]
        why = "; ".join(whys) or "cites nothing"
        who = "" if f.owner == "docagent" else f" ({f.owner} by a human)"
        message = f"{f.label}{who} is {f.state}: {why}".replace("\n", " ").replace("::", ": ")
        lines.append(f"::warning file={report.document},line={max(1, f.line)}::{message}")
    return lines
