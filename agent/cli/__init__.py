"""The `docagent` command line: parse options, call a function, print. No logic lives here.

Modules that load the openai client, the index or the drafting engine are imported inside the
commands that use them, so `docagent --help` and `--version` start fast. Each command module
registers its commands on the one Typer app when imported here.
"""

from __future__ import annotations

from agent.cli import draft, explore, setup
from agent.cli.app import app

__all__ = ["app", "draft", "explore", "main", "setup"]


def main() -> None:
    """Entry point for `python -m agent`."""
    app()
