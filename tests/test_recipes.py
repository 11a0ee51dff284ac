"""The README's pre-commit and GitHub Actions recipes, and the shipped pre-commit hook, run for real
against a drafted repository: the `docagent check` lines they hold pass on a fresh tree and fail on
a stale one, from inside the repository (the path .draft.json recorded is not there in CI)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.draft import DraftOptions, run_draft
from tests.shop_repo import CONFIG, FILES, TEMPLATE, git

ROOT = Path(__file__).resolve().parent.parent


def _recipes() -> list[dict[str, object]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Keeping the document true", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README shows a pre-commit and a GitHub Actions recipe"
    return [yaml.safe_load(b) for b in blocks]


def _commands() -> list[list[str]]:
    pre_commit, actions = _recipes()
    hooks = pre_commit["repos"][0]["hooks"]  # type: ignore[index]
    found = [shlex.split(h["entry"]) for h in hooks]
    steps = actions["jobs"]["check"]["steps"]  # type: ignore[index]
    found += [shlex.split(s["run"]) for s in steps if "docagent check" in s.get("run", "")]
    shipped = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    found += [shlex.split(h["entry"]) + h["args"] for h in shipped]
    assert len(found) == 3 and all(c[:2] == ["docagent", "check"] for c in found)
    return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with its drafted document committed, moved to another path (as in CI)."""
    drafted = tmp_path / "drafted-here"
    for rel, text in {**FILES, "src/shop/config.py": CONFIG}.items():
        (drafted / rel).parent.mkdir(parents=True, exist_ok=True)
        (drafted / rel).write_text(text, encoding="utf-8")
    git(drafted, "init", "-q", "-b", "main")
    git(drafted, "add", ".")
    git(drafted, "commit", "-q", "-m", "Shop")
    template = tmp_path / "template.md"
    template.write_text(TEMPLATE, encoding="utf-8")
    output = drafted / "docs/ARCHITECTURE.md"
    run_draft(drafted, DraftOptions(template=str(template), output=output), None)
    git(drafted, "add", ".")
    git(drafted, "commit", "-q", "-m", "Architecture document")
    checkout = tmp_path / "ci-checkout"
    os.rename(drafted, checkout)
    monkeypatch.chdir(checkout)
    return checkout


def test_every_recipe_passes_on_a_fresh_tree_and_fails_on_a_stale_one(project: Path) -> None:
    runner = CliRunner()
    for command in _commands():
        result = runner.invoke(app, command[1:])
        assert result.exit_code == 0, (command, result.output)
    (project / "src/shop/config.py").write_text(CONFIG.replace("localhost", "db.internal"))
    for command in _commands():
        result = runner.invoke(app, command[1:])
        assert result.exit_code == 1, (command, result.output)
    github = next(c for c in _commands() if "--github" in c)
    result = runner.invoke(app, github[1:])
    assert result.output.startswith("::warning file=docs/ARCHITECTURE.md,line=")
    assert "src/shop/config.py:5-5 no longer says what was cited" in result.output
