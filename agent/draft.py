"""`docagent draft`: fill a template from a repository, cite everything, flag what is weak."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agent import prompts, tokens
from agent.answers import Citation, FieldResult, answer_type, group_answer, item_key
from agent.errors import (
    BudgetExceededError,
    ModelError,
    ModelNotConfiguredError,
    ModelTruncatedError,
)
from agent.index import RepoIndex, build_index
from agent.llm import ModelClient
from agent.plan import Evidence, StaticAnswer, Unit, gather_evidence, plan_units, static_answers
from agent.render import group_members
from agent.repo import DEFAULT_MAX_FILE_SIZE
from agent.report import (
    companion_paths,
    read_existing,
    render_draft,
    review_markdown,
    write_atomic,
)
from agent.schemas import describe
from agent.templates import FieldKind, Group, Template, TemplateField, load_template
from agent.verify import Verifier, field_result, flag_duplicates, group_result


@dataclass
class DraftOptions:
    """What to draft and where to write it."""

    template: str = "architecture-overview"
    output: Path | None = None
    sections: list[str] | None = None
    topic: str = ""
    dry_run: bool = False
    force: bool = False
    evidence_tokens: int | None = None  # per call; default depends on the endpoint
    max_file_size: int | None = None


@dataclass
class PlannedCall:
    """One call of the plan (for --dry-run and progress)."""

    title: str
    fields: int
    groups: int
    evidence: int
    prompt_tokens: int
    max_output_tokens: int


@dataclass
class DraftEvent:
    """Progress: a unit started or finished."""

    kind: str  # "plan", "start", "done"
    title: str = ""
    done: int = 0
    total: int = 0
    cache_hit: bool = False


@dataclass
class DraftOutcome:
    """Everything a draft produced."""

    template: Template
    results: dict[str, FieldResult]
    plan: list[PlannedCall]
    markdown: str = ""
    review: str = ""
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


class _UnitResult(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unit_model(unit: Unit) -> type[BaseModel]:
    """The structured answer for one call: one property per field/group key of the unit."""
    members = _members(unit)
    props: dict[str, Any] = {}
    for key, member_id in unit.keys.items():
        member = members[member_id]
        if isinstance(member, Group):
            fields, _ = group_members(member)
            props[key] = (group_answer(member, fields), Field(description=f"{member.label} items"))
        else:
            props[key] = (answer_type(member), Field(description=describe(member)))
    name = "".join(w.capitalize() for w in unit.sections[0].key.split("_")) or "Section"
    return create_model(f"{name}Answers", __base__=_UnitResult, **props)  # type: ignore[call-overload, no-any-return]


def field_lines(unit: Unit) -> str:
    """How the prompt describes each field it asks for."""
    members = _members(unit)
    out = []
    for key, member_id in unit.keys.items():
        m = members[member_id]
        if isinstance(m, Group):
            fields, _ = group_members(m)
            parts = ", ".join(
                f"{item_key(f)} ({f.label})" for f in fields if f.kind is not FieldKind.TABLE
            )
            out.append(
                f"- {key}: one item per {m.label.lower()} the evidence shows (an empty list if none). "
                f"Each item has {parts}."
            )
            continue
        where = f" [under {' > '.join(m.context)}]" if m.context else ""
        why = ' (a "why" field)' if m.is_rationale else ""
        if m.kind is FieldKind.TABLE:
            cols = ", ".join(f"{k} ({c})" for k, c in zip(m.column_keys, m.columns, strict=True))
            out.append(f"- {key}: {m.label}{where}: table rows with {cols}")
        elif m.kind is FieldKind.LIST:
            out.append(f"- {key}: {m.label}{where}: a list of short items: {_short(m.description)}")
        elif m.kind is FieldKind.CODE:
            out.append(
                f"- {key}: {m.label}{where}: the content of a {m.language or 'text'} block for this repository"
            )
        else:
            out.append(
                f"- {key}: {m.label}{why}{where}? (for example: {_short(m.description, 90)})"
            )
    return "\n".join(out)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def evidence_text(evidence: list[Evidence]) -> str:
    """The numbered evidence block of a prompt."""
    return "\n\n".join(f"{e.header}\n{e.text}" for e in evidence)


def build_messages(unit: Unit, evidence: list[Evidence], repo_name: str) -> list[dict[str, str]]:
    """The chat messages for one unit."""
    guidance = [g for g in unit.guidance if len(g) < 600][:3]
    guide = (
        ("\nTemplate guidance:\n" + "\n".join(f"- {g}" for g in guidance) + "\n")
        if guidance
        else ""
    )
    text = prompts.render(
        "draft_section",
        repo=repo_name,
        section=unit.title,
        guidance=guide,
        fields=field_lines(unit),
        evidence=evidence_text(evidence),
    )
    return [{"role": "user", "content": text}]


def max_output_tokens(unit: Unit) -> int:
    """Room for the answer: grows with the fields asked, bounded."""
    total = 0
    # Measured on the 0.5B model: a text field with its quote takes ~110 tokens, often more.
    for f in unit.fields:
        total += 320 if f.kind in (FieldKind.TABLE, FieldKind.CODE) else 170
    for g in unit.groups:
        total += 150 + 90 * len(group_members(g)[0])
    return max(400, min(total, 3000))


def default_evidence_tokens(client: ModelClient | None) -> int:
    """Evidence per call: small for the embedded model's 8k context and slow prompt speed."""
    if (
        client is None
        or client.settings.embedded
        or "127.0.0.1" in (client.settings.base_url or "")
    ):
        return 1800
    # ~5k-token calls: a full overview draft of a 50k-line repository stays near 130k input tokens.
    return 4500


