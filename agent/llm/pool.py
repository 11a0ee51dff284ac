"""Run model calls on a few worker threads that Ctrl-C does not wait for.

`concurrent.futures.ThreadPoolExecutor` joins its workers when the interpreter exits and, leaving a
`with` block on an exception, runs every queued job first: after Ctrl-C a draft kept sending its queued
calls. Here the workers are daemon threads, leaving the block on an exception cancels what is queued
at once, and an HTTP request still in flight is abandoned with the process (the server sees the
connection close).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

R = TypeVar("R")


class CallPool:
    """A fixed number of daemon workers; use as a context manager."""

    def __init__(self, workers: int, on_abort: Callable[[], None] | None = None) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._pending: list[Future[Any]] = []
        self._on_abort = on_abort
        self._threads = [
            threading.Thread(target=self._work, name=f"docagent-call-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, func: Callable[[], R]) -> Future[R]:
        """Queue one job; its future holds the result or the exception."""
        future: Future[R] = Future()
        self._pending.append(future)
        self._jobs.put((future, func))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, func = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func())
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

    def abort(self) -> None:
        """Cancel every queued job and tell the callers' client to stop (in-flight jobs end soon)."""
        for future in self._pending:
            future.cancel()
        if self._on_abort is not None:
            self._on_abort()

    def __enter__(self) -> CallPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        for _ in self._threads:
            self._jobs.put(None)
        if exc_type is None:
            for thread in self._threads:
                thread.join()
