"""`docagent draft`, `check` and `why`: write a document, keep it true, answer why."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agent.base.errors import AllCallsFailedError, UserInputError
from agent.cli.app import app, at_least, friendly, timeout_option, utf8_path
from agent.cli.output import (
    err,
    out,
    print_check,
    print_human_text_notes,
    print_plan,
    print_updates,
    progress,
)
from agent.llm import costs


@app.command("draft")
@friendly
def draft_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Shipped template name or a Markdown template path (default: "
            "architecture-overview; with --update, the one the last draft used).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the draft (default: TEMPLATE.md)."),
    ] = None,
    sections: Annotated[
        list[str] | None,
        typer.Option(
            "--sections", "-s", help="Only these sections (id prefix or title words); repeatable."
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option(help="Focus, e.g. 'authentication' for a component document.")
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the planned calls and tokens; call no model.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Replace an output file docagent did not write.")
    ] = False,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (or embedded model name / .gguf path).")
    ] = None,
    structured_output: Annotated[
        str | None, typer.Option(help="auto, json_schema, json_object or prompt.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not answer from the response cache.")
    ] = False,
    token_budget: Annotated[
        int | None, typer.Option(help="Stop cleanly after this many tokens.")
    ] = None,
    evidence_tokens: Annotated[int | None, typer.Option(help="Evidence tokens per call.")] = None,
    timeout: Annotated[float | None, timeout_option()] = None,
    style: Annotated[
        str | None,
        typer.Option(
            help="write: the model writes each value; extract: it points at the lines that answer "
            "and the value is those lines (default for the embedded 0.5B model)."
        ),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Re-draft only the calls whose evidence changed or whose fields are stale or "
            "never drafted; keep everything else byte for byte.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --update: also re-draft calls whose evidence changed since COMMIT."
        ),
    ] = None,
) -> None:
    """Draft an architecture document for a repository: cited, with confidence and review flags."""
    from agent.draft.run import DraftOptions, run_draft
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings

    utf8_path("REPO", repo)
    utf8_path("-o", output)
    if template is None:
        template = _recorded_template(output) if update else None
        template = template or "architecture-overview"
    utf8_path("-t", Path(template))
    at_least("--evidence-tokens", evidence_tokens, 1)
    # Every setting is checked before anything runs, the dry run's too.
    settings = resolve_settings(
        base_url=base_url,
        model=model,
        mode=structured_output,
        no_cache=no_cache,
        token_budget=token_budget,
        timeout=timeout,
    )
    options = DraftOptions(
        template=template,
        output=output,
        sections=sections or None,
        topic=topic,
        dry_run=dry_run,
        force=force,
        evidence_tokens=evidence_tokens,
        style=style,
        update=update,
        since=since,
    )
    if since and not update:
        raise UserInputError("--since works with --update", hint="Add --update.")
    if dry_run:
        # The plan is built for this endpoint (its evidence budget and style); no call is made.
        with ModelClient(settings) as planner:
            outcome = run_draft(repo, options, planner)
        if update:
            print_updates(outcome.updates, [p.title for p in outcome.plan])
            print_plan([outcome.plan[n] for n, _ in outcome.updates], settings)
        else:
            print_plan(outcome.plan, settings)
        out.print(f"{len(outcome.results)} fields come from facts and need no model.")
        return
    err.print(f"Model: {escape(settings.describe())}")
    with ModelClient(settings) as client, progress(client) as report:
        outcome = run_draft(repo, options, client, progress=report)
        rate = client.rate()
    s = outcome.summary
    if update:
        print_updates(outcome.updates, [p.title for p in outcome.plan])
    spent = costs.describe_cost(rate, settings.model, s["prompt_tokens"], s["completion_tokens"])
    # Each field is counted once: answered (flagged ones among them), not found, not drafted, kept.
    out.print(
        f"[bold]Wrote[/] {escape(', '.join(str(p) for p in outcome.written))}\n"
        f"{s['answered']} fields answered ({s['from_facts']} from facts), of which {s['flagged']} "
        f"flagged for review; {s['not_found']} not found, {s['errors']} not drafted, "
        f"{s['kept_human']} kept from human edits.\n"
        f"{s['model_calls']} model calls ({s['cache_hits']} answered from cache), "
        f"{s['prompt_tokens']:,} tokens in, {s['completion_tokens']:,} out, {s['seconds']:.0f}s; "
        f"cost: {escape(spent)}."
    )
    print_human_text_notes(s, outcome.written[1] if len(outcome.written) > 1 else None)


def _recorded_template(output: Path | None) -> str | None:
    """The template the last draft of this output used, as it was given."""
    if output is None:
        return None
    record = output.with_name(f"{output.stem}.draft.json")
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    given = data.get("template_source") if isinstance(data, dict) else None
    return given if isinstance(given, str) and given else None


@app.command("check")
@friendly
def check_command(
    document: Annotated[Path, typer.Argument(help="A document docagent drafted.")],
    repo: Annotated[
        Path | None,
        typer.Option(help="The repository it describes (default: the one it was drafted from)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every field as JSON.")] = False,
    github: Annotated[
        bool, typer.Option("--github", help="Print GitHub Actions annotations (::warning ...).")
    ] = False,
    fix_moved: Annotated[
        bool, typer.Option("--fix-moved", help="Rewrite moved citations to their new lines.")
    ] = False,
) -> None:
    """Check a drafted document against today's tree, without a model: which values' evidence
    is fresh, moved or stale. Exit 1 when something is stale."""
    from agent.draft.check import check_document, github_annotations
    from agent.draft.report import link_base
    from agent.relink import fix_moved as rewrite_moved

    utf8_path("DOCUMENT", document)
    report = check_document(document, repo)
    if fix_moved:
        n = rewrite_moved(report, link_base(document, report.repo))
        if n:
            report = check_document(document, repo)
        if not (as_json or github):
            out.print(f"{n} moved citations rewritten.")
    if as_json:
        data = {
            "document": str(document),
            "repository": str(report.repo),
            "counts": report.counts(),
            "fields": [f.to_json() for f in report.fields],
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif github:
        for line in github_annotations(report):
            sys.stdout.write(line + "\n")
    else:
        print_check(report)
    if report.stale:
        raise typer.Exit(1)


@app.command("why")
@friendly
def why_command(
    question: Annotated[
        str | None, typer.Argument(help="The question, e.g. 'Why does the importer retry?'")
    ] = None,
    repo: Annotated[Path, typer.Option("--repo", help="Repository directory.")] = Path("."),
    at: Annotated[
        str | None, typer.Option(help="FILE:LINE or FILE:START-END the question is about.")
    ] = None,
    evidence_only: Annotated[
        bool, typer.Option("--evidence-only", help="Show the ranked evidence; call no model.")
    ] = False,
    questions: Annotated[
        Path | None,
        typer.Option(help="Answer every question in this file (one per line or a Markdown list)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (or embedded model name / .gguf path).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not answer from the response cache.")
    ] = False,
    timeout: Annotated[float | None, timeout_option()] = None,
) -> None:
    """Answer "why" questions from the repository's ADRs, docs, code and commit history."""
    from agent import why, why_evidence
    from agent.ingest.index import build_index
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings

    utf8_path("--repo", repo)
    utf8_path("--questions", questions)
    settings = resolve_settings(base_url=base_url, model=model, no_cache=no_cache, timeout=timeout)
    asked = why.read_questions(questions) if questions else ([question] if question else [])
    if not asked:
        raise UserInputError(
            "Ask a question, or pass --questions FILE.", hint='docagent why "Why does X retry?"'
        )
    location = why_evidence.Location.parse(at) if at else None
    idx = build_index(repo)
    if evidence_only:
        found = {q: why_evidence.gather(idx, q, location) for q in asked}
        if as_json:
            data = [
                {"question": q, "evidence": [e.to_json() for e in ev]} for q, ev in found.items()
            ]
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        for q, ev in found.items():
            out.print(f"[bold]{escape(q)}[/]")
            for e in ev:
                out.print(f"  {escape(e.header)}")
                out.print(f"    {escape(e.text.strip().split(chr(10))[0][:140])}")
        return
    with ModelClient(settings) as client:
        results = [why.answer(idx, q, client, location) for q in asked]
    if all(r.failed for r in results):
        raise AllCallsFailedError(
            f"Every model call failed ({len(results)} of {len(results)}): {results[0].reasons[0]}",
            hint="Check the endpoint and model (docagent models), then ask again.",
            calls=len(results),
            cause=results[0].reasons[0],
        )
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2) + "\n")
        return
    sys.stdout.write(why.review_reply(results, _repo_link_base(idx.root)))


def _repo_link_base(root: Path) -> str:
    rel = os.path.relpath(root, Path.cwd())
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"
