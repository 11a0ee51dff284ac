"""Recorded HTTP for model calls.

Replay (default): requests are answered from cassettes/ and nothing else; an unmatched request fails.
Record: `DOCAGENT_RECORD=1 pytest -m cassette --allow-hosts=127.0.0.1` starts the embedded model
(llama-cpp-python server, `pip install -e '.[local,dev]'`) once and re-records every cassette against it;
set OPENAI_BASE_URL to record against another OpenAI-compatible server instead.
Auth headers are filtered at record time; tests/test_cassettes_clean.py fails on anything key-like.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr

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


def make_vcr() -> vcr.VCR:
    """The VCR configuration every model test uses."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if RECORD else "none",
        match_on=["method", "scheme", "host", "path", "body"],
        filter_headers=FILTERED_HEADERS,
        decode_compressed_response=True,
        before_record_response=_scrub_response,
    )


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


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Replay (or record) cassettes/<test module>/<test name>.yaml around one test."""
    module = Path(str(request.node.fspath)).stem
    path = Path(module) / f"{request.node.name}.yaml"
    if not RECORD and not (CASSETTES / path).exists():
        pytest.fail(
            f"cassette {path} is missing: record it with DOCAGENT_RECORD=1 (see tests/cassettes.py)"
        )
    if RECORD:
        # vcrpy's "all" mode appends to an existing cassette; a recording starts from nothing.
        (CASSETTES / path).unlink(missing_ok=True)
    with make_vcr().use_cassette(str(path)):
        yield CASSETTES / path
