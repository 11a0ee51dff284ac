"""Who owns a path, from the repository's CODEOWNERS file (GitHub and GitLab syntax): the last
pattern that matches wins, as on GitHub. Each answer carries the line it was read from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pathspec

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

# Where GitHub looks for the file, in its order (the first found is used); then GitLab's own.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line."""

    pattern: str
    owners: tuple[str, ...]
    path: str
    line: int

    def matches(self, path: str) -> bool:
        """gitignore matching (pathspec), but for `dir/*`: on GitHub it owns the directory's own
        files, not its subdirectories' (a path under a directory the pattern matches is not
        owned by it). `**` patterns keep gitignore's meaning."""
        spec = _spec(self.pattern)
        if not spec.match_file(path):
            return False
        if self.pattern.endswith("/*") and "**" not in self.pattern and "/" in path:
            return not spec.match_file(path.rsplit("/", 1)[0])
        return True


@functools.lru_cache(maxsize=512)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([pattern])


def rules(index: RepoIndex) -> list[Rule]:
    """The rules of the first CODEOWNERS file the repository has (none: an empty list)."""
    for location in LOCATIONS:
        lines = index.file_lines(location) if location in index.records else None
        if lines is None:
            continue
        found = []
        for n, raw in enumerate(lines, start=1):
            text = raw.split("#", 1)[0].strip()
            # GitLab section headers ("[Docs]") are no rule; a pattern without owners is one:
            # on GitHub it leaves its paths unowned.
            parts = text.split()
            if not parts or text.startswith("["):
                continue
            found.append(Rule(parts[0], tuple(parts[1:]), location, n))
        return found
    return []


def owner(found: list[Rule], path: str) -> Rule | None:
    """The rule that assigns `path`: the last one matching (its owners may be none)."""
    return next((r for r in reversed(found) if r.matches(path)), None)
