"""Where a setting or type a why-question names is declared with a comment that documents it.

"Why is the process count restricted to one without REDIS_COLLABORATION_URL?" is asked about the
code that reads the setting, but the reason is written where the setting is declared ("If not set
then the collaboration service must be ran as a singleton.", above `public
REDIS_COLLABORATION_URL = ...`): a declaration's doc comment is where code records what a name is
for. The code that reads it shares more of the question's words and ranks higher.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.ingest.index import RepoIndex
from agent.ingest.retrieval import Hit

# How much a documented declaration of a name the question asks about weighs against the code
# that only uses the name (bench/why.py --truth).
DECLARED_BOOST = 2.0
# Shorter comments ("// the url") name the thing and say nothing about it.
_MIN_COMMENT = 40
_COMMENT_LINE = re.compile(r"^\s*(?://+|#(?![!\[])|/?\*+|--)")
# Lines between a doc comment and what it documents: decorators and attributes.
_ANNOTATION = re.compile(r"^\s*(?:@\w|#\[)")
_MODIFIERS = (
    r"(?:(?:export|public|private|protected|readonly|static|pub(?:\([^)]*\))?|const|let|var|"
    r"final|def|class|struct|enum|trait|type|interface|fn|func|ENV|ARG)\s+)*"
)


def code_names(names: Iterable[str]) -> list[str]:
    """The names that are identifiers in code: snake or SCREAMING_SNAKE case, inner capitals
    (GitBackend), or quoted as `code`; not words (Docker) or acronyms (WAL, OFFSET)."""
    out = []
    for name in names:
        name = name.strip().strip("`")
        if re.fullmatch(r"[A-Za-z_][\w]*", name) and (
            "_" in name.strip("_") or re.search(r"[a-z][A-Z]", name)
        ):
            out.append(name)
    return list(dict.fromkeys(out))


def documented_at(lines: list[str], start: int, end: int, name: str) -> bool:
    """Whether lines start..end (1-based) declare `name` below a doc comment."""
    declare = re.compile(rf"^\s*{_MODIFIERS}{re.escape(name)}\b\s*(?:[:=(<{{]|$)")
    for n in range(max(1, start), min(end, len(lines)) + 1):
        if not declare.match(lines[n - 1]):
            continue
        above = n - 1
        while above >= 1 and _ANNOTATION.match(lines[above - 1]):
            above -= 1
        said = []
        while above >= 1 and _COMMENT_LINE.match(lines[above - 1]):
            said.append(_COMMENT_LINE.sub("", lines[above - 1]).strip(" */"))
            above -= 1
        if len(" ".join(said).strip()) >= _MIN_COMMENT:
            return True
    return False


def boost_declarations(index: RepoIndex, hits: list[Hit], names: list[str]) -> list[Hit]:
    """The hits re-ranked with the code that declares and documents a named setting or type
    weighing DECLARED_BOOST times its score."""
    names = code_names(names)
    if not names:
        return hits
    rescored = []
    for h in hits:
        c = h.chunk
        score = h.score
        if c.kind in ("code", "config") and any(n in c.text for n in names):
            lines = index.file_lines(c.path) or []
            if any(documented_at(lines, c.start_line, c.end_line, n) for n in names):
                score *= DECLARED_BOOST
        rescored.append((score, h))
    rescored.sort(key=lambda pair: -pair[0])
    return [Hit(h.chunk, s, n) for n, (s, h) in enumerate(rescored)]
