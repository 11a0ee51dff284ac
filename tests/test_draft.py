"""`docagent draft` end to end on the fixture repository, replaying cassettes recorded from the
embedded 0.5B model, plus the model-free logic (verification, flags, markers) on its own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from agent.base.errors import OutputError, UserInputError
from agent.cli import app
from agent.document import markdown as md
from agent.document.markers import body_hash, find_markers
from agent.document.templates import FieldKind, load_template
from agent.draft.answers import Citation, TextAnswer
from agent.draft.citations import Verifier
from agent.draft.evidence import Evidence
from agent.draft.run import DraftOptions, run_draft
from agent.draft.verify import field_result, flag_duplicates, left_out
from agent.ingest.index import build_index
from agent.llm.calllog import CallLog
from agent.llm.client import ModelClient
from agent.llm.settings import ModelSettings
from tests import fixture_repo
from tests.conftest import recorded_client

runner = CliRunner()
LINK = re.compile(r"\[([^\]\[]+?):(\d+)-(\d+)\]\(([^)]+)\)")


def headings(text: str) -> list[str]:
    out = []
    fence = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"^#{1,6} ", line):
            out.append(re.sub(r"<!--.*?-->", "", line).strip())
    return out


def check_links(output: Path, repo: Path, text: str) -> int:
    """Every `path:a-b` link in the draft points at existing lines of the repository."""
    count = 0
    for label, a, b, target in LINK.findall(text):
        path = re.sub(r"\\(.)", r"\1", label)  # labels are Markdown-escaped (`\_\_init\_\_.py`)
        lines = (repo / path).read_text(encoding="utf-8").split("\n")
        assert 1 <= int(a) <= int(b) <= len(lines), f"{path}:{a}-{b} is outside the file"
        linked = output.parent / unquote(target.split("#")[0])
        assert linked.resolve() == (repo / path).resolve()
        count += 1
    return count


@pytest.mark.vcr
def test_overview_draft_end_to_end(
    model_base_url: str, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCAGENT_TODAY", "2026-11-23")
    output = tmp_path / "docs" / "ARCHITECTURE.md"
    options = DraftOptions(template="architecture-overview", output=output)
    with recorded_client(model_base_url) as client:
        outcome = run_draft(repo, options, client)
        assert client.usage.calls >= len(outcome.plan) >= 20
    text = output.read_text(encoding="utf-8")
    template = load_template("architecture-overview")

    # The draft keeps the template's structure: same headings in the same order (group headings
    # repeat per item), the title filled from the README.
    expected = [h for h in headings("\n".join(template.lines)) if not re.search(r"Service \d", h)]
    got = [h for h in headings(text) if not re.search(r"Service \d", h)]
    assert got[0] == "# Inventory Service"
    assert got[1:] == expected[1:]

    # Every shown citation verifies against the repository, and there are many of them.
    assert check_links(output, repo, text) >= 20
    draft = json.loads((tmp_path / "docs" / "ARCHITECTURE.draft.json").read_text())
    verifier = Verifier(build_index(repo))
    for field in draft["fields"]:
        for c in field["citations"]:
            assert verifier.check_citation(Citation(**c)) == "", (field["id"], c)

    # Facts fill the stack without a model, with their lines.
    assert (
        "- **Framework**: <!-- da:technology-stack-frameworks.backend-technology-stack.framework draft"
        in text
    )
    assert "FastAPI" in text and "[pyproject.toml:6-6](../inventory/pyproject.toml#L6)" in text
    assert "- **CI/CD**: " in text and "GitHub Actions" in text

    # The modules come from the code's structure, not from a model: names, own docstrings, main
    # definitions and imports, each cited.
    group = next(f for f in draft["fields"] if f["id"].endswith("decomposition.service-module"))
    assert group["source"] == "facts" and not any(
        group["id"] in call["field_ids"] for call in draft["plan"]
    )
    names = [v for item in group["items"] for k, v in item.items() if k.endswith(".name")]
    assert names[:3] == [
        "importer (`src/inventory/importer.py`)",
        "storage (`src/inventory/storage.py`)",
        "api (`src/inventory/api.py`)",
    ]
    assert "Import supplier feeds into stock storage." in text
    assert "`src/inventory/storage.py`" in group["items"][0][f"{group['id']}.dependencies"]

    # The decisions come from the ADRs, quoted and cited, not from a model.
    adrs = next(
        f for f in draft["fields"] if f["id"].endswith("key-architectural-decisions.decision")
    )
    assert adrs["source"] == "facts" and not any(
        adrs["id"] in call["field_ids"] for call in draft["plan"]
    )
    titles = [v for item in adrs["items"] for k, v in item.items() if k.endswith("-decision")]
    assert titles == [
        "Use SQLite for stock storage",
        "Retry supplier imports with exponential backoff",
    ]
    rationale = adrs["items"][0][f"{adrs['id']}.rationale"]
    assert "We rejected PostgreSQL because nobody on the team wanted to run it" in rationale
    assert {c["path"] for c in adrs["items"][0]["citations"]} == {"docs/adr/0001-use-sqlite.md"}
    assert "We rejected PostgreSQL because nobody on the team wanted to run it" in text

    # Weak answers are flagged with reasons, and the review report lists each one.
    summary = outcome.summary
    assert summary["flagged"] > 0 and summary["answered"] > 15
    review = (tmp_path / "docs" / "ARCHITECTURE.review.md").read_text()
    flagged_fields = [f for f in draft["fields"] if f["flagged"]]
    flagged_items = [i for f in draft["fields"] for i in f.get("items", []) if i.get("flagged")]
    assert review.count("- [ ] **") == len(flagged_fields) + len(flagged_items)
    assert all(f"(`{f['id']}`)" in review for f in flagged_fields)
    assert "⚠️ *Review:" in text
    # Nothing is left as a bare template placeholder: a line that still shows one says why.
    fenced = md.fenced_lines(text.split("\n"))
    bare = [
        line
        for n, line in enumerate(md.strip_comments(text).split("\n"))
        if n not in fenced and md.PLACEHOLDER_RE.search(line) and "⚠️" not in line
    ]
    assert bare == []
    for result in draft["fields"]:
        assert result["status"] in ("answered", "not_found", "not_applicable")

    # A re-run of an unchanged repository makes no model call.
    with recorded_client(model_base_url) as again:
        second = run_draft(repo, options, again)
        assert again.usage.calls == 0 and again.usage.cache_hits >= len(second.plan)
    assert output.read_text(encoding="utf-8") == text


@pytest.mark.vcr
def test_write_style_section_end_to_end(model_base_url: str, repo: Path, tmp_path: Path) -> None:
    """The write style on the embedded model: the model writes each value; citations still verify."""
    output = tmp_path / "ARCHITECTURE.md"
    options = DraftOptions(
        template="architecture-overview",
        output=output,
        style="write",
        sections=["Database & Storage", "Error Handling"],
    )
    with recorded_client(model_base_url) as client:
        outcome = run_draft(repo, options, client)
    assert outcome.summary["style"] == "write" and len(outcome.plan) == 2
    answered = [
        r for r in outcome.results.values() if r.status == "answered" and r.source == "model"
    ]
    assert answered
    verifier = Verifier(build_index(repo))
    for r in answered:
        for c in r.citations:
            assert verifier.check_citation(c) == "", (r.id, c)
    # Written, not extracted: no value is flagged as being the cited text.
    assert not any("extract style" in reason for r in answered for reason in r.reasons)


@pytest.mark.vcr
def test_component_draft_end_to_end(
    model_base_url: str, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCAGENT_TODAY", "2026-11-23")
    output = tmp_path / "COMPONENT.md"
    options = DraftOptions(
        template="architecture-component", output=output, topic="supplier feed importer"
    )
    with recorded_client(model_base_url) as client:
        outcome = run_draft(repo, options, client)
    text = output.read_text(encoding="utf-8")
    assert text.startswith("> **Type:** Architecture\n> **Focus:** ")
    assert (
        "# <!-- da:architecture-name draft " in text
        and "supplier feed importer" in text.split("\n")[5]
    )
    # The environment-variable table comes from the code, each row citing where it is read.
    assert '| `IMPORT_MAX_RETRIES` | ✗ | `"5"` | Read at src/inventory/importer.py:' in text
    # The importer's own reads only: it reads the database path with a default (the API, another
    # component, requires it).
    assert (
        '| `INVENTORY_DB_PATH` | ✗ | `"inventory.db"` | Read at src/inventory/importer.py:' in text
    )
    assert check_links(output, repo, text) >= 3
    assert outcome.summary["answered"] > 5
    for secret in fixture_repo.PLANTED_SECRETS:
        assert secret not in text
    # An integration's API Endpoints table nobody filled keeps the template's example rows,
    # marked so "100 req/min | 30s" cannot pass for the repository's.
    endpoints = text.split("**API Endpoints:**")[1].split("**Webhooks:**")[0]
    assert "| `/v1/[resource]` | GET |" in endpoints
    assert "not drafted: these are the template's example rows" in endpoints


def test_empty_evidence_yields_not_found_without_a_call(repo: Path, tmp_path: Path) -> None:
    template = tmp_path / "quantum.md"
    template.write_text(
        "# Quantum\n\n## Hardware\n\n- **Qubit Topology**: [qubit lattice cryostat]\n"
    )
    client = ModelClient(
        ModelSettings(base_url="http://unused.test/v1", embedded=False, model="m"), log=CallLog()
    )
    outcome = run_draft(
        repo, DraftOptions(template=str(template), output=tmp_path / "q.md"), client
    )
    result = outcome.results["hardware.qubit-topology"]
    assert result.status == "not_found" and client.usage.calls == 0
    assert "_Not found in the repository or its notes._" in (tmp_path / "q.md").read_text()


def answer(**kw: Any) -> Any:
    base = {
        "evidence": "E1",
        "lines": "none",
        "value": "",
        "status": "answered",
        "confidence": 0.9,
    }
    return TextAnswer.model_validate({**base, **kw})


def test_planted_false_citation_is_caught_and_the_value_left_out(repo: Path) -> None:
    index = build_index(repo)
    verifier = Verifier(index)
    lines = (repo / "docs/architecture.md").read_text().split("\n")
    ev = {
        "E1": Evidence("E1", "docs/architecture.md", 3, 4, "notes", "\n".join(lines[2:4]), 50),
        "E2": Evidence("E2", "docs/architecture.md", 13, 14, "notes", "\n".join(lines[12:14]), 30),
    }
    field = next(
        f
        for s in load_template("architecture-overview").sections()
        for f in s.fields
        if f.key == "architecture_style"
    )

    def check(**kw: Any) -> Any:
        return field_result(field, answer(**kw), ev, verifier, "S")

    good = check(lines="3", value="A modular monolith.")
    assert good.status == "answered" and not good.flagged
    # A format slot copied instead of a value ("{0}", "%s") is no answer: the cited lines stand in
    # for it, flagged, as for any value the model did not write.
    for slot in ("{0}", "%s", "<value>"):
        filled = check(lines="3", value=slot)
        assert filled.value != slot and any("cited text" in r for r in filled.reasons), slot
    assert [c.label for c in good.citations] == ["docs/architecture.md:3-3"]
    assert good.citations[0].quote.startswith("The system is a modular monolith")
    # Lines that are in no evidence item and a claim the evidence does not make: caught, and
    # the value is not shown (nothing vouches for it); the field says what was left out.
    planted = check(lines="40-41", value="Kubernetes services on GKE.")
    assert (planted.status, planted.value, planted.citations) == ("not_found", None, [])
    assert planted.reasons == [left_out(1)] and not planted.flagged
    # Real lines that do not say what the value claims, from a model sure of it: kept, flagged.
    unsupported = check(lines="3-4", value="Kubernetes services on GKE.")
    assert unsupported.status == "answered" and unsupported.flagged
    assert any("appear in the cited evidence" in r for r in unsupported.reasons)
    # The same from a model unsure of it: left out.
    unsure = check(lines="3-4", value="Kubernetes services on GKE.", confidence=0.7)
    assert unsure.status == "not_found" and unsure.reasons == [left_out(1)]
    # Words with a slash ("pub/sub", "client/server") look like paths the repository does not
    # have; they are words, and a value that quotes its line with them is kept.
    worded = check(
        lines="3", value=f"{lines[2]} Clients talk client/server over pub/sub.", confidence=0.75
    )
    assert worded.status == "answered"
    # Lines of the same evidence that do not hold the claim: the span is corrected to those that do.
    moved = check(lines="4", value="The system is a modular monolith.")
    assert moved.citations[0].label == "docs/architecture.md:3-3"
    assert "span corrected" in moved.citations[0].note and not moved.flagged
    # The wrong evidence id (or none) with lines of another item that support the value: that item.
    neighbour = check(evidence="none", lines="13-14", value="One deployable keeps releases simple.")
    assert neighbour.citations[0].label == "docs/architecture.md:13-14"
    # A value that names a file the repository does not have is flagged.
    ghost = check(lines="3", value=f"{lines[2]} See `src/inventory/billing.py`.")
    assert ghost.flagged and any("billing.py" in r for r in ghost.reasons)
    # A "why" answered only from code is inferred, capped and flagged.
    why = next(
        f
        for s in load_template("architecture-overview").sections()
        for f in s.fields
        if f.key == "why_this_style"
    )
    code_ev = {
        "E1": Evidence(
            "E1",
            "src/inventory/storage.py",
            15,
            15,
            "code",
            (repo / "src/inventory/storage.py").read_text().split("\n")[14],
            20,
        )
    }
    inferred = field_result(
        why,
        answer(lines="15", value="Only the importer writes."),
        code_ev,
        verifier,
        "S",
    )
    assert inferred.basis == "inferred" and inferred.flagged and inferred.confidence <= 0.55
    assert verifier.check_citation(
        Citation(path="src/nowhere.py", start_line=1, end_line=2, quote="x")
    )


def test_placeholder_echo_and_duplicates_are_not_answers(repo: Path) -> None:
    verifier = Verifier(build_index(repo))
    fields = {f.key: f for s in load_template("architecture-overview").sections() for f in s.fields}
    echo = field_result(
        fields["communication_patterns"],
        answer(
            evidence="none", value="Synchronous (REST), Asynchronous (Events/Message Bus), Hybrid"
        ),
        {},
        verifier,
        "S",
    )
    assert echo.status == "not_found"
    ev = {
        "E1": Evidence(
            "E1", "README.md", 1, 4, "notes", (repo / "README.md").read_text().split("\n\n")[1], 40
        )
    }
    a = field_result(
        fields["deployment_model"],
        answer(lines="1-4", value="Hourly imports."),
        ev,
        verifier,
        "S",
    )
    b = field_result(
        fields["communication_patterns"],
        answer(lines="1-4", value="Hourly imports."),
        ev,
        verifier,
        "S",
    )
    flag_duplicates([a, b])
    assert a.flagged and b.flagged and any("the same value was given" in r for r in a.reasons)


def test_human_edits_survive_a_redraft(repo: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.md"
    template.write_text(
        "# [Product Name]\n\n## Technology Stack\n\n- **Framework**: [web framework]\n- **CI/CD**: [CI]\n"
        "- **Containerization**: [Docker]\n"
    )
    output = tmp_path / "out.md"
    opts = DraftOptions(template=str(template), output=output, sections=None)
    run_draft(repo, opts, _no_model())
    first = output.read_text()
    markers = find_markers(first).markers
    assert set(markers) >= {
        "product-name",
        "technology-stack.framework",
        "technology-stack.ci-cd",
        "technology-stack.containerization",
    }
    assert all(m.hash == body_hash(m.body) for m in markers.values())
    # A human marks one value reviewed and rewrites another.
    edited = first.replace(
        markers["technology-stack.framework"].text,
        markers["technology-stack.framework"].text.replace(" draft ", " reviewed "),
    )
    edited = edited.replace(
        markers["technology-stack.ci-cd"].body,
        "GitHub Actions, plus a nightly Jenkins job",
    )
    output.write_text(edited)
    run_draft(repo, opts, _no_model())
    again = output.read_text()
    assert "GitHub Actions, plus a nightly Jenkins job" in again
    assert markers["technology-stack.framework"].text.replace(" draft ", " reviewed ") in again
    review = (tmp_path / "out.review.md").read_text()
    assert "`technology-stack.ci-cd` (edited by a human)" in review
    assert "`technology-stack.framework` (marked reviewed)" in review
    # A file docagent did not write is never replaced without --force.
    foreign = tmp_path / "foreign.md"
    foreign.write_text("# My own notes\n")
    with pytest.raises(OutputError, match="not written by docagent"):
        run_draft(repo, DraftOptions(template=str(template), output=foreign), _no_model())
    run_draft(repo, DraftOptions(template=str(template), output=foreign, force=True), _no_model())
    assert "<!-- da:" in foreign.read_text()


def _no_model() -> ModelClient:
    """A client for drafts that facts alone fill: any model call would fail the test."""
    return ModelClient(
        ModelSettings(base_url="http://no-model.test/v1", embedded=False, model="m", max_retries=0),
        log=CallLog(),
    )


def test_dry_run_plans_calls_without_a_model(repo: Path) -> None:
    result = runner.invoke(app, ["draft", str(repo), "--dry-run", "-o", str(repo.parent / "x.md")])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ calls, ~[\d,]+ prompt tokens", result.output)
    assert not (repo.parent / "x.md").exists()
    only = runner.invoke(app, ["draft", str(repo), "--dry-run", "-s", "system-architecture"])
    assert "System Architecture" in only.output and "Technology Stack" not in only.output


def test_template_field_kinds_are_all_drafted(repo: Path) -> None:
    kinds = {f.kind for s in load_template("architecture-component").sections() for f in s.fields}
    assert kinds == {FieldKind.TEXT, FieldKind.TABLE, FieldKind.CODE, FieldKind.LIST}


@pytest.mark.parametrize("name", ["architecture-overview", "architecture-component"])
def test_answer_schemas_are_portable(name: str) -> None:
    from agent.draft.messages import unit_model
    from agent.draft.plan import plan_units
    from agent.llm.json_schema import schema_violations, strict_json_schema

    units = plan_units(load_template(name), set())
    assert units
    for unit, extract in [(u, e) for u in units for e in (False, True)]:
        schema = strict_json_schema(unit_model(unit, extract))
        assert schema_violations(schema) == [], unit.title
        for prop in schema["properties"].values():
            inner = prop["properties"]
            if list(inner) == ["items"]:  # a group: the source comes first in every item
                inner = inner["items"]["items"]["properties"]
            assert list(inner)[:2] == ["evidence", "lines"], unit.title


def test_drafting_some_sections_keeps_the_others(repo: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.md"
    template.write_text(
        "# [Product Name]\n\n## Technology Stack\n\n- **Framework**: [web framework]\n\n"
        "## Infrastructure\n\n- **CI/CD**: [CI]\n"
    )
    output = tmp_path / "out.md"
    run_draft(repo, DraftOptions(template=str(template), output=output), _no_model())
    first = output.read_text()
    assert "GitHub Actions" in first and "FastAPI" in first
    run_draft(
        repo,
        DraftOptions(template=str(template), output=output, sections=["technology-stack"]),
        _no_model(),
    )
    assert output.read_text() == first  # the CI/CD value (not selected) is carried over unchanged


def test_cli_draft_writes_the_document_and_summary(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://no-model.test/v1")  # facts answer everything here
    template = tmp_path / "t.md"
    template.write_text(
        "# [Product Name]\n\n## Technology Stack\n\n- **Framework**: [web framework]\n"
    )
    out = tmp_path / "docs" / "STACK.md"
    result = runner.invoke(app, ["draft", str(repo), "-t", str(template), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 fields answered (2 from facts)" in result.output and "0 model calls" in result.output
    assert out.exists() and (tmp_path / "docs" / "STACK.review.md").exists()
    assert (
        json.loads((tmp_path / "docs" / "STACK.draft.json").read_text())["summary"]["answered"] == 2
    )
    foreign = tmp_path / "mine.md"
    foreign.write_text("hand-written\n")
    refused = runner.invoke(app, ["draft", str(repo), "-t", str(template), "-o", str(foreign)])
    assert refused.exit_code == 1 and "not written by docagent" in refused.output
    assert foreign.read_text() == "hand-written\n"


CUT_TEMPLATE = """# Notes

