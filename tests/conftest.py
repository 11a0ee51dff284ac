"""Shared fixtures. The suite is offline: pytest-socket blocks every socket (see pyproject)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm.calllog import CallLog
from agent.llm.client import ModelClient
from agent.llm.settings import ModelSettings, StructuredMode

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("architecture-overview", "architecture-component")


@pytest.fixture(autouse=True)
def docagent_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own DOCAGENT_HOME: no state leaks between tests or from the machine."""
    home = tmp_path_factory.mktemp("docagent-home")
    monkeypatch.setenv("DOCAGENT_HOME", str(home))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DOCAGENT_MODEL", "DOCAGENT_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    yield home


def update_golden() -> bool:
    """Golden files are rewritten only when asked: UPDATE_GOLDEN=1 pytest."""
    return os.environ.get("UPDATE_GOLDEN") == "1"


from tests.cassettes import (  # noqa: E402, F401  (fixtures)
    _cassette_exists,
    model_base_url,
    vcr_cassette_dir,
    vcr_config,
)
from tests.fake_server import fake_server  # noqa: E402, F401  (fixture)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The fixture repository (tests/fixture_repo.py), built fresh for one test."""
    from tests import fixture_repo

    return fixture_repo.build(tmp_path / "inventory")


def recorded_client(
    base_url: str, mode: StructuredMode = StructuredMode.JSON_OBJECT
) -> ModelClient:
    """A client for cassette tests: the embedded model's name and json_object mode, one call at a time."""
    settings = ModelSettings(
        base_url=base_url,
        embedded=False,
        model="qwen2.5-coder-0.5b",
        mode=mode,
        max_retries=0,
        max_concurrency=1,
    )
    return ModelClient(settings, log=CallLog(), sleep=lambda s: None)
