"""`docagent check`: a drafted document against today's tree, no model. A fixture repository with
real git history: a cited line edited (stale), a cited file moved down ten lines (moved), a cited
file deleted (stale), the rest untouched (fresh)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.draft.check import check_document
from agent.draft.run import DraftOptions, run_draft
from tests.shop_repo import CONFIG, build, git, write_template

ENV = "configuration.environment-variables.environment-variables"
WHY = "technology-stack.database-storage.database.why-this-database"
DECISIONS = "decisions.decision"
LANGUAGE = "technology-stack.language"


@pytest.fixture
def drafted(tmp_path: Path) -> tuple[Path, Path]:
    root = build(tmp_path / "shop")
    template = write_template(tmp_path)
    doc = tmp_path / "docs" / "ARCHITECTURE.md"
    outcome = run_draft(root, DraftOptions(template=str(template), output=doc), None)
    assert outcome.plan == []  # nothing was asked of a model
    return root, doc


def _states(doc: Path, root: Path) -> dict[str, str]:
    return {f.id: f.state for f in check_document(doc, root).fields}


def test_an_unchanged_tree_is_fresh_everywhere(drafted: tuple[Path, Path]) -> None:
    root, doc = drafted
    assert set(_states(doc, root).values()) == {"fresh"}
    result = CliRunner().invoke(app, ["check", str(doc), "--repo", str(root)])
    assert result.exit_code == 0, result.output
    assert "5 fresh" in result.output


def test_edited_moved_and_deleted_evidence(drafted: tuple[Path, Path]) -> None:
    root, doc = drafted
    config = root / "src/shop/config.py"
    config.write_text(CONFIG.replace("postgresql://localhost/shop", "sqlite:///shop.db"))
    adr = root / "docs/adr/0001-use-postgresql.md"
    adr.write_text("<!-- header -->\n" * 10 + adr.read_text())
    git(root, "rm", "-q", "docs/design.md")

    report = check_document(doc, root)
    states = {f.id: f.state for f in report.fields}
    assert states == {
        ENV: "stale",
        DECISIONS: "stale",  # its design-doc item's file is gone
        WHY: "moved",
        LANGUAGE: "fresh",
        "technology-stack.database-storage.database": "fresh",
    }
    env = next(f for f in report.fields if f.id == ENV)
    assert env.citations[0].diff.splitlines()[-2:] == [
        '-    return {"url": os.environ.get("SHOP_DB_URL", "postgresql://localhost/shop")}',
        '+    return {"url": os.environ.get("SHOP_DB_URL", "sqlite:///shop.db")}',
    ]
    why = next(f for f in report.fields if f.id == WHY)
    assert [(c.citation.start_line, c.moved_to) for c in why.citations] == [(19, (29, 29))]

    runner = CliRunner()
    result = runner.invoke(app, ["check", str(doc), "--repo", str(root), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["counts"] == {"stale": 2, "orphaned": 0, "moved": 1, "fresh": 2}
    result = runner.invoke(app, ["check", str(doc), "--repo", str(root), "--github"])
    assert result.exit_code == 1
    lines = result.output.strip().split("\n")
    assert len(lines) == 2 and all(x.startswith(f"::warning file={doc},line=") for x in lines)
    assert "docs/design.md is gone" in result.output


def test_fix_moved_rewrites_spans_and_keeps_markers(drafted: tuple[Path, Path]) -> None:
    root, doc = drafted
    text = doc.read_text()
    # A human pinned the Why field: it stays reviewed, with its own hash, after the fix.
    opening = next(x for x in text.split("\n") if f"da:{WHY} draft" in x)
    pinned_hash = opening.split(f"da:{WHY} draft ")[1][:8]
    doc.write_text(text.replace(f"da:{WHY} draft", f"da:{WHY} reviewed"))
    adr = root / "docs/adr/0001-use-postgresql.md"
    adr.write_text("<!-- header -->\n" * 10 + adr.read_text())

    report = check_document(doc, root)
    assert report.fields[0].id == WHY and report.fields[0].owner == "reviewed"
    result = CliRunner().invoke(app, ["check", str(doc), "--repo", str(root), "--fix-moved"])
    assert result.exit_code == 0, result.output
    assert "2 moved citations rewritten" in result.output  # lines 1 and 19 of the ADR
    fixed = doc.read_text()
    assert "docs/adr/0001-use-postgresql.md:29-29" in fixed
    assert "docs/adr/0001-use-postgresql.md:19-19" not in fixed
    assert f"da:{WHY} reviewed {pinned_hash}" in fixed
    assert set(_states(doc, root).values()) == {"fresh"}
    # The untouched decision group is still docagent's: a later draft may refresh it.
    from agent.document.markers import find_markers

    markers = find_markers(fixed).markers or find_markers(fixed).orphans
    assert markers[DECISIONS].untouched
    record = json.loads(doc.with_name("ARCHITECTURE.draft.json").read_text())
    why = next(f for f in record["fields"] if f["id"] == WHY)
    assert (why["citations"][0]["start_line"], why["citations"][0]["end_line"]) == (29, 29)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    lone = tmp_path / "NOTES.md"
    lone.write_text("# Notes\n")
    result = runner.invoke(app, ["check", str(lone)])
    assert result.exit_code == 2
    assert "NOTES.draft.json: missing" in result.output
    result = runner.invoke(app, ["check", str(tmp_path / "absent.md")])
    assert result.exit_code == 2 and "no such document" in result.output


def test_names_in_a_value_that_left_the_tree_make_it_stale(drafted: tuple[Path, Path]) -> None:
    from agent.draft.check import _Tree

    root, doc = drafted
    commit = json.loads(doc.with_name("ARCHITECTURE.draft.json").read_text())["commit"]
    tree = _Tree(root, commit)
    assert tree.had_name("SHOP_DB_URL") and tree.had_name("src/shop/config.py")
    assert not tree.had_name("deploy/prod.env") and not tree.had_name("NO_SUCH_SETTING")
    assert tree.has_name("SHOP_DB_URL") and tree.has_name("config.py")
    assert tree.has_name("src/shop/") and tree.has_name("settings()")
    assert not tree.has_name("NO_SUCH_SETTING") and not tree.has_name("src/gone/")
    config = root / "src/shop/config.py"
    config.write_text(CONFIG.replace("SHOP_DB_URL", "SHOP_DATABASE_URL"))
    env = next(f for f in check_document(doc, root).fields if f.id == ENV)
    assert env.state == "stale" and env.missing == ["SHOP_DB_URL"]
    result = CliRunner().invoke(app, ["check", str(doc), "--repo", str(root), "--github"])
    assert "`SHOP_DB_URL` is no longer in the repository" in result.output


def test_lines_are_read_as_the_draft_saw_them(drafted: tuple[Path, Path]) -> None:
    from agent.draft.check import _Tree
    from agent.ingest.index import build_index

    root, _ = drafted
    (root / "src/shop/secrets.py").write_text('API_PASSWORD = "hunter2-very-secret-value"\n')
    seen = build_index(root).file_lines("src/shop/secrets.py")
    assert seen is not None and "hunter2" not in seen[0]  # redacted, as the model saw it
    assert _Tree(root, None).lines("src/shop/secrets.py") == seen
    assert _Tree(root, None).lines("../outside.py") is None


def test_update_since_must_name_a_commit(drafted: tuple[Path, Path], tmp_path: Path) -> None:
    root, doc = drafted
    template = tmp_path / "template.md"
    result = CliRunner().invoke(
        app,
        [
            "draft",
            str(root),
            "-t",
            str(template),
            "-o",
            str(doc),
            "--update",
            "--since=no-such-ref",
        ],
    )
    assert result.exit_code == 2 and "--since no-such-ref: not a commit" in result.output


def test_an_answer_that_cites_nothing_is_orphaned(drafted: tuple[Path, Path]) -> None:
    root, doc = drafted
    record = doc.with_name("ARCHITECTURE.draft.json")
    data = json.loads(record.read_text())
    language = next(f for f in data["fields"] if f["id"] == LANGUAGE)
    language["citations"] = []
    record.write_text(json.dumps(data))
    states = _states(doc, root)
    assert states[LANGUAGE] == "orphaned"
    assert CliRunner().invoke(app, ["check", str(doc), "--repo", str(root)]).exit_code == 0