def run_draft(
    repo: str | Path,
    options: DraftOptions,
    client: ModelClient | None,
    progress: Callable[[DraftEvent], None] | None = None,
    index: RepoIndex | None = None,
) -> DraftOutcome:
    """Draft (or plan, with dry_run) a template for a repository."""
    started = time.perf_counter()
    template = load_template(options.template)
    output = options.output or Path(f"{template.name}.md")
    kept, drafts = ({}, {}) if options.force or options.dry_run else read_existing(output)
    index = index or build_index(repo, max_file_size=options.max_file_size or DEFAULT_MAX_FILE_SIZE)
    repo_name = index.root.name
    static = static_answers(template, index, options.topic)
    units = plan_units(template, set(static), options.sections)
    budget = options.evidence_tokens or default_evidence_tokens(client)
    verifier = Verifier(index)
    results: dict[str, FieldResult] = {}
    sections_of = _section_titles(template)
    for fid, answer in static.items():
        if options.sections is None or any(
            fid.startswith(s) or s.lower() in sections_of.get(fid, "").lower()
            for s in options.sections
        ):
            results[fid] = _static_result(fid, answer, template, sections_of, index)
    plan: list[PlannedCall] = []
    prepared: list[tuple[Unit, list[Evidence], list[dict[str, str]]]] = []
    for unit in units:
        evidence = gather_evidence(unit, index, budget, options.topic)
        messages = build_messages(unit, evidence, repo_name)
        plan.append(
            PlannedCall(
                unit.title,
                len(unit.fields),
                len(unit.groups),
                len(evidence),
                tokens.count(messages[0]["content"]),
                max_output_tokens(unit),
            )
        )
        prepared.append((unit, evidence, messages))
    outcome = DraftOutcome(template, results, plan)
    if progress:
        progress(DraftEvent("plan", total=len(prepared)))
    if options.dry_run:
        outcome.seconds = time.perf_counter() - started
        return outcome
    if client is None:
        raise ModelNotConfiguredError(
            "No model client.", hint="Configure an endpoint or install the embedded model."
        )
    done = 0
    stopped: str | None = None

    def work(item: tuple[Unit, list[Evidence], list[dict[str, str]]]) -> dict[str, FieldResult]:
        unit, evidence, messages = item
        if stopped:
            return _failed(unit, sections_of, f"not drafted: {stopped}")
        if progress:
            progress(DraftEvent("start", unit.title, done, len(prepared)))
        if not evidence:
            return _not_found(unit, sections_of)
        return _ask(unit, evidence, messages, client, verifier, index, sections_of, repo_name)

    workers = max(1, client.settings.max_concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, item) for item in prepared]
        for item, future in zip(prepared, futures, strict=True):
            try:
                results.update(future.result())
            except BudgetExceededError as exc:
                stopped = "the token budget was reached"
                results.update(_failed(item[0], sections_of, str(exc.message)))
            done += 1
            if progress:
                progress(DraftEvent("done", item[0].title, done, len(prepared)))
    lost = {fid: k.body for fid, k in kept.items() if fid not in _all_ids(template)}
    link_base = _link_base(output, index.root)
    # With --sections, the values of sections not drafted this time stay as the last output had them.
    carried = {fid: k for fid, k in drafts.items() if fid not in results and fid not in kept}
    outcome.markdown = render_draft(template, results, {**carried, **kept}, link_base)
    outcome.summary = summarize(results, kept, client, time.perf_counter() - started, len(prepared))
    outcome.review = review_markdown(template, results, kept, lost, outcome.summary, output.name)
    side = companion_paths(output)
    draft_json = {
        "template": template.name,
        "repository": str(index.root),
        "summary": outcome.summary,
        "fields": [r.model_dump(mode="json") for r in results.values()],
        "plan": [p.__dict__ for p in plan],
    }
    review_json = {
        "summary": outcome.summary,
        "flagged": [
            r.model_dump(mode="json")
            for r in results.values()
            if r.flagged or any(i.get("flagged") for i in r.items)
        ],
        "kept": sorted(kept),
        "lost": lost,
    }
    write_atomic(
        {
            output: outcome.markdown + ("\n" if not outcome.markdown.endswith("\n") else ""),
            side["review_md"]: outcome.review,
            side["review_json"]: json.dumps(review_json, indent=2),
            side["draft_json"]: json.dumps(draft_json, indent=2, ensure_ascii=False),
        }
    )
    outcome.written = [output, *side.values()]
    outcome.seconds = time.perf_counter() - started
    return outcome


