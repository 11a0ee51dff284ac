"""`docagent draft`: fill a template from a repository, cite everything, flag what is weak."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.base import tokens
from agent.base.errors import (
    AllCallsFailedError,
    BudgetExceededError,
    ModelNotConfiguredError,
    UserInputError,
)
from agent.document.templates import Template, load_template
from agent.draft.answers import (
    FieldResult,
)
from agent.draft.ask import (
    Drafting,
    ask,
)
from agent.draft.brief import build_brief
from agent.draft.citations import Verifier, stamp_citations
from agent.draft.evidence import Evidence, gather_evidence
from agent.draft.messages import (
    build_messages,
    max_output_tokens,
)
from agent.draft.outputs import (
    Existing,
    check_output,
    companion_paths,
    read_existing,
    remove_stale_temps,
    write_draft,
)
from agent.draft.plan import Unit, plan_units, unknown_selectors
from agent.draft.report import link_base, summarize
from agent.draft.results import (
    failed_results,
    not_found,
    static_result,
)
from agent.draft.static_answers import static_answers
from agent.draft.update import plan_update, prompt_digest
from agent.ingest import history
from agent.ingest.index import RepoIndex, build_index
from agent.ingest.repo import DEFAULT_MAX_FILE_SIZE
from agent.llm.client import ModelClient
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
    known = template.member_ids()
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
    sections_of = template.trails()
    for fid, answer in static.items():
        if options.sections is None or any(
            fid.startswith(s) or s.lower() in sections_of.get(fid, "").lower()
            for s in options.sections
        ):
            results[fid] = static_result(fid, answer, template, sections_of, index)
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
        ctx = Drafting(client, verifier, sections_of, repo_name, extract, brief)

        def work(item: tuple[Unit, list[Evidence], list[dict[str, str]]]) -> dict[str, FieldResult]:
            unit, evidence, messages = item
            if stopped:
                return failed_results(unit, sections_of, f"not drafted: {stopped}")
            if progress:
                progress(DraftEvent("start", unit.title, done, len(prepared)))
            if not evidence:
                return not_found(unit, sections_of)
            answered = ask(ctx, unit, evidence, messages)
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
                    results.update(failed_results(item[0], sections_of, str(exc.message)))
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


def _check_sections(template: Template, selectors: list[str]) -> None:
    unknown = unknown_selectors(template, selectors)
    if unknown:
        ids = [sec.id for sec in template.sections() if sec.id]
        listed = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
        raise UserInputError(
            f"--sections {unknown[0]!r} matches no section of {template.name} ({listed}).",
            hint=f"See `docagent templates show {template.name}` for section ids and titles.",
        )
