"""The repository model's extraction in a second process: the same models as in-process, and a
worker that dies loses nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from agent.ingest import extraction
from agent.ingest.extraction import Extraction, extract_one
from agent.ingest.index import build_index
from tests.test_repomodel import GO, PYTHON, RUST, TYPESCRIPT

FILES = {**PYTHON, **TYPESCRIPT, **GO, **RUST}
LANGUAGE = {".py": "python", ".ts": "typescript", ".go": "go", ".rs": "rust", ".toml": "toml"}


def _work() -> list[tuple[str, str, str]]:
    return [
        (path, text, LANGUAGE.get(Path(path).suffix, "text"))
        for path, text in sorted(FILES.items())
    ]


def test_a_worker_extracts_exactly_what_the_main_process_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(extraction, "BATCH_BYTES", 300)  # several batches, results in order
    run = Extraction(expected_bytes=10**9)
    assert run.parallel
    for work in _work():
        run.add(*work)
    models = run.finish()
    assert not run.parallel  # the worker is shut down
    assert models == {path: extract_one(path, text, lang) for path, text, lang in _work()}
    assert any(m is not None and m.interfaces for m in models.values())


def test_a_worker_that_dies_loses_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extraction, "BATCH_BYTES", 300)
    redone: list[str] = []
    real_redo = Extraction._redo

    def redo(self: Extraction, batch: list[tuple[str, str, str]]) -> None:
        redone.extend(w[0] for w in batch)
        real_redo(self, batch)

    monkeypatch.setattr(Extraction, "_redo", redo)
    run = Extraction(expected_bytes=10**9)
    work = _work()
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
    assert redone  # what the dead worker held or was sent afterwards is done here
    assert models == {path: extract_one(path, text, lang) for path, text, lang in work}


def test_a_large_tree_is_indexed_with_a_worker_and_gives_the_same_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path, text in FILES.items():
        (tmp_path / "repo" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "repo" / path).write_text(text, encoding="utf-8")
    inline = build_index(tmp_path / "repo")
    used: list[bool] = []
    real_finish = Extraction.finish

    def finish(self: Extraction) -> dict[str, object]:
        used.append(self.parallel)
        return real_finish(self)  # type: ignore[return-value]

    monkeypatch.setattr(extraction, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(Extraction, "finish", finish)
    monkeypatch.setenv("DOCAGENT_HOME", str(tmp_path / "other-home"))  # a cold index again
    parallel = build_index(tmp_path / "repo")
    assert used == [True]
    assert {p: r.model for p, r in parallel.records.items()} == {
        p: r.model for p, r in inline.records.items()
    }
    assert sorted(i.name for i in parallel.model.interfaces) == sorted(
        i.name for i in inline.model.interfaces
    )
