"""The repository's top-level layout for a Directory Structure field: each top-level directory with
what it holds (code in which language, tests, documentation, configuration), largest first, each
code directory cited at its most-used definition (PageRank of its users). Read from the index's file records; the reader
sees the tree the way `ls` and the repository model see it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from agent.draft.structural import LANGUAGE_NAMES
from agent.ingest.repomodel.model import key_symbols

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

MAX_DIRS = 8
_ROLES = {"code": "code", "tests": "tests", "notes": "documentation", "config": "configuration"}
_NAMED = [
    (re.compile(r"^(examples?|samples?|demos?)$", re.I), "examples"),
    (re.compile(r"^(tests?|testing|testdata|fixtures|spec|specs|e2e|__tests__)$", re.I), "tests"),
    (re.compile(r"^(docs?|documentation|site|website)$", re.I), "documentation"),
    (re.compile(r"^(scripts?|bin|tools)$", re.I), "scripts and tools"),
]


def directory_structure(index: RepoIndex) -> tuple[str, list[tuple[str, int, int]]] | None:
    """ "`src/` (Python code, 120 files) · `tests/` (tests, 80 files) · ...", with citations; None
    for a repository whose files all sit at its root."""
    kinds: dict[str, Counter[str]] = {}
    languages: dict[str, Counter[str]] = {}
    for path, rec in index.records.items():
        if rec.skip is not None or "/" not in path or path.startswith("."):
            continue
        top = path.split("/", 1)[0]
        kinds.setdefault(top, Counter())[rec.kind] += 1
        if rec.kind == "code":
            languages.setdefault(top, Counter())[rec.language] += 1
    if not kinds:
        return None
    model = index.model
    parts: list[str] = []
    cites: list[tuple[str, int, int]] = []
    for top, counted in sorted(kinds.items(), key=lambda kv: -sum(kv[1].values()))[:MAX_DIRS]:
        main = counted.most_common(1)[0][0]
        role = _ROLES.get(main, "other files")
        named = next((r for pattern, r in _NAMED if pattern.match(top)), None)
        if named and main != "code":
            role = named  # examples, scripts, tests by their directory's name
        elif main in ("code", "tests") and languages.get(top):
            # A package with its tests beside its code (Go's *_test.go) is code; a `site/` of
            # code is code whatever its name.
            lang = languages[top].most_common(1)[0][0]
            role = f"{LANGUAGE_NAMES.get(lang, lang)} code"
            files = [p for p in model.by_file if p.startswith(top + "/")]
            top_def = key_symbols(model.by_file, model.ranking, files, 1)
            if top_def:
                sym, path = top_def[0]
                cites.append((path, sym.line, sym.line))
        total = sum(counted.values())
        parts.append(f"`{top}/` ({role}, {total} file{'s' if total != 1 else ''})")
    more = " · …" if len(kinds) > MAX_DIRS else ""
    return " · ".join(parts) + more, cites
