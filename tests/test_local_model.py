"""Assembling the embedded model's weights from their chunk packages: concurrent drafts and a bad
download never leave a half-written or foreign file behind."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from agent.base.errors import ModelNotConfiguredError
from agent.llm import local_model
from agent.llm.local_model import WeightSpec, assemble, assembled_path


def _spec(parts: list[bytes], *, sha: str | None = None) -> WeightSpec:
    whole = b"".join(parts)
    return WeightSpec(
        name="tiny",
        description="test weights",
        packages=("tiny-a", "tiny-b"),
        filename="tiny.gguf",
        size=len(whole),
        sha256=sha or hashlib.sha256(whole).hexdigest(),
    )


@pytest.fixture
def chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    monkeypatch.setenv("DOCAGENT_HOME", str(tmp_path / "home"))
    parts = [b"GGUF" + bytes(range(256)) * 4000, bytes(reversed(range(256))) * 3000]
    files = []
    for n, data in enumerate(parts):
        f = tmp_path / f"part{n}.bin"
        f.write_bytes(data)
        files.append(f)
    monkeypatch.setattr(local_model, "_chunk_files", lambda spec: files)
    return parts


def test_drafts_assembling_at_once_each_get_the_whole_verified_file(chunks: list[bytes]) -> None:
    spec = _spec(chunks)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            assert assemble(spec).read_bytes() == b"".join(chunks)
        except BaseException as e:  # reported below: a thread's failure would pass silently
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    folder = assembled_path(spec).parent
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.gguf", "tiny.sha256"]


def test_weights_that_do_not_match_leave_nothing_behind(chunks: list[bytes]) -> None:
    spec = _spec(chunks, sha="0" * 64)
    with pytest.raises(ModelNotConfiguredError, match="do not match"):
        assemble(spec)
    assert list(assembled_path(spec).parent.iterdir()) == []