## Storage

- **Database**: [Which database stores the data]
- **Why This Database**: [The reason for it]
- **Importer Schedule**: [How often supplier feeds are imported]
"""


def _envelope(value: str, lines: str = "1") -> dict[str, Any]:
    return {
        "evidence": "E1",
        "lines": lines,
        "value": value,
        "status": "answered",
        "confidence": 0.9,
    }


def test_a_cut_off_answer_keeps_its_complete_fields_and_asks_only_for_the_rest(
    repo: Path, tmp_path: Path
) -> None:
    from tests.fake_llm import completion, fake, httpx, sequence

    def httpx_response(body: dict[str, Any]) -> Any:
        return httpx.Response(200, json=body)

    template = tmp_path / "notes.md"
    template.write_text(CUT_TEMPLATE)
    first = json.dumps({"database": _envelope("SQLite, one file.")})
    cut = (
        first[:-1] + ', "why_this_database": {"evidence": "E1", "lines": "2", "value": "Nobody wan'
    )
    rest = json.dumps(
        {
            "why_this_database": _envelope("Nobody wanted to run PostgreSQL."),
            "importer_schedule": _envelope("Every hour."),
        }
    )
    handler, seen = sequence(
        httpx_response(completion(cut, "length")), httpx_response(completion(rest))
    )
    client, _ = fake(handler)
    outcome = run_draft(
        repo, DraftOptions(template=str(template), output=tmp_path / "n.md"), client
    )
    assert len(seen) == 2
    asked_again = json.loads(seen[1].content)["response_format"]["json_schema"]["schema"]
    assert sorted(asked_again["properties"]) == ["importer_schedule", "why_this_database"]
    values = {r.label: r.value for r in outcome.results.values()}
    assert values["Database"] == "SQLite, one file."
    assert values["Why This Database"] == "Nobody wanted to run PostgreSQL."
    assert values["Importer Schedule"] == "Every hour."

    # Cut inside the first field: nothing was complete, so no endless re-asking: flagged instead.
    handler, seen = sequence(
        httpx_response(completion('{"database": {"evidence": "E1", "li', "length"))
    )
    client, _ = fake(handler, use_cache=False)  # the same request is in the cache from above
    outcome = run_draft(
        repo,
        DraftOptions(template=str(template), output=tmp_path / "m.md", force=True),
        client,
    )
    assert len(seen) == 1
    assert all(r.flagged and r.source == "error" for r in outcome.results.values())


def test_salvage_repairs_a_cut_inside_the_envelope_and_a_group() -> None:
    from agent.draft.ask import salvage
    from agent.draft.messages import unit_model
    from agent.draft.plan import plan_units

    template = load_template("architecture-overview")
    unit = next(u for u in plan_units(template, set()) if u.groups)
    model = unit_model(unit)
    group_key = next(k for k, mid in unit.keys.items() if mid in {g.id for g in unit.groups})
    text_key = next(k for k in unit.keys if k != group_key)
    item_type = (
        model.model_fields[group_key].annotation.model_fields["items"].annotation.__args__[0]
    )
    item = {
        name: ([] if "list" in str(info.annotation) else "importer")
        for name, info in item_type.model_fields.items()
    }
    item.update({"evidence": "E1", "lines": "3", "status": "answered", "confidence": 1})
    partial = (
        "{"
        + json.dumps(text_key)
        + ': {"evidence": "E1", "lines": "3", "value": "A monolith.", "stat'
    )
    answers, cut = salvage(model, partial)
    assert answers[text_key].value == "A monolith." and cut == {text_key}
    partial = (
        "{" + json.dumps(group_key) + ': {"items": [' + json.dumps(item) + ', {"evidence": "E2"'
    )
    answers, cut = salvage(model, partial)
    assert len(answers[group_key].items) == 1 and group_key in cut


def test_extract_style_takes_the_cited_lines_as_the_value(repo: Path) -> None:
    from agent.draft.answers import CitedAnswer
    from agent.llm.profile import resolve_style

    assert resolve_style(None, "qwen2.5-coder-0.5b") == "extract"
    assert resolve_style(None, "gpt-4o-mini") == "write"
    assert resolve_style("write", "qwen2.5-coder-0.5b") == "write"
    with pytest.raises(UserInputError, match="--style"):
        resolve_style("poem", None)
    verifier = Verifier(build_index(repo))
    lines = (repo / "docs/architecture.md").read_text().split("\n")
    ev = {"E1": Evidence("E1", "docs/architecture.md", 1, 14, "notes", "\n".join(lines[:14]), 90)}
    fields = {f.key: f for s in load_template("architecture-overview").sections() for f in s.fields}

    def point(key: str, **kw: Any) -> Any:
        base = {"evidence": "E1", "lines": "1-4", "status": "answered", "confidence": 0.9}
        return field_result(
            fields[key], CitedAnswer.model_validate({**base, **kw}), ev, verifier, "S"
        )

    style = point("architecture_style")
    # The heading is skipped, the citation narrowed to the lines that make the value.
    assert style.value.startswith("The system is a modular monolith")
    assert [c.label for c in style.citations] == ["docs/architecture.md:3-4"]
    assert style.flagged and any("extract style" in r for r in style.reasons)
    why = point("why_this_style", lines="13-14")
    assert why.status == "answered" and "one deployable keeps releases" in why.value
    # A heading alone names a topic ("# Architecture" for the style), it states no value.
    title = point("architecture_style", lines="1-1")
    assert title.status == "not_found" and "are a heading" in title.reasons[0]
    # Lines that say nothing about the field are not an answer.
    off = point("caching", lines="8-9")
    assert off.status == "not_found" and "do not mention" in off.reasons[0]
    # Nor are lines that share only the placeholder's plain words ("the system" for "Event
    # System: overview of the event system ..."): the subject itself must be named.
    vague = point("event_system", lines="3-4")
    assert vague.status == "not_found" and "do not mention" in vague.reasons[0]
    assert point("architecture_style", status="not_found").status == "not_found"
    # A list field gets the cited text as its one item.
    listing = point("key_considerations_when_designing_new_features", lines="3-4")
    assert listing.value == [style.value]


def test_lines_from_a_roadmap_are_no_stack_value(repo: Path) -> None:
    from agent.draft.answers import CitedAnswer

    (repo / "docs" / "roadmap.md").write_text(
        "# Roadmap\n\nA hosted server backed by a PostgreSQL database could store operation logs.\n",
        encoding="utf-8",
    )
    verifier = Verifier(build_index(repo))
    text = (repo / "docs" / "roadmap.md").read_text()
    ev = {"E1": Evidence("E1", "docs/roadmap.md", 1, 3, "notes", text, 40)}
    fields = {f.key: f for s in load_template("architecture-overview").sections() for f in s.fields}
    answer = CitedAnswer.model_validate(
        {"evidence": "E1", "lines": "3-3", "status": "answered", "confidence": 0.9}
    )
    # It names a database, but as a plan: the system is not built on it today.
    result = field_result(fields["database"], answer, ev, verifier, "S")
    assert result.status == "not_found" and "from a roadmap" in result.reasons[0]


def _event_group() -> tuple[Any, Any, dict[str, Any]]:
    """The overview's Event group, its answer model, and a blank item of it."""
    from agent.draft.answers import group_answer

    group = next(
        g
        for s in load_template("architecture-overview").sections()
        for g in s.groups
        if g.label.startswith("Event")
    )
    model = group_answer(group, group.members()[0])
    item_fields = model.model_fields["items"].annotation.__args__[0].model_fields
    blank = {k: ([] if "list" in str(i.annotation) else "") for k, i in item_fields.items()}
    return group, model, blank


