"""The README's pre-commit and GitHub Actions recipes, and the shipped pre-commit hook, run for real
against a drafted repository: the `docagent check` lines they hold pass on a fresh tree and fail on
a stale one, from inside the repository (the path .draft.json recorded is not there in CI); the
scheduled `draft --update` step runs with its environment against a scripted endpoint."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.draft.run import DraftOptions, run_draft
from agent.ingest.index import build_index
from tests.scripted_model import scripted_server
from tests.shop_repo import CONFIG, build, git, write_template

ROOT = Path(__file__).resolve().parent.parent


def _recipes() -> list[dict[str, object]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Keeping the document true", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 3, "the README shows pre-commit, check-on-PR and scheduled-update recipes"
    return [yaml.safe_load(b) for b in blocks]


def _commands() -> list[list[str]]:
    pre_commit, actions, _ = _recipes()
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
    drafted = build(tmp_path / "drafted-here")
    template = write_template(tmp_path)
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


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_scheduled_update_step_redrafts_what_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = _recipes()[2]["jobs"]["update"]["steps"]  # type: ignore[index]
    step = next(s for s in steps if "docagent draft" in s.get("run", ""))
    command = shlex.split(step["run"])
    assert "--update" in command and "-t" not in command  # the last draft's template is reused
    for name, value in step["env"].items():
        monkeypatch.setenv(name, "sk-test" if "secrets." in str(value) else str(value))
    doc = project / "docs/ARCHITECTURE.md"
    before = doc.read_text()
    # The committed document and its record are never evidence of the next draft.
    records = build_index(project).records
    for own in (
        "docs/ARCHITECTURE.md",
        "docs/ARCHITECTURE.draft.json",
        "docs/ARCHITECTURE.review.md",
    ):
        assert str(records[own].skip).startswith("written by docagent"), own
    with scripted_server(lambda body: "{}", max_requests=5) as (url, seen):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        result = CliRunner().invoke(app, command[1:])
        assert result.exit_code == 0, result.output
        assert doc.read_text() == before and seen == []  # nothing changed: nothing asked
        (project / "src/shop/config.py").write_text(CONFIG.replace("localhost", "db.internal"))
        result = CliRunner().invoke(app, command[1:])
        assert result.exit_code == 0, result.output
    # The facts-filled table follows the code; no model was needed for it.
    assert "postgresql://db.internal/shop" in doc.read_text()
    assert seen == []
