"""The README's command reference is `docagent ... --help` output; this fails when they drift.

Regenerate with: UPDATE_README=1 pytest tests/test_readme.py
"""

from __future__ import annotations

import os
import re

from typer.testing import CliRunner

from agent.cli import app
from tests.conftest import ROOT

COMMANDS = [
    [],
    ["draft"],
    ["why"],
    ["index"],
    ["map"],
    ["search"],
    ["templates", "list"],
    ["templates", "show"],
    ["models"],
    ["log"],
]
START, END = "<!-- commands:start -->", "<!-- commands:end -->"


def reference() -> str:
    runner = CliRunner()
    parts = []
    for cmd in COMMANDS:
        result = runner.invoke(
            app,
            [*cmd, "--help"],
            env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
            prog_name="docagent",
        )
        assert result.exit_code == 0, result.output
        text = "\n".join(line.rstrip() for line in result.output.strip().split("\n"))
        parts.append(
            f"### `docagent {' '.join(cmd)}`\n\n```text\n{text}\n```\n".replace(
                "docagent `", "docagent`"
            )
        )
    return "\n".join(parts)


def test_readme_command_reference_matches_help() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = f"{START}\n{reference()}{END}"
    current = re.search(re.escape(START) + ".*?" + re.escape(END), readme, re.S)
    assert current, "README.md has no command reference markers"
    if os.environ.get("UPDATE_README") == "1":
        (ROOT / "README.md").write_text(readme.replace(current.group(0), block), encoding="utf-8")
        return
    assert current.group(0) == block, (
        "README command reference is stale: UPDATE_README=1 pytest tests/test_readme.py"
    )


def test_readme_has_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[local]' && docagent draft" in readme
    assert "pip install -e '.[dev]' && npm ci --prefix tests/mermaid && pytest" in readme
