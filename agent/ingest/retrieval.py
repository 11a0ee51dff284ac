"""Lexical retrieval: code-aware BM25 (bm25s), intent-aware ranking, and token-budget packing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenized

from agent.ingest.chunking import Chunk

# Splits camelCase, PascalCase, snake_case, kebab-case and paths into words: `getHTTPResponse_v2`
# -> get, HTTP, Response, v, 2.
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "what",
        "why",
        "how",
        "does",
        "do",
        "did",
        "which",
        "who",
        "when",
        "where",
        "we",
        "you",
        "your",
        "our",
        "not",
        "no",
        "can",
        "self",
        "none",
        "true",
        "false",
        "return",
        "def",
        "class",
        "import",
        "from",
        "none",
        "null",
        "var",
        "let",
        "const",
        "function",
        "new",
    ]
)
_stemmer = Stemmer.Stemmer("english")


class _StemCache(dict[str, str]):
    """word -> stem ('' for stopwords); filled on first sight, so the hot loop is one C lookup."""

    def __missing__(self, word: str) -> str:
        stem = (
            ""
            if word in _STOP or (len(word) < 2 and not word.isdigit())
            else _stemmer.stemWord(word)
        )
        self[word] = stem
        return stem


_stems = _StemCache()


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word parts of a text, without stopwords."""
    return list(filter(None, map(_stems.__getitem__, map(str.lower, _WORD_RE.findall(text)))))


class Intent(StrEnum):
    """What a question is after; decides which kinds of evidence weigh more."""

    GENERAL = "general"
    WHY = "why"
    STACK = "stack"


# Multipliers on BM25 scores by evidence kind, per intent.
_WEIGHTS: dict[Intent, dict[str, float]] = {
    Intent.GENERAL: {
        "code": 1.0,
        "notes": 1.15,
        "adr": 1.25,
        "config": 1.0,
        "tests": 0.6,
        "history": 0.8,
        "other": 0.6,
    },
    Intent.WHY: {
        "code": 0.85,
        "notes": 1.4,
        "adr": 1.9,
        "config": 0.7,
        "tests": 0.45,
        "history": 1.35,
        "other": 0.5,
    },
    Intent.STACK: {
        "code": 0.8,
        "notes": 1.0,
        "adr": 1.2,
        "config": 1.9,
        "tests": 0.5,
        "history": 0.5,
        "other": 0.5,
    },
}
_WHY_RE = re.compile(
    r"^\s*why\b|\b(reason|rationale|decid|decision|chose|choice|instead of|trade-?off|motivation)",
    re.I,
)
_STACK_RE = re.compile(
    r"\b(stack|framework|librar|language|database|orm|dependenc|version|ci|pipeline|docker|container|"
    r"deploy|kubernetes|runtime|package|build tool|lint|test framework)",
    re.I,
)


def detect_intent(query: str) -> Intent:
    """Why-questions favour notes/ADRs/history; stack questions favour manifests."""
    if _WHY_RE.search(query):
        return Intent.WHY
    if _STACK_RE.search(query):
        return Intent.STACK
    return Intent.GENERAL


@dataclass
class Hit:
    """A ranked chunk."""

    chunk: Chunk
    score: float
    rank: int

    def to_json(self) -> dict[str, object]:
        """One result as `docagent search --json` prints it."""
        c = self.chunk
        return {
            "rank": self.rank + 1,
            "score": round(self.score, 4),
            "citation": c.citation,
            "path": c.path,
            "start_line": c.start_line,
            "end_line": c.end_line,
            "kind": c.kind,
            "adr": c.is_adr,
            "header_path": c.header_path,
            "tokens": c.tokens,
            "text": c.text,
        }


