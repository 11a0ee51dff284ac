"""The quality benchmark's scorer and truth checker, on toy drafts with hand-worked scores."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.quality import placeholders
from bench.quality_score import (
    DECOMPOSITION,
    STACK_FIELDS,
    Draft,
    RepoFiles,
    score_citations,
    score_component,
    score_existence,
    score_modules,
    score_rationale,
    score_stack,
    score_sufficiency,
)
from bench.quality_truth import STACK_KEYS, RepoTruth, check_truth

OVERVIEW = "architecture-overview"
PREFIX = {
    "backend-technology-stack": "technology-stack-frameworks.",
    "frontend-technology-stack-if-applicable": "technology-stack-frameworks.",
    "database-storage": "technology-stack-frameworks.",
    "infrastructure-deployment": "technology-stack-frameworks.",
    "development-tools": "technology-stack-frameworks.",
    "high-level-architecture": "system-architecture-service-decomposition.",
    "service-module-decomposition": "system-architecture-service-decomposition.",
}


def full_id(suffix: str) -> str:
    """The overview template's id for a stack/decomposition suffix."""
    return PREFIX[suffix.split(".")[0]] + suffix


def git(root: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "HOME": str(root),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, str]:
    """A tiny repository: a Flask app with a SQLite store and a design doc."""
    root = tmp_path / "toy"
    (root / "src" / "toy").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "toy"\nrequires-python = ">=3.11"\ndependencies = ["flask>=3"]\n'
    )
    (root / "src" / "toy" / "app.py").write_text(
        "from flask import Flask\n\n\ndef create_app():\n    return Flask('toy')\n"
    )
    (root / "src" / "toy" / "store.py").write_text(
        "import sqlite3\n\n\nclass Store:\n    def open(self):\n        return sqlite3.connect('x')\n"
    )
    (root / "docs" / "design.md").write_text(
        "# Design\n\nThe web layer lives in app.py.\n"
        "The Store keeps rows in SQLite because it needs no server.\n"
        "Three, four and five are helpers; TOY_DB and TOY_DEBUG configure them.\n"
    )
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root, git(root, "rev-parse", "HEAD")


def truth_for(commit: str, **changes: Any) -> RepoTruth:
    stack: dict[str, Any] = {k: None for k in STACK_KEYS}
    stack["language"] = {"value": "Python 3.11", "keywords": ["Python"], "at": "pyproject.toml:3"}
    stack["framework"] = {"value": "Flask", "keywords": ["Flask"], "at": "pyproject.toml:4"}
    stack["database"] = {"value": "SQLite", "keywords": ["SQLite"], "at": "docs/design.md:4"}
    data = {
        "repo": "someone/toy",
        "commit": commit,
        "shape": "toy",
        "architecture_docs": ["docs/design.md"],
        "stack": stack,
        "components": [
            {"name": n, "keywords": k, "paths": p, "at": "docs/design.md:3-5"}
            for n, k, p in [
                ("Web layer", ["app.py", "web layer"], ["src/toy/app.py"]),
                ("Store", ["Store"], ["src/toy/store.py"]),
                ("Three", ["three"], ["src"]),
                ("Four", ["four"], ["src"]),
                ("Five", ["five"], ["src"]),
            ]
        ],
        "rationale": [
            {"why": f"Why {n}?", "keywords": kw, "at": "docs/design.md:4"}
            for n, kw in [
                ("SQLite", ["SQLite", "no server|serverless"]),
                ("b", ["SQLite", "zzz"]),
                ("c", ["SQLite", "yyy"]),
                ("d", ["SQLite", "xxx"]),
            ]
        ],
        "component": {
            "topic": "storage",
            "env_vars": [
                {"name": "TOY_DB", "required": True, "at": "docs/design.md:5"},
                {"name": "TOY_DEBUG", "required": False, "default": 0, "at": "docs/design.md:5"},
            ],
            "code_locations": [{"path": "src/toy/store.py"}, {"path": "src/toy/app.py"}],
        },
    }
    data.update(changes)
    return RepoTruth.model_validate(data)