def summarize(
    results: dict[str, FieldResult],
    kept: dict[str, Any],
    client: ModelClient | None,
    seconds: float,
    calls_planned: int,
) -> dict[str, Any]:
    """Counts, tokens and time for the end-of-run summary."""
    usage = client.usage if client else None
    return {
        "answered": sum(r.status == "answered" and r.source != "error" for r in results.values()),
        "not_found": sum(r.status == "not_found" for r in results.values()),
        "not_applicable": sum(r.status == "not_applicable" for r in results.values()),
        "flagged": sum(
            r.flagged or any(i.get("flagged") for i in r.items) for r in results.values()
        ),
        "from_facts": sum(r.source == "facts" for r in results.values()),
        "errors": sum(r.source == "error" for r in results.values()),
        "kept_human": len(kept),
        "calls_planned": calls_planned,
        "model_calls": usage.calls if usage else 0,
        "cache_hits": usage.cache_hits if usage else 0,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "model_seconds": round(usage.model_seconds, 2) if usage else 0.0,
        "seconds": round(seconds, 2),
    }


def _all_ids(template: Template) -> set[str]:
    ids: set[str] = set()
    for sec in template.sections():
        ids.update(f.id for f in sec.fields)
        ids.update(g.id for g in sec.groups)
    return ids


def _link_base(output: Path, root: Path) -> str:
    rel = os.path.relpath(root.resolve(), output.resolve().parent)
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"


def _section_titles(template: Template) -> dict[str, str]:
    out: dict[str, str] = {}

    def visit(sec: Any, trail: list[str]) -> None:
        here = (
            [*trail, sec.title]
            if getattr(sec, "title", "") and getattr(sec, "level", 0) > 1
            else trail
        )
        for f in sec.fields:
            out[f.id] = " > ".join(here)
        for g in sec.groups:
            out[g.id] = " > ".join(here)
        for sub in sec.sections:
            visit(sub, here)

    visit(template.root, [])
    return out


def _member(template: Template, fid: str) -> TemplateField | None:
    for sec in template.sections():
        for f in sec.fields:
            if f.id == fid:
                return f
    return None


