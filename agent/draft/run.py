"""`docagent draft`: fill a template from a repository, cite everything, flag what is weak."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agent.base import tokens
from agent.base.errors import (
    AllCallsFailedError,
    BudgetExceededError,
    ModelCancelledError,
    ModelError,
    ModelNotConfiguredError,
    ModelTruncatedError,
    OutputPathError,
    UserInputError,
)
from agent.document.templates import FieldKind, Group, Template, TemplateField, load_template
from agent.draft.answers import (
    Citation,
    FieldResult,
    answer_type,
    describe,
    group_answer,
    item_key,
)
from agent.draft.brief import brief_block, build_brief
from agent.draft.citations import Verifier, stamp_citations
from agent.draft.evidence import Evidence, evidence_text, gather_evidence
from agent.draft.outputs import (
    Existing,
    companion_paths,
    read_existing,
    remove_stale_temps,
    write_draft,
)
from agent.draft.plan import Unit, plan_units, unknown_selectors
from agent.draft.report import field_counts, link_base
from agent.draft.static_answers import StaticAnswer, static_answers
from agent.draft.update import plan_update, prompt_digest
from agent.draft.verify import field_result, flag_duplicates, group_result
from agent.ingest import history
from agent.ingest.index import RepoIndex, build_index
from agent.ingest.repo import DEFAULT_MAX_FILE_SIZE
from agent.llm import prompts
from agent.llm.client import ModelClient
from agent.llm.json_repair import partial_members
from agent.llm.pool import CallPool
from agent.llm.profile import ModelProfile


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
    style: str | None = None  # "write" or "extract"; default depends on the model
    update: bool = False  # re-draft only what changed since the last draft (agent/draft/update.py)
    since: str | None = None  # with update: also re-ask calls whose evidence changed since this


@dataclass
class PlannedCall:
    """One call of the plan (for --dry-run and progress)."""

    title: str
    fields: int
    groups: int
    evidence: int
    prompt_tokens: int
    max_output_tokens: int
    # What the call fills and what it is shown, recorded in .draft.json so a benchmark can tell
    # "the evidence never reached the model" from "the model missed it" without a model.
    field_ids: list[str] = field(default_factory=list)
    evidence_spans: list[str] = field(default_factory=list)
    prompt_digest: str = ""  # --update asks a call again only when its prompt changed


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
    # --update: the calls asked again and why (the others kept their previous answers).
    updates: list[tuple[int, str]] = field(default_factory=list)  # (index in plan, reason)


class _UnitResult(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unit_model(unit: Unit, extract: bool = False) -> type[BaseModel]:
    """The structured answer for one call: one property per field/group key of the unit."""
    members = _members(unit)
    props: dict[str, Any] = {}
    for key, member_id in unit.keys.items():
        member = members[member_id]
        if isinstance(member, Group):
            fields, _ = member.members()
            props[key] = (group_answer(member, fields), Field(description=f"{member.label} items"))
        else:
            props[key] = (answer_type(member, extract), Field(description=describe(member)))
    name = "".join(w.capitalize() for w in unit.sections[0].key.split("_")) or "Section"
    return create_model(f"{name}Answers", __base__=_UnitResult, **props)  # type: ignore[call-overload, no-any-return]


def field_lines(unit: Unit, extract: bool = False) -> str:
    """How the prompt describes each field it asks for."""
    members = _members(unit)
    out = []
    for key, member_id in unit.keys.items():
        m = members[member_id]
        if isinstance(m, Group):
            fields, _ = m.members()
            parts = ", ".join(
                f"{item_key(f)} ({f.label})" for f in fields if f.kind is not FieldKind.TABLE
            )
            out.append(
                f"- {key}: one item per {m.label.lower()} the evidence shows (an empty list if none). "
                f"Each item has {parts}.{' (write)' if extract else ''}"
            )
            continue
        where = f" [under {' > '.join(m.context)}]" if m.context else ""
        why = ' (a "why" field)' if m.is_rationale else ""
        if m.kind is FieldKind.TABLE:
            cols = ", ".join(f"{k} ({c})" for k, c in zip(m.column_keys, m.columns, strict=True))
            write = " (write)" if extract else ""
            out.append(f"- {key}: {m.label}{where}: table rows with {cols}{write}")
        elif m.kind is FieldKind.LIST:
            out.append(
                f"- {key}: {m.label}{where}: "
                + ("" if extract else "a list of short items: ")
                + _short(m.description)
            )
        elif m.kind is FieldKind.CODE:
            out.append(
                f"- {key}: {m.label}{where}: the content of a {m.language or 'text'} block for this "
                f"repository{' (write)' if extract else ''}"
            )
        else:
            out.append(
                f"- {key}: {m.label}{why}{where}? (for example: {_short(m.description, 90)})"
            )
    return "\n".join(out)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_messages(
    unit: Unit, evidence: list[Evidence], repo_name: str, extract: bool = False, brief: str = ""
) -> list[dict[str, str]]:
    """The chat messages for one unit (the constant instructions and the repository brief first:
    llama.cpp reuses the cached prefix of the previous prompt)."""
    guidance = [g for g in unit.guidance if len(g) < 600][:3]
    guide = (
        ("\nTemplate guidance:\n" + "\n".join(f"- {g}" for g in guidance) + "\n")
        if guidance
        else ""
    )
    text = prompts.render(
        "extract_section" if extract else "draft_section",
        repo=repo_name,
        brief=brief_block(brief),
        section=unit.title,
        guidance=guide,
        fields=field_lines(unit, extract),
        evidence=evidence_text(evidence),
    )
    return [{"role": "user", "content": text}]


def max_output_tokens(unit: Unit, extract: bool = False) -> int:
    """Room for the answer. Unused room costs nothing; the grammar bounds every string and list, so
    this only has to cover a full answer (a cut one is salvaged field by field)."""
    total = 0
    # Measured on the 0.5B model with line citations: a text field takes 50-110 tokens.
    for f in unit.fields:
        if extract and f.kind in (FieldKind.TEXT, FieldKind.LIST):
            total += 50
        else:
            total += 400 if f.kind in (FieldKind.TABLE, FieldKind.CODE, FieldKind.LIST) else 140
    for g in unit.groups:
        total += 100 + 110 * len(g.members()[0])
    return max(400, min(total, 3500))


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
    if options.sections:
        _check_sections(template, options.sections)
    output = options.output or Path(f"{template.name}.md")
    known = _all_ids(template)
    if not options.dry_run:
        check_output(output)
        for path in (output, *companion_paths(output).values()):
            remove_stale_temps(path)  # what a killed run left
    existing: Existing | None = (
        None if options.force or options.dry_run else read_existing(output, known)
    )
    index = index or build_index(repo, max_file_size=options.max_file_size or DEFAULT_MAX_FILE_SIZE)
    repo_name = index.root.name
    static = static_answers(template, index, options.topic)
    units = plan_units(template, set(static), options.sections)
    profile = ModelProfile.of(
        client.settings if client else None, options.style, options.evidence_tokens
    )
    budget = profile.evidence_tokens
    extract = profile.style == "extract"
    verifier = Verifier(index)
    brief = build_brief(index, profile.brief_tokens) if profile.brief_tokens else ""
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
        messages = build_messages(unit, evidence, repo_name, extract, brief)
        plan.append(
            PlannedCall(
                unit.title,
                len(unit.fields),
                len(unit.groups),
                len(evidence),
                tokens.count(messages[0]["content"]),
                max_output_tokens(unit, extract),
                [f.id for f in unit.fields] + [g.id for g in unit.groups],
                [
                    e.path if e.start_line == 0 else f"{e.path}:{e.start_line}-{e.end_line}"
                    for e in evidence
                ],
                prompt_digest(messages),
            )
        )
        prepared.append((unit, evidence, messages))
    outcome = DraftOutcome(template, results, plan)
    human: dict[str, FieldResult] = {}
    if options.update:
        calls = [(p.field_ids, p.evidence_spans, p.prompt_digest) for p in plan]
        update = plan_update(output, index.root, calls, options.since)
        results.update(update.kept)
        outcome.updates = sorted(update.redo.items())
        prepared = [item for n, item in enumerate(prepared) if n in update.redo]
        human = update.human
    if progress:
        progress(DraftEvent("plan", total=len(prepared)))
    if options.dry_run:
        outcome.seconds = time.perf_counter() - started
        return outcome
    if client is None and prepared:  # a template the facts fill entirely needs no model
        raise ModelNotConfiguredError(
            "No model client.", hint="Configure an endpoint or install the embedded model."
        )
    done = 0
    stopped: str | None = None
    if client is not None:
        ctx = _Drafting(client, verifier, sections_of, repo_name, extract, brief)

        def work(item: tuple[Unit, list[Evidence], list[dict[str, str]]]) -> dict[str, FieldResult]:
            unit, evidence, messages = item
            if stopped:
                return _failed(unit, sections_of, f"not drafted: {stopped}")
            if progress:
                progress(DraftEvent("start", unit.title, done, len(prepared)))
            if not evidence:
                return _not_found(unit, sections_of)
            answered = _ask(ctx, unit, evidence, messages)
            ctx.count(answered)
            return answered

        # Ctrl-C (or a fatal error) leaves this block at once: queued calls are cancelled, calls in
        # flight are abandoned, and nothing below runs, so no output is half-written.
        with CallPool(client.settings.max_concurrency, on_abort=client.cancel) as pool:
            futures = [pool.submit(functools.partial(work, item)) for item in prepared]
            for item, future in zip(prepared, futures, strict=True):
                try:
                    results.update(future.result())
                except BudgetExceededError as exc:
                    stopped = "the token budget was reached"
                    results.update(_failed(item[0], sections_of, str(exc.message)))
                done += 1
                if progress:
                    progress(DraftEvent("done", item[0].title, done, len(prepared)))
        if ctx.calls and ctx.failed == ctx.calls:
            raise AllCallsFailedError(
                f"Every model call failed ({ctx.failed} of {ctx.calls}); nothing was written. "
                f"First failure: {ctx.first_failure}",
                hint="Check the endpoint and model (docagent models), then run again.",
                calls=ctx.calls,
                cause=ctx.first_failure,
            )
    results.update(human)  # --update: a reviewed or edited value's record is not refreshed
    stamp_citations(results, index)
    base = link_base(output, index.root)
    # Human edits are merged in when the output is written (outputs.write_draft recounts then).
    outcome.summary = summarize(results, (), client, time.perf_counter() - started, len(prepared))
    outcome.summary["style"] = "extract" if extract else "write"
    with _interrupt_deferred():
        written = write_draft(
            output,
            template,
            results,
            existing,
            base,
            known,
            outcome.summary,
            {
                "template": template.name,
                "template_source": options.template,  # as given: --update reuses it
                "repository": str(index.root),
                # What `docagent check` diffs the cited lines against.
                "commit": history.head(index.root) if index.is_git else None,
                "plan": [p.__dict__ for p in plan],
            },
        )
    outcome.results = written.results
    outcome.markdown = written.composed.markdown
    outcome.review = written.review
    outcome.written = written.written
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C while the outputs are written: the four files go in together, then the
    interrupt is raised (a kill cannot be held; the writes themselves are atomic)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def summarize(
    results: dict[str, FieldResult],
    kept: Collection[str],
    client: ModelClient | None,
    seconds: float,
    calls_planned: int,
) -> dict[str, Any]:
    """Counts (see report.field_counts), tokens, cost and time for the end-of-run summary."""
    usage = client.usage if client else None
    # The tokens the endpoint reported, at its price (None when the price is not known).
    cost = client.cost(usage.prompt_tokens, usage.completion_tokens) if client and usage else None
    return {
        **field_counts(results, kept),
        "calls_planned": calls_planned,
        "model_calls": usage.calls if usage else 0,
        "cache_hits": usage.cache_hits if usage else 0,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "model_seconds": round(usage.model_seconds, 2) if usage else 0.0,
        "cost_usd": None if cost is None else round(cost, 6),
        "seconds": round(seconds, 2),
    }


def check_output(output: Path) -> None:
    """Fail before any model call when the draft could not be written: the output or one of its
    companion files is a directory, a file stands where a folder should be, or the folder it would
    be written to cannot be written. Nothing is created here."""
    try:
        str(output).encode("utf-8")
    except UnicodeEncodeError:
        raise OutputPathError(
            f"-o {output!r}: the path is not valid UTF-8.", hint="Choose an output path in UTF-8."
        ) from None
    for path in (output, *companion_paths(output).values()):
        if path.is_dir():
            raise OutputPathError(
                f"-o {output}: {path} is a directory.",
                hint=f"Give a file path, e.g. -o {output / 'ARCHITECTURE.md'}.",
            )
    folder = output.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(
            f"-o {output}: {folder} is a file, not a folder.", hint="Choose another output path."
        )
    try:
        # os.access says yes to root and ignores read-only mounts: only a real write is sure.
        handle, probe = tempfile.mkstemp(prefix=".docagent-write-check-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(
            f"-o {output}: cannot write in {folder} ({exc.strerror or exc}).",
            hint="Choose a writable folder with -o, or fix its permissions.",
        ) from None


def _check_sections(template: Template, selectors: list[str]) -> None:
    unknown = unknown_selectors(template, selectors)
    if unknown:
        ids = [sec.id for sec in template.sections() if sec.id]
        listed = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
        raise UserInputError(
            f"--sections {unknown[0]!r} matches no section of {template.name} ({listed}).",
            hint=f"See `docagent templates show {template.name}` for section ids and titles.",
        )


def _all_ids(template: Template) -> set[str]:
    ids: set[str] = set()
    for sec in template.sections():
        ids.update(f.id for f in sec.fields)
        ids.update(g.id for g in sec.groups)
    return ids


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
    if answer.items is not None:
        return _static_group(fid, answer, template, sections_of, index)
    f = _member(template, fid)
    label = f.label if f else fid
    citations = [_citation(index, fact.path, fact.line, fact.line) for fact in answer.facts]
    citations += [_citation(index, *span) for span in answer.spans]
    value: Any = answer.rows if answer.rows is not None else answer.value
    confidence = 0.95 if citations else 0.9
    return FieldResult(
        id=fid,
        label=label,
        section=sections_of.get(fid, ""),
        kind=f.kind.value if f else "text",
        status=answer.status,
        value=value,
        # A reason matched to its subject by name alone is for a human to confirm.
        confidence=min(confidence, 0.55) if answer.reasons else confidence,
        model_confidence=1.0,
        citations=citations,
        source="facts",
        basis=answer.basis,
        is_rationale=bool(f and f.is_rationale),
        flagged=bool(answer.reasons),
        reasons=list(answer.reasons),
    )


def _citation(index: RepoIndex, path: str, start: int, end: int) -> Citation:
    lines = index.file_lines(path) or []
    quote = " ".join(x.strip() for x in lines[start - 1 : end]) if lines else ""
    return Citation(path=path, start_line=start, end_line=end, quote=quote[:120])


def _static_group(
    fid: str,
    answer: StaticAnswer,
    template: Template,
    sections_of: dict[str, str],
    index: RepoIndex,
) -> FieldResult:
    """A group whose items were read from the repository (its components), cited."""
    group = next((g for sec in template.sections() for g in sec.groups if g.id == fid), None)
    items = []
    for item in answer.items or []:
        spans = item.get("_citations") or []
        assert isinstance(spans, list)
        reasons = [str(r) for r in item.get("_reasons") or []]  # type: ignore[attr-defined]
        items.append(
            {
                **{k: v for k, v in item.items() if k not in ("_citations", "_reasons")},
                "citations": [_citation(index, *span).model_dump() for span in spans],
                "confidence": 0.55 if reasons else 0.9,
                "flagged": bool(reasons),
                "reasons": reasons,
                "basis": None,
            }
        )
    return FieldResult(
        id=fid,
        label=group.label if group else fid,
        section=sections_of.get(fid, ""),
        kind="group",
        status="answered",
        confidence=0.9,
        model_confidence=1.0,
        items=items,
        source="facts",
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


@dataclass
class _Drafting:
    """What every call of one draft shares, and how its calls went."""

    client: ModelClient
    verifier: Verifier
    sections_of: dict[str, str]
    repo_name: str
    extract: bool
    brief: str = ""
    calls: int = 0
    failed: int = 0
    first_failure: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, results: dict[str, FieldResult]) -> None:
        """Account for one unit's call: it failed when the call raised and none of its fields was
        drafted (an answer cut off at the token limit is an answer, reported field by field)."""
        with self._lock:
            self.calls += 1
            if results and all(
                r.source == "error" and r.reasons and r.reasons[0].startswith(CALL_FAILED)
                for r in results.values()
            ):
                self.failed += 1
                first = next(iter(results.values()))
                self.first_failure = self.first_failure or first.reasons[0]


CALL_FAILED = "model call failed"


def _ask(
    ctx: _Drafting,
    unit: Unit,
    evidence: list[Evidence],
    messages: list[dict[str, str]] | None = None,
) -> dict[str, FieldResult]:
    model = unit_model(unit, ctx.extract)
    messages = messages or build_messages(unit, evidence, ctx.repo_name, ctx.extract, ctx.brief)
    cut: set[str] = set()
    try:
        completion = ctx.client.complete(
            messages,
            model,
            max_tokens=max_output_tokens(unit, ctx.extract),
            purpose=f"draft: {unit.title}",
        )
        answers = {key: getattr(completion.value, key) for key in unit.keys}
    except ModelTruncatedError as exc:
        # Keep every field the answer completed before the cut; ask again only for the rest.
        answers, cut = salvage(model, exc.partial)
        rest = [key for key in unit.keys if key not in answers]
        if rest and answers:
            out = _ask(ctx, sub_unit(unit, rest), evidence)
        else:
            # Truncation is not absence: these are "not drafted, cut off", never "not found".
            limit = max_output_tokens(unit, ctx.extract)
            reason = (
                f"cut off: the answer reached the token limit ({limit:,} tokens) before this "
                "was complete"
            )
            failed = _failed(unit, ctx.sections_of, reason)
            out = {mid: r for mid, r in failed.items() if mid in {unit.keys[k] for k in rest}}
        return {**_verified(ctx, unit, answers, cut, evidence), **out}
    except ModelError as exc:
        if isinstance(exc, (ModelNotConfiguredError, BudgetExceededError, ModelCancelledError)):
            raise
        return _failed(unit, ctx.sections_of, f"{CALL_FAILED}: {exc.message}")
    return _verified(ctx, unit, answers, cut, evidence)


def _verified(
    ctx: _Drafting,
    unit: Unit,
    answers: dict[str, Any],
    cut: set[str],
    evidence: list[Evidence],
) -> dict[str, FieldResult]:
    """Check each answer of a unit against the repository."""
    by_id = {e.id: e for e in evidence}
    members = _members(unit)
    results: dict[str, FieldResult] = {}
    for key, mid in unit.keys.items():
        if key not in answers:
            continue
        answer = answers[key]
        member = members[mid]
        section = ctx.sections_of.get(mid, unit.title)
        if isinstance(member, Group):
            results[mid] = group_result(member, answer, by_id, ctx.verifier, section)
        else:
            results[mid] = field_result(member, answer, by_id, ctx.verifier, section)
        result = results[mid]
        if result.status != "answered":
            continue
        if key in cut:
            result.flagged = True
            result.reasons.append(
                "the answer was cut off at the token limit; only its complete part was kept"
            )
        too_long = getattr(answer, "cut_parts", [])
        if too_long:
            result.flagged = True
            result.reasons.append(
                "the model's text was longer than docagent keeps and was cut ("
                + ", ".join(too_long[:5])
                + ")"
            )
        nested = member.members()[1] if isinstance(member, Group) else []
        if nested:
            # Groups inside a group item are not asked for: their template text stays in each
            # item, marked, for a human to fill.
            result.flagged = True
            result.reasons.append(
                "not drafted inside each item: "
                + ", ".join(g.label for g in nested)
                + " (a group within a group); fill it by hand"
            )
    flag_duplicates(list(results.values()))
    return results


# What a cut-off envelope is given for the parts after the cut: low confidence, so it is flagged.
_CUT_DEFAULTS = {"status": "answered", "confidence": 0.3}


def salvage(model: type[BaseModel], partial: str) -> tuple[dict[str, Any], set[str]]:
    """The answers a cut-off reply completed: {key: answer}, and the keys that had to be repaired
    (the cut came inside them: a list lost its last element, or status/confidence were missing)."""
    data, open_keys = partial_members(partial)
    answers: dict[str, Any] = {}
    cut: set[str] = set()
    for key, info in model.model_fields.items():
        raw = data.get(key)
        kind = info.annotation
        if (
            not isinstance(raw, dict)
            or not isinstance(kind, type)
            or not issubclass(kind, BaseModel)
        ):
            continue
        filled = {**_CUT_DEFAULTS, **raw} if "evidence" in raw else raw
        # Without the element being written at the cut, if a list lost it.
        trimmed = {k: v[:-1] if isinstance(v, list) and v else v for k, v in filled.items()}
        for attempt in (raw, filled, trimmed):
            try:
                answer = kind.model_validate(attempt)
            except ValidationError:
                continue
            # A list still open at the cut may have lost items the model would have written.
            was_cut = attempt is not raw or (key in open_keys and _holds_list(answer))
            if was_cut and not _has_content(answer):
                break  # nothing of it was complete: asked again, or reported as cut off
            answers[key] = answer
            if was_cut:
                cut.add(key)
            break
    return answers, cut


def _holds_list(answer: BaseModel) -> bool:
    return any(isinstance(getattr(answer, k, None), list) for k in ("items", "rows", "value"))


def _has_content(answer: BaseModel) -> bool:
    for k in ("items", "rows", "value"):
        if hasattr(answer, k):
            return bool(getattr(answer, k))
    return True  # an extract-style answer: its citation is its content


def sub_unit(unit: Unit, keys: list[str]) -> Unit:
    """The same unit asking only for some of its keys."""
    ids = {unit.keys[k] for k in keys}
    return Unit(
        title=unit.title,
        sections=unit.sections,
        fields=[f for f in unit.fields if f.id in ids],
        groups=[g for g in unit.groups if g.id in ids],
        keys={k: unit.keys[k] for k in keys},
        guidance=unit.guidance,
    )
