"""Git history as evidence: commit messages are where the "why" often lives.

Uses the git CLI. A directory that is not a git work tree simply has no history.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from agent.ingest.redact import Redaction, redact

_RS, _US = "\x1e", "\x1f"
_FORMAT = f"{_RS}%H{_US}%an{_US}%aI{_US}%s{_US}%b{_US}"


@dataclass
class Commit:
    """One commit: hash, author, ISO date, subject, body (secrets redacted) and touched files."""

    sha: str
    author: str
    date: str
    subject: str
    body: str
    files: list[str] = field(default_factory=list)
    # Secrets replaced in the message (line 1 is the subject, the body starts on line 3).
    redactions: list[Redaction] = field(default_factory=list)

    @property
    def short(self) -> str:
        """The 10-character abbreviation used in citations."""
        return self.sha[:10]

    @property
    def message(self) -> str:
        """Subject and body as one text."""
        return f"{self.subject}\n\n{self.body}".strip()


def git(root: Path, *args: str, timeout: int = 120) -> str | None:
    """stdout of `git -C root ARGS`, or None when git fails or is missing."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def head(root: Path) -> str | None:
    """The HEAD commit sha, or None."""
    out = git(root, "rev-parse", "--verify", "-q", "HEAD")
    return out.strip() if out else None


def _parse(out: str, with_files: bool) -> list[Commit]:
    commits = []
    for record in out.split(_RS)[1:]:
        parts = record.split(_US)
        if len(parts) < 6:
            continue
        sha, author, date, subject, body, rest = parts[:6]
        files = [line for line in rest.split("\n") if line.strip()] if with_files else []
        subject_r, body_r = redact(subject), redact(body.strip())
        found = subject_r.found + [Redaction(r.kind, r.line + 2) for r in body_r.found]
        commits.append(Commit(sha, author, date, subject_r.text, body_r.text, files, found))
    return commits


def log(root: Path, *, limit: int = 2000, paths: list[str] | None = None) -> list[Commit]:
    """Newest-first commits (bounded) with the files each touched; [] without git."""
    args = [
        "log",
        f"--max-count={limit}",
        "--no-color",
        "--no-merges",
        "--name-only",
        f"--format={_FORMAT}",
        "--relative",
    ]
    if paths:
        args += ["--", *paths]
    out = git(root, *args)
    return _parse(out, with_files=True) if out else []


def blame_commits(root: Path, path: str, start: int, end: int) -> list[Commit]:
    """Commits that last touched lines start..end of path (most lines first), with messages."""
    out = git(root, "blame", "--porcelain", "-w", "-L", f"{start},{end}", "--", path)
    if not out:
        return []
    counts: dict[str, int] = {}
    for line in out.split("\n"):
        m = re.match(r"^([0-9a-f]{40}) \d+ \d+", line)
        if m and not m.group(1).startswith("0000000"):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    ordered = sorted(counts, key=lambda sha: -counts[sha])
    return show(root, ordered)


def line_log(root: Path, path: str, start: int, end: int, *, limit: int = 20) -> list[Commit]:
    """Every commit that changed lines start..end of path over time (git log -L), newest first."""
    out = git(
        root,
        "log",
        f"--max-count={limit}",
        "--no-color",
        "--no-patch",
        f"-L{start},{end}:{path}",
        f"--format={_FORMAT}",
    )
    return _parse(out, with_files=False) if out else []


def show(root: Path, shas: list[str]) -> list[Commit]:
    """Commits by sha, in the order given."""
    if not shas:
        return []
    out = git(root, "show", "-s", "--no-color", f"--format={_FORMAT}", *shas)
    found = {c.sha: c for c in _parse(out, with_files=False)} if out else {}
    return [found[s] for s in shas if s in found]
