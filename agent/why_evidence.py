"""The evidence a why-question gets: the repository ranked for it (a decision record that covers the question puts its own lines first; a setting or type it names weighs more where documented), the commits and code behind --at lines first, packed into a token budget; and the names a question asks about that the repository never mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.base.errors import (
    UserInputError,
)
from agent.declared import boost_declarations
from agent.draft.evidence import Evidence
from agent.draft.recorded import record_matches
from agent.ingest import history
from agent.ingest.index import RepoIndex
from agent.ingest.retrieval import Hit, Intent, pack, rerank_by_title, tokenize
from agent.ingest.search_index import commit_chunk

# Measured on the 0.5B model: with more evidence it quoted the question instead of the evidence.
WHY_EVIDENCE_TOKENS = 1100


# How much of a question a recorded reason must cover to lead the evidence.
RECORD_FIRST = 0.7


@dataclass
class Location:
    """`--at FILE:LINE[-LINE]`."""

    path: str
    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Location:
        """Parse FILE:LINE or FILE:START-END."""
        m = re.fullmatch(r"(.+?):(\d+)(?:-(\d+))?", text.strip())
        if not m:
            raise UserInputError(
                f"--at {text!r}: expected FILE:LINE or FILE:START-END, e.g. src/app.py:40-52"
            )
        start, end = int(m.group(2)), int(m.group(3) or m.group(2))
        if end < start or start < 1:
            raise UserInputError(f"--at {text!r}: the line range is empty")
        return cls(m.group(1).removeprefix("./"), start, end)


def ranked_hits(
    index: RepoIndex, question: str, at: Location | None = None, k: int = 30
) -> list[Hit]:
    """The repository ranked for a why-question: one search, shared by the evidence and the
    decision-record match."""
    query = question + (f" {at.path}" if at else "")
    hits = rerank_by_title(index.search(query, k, intent=Intent.WHY), question)
    # A named setting's reason is written where it is declared, not where it is read.
    names = question_names(question) + re.findall(r"\b\w+_\w+\b", question)
    hits = boost_declarations(index, hits, names)
    # A recorded reason that covers most of the question puts its own lines first: the decision
    # records, matched on the reasons alone, re-rank the search's hits (bench/why.py --truth). A
    # record whose lines the search did not reach is not added.
    for m in reversed(record_matches(index, question, RECORD_FIRST)):
        d, p = m.decision, m.passage
        at_lines = [
            h
            for h in hits
            if h.chunk.path == d.path
            and (p.start == 0 or (h.chunk.start_line <= p.end and p.start <= h.chunk.end_line))
        ]
        if at_lines:
            hits = at_lines[:1] + [h for h in hits if h is not at_lines[0]]
    return hits


def gather(
    index: RepoIndex,
    question: str,
    at: Location | None = None,
    budget: int = WHY_EVIDENCE_TOKENS,
    k: int = 20,
    hits: list[Hit] | None = None,
) -> list[Evidence]:
    """Evidence for a why-question: with --at, the commits behind those lines and the code around them
    first; then notes, ADRs, commits and code ranked for "why" (`hits`: that ranking, if made)."""
    chunks = []
    if at is not None:
        if at.path not in index.paths():
            raise UserInputError(f"--at {at.path}: not a file docagent indexes in {index.root}")
        total = len(index.file_lines(at.path) or [])
        if at.end > total:
            raise UserInputError(
                f"--at {at.path}:{at.start}-{at.end}: the file has {total} lines.",
                hint=f"Give lines between 1 and {total}.",
            )
        if index.is_git:
            shas = [c.sha for c in history.blame_commits(index.root, at.path, at.start, at.end)]
            shas += [
                c.sha
                for c in history.line_log(index.root, at.path, at.start, at.end)
                if c.sha not in shas
            ]
            for sha in shas[:4]:
                commit = index.commit(sha) or next(iter(history.show(index.root, [sha])), None)
                if commit is not None:
                    c = commit_chunk(commit)
                    c.tokens = len(c.text) // 4
                    chunks.append(c)
        chunks += [
            c
            for c in index.chunks
            if c.path == at.path and c.start_line <= at.end and at.start <= c.end_line
        ]
    hits = (ranked_hits(index, question, at, max(k, 30)) if hits is None else hits)[:k]

    ranked = [Hit(c, 1e9, n) for n, c in enumerate(chunks)] + hits
    unique: dict[str, Hit] = {}
    for h in ranked:
        unique.setdefault(h.chunk.citation, h)
    chosen = pack(list(unique.values()), budget)
    return [Evidence.from_hit(n, h) for n, h in enumerate(chosen, start=1)]


def question_names(question: str) -> list[str]:
    """Names a question asks about: `code`, capitalised words and CamelCase, not question words."""
    names = re.findall(r"`([^`]+)`", question)
    names += [
        w
        for w in re.findall(r"\b[A-Z][A-Za-z0-9]+\b", question)
        if w.lower() not in {"why", "what", "how", "is", "does", "the", "we", "i"}
    ]
    return names


def absent_names(index: RepoIndex, question: str) -> list[str]:
    """Names in the question (capitalised, CamelCase or `code`) that the repository never mentions."""
    vocab = index.retriever.vocab
    missing = []
    for name in question_names(question):
        terms = tokenize(name)
        if terms and all(t not in vocab for t in terms):
            missing.append(name)
    return missing
