"""Who owns a path, from the repository's CODEOWNERS file (GitHub and GitLab syntax): the last
pattern that matches wins, as on GitHub. Each answer carries the line it was read from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pathspec

if TYPE_CHECKING:
    from agent.index import RepoIndex

# Where GitHub and GitLab look for the file, in their order of precedence.
LOCATIONS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line."""

    pattern: str
    owners: tuple[str, ...]
    path: str
    line: int

    def matches(self, path: str) -> bool:
        """gitignore matching (pathspec), but for `dir/*`: on GitHub it owns the directory's own
        files, not its subdirectories'."""
        if self.pattern.endswith("/*") and "/" in path[len(self.pattern.lstrip("/")) - 1 :]:
            return False
        return _spec(self.pattern).match_file(path)


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
            # GitLab section headers ("[Docs]") and lines without owners assign nobody.
            parts = text.split()
            if len(parts) < 2 or text.startswith("["):
                continue
            found.append(Rule(parts[0], tuple(parts[1:]), location, n))
        return found
    return []


def owner(found: list[Rule], path: str) -> Rule | None:
    """The rule that assigns `path`: the last one matching."""
    return next((r for r in reversed(found) if r.matches(path)), None)