def _static_result(
    fid: str,
    answer: StaticAnswer,
    template: Template,
    sections_of: dict[str, str],
    index: RepoIndex,
) -> FieldResult:
    f = _member(template, fid)
    label = f.label if f else fid
    citations = []
    for fact in answer.facts:
        lines = index.file_lines(fact.path) or []
        quote = lines[fact.line - 1].strip() if 0 < fact.line <= len(lines) else ""
        citations.append(
            Citation(path=fact.path, start_line=fact.line, end_line=fact.line, quote=quote[:120])
        )
    value: Any = answer.rows if answer.rows is not None else answer.value
    return FieldResult(
        id=fid,
        label=label,
        section=sections_of.get(fid, ""),
        kind=f.kind.value if f else "text",
        status=answer.status,
        value=value,
        confidence=0.95 if citations else 0.9,
        model_confidence=1.0,
        citations=citations,
        source="facts",
        is_rationale=bool(f and f.is_rationale),
    )


def _members(unit: Unit) -> dict[str, TemplateField | Group]:
    members: dict[str, TemplateField | Group] = {f.id: f for f in unit.fields}
    members.update({g.id: g for g in unit.groups})
    return members


def _unanswered(
    unit: Unit, sections_of: dict[str, str], reason: str, *, failed: bool
) -> dict[str, FieldResult]:
    """Every field of a unit as not found (no evidence) or not drafted (a failed call)."""
    return {
        mid: FieldResult(
            id=mid,
            label=m.label,
            section=sections_of.get(mid, unit.title),
            kind="group" if isinstance(m, Group) else m.kind.value,
            status="not_found",
            source="error" if failed else "none",
            flagged=failed,
            reasons=[reason],
        )
        for mid, m in _members(unit).items()
    }


def _not_found(unit: Unit, sections_of: dict[str, str]) -> dict[str, FieldResult]:
    return _unanswered(
        unit, sections_of, "no evidence in the repository matched this section", failed=False
    )


def _failed(unit: Unit, sections_of: dict[str, str], reason: str) -> dict[str, FieldResult]:
    return _unanswered(unit, sections_of, reason, failed=True)


def _ask(
    unit: Unit,
    evidence: list[Evidence],
    messages: list[dict[str, str]],
    client: ModelClient,
    verifier: Verifier,
    index: RepoIndex,
    sections_of: dict[str, str],
    repo_name: str = "",
) -> dict[str, FieldResult]:
    model = unit_model(unit)
    try:
        completion = client.complete(
            messages, model, max_tokens=max_output_tokens(unit), purpose=f"draft: {unit.title}"
        )
    except ModelTruncatedError as exc:
        halves = split_unit(unit)
        if halves is None:
            return _failed(unit, sections_of, f"model call failed: {exc.message}")
        # Too much asked at once: ask for each half separately, with the same evidence.
        out: dict[str, FieldResult] = {}
        for half in halves:
            out.update(
                _ask(
                    half,
                    evidence,
                    build_messages(half, evidence, repo_name),
                    client,
                    verifier,
                    index,
                    sections_of,
                    repo_name,
                )
            )
        return out
    except ModelError as exc:
        if isinstance(exc, (ModelNotConfiguredError, BudgetExceededError)):
            raise
        return _failed(unit, sections_of, f"model call failed: {exc.message}")
    by_id = {e.id: e for e in evidence}
    members = _members(unit)
    results: dict[str, FieldResult] = {}
    for key, mid in unit.keys.items():
        answer = getattr(completion.value, key)
        member = members[mid]
        section = sections_of.get(mid, unit.title)
        if isinstance(member, Group):
            results[mid] = group_result(member, answer, by_id, verifier, section)
        else:
            results[mid] = field_result(member, answer, by_id, verifier, section)
    flag_duplicates(list(results.values()))
    return results


def split_unit(unit: Unit) -> list[Unit] | None:
    """Two units with half the fields each (None if there is only one thing to ask)."""
    keys = list(unit.keys.items())
    if len(keys) < 2:
        return None
    halves = []
    for part in (keys[: len(keys) // 2], keys[len(keys) // 2 :]):
        ids = {mid for _, mid in part}
        halves.append(
            Unit(
                title=unit.title,
                sections=unit.sections,
                fields=[f for f in unit.fields if f.id in ids],
                groups=[g for g in unit.groups if g.id in ids],
                keys=dict(part),
                guidance=unit.guidance,
            )
        )
    return halves