def field(fid: str, value: Any, status: str = "answered", **extra: Any) -> dict[str, Any]:
    return {"id": fid, "status": status, "value": value, "citations": [], **extra}


def make_draft(fields: list[dict[str, Any]], markdown: str = "", plan: Any = ()) -> Draft:
    words, _ = placeholders(OVERVIEW)
    data = {"fields": fields, "plan": list(plan), "summary": {}}
    return Draft.from_json(data, markdown, words)


def stack_field(key: str, value: Any, status: str = "answered", **extra: Any) -> dict[str, Any]:
    return field(full_id(STACK_FIELDS[key]), value, status, **extra)


def test_empty_draft_scores_zero(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    draft = make_draft(
        [stack_field(k, None, "not_found") for k in STACK_KEYS]
        + [field(full_id(DECOMPOSITION), None, "not_found")]
    )
    assert score_modules(truth, draft)["recall"] == 0
    assert score_rationale(truth, draft)["recall"] == 0
    stack = score_stack(truth, draft)
    # The 16 null truths are right to say "not found"; the three real ones are missed, not false.
    assert (stack["correct"], stack["missed"], stack["false_claims"]) == (16, 3, 0)


def test_copying_the_placeholder_text_scores_zero(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    words, _ = placeholders(OVERVIEW)
    fields = []
    for key, suffix in STACK_FIELDS.items():
        fid = full_id(suffix)
        # The value is the template's own example list, e.g. "PostgreSQL, MySQL, MongoDB, etc."
        fields.append(stack_field(key, words[fid]))
    group_id = full_id(DECOMPOSITION)
    item = {k: v for k, v in words.items() if k.startswith(group_id + ".")}
    fields.append(field(group_id, None, items=[item, item]))
    draft = make_draft(fields)
    stack = score_stack(truth, draft)
    assert stack["correct"] == 0
    assert stack["false_claims"] == len(STACK_KEYS)
    assert score_modules(truth, draft)["recall"] == 0
    assert score_rationale(truth, draft)["recall"] == 0


def test_wrong_stack_value_is_a_false_claim(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    draft = make_draft(
        [
            stack_field("language", "Python 3.11 (requires-python)"),
            stack_field("framework", "Django 5"),
            stack_field("database", "Not found in the repository or its notes."),
            stack_field("caching", "Redis"),
            stack_field("cloud", "None"),
            # One of the template's example options is an answer, not a copy of the placeholder.
            stack_field("ci_cd", "GitHub Actions"),
            stack_field("containers", "Docker, Kubernetes, etc."),
        ]
    )
    stack = score_stack(truth, draft)
    assert stack["fields"]["language"] == "correct"
    assert stack["fields"]["framework"] == "false"
    assert stack["fields"]["database"] == "missed"
    assert stack["fields"]["caching"] == "false"  # null truth, a value stated
    assert stack["fields"]["cloud"] == "correct"
    assert stack["fields"]["ci_cd"] == "false"  # null truth in the toy repository
    assert draft.claim(draft.find(STACK_FIELDS["ci_cd"])) == ("GitHub Actions", False)
    assert draft.claim(draft.find(STACK_FIELDS["containers"]))[1] is True
    assert stack["false_claims"] == 4


def test_modules_and_rationale_recall(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    group_id = full_id(DECOMPOSITION)
    draft = make_draft(
        [
            field(
                group_id,
                None,
                items=[
                    {f"{group_id}.name": "Web layer (`app.py`)", "citations": []},
                    {f"{group_id}.name": "Storefront"},  # "Store" only as part of a word
                ],
            ),
            # Both groups of one reason must stand in one field: split, they do not count.
            field("a.why-this-database", "SQLite, because it needs no server."),
            field("b.why", "SQLite was chosen."),
            field("c.why", "Nothing needs zzz."),
        ]
    )
    assert score_modules(truth, draft) == {"recall": 1 / 5, "found": ["Web layer"]}
    assert score_rationale(truth, draft) == {"recall": 1 / 4, "found": ["Why SQLite?"]}


def test_citation_validity_rereads_the_lines(toy: tuple[Path, str]) -> None:
    repo = RepoFiles(toy[0])

    def cite(path: str, start: int, end: int) -> dict[str, Any]:
        return {"path": path, "start_line": start, "end_line": end}

    draft = make_draft(
        [
            field("a", "The Store keeps rows in SQLite", citations=[cite("docs/design.md", 4, 4)]),
            # Real lines that do not say it.
            field("b", "Kafka carries every event", citations=[cite("docs/design.md", 1, 1)]),
            # Lines past the end of the file.
            field("c", "The Store keeps rows", citations=[cite("docs/design.md", 40, 41)]),
            field("d", None, "not_found", citations=[cite("docs/design.md", 40, 41)]),
        ]
    )
    result = score_citations(draft, repo)
    assert result["shown"] == 3
    assert result["validity"] == pytest.approx(1 / 3)


def test_existence_ratio(toy: tuple[Path, str]) -> None:
    repo = RepoFiles(toy[0])
    md = (
        "- **A**: `src/toy/app.py`, `store.py` and `create_app` and `Store.open()`\n"
        "- **B**: `src/toy/missing.py` and `KafkaProducer`\n"
        "- **C**: `pip install toy` is a command, not a path or identifier\n"
    )
    result = score_existence(make_draft([], md), repo, template_text="")
    assert result["checked"] == 6
    assert result["ratio"] == pytest.approx(4 / 6)
    assert sorted(result["missing"]) == ["KafkaProducer", "src/toy/missing.py"]


def test_evidence_sufficiency_reads_the_plan(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    repo = RepoFiles(toy[0])
    lang = full_id(STACK_FIELDS["language"])
    db = full_id(STACK_FIELDS["database"])
    fw = full_id(STACK_FIELDS["framework"])
    plan = [
        {"field_ids": [lang, db], "evidence_spans": ["pyproject.toml:1-4"]},
        {"field_ids": [fw], "evidence_spans": ["src/toy/store.py:1-6"]},
    ]
    draft = make_draft([field(lang, "x"), field(db, "x"), field(fw, "x")], plan=plan)
    result = score_sufficiency(truth, draft, repo)
    # language: its line was shown; framework: only store.py was; database: the design doc line
    # was not shown, and no shown line names SQLite... except store.py, shown to another call.
    assert "stack.language" not in result["missed"]
    assert "stack.framework" in result["missed"]
    assert "stack.database" in result["missed"]
    # Reasons: the design doc was shown to no call.
    assert all(f"rationale.Why {n}?" in result["missed"] for n in ("SQLite", "b"))


def test_component_tables(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    assert truth.component is not None
    draft = make_draft(
        [
            field(
                "configuration.environment-variables.environment-variables",
                [{"variable": "`TOY_DB`", "required": "✓"}, {"variable": "`HOME`"}],
            ),
            field(
                "code-locations.backend-api.backend-api",
                [
                    {"component": "Store", "location": "`src/toy/store.py`"},
                    {"c": "x", "l": "lib/x.py"},
                ],
            ),
        ]
    )
    result = score_component(truth.component, draft)
    assert result["env_recall"] == 0.5 and result["env_precision"] == 0.5
    assert result["locations_recall"] == 0.5 and result["locations_precision"] == 0.5


def test_truth_check_finds_bad_citations(toy: tuple[Path, str]) -> None:
    root, commit = toy
    assert check_truth(truth_for(commit), root) == []
    bad = truth_for(
        commit,
        rationale=[
            {"why": "w", "keywords": ["Kafka"], "at": "docs/design.md:4"},
            {"why": "x", "keywords": ["SQLite"], "at": "docs/design.md:99"},
            {"why": "y", "keywords": ["SQLite"], "at": "docs/gone.md:1"},
            {"why": "z", "keywords": ["SQLite"], "at": "docs/design.md:4"},
        ],
    )
    problems = check_truth(bad, root)
    assert len(problems) == 3
    assert "contains none of ['Kafka']" in problems[0]
    assert "past the end" in problems[1]
    assert "does not exist" in problems[2]
    with pytest.raises(ValueError):
        truth_for(commit, stack={"language": None})


def test_matching_rules_found_in_review(toy: tuple[Path, str]) -> None:
    from bench.quality_score import content_words, has_keyword

    # A hyphen joins a name: typst-library is not typst; a slash or a dot ends one.
    assert not has_keyword("`crates/typst-library/`", "crates/typst")
    assert has_keyword("`crates/typst/` and more", "crates/typst")
    assert has_keyword("see src/flask/app.py", "app.py")
    # Real answers that start like "none" are answers.
    draft = make_draft(
        [
            stack_field("language", "Native binary"),
            stack_field("framework", "NATS (pub/sub)"),
            stack_field("database", "N/A"),
        ]
    )
    assert draft.stated(draft.find(STACK_FIELDS["language"])) == "Native binary"
    assert draft.stated(draft.find(STACK_FIELDS["framework"])) == "NATS (pub/sub)"
    assert draft.stated(draft.find(STACK_FIELDS["database"])) == ""
    assert content_words("caching databases") == content_words("cache database")
    assert {"flask", "ctx"} <= content_words("`src/flask/ctx.py`")


def test_existence_strips_line_numbers_and_knows_dotted_names(toy: tuple[Path, str]) -> None:
    repo = RepoFiles(toy[0])
    head = git(toy[0], "rev-parse", "--short=10", "HEAD")
    md = (
        "`src/toy/store.py:4` `toy.app` `docs/design.md:99-100` `nothing_here.py` "
        f"`{head}` `deadbeef00`\n"
    )
    result = score_existence(make_draft([], md), repo, template_text="")
    assert result["checked"] == 6 and result["missing"] == ["nothing_here.py", "deadbeef00"]


def test_component_locations_come_from_the_location_column(toy: tuple[Path, str]) -> None:
    truth = truth_for(toy[1])
    assert truth.component is not None
    draft = make_draft(
        [
            field(
                "code-locations.frontend-client.frontend-client",
                [
                    {"location": "`src/toy/app.py:1-5`", "notes": "see README.md, e.g. Node.js"},
                    {"location": "./src/toy/store.py", "notes": ""},
                ],
            )
        ]
    )
    result = score_component(truth.component, draft)
    assert result["locations_recall"] == 1.0 and result["locations_precision"] == 1.0


def test_existence_knows_a_module_path_by_the_file_that_writes_it(toy: tuple[Path, str]) -> None:
    (toy[0] / "go.mod").write_text(
        "module example.com/toy\n\nrequire cloud.google.com/go/profiler v0.4.2\n"
    )
    git(toy[0], "add", "go.mod")
    git(toy[0], "commit", "-q", "-m", "go")
    repo = RepoFiles(toy[0])
    (toy[0] / "package.json").write_text('{"dependencies": {"@sentry/node": "8"}}\n')
    git(toy[0], "add", "package.json")
    git(toy[0], "commit", "-q", "-m", "npm")
    repo = RepoFiles(toy[0])
    md = (
        "`cloud.google.com/go/profiler` and `github.com/made/up` and `src/toy/gone.py` and "
        "`cloud.google.com/go/prof` (a prefix of a real one is not it) and `@sentry/node`\n"
    )
    result = score_existence(make_draft([], md), repo, template_text="")
    assert result["checked"] == 5
    assert result["missing"] == [
        "github.com/made/up",
        "src/toy/gone.py",
        "cloud.google.com/go/prof",
    ]
