"""`docagent index`, `map`, `decisions` and `search`: what docagent reads in a repository, no model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agent.base.errors import UserInputError
from agent.cli.app import app, at_least, friendly, utf8_path
from agent.cli.output import out, print_index
from agent.ingest.repo import DEFAULT_MAX_FILE_SIZE
from agent.ingest.retrieval import Intent


@app.command("index")
@friendly
def index_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    max_file_size: Annotated[
        int, typer.Option(help="Skip files larger than this many bytes.")
    ] = DEFAULT_MAX_FILE_SIZE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    show_redactions: Annotated[
        bool,
        typer.Option(
            "--show-redactions",
            help="List each secret redacted: its kind and path:line (never the value).",
        ),
    ] = False,
) -> None:
    """Index a repository (cached) and show what docagent will read: files, chunks, facts."""
    from agent.ingest.index import build_index
    from agent.ingest.repomodel import repomap

    utf8_path("REPO", repo)
    at_least("--max-file-size", max_file_size, 1)
    idx = build_index(repo, max_file_size=max_file_size)
    redacted = [{"path": where, "line": r.line, "kind": r.kind} for where, r in idx.redactions()]
    if as_json:
        data = {"root": str(idx.root), **idx.stats.to_json(), "model": repomap.counts(idx.model)}
        if show_redactions:
            data["redacted"] = redacted
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    print_index(idx, repomap.counts(idx.model), redacted if show_redactions else None)


@app.command("map")
@friendly
def map_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole model as JSON.")] = False,
    mermaid: Annotated[
        Path | None,
        typer.Option(
            help="Write the component graph (components.mmd) and the ER diagram (er.mmd) "
            "to this directory."
        ),
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            help="Print the repository brief that draft and why prompts to a remote model "
            "carry (a small local model gets none: it answered less with it).",
        ),
    ] = False,
) -> None:
    """Show the repository model: components and their edges, entry points, interfaces, data
    model, integrations, and what the structure implies about the stack (no model needed)."""
    from agent.draft.brief import build_brief
    from agent.draft.outputs import write_atomic
    from agent.ingest.index import build_index
    from agent.ingest.repomodel import mermaid as diagrams
    from agent.ingest.repomodel import repomap
    from agent.llm.profile import REMOTE_BRIEF_TOKENS

    utf8_path("REPO", repo)
    if brief and (as_json or mermaid is not None):
        raise UserInputError(
            "--brief prints only the brief: it cannot be combined with --json or --mermaid.",
            hint="Run `docagent map` once with --brief and once with the other options.",
        )
    index = build_index(repo)
    if brief:
        sys.stdout.write(build_brief(index, REMOTE_BRIEF_TOKENS) + "\n")
        return
    model = index.model
    if mermaid is not None:
        if mermaid.exists() and not mermaid.is_dir():
            raise UserInputError(
                f"--mermaid {mermaid}: not a directory", hint="Give a directory to write into."
            )
        written = {mermaid / "components.mmd": diagrams.component_graph(model.components)}
        if model.tables:
            written[mermaid / "er.mmd"] = diagrams.er_diagram(model.tables)
        write_atomic(written)
    if as_json:
        sys.stdout.write(json.dumps(repomap.to_json(model), indent=2) + "\n")
        return
    repomap.show(model, out)
    if mermaid is not None:
        names = "components.mmd" + (" and er.mmd" if model.tables else "")
        out.print(f"Wrote {names} to {escape(str(mermaid))}")


@app.command("decisions")
@friendly
def decisions_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Only these sources: adr, design, commit, comment (repeatable)."),
    ] = None,
    about: Annotated[
        str | None, typer.Option(help="Only decisions whose subject or reasons mention this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print every field as JSON.")] = False,
) -> None:
    """List the decisions the repository records: subject, reason and where it is written."""
    from dataclasses import asdict

    from agent.ingest.index import build_index

    utf8_path("REPO", repo)
    at_least("--limit", limit, 1)
    kinds = {k.strip().lower() for k in kind or []}
    unknown = kinds - {"adr", "design", "commit", "comment"}
    if unknown:
        raise UserInputError(
            f"--kind {', '.join(sorted(unknown))}: unknown source",
            hint="Use adr, design, commit or comment.",
        )
    idx = build_index(repo)
    found = [d for d in idx.decisions if not kinds or d.kind in kinds]
    if about:
        needle = about.lower()
        found = [d for d in found if needle in d.text.lower()]
    if as_json:
        sys.stdout.write(json.dumps([asdict(d) for d in found[:limit]], indent=2) + "\n")
        return
    if not found:
        out.print("No recorded decisions match.")
        return
    for d in found[:limit]:
        status = f"  [dim]{escape(d.status)}[/]" if d.status else ""
        out.print(f"[bold]{escape(d.title)}[/]  [dim]{d.kind}  {escape(d.label)}[/]{status}")
        for r in d.reasons[:2]:
            where = f"{d.path}:{r.start}-{r.end}" if r.start else d.path
            out.print(f"    {escape(r.text[:300])}  [dim]({escape(where)})[/]")
    counts = ", ".join(f"{n} {k}" for k, n in sorted(idx.stats.decisions.items()))
    more = f"; showing {limit}" if len(found) > limit else ""
    out.print(f"{len(found)} decisions ({counts}){more}")


@app.command("search")
@friendly
def search_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")],
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 8,
    intent: Annotated[
        Intent | None, typer.Option(help="Rank for a kind of question (default: detected).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Show the ranked evidence docagent would use for a question."""
    from agent.ingest.index import build_index

    utf8_path("REPO", repo)
    at_least("-k", k, 1)
    idx = build_index(repo)
    hits = idx.search(query, k, intent=intent)
    if as_json:
        sys.stdout.write(json.dumps([h.to_json() for h in hits], indent=2) + "\n")
        return
    if not hits:
        out.print("No evidence matches that query.")
        return
    for h in hits:
        kind = "adr" if h.chunk.is_adr else h.chunk.kind
        out.print(
            f"[bold]{h.rank + 1}. {escape(h.chunk.citation)}[/]  [dim]{kind}  score {h.score:.2f}[/]"
        )
        preview = h.chunk.text.strip().split("\n")[:4]
        for line in preview:
            out.print(f"    {escape(line[:150])}", markup=True)