class Retriever:
    """BM25 over chunk tokens, re-weighted by evidence kind and query intent."""

    def __init__(self, chunks: Sequence[Chunk], token_lists: Sequence[Sequence[str]]) -> None:
        self.chunks = list(chunks)
        self.vocab: dict[str, int] = {}
        ids = []
        vocab = self.vocab
        for tokens in token_lists:
            row = []
            for t in tokens:
                i = vocab.get(t)
                if i is None:
                    i = vocab[t] = len(vocab)
                row.append(i)
            ids.append(row)
        self.bm25 = bm25s.BM25()
        if self.chunks:
            self.bm25.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self._kinds = np.array([_kind_key(c) for c in self.chunks], dtype=object)
        self._paths = [c.path for c in self.chunks]

    def search(
        self,
        query: str,
        k: int = 8,
        *,
        intent: Intent | None = None,
        kinds: set[str] | None = None,
        boost_paths: Sequence[str] = (),
    ) -> list[Hit]:
        """Top-k chunks for a query, best first."""
        if not self.chunks:
            return []
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in self.vocab]
        if not terms:
            return []
        scores = self.bm25.get_scores(terms).astype(np.float64)
        weights = _WEIGHTS[intent or detect_intent(query)]
        factor = np.array([weights.get(kind, 1.0) for kind in self._kinds], dtype=np.float64)
        scores *= factor
        if kinds is not None:
            scores *= np.array([1.0 if _base_kind(kk) in kinds else 0.0 for kk in self._kinds])
        mentioned = {p for p in boost_paths} | _paths_in(query, self._paths)
        if mentioned:
            scores *= np.array([2.0 if p in mentioned else 1.0 for p in self._paths])
        top = np.argsort(-scores)[: max(k, 0)]
        return [
            Hit(self.chunks[i], float(scores[i]), r) for r, i in enumerate(top) if scores[i] > 0
        ]


def _kind_key(chunk: Chunk) -> str:
    return "adr" if chunk.is_adr else chunk.kind


def _base_kind(kind: str) -> str:
    return "notes" if kind == "adr" else kind


def _paths_in(query: str, paths: list[str]) -> set[str]:
    words = {w for w in re.findall(r"[\w./-]+\.\w+", query)}
    if not words:
        return set()
    return {p for p in paths if any(p == w or p.endswith("/" + w) for w in words)}


def pack(hits: Sequence[Hit], budget: int, *, per_file: int = 4) -> list[Hit]:
    """Best-ranked chunks that fit the token budget whole; overlapping spans are not sent twice."""
    chosen: list[Hit] = []
    used = 0
    taken: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        c = hit.chunk
        spans = taken.setdefault(c.path, [])
        if len(spans) >= per_file and c.kind != "history":
            continue
        if any(a <= c.end_line and c.start_line <= b for a, b in spans) and c.kind != "history":
            continue
        cost = c.tokens + 12  # the header line each chunk gets in a prompt
        if used + cost > budget:
            continue
        chosen.append(hit)
        spans.append((c.start_line, c.end_line))
        used += cost
    return chosen


def rerank_by_title(
    hits: Sequence[Hit], query: str, weight: float = 1.0, depth: int = 30
) -> list[Hit]:
    """Re-rank the top hits by how much of the question a document's title covers.

    A decision record's title (its file name and first heading) names the decision; a reviewer's
    question about that decision shares its words more reliably than the body does. Measured on
    bench/why.py (the evidence order of `docagent why`).
    """
    terms = set(tokenize(query))
    if not terms:
        return list(hits)
    head = list(hits[:depth])
    rescored = []
    for h in head:
        title = set(
            tokenize(f"{h.chunk.path.rsplit('/', 1)[-1]} {h.chunk.header_path.split(' > ')[0]}")
        )
        body = set(tokenize(h.chunk.text)) | title
        cover = len(terms & title) / len(terms)
        coverage_all = len(terms & body) / len(terms)
        rescored.append((h.score * (1 + weight * cover + 0.5 * coverage_all), h))
    rescored.sort(key=lambda pair: -pair[0])
    out = [Hit(h.chunk, s, n) for n, (s, h) in enumerate(rescored)]
    return out + [Hit(h.chunk, h.score, n) for n, h in enumerate(hits[depth:], start=len(out))]
