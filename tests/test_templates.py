"""The template engine: parse any Markdown template into fields, render answers back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.base.errors import TemplateError, TemplateNotFoundError
from agent.cli import app
from agent.document import markdown as md
from agent.document.render import render
from agent.document.templates import (
    FieldKind,
    Group,
    Template,
    TemplateField,
    load_template,
    parse_template,
)
from agent.llm.json_schema import schema_violations
from tests.conftest import ROOT, SHIPPED, update_golden

runner = CliRunner()


def all_fields(t: Template) -> dict[str, TemplateField]:
    found: dict[str, TemplateField] = {}

    def visit_group(g: Group) -> None:
        for f in g.fields:
            found[f.id] = f
        for sub in g.groups:
            visit_group(sub)
        for sec in g.sections:
            for s in sec.walk():
                for f in s.fields:
                    found[f.id] = f

    for sec in t.sections():
        for f in sec.fields:
            found[f.id] = f
        for g in sec.groups:
            visit_group(g)
    return found


def all_groups(t: Template) -> dict[str, Group]:
    return {g.id: g for sec in t.sections() for g in sec.groups}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_templates_are_the_users_files_unchanged(name: str) -> None:
    shared = ROOT.parent / "shared" / "templates" / f"{name}.md"
    if not shared.exists():
        pytest.skip("shared/templates is not beside this checkout")
    assert (ROOT / "templates" / f"{name}.md").read_bytes() == shared.read_bytes()


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_without_answers_reproduces_the_template(name: str) -> None:
    source = (ROOT / "templates" / f"{name}.md").read_text(encoding="utf-8")
    rendered = render(load_template(name))
    strip = lambda text: "\n".join(line.rstrip() for line in text.split("\n"))  # noqa: E731
    assert strip(rendered) == strip(source)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_placeholder_belongs_to_exactly_one_field_table_code_block_or_group(
    name: str,
) -> None:
    t = load_template(name)
    text = md.strip_comments("\n".join(t.lines))
    placeholders = [
        (n, m.start(), m.end())
        for n, line in enumerate(text.split("\n"))
        for m in md.PLACEHOLDER_RE.finditer(line)
    ]
    assert placeholders, "the template has placeholders"
    owners: dict[tuple[int, int, int], list[str]] = {p: [] for p in placeholders}
    top_fields = [f for sec in t.sections() for f in sec.fields]
    for p in placeholders:
        n, start, end = p
        for f in top_fields:
            if f.kind is FieldKind.TEXT:
                if any(s.line == n and s.start <= start and end <= s.end for s in f.slots):
                    owners[p].append(f.id)
            elif f.start <= n < f.end:
                owners[p].append(f.id)
        for g in all_groups(t).values():
            if g.item_start <= n < g.end:
                owners[p].append(g.id)
    orphans = [p for p, o in owners.items() if not o]
    shared = {p: o for p, o in owners.items() if len(o) > 1}
    assert not orphans, (
        f"placeholders with no field: {[(t.lines[n][a:b], n + 1) for n, a, b in orphans]}"
    )
    assert not shared, f"placeholders owned twice: {shared}"
    # The per-field counts add up to the document's total as well.
    counted = sum(f.placeholders for f in top_fields) + sum(
        g.placeholders for g in all_groups(t).values()
    )
    assert counted == t.placeholder_total() == len(placeholders)


def test_overview_groups_have_the_expected_item_shapes() -> None:
    t = load_template("architecture-overview")
    groups = {g.label: g for g in all_groups(t).values()}
    expected = {
        "Service/Module": (
            3,
            [
                "name",
                "responsibility",
                "why_separated",
                "key_components",
                "dependencies",
                "apis_interfaces",
            ],
        ),
        "Pattern": (4, ["name", "where_used", "why_this_pattern", "trade_offs", "implementation"]),
        "Event": (
            3,
            [
                "event_name_type",
                "event_type",
                "purpose",
                "triggers",
                "when_it_occurs",
                "event_payload",
                "subscribers_handlers",
                "processing",
                "downstream_effects",
                "technical_implementation",
            ],
        ),
        "Event Flow": (
            2,
            [
                "flow_name",
                "sequence",
                "trigger",
                "dependencies",
                "technical_context",
                "error_handling",
                "performance_characteristics",
            ],
        ),
        "Service": (
            3,
            [
                "service_name",
                "provider",
                "purpose",
                "why_this_service",
                "what_it_does",
                "integration_method",
                "why_this_integration_method",
                "data_flow",
                "key_features_used",
                "dependencies",
                "limitations",
                "cost_impact",
                "trade_offs",
            ],
        ),
        "Provider": (
            2,
            [
                "name_of_oauth_provider",
                "purpose",
                "why_this_provider",
                "oauth_flow",
                "why_this_oauth_flow",
                "data_collected",
                "scopes_permissions",
                "why_these_scopes",
                "token_management",
                "why_this_token_management",
                "use_cases",
            ],
        ),
        "Decision": (
            2,
            [
                "title_of_architectural_decision",
                "context",
                "decision",
                "rationale",
                "consequences",
                "status",
                "location",
            ],
        ),
    }
    assert set(groups) == set(expected)
    for label, (count, keys) in expected.items():
        assert groups[label].template_items == count, label
        assert [f.key for f in groups[label].fields] == keys, label
    triggers = next(f for f in groups["Event"].fields if f.key == "triggers")
    assert triggers.kind is FieldKind.LIST
    assert "triggers this event" in triggers.description


def test_component_groups_integrations_and_gotchas() -> None:
    t = load_template("architecture-component")
    groups = {g.label: g for g in all_groups(t).values()}
    assert set(groups) == {"Integration Name", "Gotcha Title"}
    integration = groups["Integration Name"]
    keys = [f.key for f in integration.fields]
    assert keys[:3] == ["integration_name", "service_name", "provider"]
    assert {"api_endpoints", "webhooks", "f_4xx_errors", "rate_limiting"} <= set(keys)
    endpoints = next(f for f in integration.fields if f.key == "api_endpoints")
    assert endpoints.kind is FieldKind.TABLE
    assert endpoints.columns == ["Endpoint", "Method", "Purpose", "Rate Limit", "Timeout"]
    assert [f.key for f in groups["Gotcha Title"].fields] == [
        "gotcha_title",
        "symptom",
        "cause",
        "fix",
        "prevention",
    ]


def test_field_ids_are_stable_paths_of_headings_and_labels() -> None:
    fields = all_fields(load_template("architecture-overview"))
    assert (
        "system-architecture-service-decomposition.high-level-architecture.architecture-style"
        in fields
    )
    nested = fields[
        "system-architecture-service-decomposition.service-communication-patterns.synchronous-communication.why-synchronous"
    ]
    assert nested.context == ["Synchronous Communication"]
    assert nested.is_rationale
    assert fields["product-name"].kind is FieldKind.TEXT
    # Same template parsed twice: same ids (they key caches and review marks).
    assert list(fields) == list(all_fields(load_template("architecture-overview")))


def test_component_front_matter_tables_code_and_guidance() -> None:
    t = load_template("architecture-component")
    fields = all_fields(t)
    assert [fields[k].description for k in ("focus", "owner", "status")] == [
        "critical/high/medium/low",
        "@team-member",
        "draft/active/deprecated",
    ]
    env = fields["configuration.environment-variables.environment-variables"]
    assert env.kind is FieldKind.TABLE
    assert env.column_keys == ["variable", "required", "default", "description", "example"]
    assert len(env.example_rows) == 4
    languages = {f.label: f.language for f in fields.values() if f.kind is FieldKind.CODE}
    assert languages == {
        "System Diagram": None,
        "SQL (PostgreSQL / Supabase / Drizzle)": "sql",
        "Prisma": "prisma",
        "Mongoose / MongoDB": "typescript",
        "Relationships (mermaid)": "mermaid",
        "Server Configuration (json)": "json",
    }
    diagram = next(s for s in t.sections() if s.title == "System Diagram")
    assert diagram.guidance == [
        "Adapt this diagram for your architecture. Below is a generic template."
    ]
    # Guidance never becomes a field.
    assert not any("Adapt" in f.description for f in fields.values())


def test_overview_guidance_prose_is_kept_for_prompts() -> None:
    t = load_template("architecture-overview")
    purpose = next(s for s in t.sections() if s.title == "Purpose")
    assert not purpose.fields
    assert any(g.startswith("**Important**") for g in purpose.guidance)


def _service_module_answers(count: int) -> dict[str, object]:
    gid = "system-architecture-service-decomposition.service-module-decomposition.service-module"
    return {
        gid: [
            {
                f"{gid}.name": f"module{n}",
                f"{gid}.responsibility": f"Does thing {n}.\nIn two lines.",
            }
            for n in range(1, count + 1)
        ]
    }


@pytest.mark.parametrize("count", [1, 5])
def test_group_renders_any_number_of_items_as_well_formed_markdown(count: int) -> None:
    t = load_template("architecture-overview")
    out = render(t, _service_module_answers(count))
    section = out.split("### Service/Module Decomposition\n")[1].split("### Service Communication")[
        0
    ]
    heads = re.findall(r"^- \*\*Service/Module (\d+)\*\*: (\S+)$", section, flags=re.M)
    assert heads == [(str(n), f"module{n}") for n in range(1, count + 1)]
    # Each item keeps its nested shape: six nested bullets, continuation lines indented under them.
    assert section.count("    - **Responsibility**: Does thing") == count
    assert section.count("\n      In two lines.") == count
    assert section.count("    - **Why Separated**: [") == count  # unanswered stays visible
    # Items are separated like the template's items, and the next section is intact.
    # (the first item follows the heading's own blank line, each later one a blank line too)
    assert section.count("\n\n- **Service/Module") == count - 1
    assert out.count("- **Service/Module") == count
    assert parse_template(out).root.count()["fields"] > 0  # still a parseable template


def test_empty_group_says_none_and_keeps_the_rest() -> None:
    t = load_template("architecture-overview")
    out = render(t, {"third-party-services-integrations.service": []})
    assert "### Service 1" not in out
    part = out.split("## 10. Third-Party Services & Integrations")[1]
    assert part.lstrip().startswith("_None identified in the repository._")
    assert "### OAuth/Identity Providers" in part


def test_unanswered_fields_are_marked_not_dropped() -> None:
    t = load_template("architecture-overview")
    out = render(t, {}, missing=lambda f: "**TODO**")
    assert (
        "- **Architecture Style**: [Monolithic, Microservices, Modular Monolith, etc.] **TODO**"
        in out
    )
    assert len(out.split("\n")) >= len(t.lines)


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_render_with_fixed_answers(name: str) -> None:
    answers = json.loads((ROOT / "tests" / "golden" / f"answers-{name}.json").read_text())
    out = render(load_template(name), answers, missing=lambda f: "⚠️ **TODO**")
    golden = ROOT / "tests" / "golden" / f"{name}.md"
    if update_golden():
        golden.write_text(out, encoding="utf-8")
    # A missing golden fails: writing it here would make the test pass on whatever renders.
    assert golden.exists(), f"{golden} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert out == golden.read_text(encoding="utf-8")


def test_user_template_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "runbook.md"
    path.write_text(
        "# [Service] Runbook\n\n## Alerts\n\n- **Pager**: [who is paged]\n- **Step 1**: [first step]\n"
        "- **Step 2**: [second step]\n\n| Alert | Action |\n|---|---|\n| [name] | [what to do] |\n",
        encoding="utf-8",
    )
    t = load_template(path)
    fields = all_fields(t)
    assert set(fields) >= {"service", "alerts.pager", "alerts.alerts", "alerts.step.first-step"}
    assert [g.label for g in all_groups(t).values()] == ["Step"]
    out = render(
        t,
        {"service": "Billing", "alerts.alerts": [{"alert": "High latency", "action": "Scale out"}]},
    )
    assert out.startswith("# Billing Runbook")
    assert "| High latency | Scale out |" in out


def test_error_for_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFoundError, match=r"nope\.md"):
        load_template(tmp_path / "nope.md")


def test_error_for_template_without_placeholders() -> None:
    with pytest.raises(TemplateError, match="no \\[placeholders\\]"):
        parse_template("# Title\n\nJust prose.\n", path="plain.md")


def test_error_for_malformed_table_names_file_and_line() -> None:
    bad = "# T\n\n- **A**: [a]\n\n| x | y |\n|---|---|\n| [1] | [2] | [3] |\n"
    with pytest.raises(TemplateError) as info:
        parse_template(bad, path="bad.md")
    assert info.value.line == 7
    assert str(info.value).startswith("bad.md:7: malformed table")


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("# T\n\n| a | b |\n| [c] |\n", encoding="utf-8")
    result = runner.invoke(app, ["templates", "show", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: malformed table" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["templates", "show", "no-such-template"])
    assert missing.exit_code == 2
    assert "Shipped templates: architecture-component, architecture-overview" in missing.output


def test_cli_show_prints_tree_and_counts() -> None:
    result = runner.invoke(app, ["templates", "show", "architecture-component"])
    assert result.exit_code == 0, result.output
    assert "Environment Variables [table]" in result.output
    assert (
        "27 sections, 28 fields (9 tables, 6 code blocks), 2 groups, 127 placeholders"
        in result.output
    )
    data = json.loads(
        runner.invoke(app, ["templates", "show", "architecture-overview", "--json"]).output
    )
    assert data["counts"] == {"sections": 55, "fields": 187, "tables": 0, "code": 0, "groups": 7}
    listed = runner.invoke(app, ["templates", "list"])
    assert "architecture-overview" in listed.output and "architecture-component" in listed.output


def test_schema_check_catches_unportable_keywords() -> None:
    assert schema_violations(
        {
            "type": "object",
            "properties": {"a": {"type": "integer", "minimum": 0}},
            "required": ["a"],
            "additionalProperties": False,
        }
    ) == ["$.properties.a.minimum"]


def test_one_markdown_block_scanner_for_notes_and_templates() -> None:
    from agent.ingest.chunking import note_sections

    text = "\n".join(
        [
            "# Design",  # 1
            "<!-- draft notes",
            "# not a heading: inside a comment",
            "-->",
            "```sh",  # 5
            "# not a heading: inside a fence",
            "```",
            "Storage",
            "=======",
            "- a list item",  # 10
            "  # indented inside the item: text, as before",
            "Why",
            "---",
        ]
    )
    lines = text.split("\n")
    kinds = [(b.kind, b.start) for b in md.blocks(lines)]
    assert ("comment", 1) in kinds and ("fence", 4) in kinds
    assert [h for h in md.blocks(lines) if h.kind == "heading" and h.start == 2] == []
    assert note_sections(lines, "markdown") == [
        (1, 7, "Design"),
        (8, 11, "Storage"),
        (12, 13, "Storage > Why"),
    ]
    # A heading right below raw HTML is one to the writer (CommonMark would run the HTML on); a
    # fence in a block quote closes in the quote.
    quoted = '<div align="center">\n# [Project name]\n</div>\n\n> ```json\n> {"id": 1}\n> ```'
    assert [(b.kind, b.start, b.closed) for b in md.blocks(quoted.split("\n"))] == [
        ("heading", 1, True),
        ("fence", 4, True),
    ]
    # The template parser reads the same blocks: an unclosed fence names its line.
    with pytest.raises(TemplateError, match="never closed") as info:
        parse_template("# T\n\n[x]\n\n~~~\n[y]\n")
    assert info.value.line == 5
