"""A structural field is shown the declaration that answers it, found through the repository
model: the tables for "ORM Usage", the routes for "API Integration", the tasks for "Event Bus";
a "why" field, or one about observing a thing, is not."""

from __future__ import annotations

from pathlib import Path

from agent.document.templates import parse_template
from agent.draft.evidence import gather_evidence
from agent.draft.model_evidence import asked_kinds, model_hits
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


def test_the_declaration_comes_right_after_the_best_text_hit_once_warm_or_cold(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    notes = {
        "docs/events.md": "# Event bus\n\nThe event bus carries receipts to the worker.\n",
        "docs/more.md": "# Events\n\nEvents are sent on the bus after an order.\n",
        # Text search finds the declaring file too: it must be shown once.
        "shop/tasks.py": PYTHON["shop/tasks.py"] + "\n# The event bus worker.\n",
    }
    for path, text in {**PYTHON, **notes}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    (unit,) = plan_units(parse_template("# A\n\n## Events\n\n- **Event Bus**: [what]\n"), set())
    for _ in ("cold", "warm"):
        index = build_index(root)
        (declared,) = model_hits(unit, index)
        places = [(e.path, e.start_line) for e in gather_evidence(unit, index, 10_000)]
        assert len(places) >= 3 and places[0][0].startswith("docs/")
        assert places[1] == (declared.chunk.path, declared.chunk.start_line)
        assert places.count(places[1]) == 1


def test_labels_ask_for_the_kind_they_name() -> None:
    from agent.document.template_model import FieldKind, TemplateField

    def kinds(label: str) -> list[str]:
        return asked_kinds(
            [
                TemplateField(
                    id="x", key="x", label=label, kind=FieldKind.TEXT, description="", line=1
                )
            ]
        )

    assert kinds("ORM Usage") == ["table"]
    assert kinds("Database Constraints") == ["table"]
    assert kinds("API Integration") == ["http", "integration"]
    assert kinds("gRPC Services") == ["http"]
    assert kinds("Event Bus/Message Queue") == ["event"]
    assert kinds("Background Jobs") == ["event"]
    assert kinds("Name of OAuth provider") == ["auth"]
    assert kinds("CLI Commands") == ["cli"]
    for label in (
        "Eventual Consistency",
        "Encryption at Rest",
        "Tablet Support",
        "Entitlements",
        "Project Background",
        "Externalized Configuration",
        "Command Query Separation (CQRS)",
        "Event Logs",
        "Audit Events",
        "API Security",
        "Third-Party Service Constraints",
        "Why this ORM",
    ):
        assert kinds(label) == [], label


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


def test_a_value_copying_how_the_prompt_states_a_field_is_no_answer() -> None:
    from agent.draft.value_checks import echoes_prompt

    # Seen in a warehouse draft: a group item named after another field's line in the prompt.
    assert echoes_prompt("Layered Architecture? (for example: Presentation, Business Logic)")
    assert echoes_prompt('Why Layered (a "why" field) [under Layered Architecture]')
    assert not echoes_prompt("Layered: views call services, services call models")
    assert not echoes_prompt("Which layer? The service layer, for example the mailer")
