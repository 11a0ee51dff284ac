"""The BM25 search index over a repository's evidence: every file's chunks and its commit
messages, with each file's tokens kept beside the index so a changed file re-tokenizes alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.base import tokens
from agent.ingest.chunking import Chunk
from agent.ingest.history import Commit
from agent.ingest.index_cache import load, save
from agent.ingest.retrieval import Retriever, tokenize

if TYPE_CHECKING:
    from agent.ingest.index import FileRecord


def commit_chunk(c: Commit) -> Chunk:
    """A commit message as a piece of evidence (cited by its short sha)."""
    files = ", ".join(c.files[:15]) + (f" (+{len(c.files) - 15} more)" if len(c.files) > 15 else "")
    text = f"commit {c.short} ({c.date[:10]}, {c.author})\n{c.message}\n\nFiles: {files}"
    return Chunk(
        path=f"commit:{c.short}",
        start_line=0,
        end_line=0,
        kind="history",
        language="git",
        text=text,
        header_path=c.subject,
        hash=c.sha,
    )


def build_retriever(
    base: Path,
    records: dict[str, FileRecord],
    fresh: list[str],
    commits: list[Commit],
) -> Retriever:
    cached_tokens: dict[str, list[list[str]]] = load(base / "tokens.pkl") or {}
    token_map: dict[str, list[list[str]]] = {}
    chunks: list[Chunk] = []
    token_lists: list[list[str]] = []
    fresh_set = set(fresh)
    for path in sorted(records):
        rec = records[path]
        if rec.skip:
            continue
        toks = cached_tokens.get(path) if path not in fresh_set else None
        if toks is None or len(toks) != len(rec.chunks):
            toks = [tokenize(f"{c.path} {c.header_path} {c.text}") for c in rec.chunks]
        token_map[path] = toks
        chunks += rec.chunks
        token_lists += toks
    history_chunks = [commit_chunk(c) for c in commits]
    for c, n in zip(
        history_chunks, tokens.count_many([c.text for c in history_chunks]), strict=True
    ):
        c.tokens = n
    chunks += history_chunks
    token_lists += [tokenize(c.text) for c in history_chunks]
    save(base / "tokens.pkl", token_map)
    return Retriever(chunks, token_lists)
