"""The repository model's per-file extraction, run beside indexing in a second process.

Parsing every code file with tree-sitter and scanning it for routes, tables and clients costs about
a third of a cold index on a tree that is all code. Indexing itself (reading, redacting, chunking,
hashing) is single-process, so on a machine with a second core the extraction runs there, fed in
batches while the main process goes on; small trees (or one core) extract in-process, where a
worker's start-up would cost more than it saves. Either way each file's FileModel is the same.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from agent.ingest.repomodel.model import FileModel, extract_file

# Below this much text to extract, a worker process costs more than it saves: starting one takes
# ~0.5 s (a fresh interpreter importing the grammars); extraction runs ~5 s per million lines.
PARALLEL_MIN_BYTES = 6_000_000
# Files go to the worker in batches of about this much text: few enough round trips that queueing
# costs nothing, small enough that the last batch leaves the main process little to wait for.
BATCH_BYTES = 400_000

Work = tuple[str, str, str]  # path, redacted text, language


def extract_one(path: str, text: str, language: str) -> FileModel | None:
    """One file's model; a parser's bug is the file's skip reason, never an indexing failure."""
    try:
        return extract_file(path, text, language)
    except Exception as exc:
        # The file is still indexed for search, only its structure is unknown (counted in
        # `docagent map`).
        return FileModel(skipped=f"model extraction failed ({type(exc).__name__})")


def extract_batch(batch: list[Work]) -> list[FileModel | None]:
    """The worker's job: a batch of files' models, in order."""
    return [extract_one(*work) for work in batch]


def _context() -> multiprocessing.context.BaseContext:
    """fork where it is safe: instant, and it does not re-run the caller's script as spawn does
    (an unguarded script calling build_index would index twice). A process with other threads
    (the MCP server) spawns instead, as a forked child can inherit a lock another thread held."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class Extraction:
    """Collects the files to extract while indexing runs; `finish` returns every file's model."""

    def __init__(self, expected_bytes: int) -> None:
        self._done: dict[str, FileModel | None] = {}
        # Each sent batch is kept until its result is in, so a worker that dies loses nothing.
        self._pending: list[tuple[list[Work], Future[list[FileModel | None]]]] = []
        self._batch: list[Work] = []
        self._batch_bytes = 0
        self._pool: ProcessPoolExecutor | None = None
        if expected_bytes >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_context())

    @property
    def parallel(self) -> bool:
        """Whether a worker process does the extraction."""
        return self._pool is not None

    def add(self, path: str, text: str, language: str) -> None:
        """Queue one file (extracted now when there is no worker)."""
        if self._pool is None:
            self._done[path] = extract_one(path, text, language)
            return
        self._batch.append((path, text, language))
        self._batch_bytes += len(text)
        if self._batch_bytes >= BATCH_BYTES:
            self._send()
            self._collect(wait=False)

    def finish(self) -> dict[str, FileModel | None]:
        """Every queued file's model, by path."""
        self._send()
        self._collect(wait=True)
        self._close()
        return self._done

    def _send(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return
        if self._pool is not None:
            try:
                self._pending.append((batch, self._pool.submit(extract_batch, batch)))
                return
            except (BrokenProcessPool, RuntimeError, OSError):
                self._close()  # the worker is gone: this and later batches run here
        self._redo(batch)

    def _collect(self, *, wait: bool) -> None:
        while self._pending and (wait or self._pending[0][1].done()):
            batch, future = self._pending.pop(0)
            try:
                models = future.result()
            except (BrokenProcessPool, OSError):
                # The worker was killed (out of memory, a signal): nothing is lost but time.
                self._close()
                self._redo(batch)
                continue
            self._done.update(zip((w[0] for w in batch), models, strict=True))

    def _redo(self, batch: list[Work]) -> None:
        for work in batch:
            self._done[work[0]] = extract_one(*work)

    def _close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)