def test_group_items_that_echo_the_template_or_the_prompt_are_dropped(repo: Path) -> None:
    from agent.draft.verify import group_result

    group, model, blank = _event_group()

    def item(**values: Any) -> dict[str, Any]:
        return {
            **blank,
            "evidence": "none",
            "lines": "none",
            "status": "answered",
            "confidence": 0.5,
            **values,
        }

    labels = {f.key: f.label for f in group.members()[0]}
    echo = item(
        **{
            k: [label] if isinstance(blank[k], list) else label
            for k, label in labels.items()
            if k in blank
        }
    )
    scaffold = item(
        **{next(iter(labels)): "one item per event the evidence shows (an empty list if none)."}
    )
    answer = model.model_validate({"items": [echo, scaffold]})
    result = group_result(group, answer, {}, Verifier(build_index(repo)), "S")
    assert result.items == [] and result.status == "not_found"


def test_group_items_no_cited_line_supports_are_left_out_and_counted(repo: Path) -> None:
    from agent.draft.verify import group_result

    group, model, blank = _event_group()
    item_fields = model.model_fields["items"].annotation.__args__[0].model_fields
    text_keys = [
        k
        for k, i in item_fields.items()
        if i.annotation is str and k not in ("evidence", "lines", "status")
    ]
    lines = (repo / "docs/architecture.md").read_text().split("\n")
    ev = {"E1": Evidence("E1", "docs/architecture.md", 3, 4, "notes", "\n".join(lines[2:4]), 50)}

    def item(value: str, confidence: float) -> dict[str, Any]:
        return {
            **blank,
            text_keys[0]: value,
            "evidence": "E1",
            "lines": "3",
            "status": "answered",
            "confidence": confidence,
        }

    stated = item(lines[2], 0.8)
    # A template's example, cited at lines that do not say it, by a model unsure of it.
    invented = item("OAuth Provider A issues tokens to Kubernetes services.", 0.5)
    # Lines it quotes, under the name of a file the repository does not have.
    ghost = item(f"`stream/stream.go`: {lines[2]}", 0.5)
    answer = model.model_validate({"items": [stated, invented, ghost]})
    result = group_result(group, answer, ev, Verifier(build_index(repo)), "S")
    assert [i[next(iter(i))] for i in result.items] == [lines[2]]
    assert result.status == "answered" and result.reasons == [left_out(2)] and result.flagged
    # All left out: not found, and the review report's not-found list says why.
    answer = model.model_validate({"items": [invented]})
    emptied = group_result(group, answer, ev, Verifier(build_index(repo)), "S")
    assert emptied.status == "not_found" and emptied.reasons == [left_out(1)]
    assert not emptied.flagged  # listed once, under "Not found"
    from agent.draft.review import review_markdown

    summary = {"answered": 0, "flagged": 0, "not_found": 1, "errors": 0}
    review = review_markdown(
        load_template("architecture-overview"), {emptied.id: emptied}, summary, "A.md", kept={}
    )
    assert f"(`{emptied.id}`): not found ({left_out(1)})" in review


