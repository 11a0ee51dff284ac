"""Mermaid's own parser (the `mermaid` npm package under Node, tests/mermaid/), for the tests that
check docagent's generated diagrams. Install it with `npm ci --prefix tests/mermaid`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "mermaid"


def parse(diagrams: list[str]) -> list[dict[str, str]]:
    """One result per diagram: {"type": diagram type} or {"error": Mermaid's message}."""
    node = shutil.which("node")
    if node is None:
        # CI installs Node: there a missing parser is a failure, not a skip.
        if os.environ.get("DOCAGENT_REQUIRE_MERMAID") == "1":
            pytest.fail("Node.js is not installed: the Mermaid parser check needs it")
        pytest.skip("Node.js is not installed: the Mermaid parser check needs it")
    if not (HERE / "node_modules" / "mermaid").is_dir():
        pytest.fail("the Mermaid parser is not installed: run `npm ci --prefix tests/mermaid`")
    done = subprocess.run(
        [node, str(HERE / "parse.mjs")],
        input=json.dumps(diagrams),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results
