"""A structural field is shown the declaration that answers it, found through the repository
model: the tables for "ORM Usage", the routes for "API Integration", the tasks for "Event Bus";
a "why" field, or one about observing a thing, is not."""

from __future__ import annotations

from pathlib import Path

from agent.document.templates import parse_template
from agent.draft.evidence import gather_evidence
from agent.draft.model_evidence import model_hits
from agent.draft.plan import plan_units
from agent.ingest.index import build_index
from tests.test_repomodel import PYTHON

TEMPLATE = """# Architecture

## Data

- **ORM Usage**: [how the code reaches the database]
- **Why this ORM**: [the reason]

## Integration

- **API Integration**: [how clients call the system]

## Events

- **Event Bus**: [what carries events]
- **Event Logging**: [how events are logged]
- **Why event-driven**: [the reason]
"""


def _spans(hits: list[object]) -> list[tuple[str, int, int]]:
    return [(h.chunk.path, h.chunk.start_line, h.chunk.end_line) for h in hits]  # type: ignore[attr-defined]


def _units(tmp_path: Path) -> tuple[dict[str, object], object]:
    root = tmp_path / "repo"
    for path, text in PYTHON.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    index = build_index(root)
    units = plan_units(parse_template(TEMPLATE), set())
    return {u.sections[0].title: u for u in units}, index


def _line(path: str, needle: str) -> int:
    return next(n for n, line in enumerate(PYTHON[path].split("\n"), 1) if needle in line)


def test_each_structural_field_gets_the_declaration_it_asks_about(tmp_path: Path) -> None:
    units, index = _units(tmp_path)
    for title, path, needle, found in (
        ("Data", "shop/models.py", "class Customer", 1),
        # "API Integration": the routes, then the external services the code reaches (Celery).
        ("Integration", "shop/app.py", "app.route", 2),
        ("Events", "shop/tasks.py", "def send_receipt", 1),
    ):
        hits = model_hits(units[title], index)  # type: ignore[arg-type]
        assert len(hits) == found, title
        chunk = hits[0].chunk
        assert chunk.path == path and chunk.start_line <= _line(path, needle) <= chunk.end_line
        # ... and it reaches the call's evidence, near the top.
        evidence = gather_evidence(units[title], index, 10_000)  # type: ignore[arg-type]
        assert (chunk.path, chunk.start_line) in [(e.path, e.start_line) for e in evidence[:2]]


def test_why_and_observability_fields_ask_for_no_declaration(tmp_path: Path) -> None:
    template = parse_template(
        "# A\n\n## Events\n\n- **Event Logging**: [how]\n- **Why event-driven**: [the reason]\n"
        "- **Why this ORM**: [the reason]\n"
    )
    root = tmp_path / "repo"
    for path, text in PYTHON.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    index = build_index(root)
    (unit,) = plan_units(template, set())
    assert model_hits(unit, index) == []


def test_a_repository_without_such_declarations_adds_nothing(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "notes.md").write_text("# Notes\n\nThe event bus is Redis.\n")
    index = build_index(tmp_path / "repo")
    (unit, *_) = plan_units(parse_template(TEMPLATE), set())
    assert model_hits(unit, index) == []