def test_document_templates_in_the_repository_are_never_evidence(repo: Path) -> None:
    from agent.document.markdown import looks_like_template
    from agent.draft.evidence import gather_evidence
    from agent.draft.plan import plan_units

    shipped = load_template("architecture-overview")
    (repo / "docs" / "templates").mkdir()
    (repo / "docs" / "templates" / "overview.md").write_text("\n".join(shipped.lines))
    index = build_index(repo)
    # Without the filter the template would win: it names every topic the sections ask about.
    hits = index.search(plan_units(shipped, set())[0].query(), 10)
    assert any(h.chunk.path.startswith("docs/templates/") for h in hits)
    for unit in plan_units(shipped, set())[:6]:
        evidence = gather_evidence(unit, index, 1200)
        assert evidence and not any(e.path.startswith("docs/templates/") for e in evidence)
    # Decided once, when the file is indexed.
    assert index.is_template("docs/templates/overview.md") and not index.is_template("README.md")
    assert looks_like_template("t.md", "\n".join(f"- **F{n}**: [value {n}]" for n in range(6)))
    assert not looks_like_template("retro.md", "\n".join(f"* [Matt] point {n}" for n in range(6)))
    assert not looks_like_template("x.py", 'A = ["one", "two"]\nB = ["three"]\nC = ["four"]')
    assert not looks_like_template("R.md", "See [the docs](d.md), [this](a) and [that](b).\n")
