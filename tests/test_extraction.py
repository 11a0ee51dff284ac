"""The repository model's extraction in a second process: the same models as in-process, a small
tree never starts a worker, and a worker that dies loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from agent.ingest import extraction
from agent.ingest.extraction import Extraction
from agent.ingest.index import build_index
from agent.ingest.repomodel.model import extract_safely
from tests.test_repomodel import GO, PYTHON, RUST, TYPESCRIPT

FILES = {**PYTHON, **TYPESCRIPT, **GO, **RUST}
LANGUAGE = {".py": "python", ".ts": "typescript", ".go": "go", ".rs": "rust", ".toml": "toml"}
Work = tuple[str, str, str]


def _work() -> list[Work]:
    return [
        (path, text, LANGUAGE.get(Path(path).suffix, "text"))
        for path, text in sorted(FILES.items())
    ]


def _expected(work: list[Work]) -> dict[str, object]:
    return {path: extract_safely(path, text, lang) for path, text, lang in work}


@pytest.fixture(params=["fork", "spawn"])
def worker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A worker for any tree (both ways of starting one), on two cores; records each batch the
    main process had to extract itself, so a test knows the worker did the work."""
    monkeypatch.setattr(extraction, "PARALLEL_MIN_BYTES", 300)
    monkeypatch.setattr(extraction, "BATCH_BYTES", 300)
    monkeypatch.setattr(extraction, "_cores", lambda: 2)
    monkeypatch.setattr(extraction, "_context", lambda: multiprocessing.get_context(request.param))
    redone: list[str] = []
    real_redo = Extraction._redo

    def redo(self: Extraction, batch: list[Work]) -> None:
        redone.extend(w[0] for w in batch)
        real_redo(self, batch)

    monkeypatch.setattr(Extraction, "_redo", redo)
    return redone


def test_a_worker_extracts_exactly_what_the_main_process_would(worker: list[str]) -> None:
    work = _work()
    with Extraction() as run:
        for item in work:
            run.add(*item)
        assert run.parallel
        models = run.finish()
    assert not run.parallel  # the worker is shut down
    assert worker == []  # every parsed file came back from the worker
    assert models == _expected(work)
    assert any(m is not None and m.interfaces for m in models.values())


def test_a_small_tree_is_extracted_in_process() -> None:
    work = _work()
    with Extraction() as run:
        for item in work:
            run.add(*item)
        assert not run.parallel
        assert run.finish() == _expected(work)


def test_a_worker_that_dies_loses_no_file(worker: list[str]) -> None:
    work = _work()
    with Extraction() as run:
        sent = 0
        while not run._pending:  # until a batch is sent: the worker process exists then
            run.add(*work[sent])
            sent += 1
        pool = run._pool
        assert pool is not None
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        for item in work[sent:]:
            run.add(*item)
        models = run.finish()
    assert worker  # what the dead worker held is done here
    assert models == _expected(work)


def test_a_large_tree_is_indexed_with_a_worker_and_gives_the_same_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: list[str]
) -> None:
    for path, text in FILES.items():
        (tmp_path / "repo" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / path).write_text(text, encoding="utf-8")
    parallel = build_index(tmp_path / "repo")
    assert worker == []
    monkeypatch.setattr(extraction, "_cores", lambda: 1)
    monkeypatch.setenv("DOCAGENT_HOME", str(tmp_path / "other-home"))  # a cold index again
    inline = build_index(tmp_path / "repo")
    assert worker  # the one-core index extracted in-process
    assert {p: r.model for p, r in parallel.records.items()} == {
        p: r.model for p, r in inline.records.items()
    }
    assert sorted(i.name for i in parallel.model.interfaces) == sorted(
        i.name for i in inline.model.interfaces
    )
