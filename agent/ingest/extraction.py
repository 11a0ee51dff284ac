"""The repository model's per-file extraction, run beside indexing in a second process.

Parsing every code file with tree-sitter and scanning it for routes, tables and clients costs about
a third of a cold index on a tree that is all code. Indexing itself (reading, redacting, chunking,
hashing) is single-process, so on a machine with a second core the extraction runs there, fed in
batches while the main process goes on. A small tree (or one core) extracts in-process: a worker's
start-up would cost more than it saves. Either way each file's FileModel is the same.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from agent.ingest.repomodel.model import FileModel, extract_safely, parses

# Below this much text to parse, a worker process costs more than it saves: spawning one takes
# ~0.5 s (a fresh interpreter importing the grammars); extraction runs ~5 s per million lines.
PARALLEL_MIN_BYTES = 6_000_000
# Files go to the worker in batches of about this much text: few enough round trips that queueing
# costs nothing, small enough that the last batch leaves the main process little to wait for.
BATCH_BYTES = 400_000
# Batches sent and not yet back: if the worker falls behind, the main process waits rather than
# holding the text of the whole tree.
MAX_IN_FLIGHT = 4

Work = tuple[str, str, str]  # path, redacted text, language


def extract_batch(batch: list[Work]) -> list[FileModel | None]:
    """The worker's job: a batch of files' models, in order."""
    return [extract_safely(*work) for work in batch]


def _quiet_worker() -> None:
    # Ctrl-C is the main process's to handle (it reaches the whole process group), and a forked
    # worker must not run the parent's SIGTERM handler (it stops the embedded model's server).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _context() -> multiprocessing.context.BaseContext:
    """fork where it is safe: instant, and it does not re-run the caller's script as spawn does
    (an unguarded script calling build_index would index twice). A process with other threads
    (the MCP server) spawns instead, as a forked child can inherit a lock another thread held."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _cores() -> int:
    """The cores this process may run on (a container's or a taskset's, not the host's); one
    before Python 3.11.5, whose process pool could hang for good when a worker died while a batch
    was being written to it (CPython gh-94777)."""
    if sys.version_info < (3, 11, 5):
        return 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Extraction:
    """Collects the files to extract while indexing runs; `finish` returns every file's model.
    Use it as a context manager: a failed index stops the worker instead of leaving it running."""

    def __init__(self) -> None:
        self._done: dict[str, FileModel | None] = {}
        self._held: list[Work] = []  # until there is enough to parse to start a worker
        self._held_bytes = 0
        self._batch: list[Work] = []
        self._batch_bytes = 0
        # Each sent batch is kept until its result is in, so a worker that dies loses nothing.
        self._pending: deque[tuple[list[Work], Future[list[FileModel | None]]]] = deque()
        self._pool: ProcessPoolExecutor | None = None
        self._tried = False  # a worker is started once at most; after it is gone, in-process

    def __enter__(self) -> Extraction:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close(wait=kind is None)

    @property
    def parallel(self) -> bool:
        """Whether a worker process is doing the extraction."""
        return self._pool is not None

    def add(self, path: str, text: str, language: str) -> None:
        """Queue one file (a file no parser reads is decided here, at once)."""
        work = (path, text, language)
        if not parses(path, language) or (self._tried and self._pool is None):
            self._done[path] = extract_safely(*work)
        elif self._pool is None:
            self._held.append(work)
            self._held_bytes += len(text)
            if self._held_bytes >= PARALLEL_MIN_BYTES and _cores() > 1:
                self._start()
        else:
            self._queue(work)

    def finish(self) -> dict[str, FileModel | None]:
        """Every queued file's model, by path."""
        self._redo(self._held)  # too little to parse for a worker to pay off
        self._held = []
        self._send()
        self._collect(wait=True)
        self._close(wait=True)
        return self._done

    def _start(self) -> None:
        self._tried = True
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=_context(), initializer=_quiet_worker
            )
        except (OSError, ValueError):
            return  # no worker to be had (a sandbox without semaphores): in-process it is
        held, self._held = self._held, []
        for work in held:
            self._queue(work)

    def _queue(self, work: Work) -> None:
        self._batch.append(work)
        self._batch_bytes += len(work[1])
        if self._batch_bytes >= BATCH_BYTES:
            self._send()
            self._collect(wait=False)

    def _send(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return
        if self._pool is not None:
            try:
                self._pending.append((batch, self._pool.submit(extract_batch, batch)))
                return
            except RuntimeError:  # BrokenProcessPool: the worker is gone
                self._close(wait=False)
        self._redo(batch)

    def _collect(self, *, wait: bool) -> None:
        while self._pending and (
            wait or self._pending[0][1].done() or len(self._pending) > MAX_IN_FLIGHT
        ):
            batch, future = self._pending.popleft()
            try:
                models = future.result()
            except Exception as exc:
                # The worker was killed (out of memory, a signal) or could not send a result
                # back: the batch is done here, and nothing is lost but time.
                if isinstance(exc, BrokenProcessPool):
                    self._close(wait=False)
                self._redo(batch)
                continue
            self._done.update(zip((w[0] for w in batch), models, strict=True))

    def _redo(self, batch: list[Work]) -> None:
        self._done.update(zip((w[0] for w in batch), extract_batch(batch), strict=True))

    def _close(self, *, wait: bool) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=wait, cancel_futures=True)
